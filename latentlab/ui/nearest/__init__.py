"""The Nearest training faces dock (View → Nearest training faces, Ctrl+Shift+N): a memorisation check
for the face on screen (`panel.NearestPanel`, in `dock.NearestDock`); the search itself is
`latentlab.explorer.nearest_faces`."""
