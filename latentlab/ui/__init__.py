"""The explorer window (PySide6 + pyqtgraph). The only package that imports Qt.

`app` (the entry point), `main_window`, `screenshots` and `bridge` (worker threads → GUI thread) sit
here; each view has its package: `chain`, `pixels`, `compare`, `interpolate`, `train`, and `widgets`
holds what they share. The state and work they display is Qt-free: `latentlab.explorer` and
`latentlab.services`.
"""
