"""Saved sessions in the window: File → Save session… / Open session… / Recent sessions (`files`), what
the widgets show gathered into an `explorer.saved_session.SavedSession` (`capture`) and put back
(`restore`). The file format itself is Qt-free: `latentlab.explorer.saved_session`."""
