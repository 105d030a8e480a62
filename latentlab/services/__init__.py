"""Long-running jobs (training, chains, pixel sampling) as Qt-free generators run off the UI thread.

`jobs.GeneratorJob` drives any generator on a worker thread with pause / resume / cancel between
yields and reports items, errors and the end through plain callbacks; the UI layer turns those
callbacks into Qt signals. Nothing here imports Qt, so every job is usable and tested headless.
"""
