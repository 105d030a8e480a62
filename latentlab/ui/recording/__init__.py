"""Record walks and export them as GIF / MP4: the Record menu and export jobs (`controller.RecordingController`)
and the settings dialog (`dialog.AnimationDialog`); the frames and encoding are `latentlab.explorer.recording`
and `latentlab.animation`."""
