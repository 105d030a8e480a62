"""The Directions tab: attribute directions made, listed, moved along, used as map axes, exported
(maths in `latentlab.explorer.directions`)."""
