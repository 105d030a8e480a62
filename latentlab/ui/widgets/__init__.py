"""Widgets shared by the window and its views: the error banner, the face panel, the latent map, tile
grids, numpy → Qt image conversion (`imaging`) and the play / pause / step transport."""
