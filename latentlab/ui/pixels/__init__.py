"""The Pixels dock: an autoregressive model drawing images sub-pixel by sub-pixel (`panel.PixelPanel`),
its controls (`controls`) and views (`views`: canvas, distribution plot); the runs themselves are
`latentlab.explorer.pixel_runs`."""
