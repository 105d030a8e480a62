"""Long-running work run off the UI thread, as Qt-free building blocks.

`jobs.GeneratorJob` drives any generator on a worker thread with pause / resume / cancel between
yields and reports items, errors and the end through plain callbacks; `decode.LatestRequestWorker`
is a long-lived worker that always serves the newest request (drag decodes, hover previews, gap
maps); `gate.Gate` paces a stepped job (play / pause / step). The UI layer turns the callbacks into
Qt signals (`ui.bridge`). Nothing here imports Qt, so every job is usable and tested headless.
"""
