"""The Interpolate tab: a path between two faces, its strip of decodes and exports (`panel.InterpolationPanel`)."""
