"""Keep the cyclic garbage collector's pauses short while the window runs.

CPython's collector runs on whichever thread happens to allocate, with the GIL held, and a full
(generation-2) pass traverses every container object the process holds: about 210,000 once torch,
PySide6 and pyqtgraph are imported, 330,000 once torch.optim has pulled in torch._dynamo. Each such
pass stood the GUI thread still for 40-120 ms when it triggered on the training worker
(`python -m latentlab.bench heartbeat`: stalls of 119 and 153 ms while a run prepared).
`gc.freeze()` (Python 3.7+, made for exactly this) moves the objects alive now into a permanent
generation that later passes skip; objects frozen this way are the long-lived modules, classes and
window widgets, which would never be collected anyway. The app imports its libraries and builds its
window inside `collector_paused` (`ui/app.py`): those imports alone ran three full passes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_survivors() -> None:
    """Exempt every object alive now from later collections (call once the long-lived state exists)."""
    gc.freeze()


@contextmanager
def collector_paused(freeze: bool = True) -> Iterator[None]:
    """No collection while the block runs; the collector is then enabled again if it was. With
    `freeze`, for a block that allocates many long-lived objects (a large import), those are frozen
    first: re-enabling with them still in the young generation would make the next pass traverse them
    all at once (a 71 ms generation-0 pass after importing torch._dynamo). Without it, for a block
    that must not be interrupted by a pass (a timed run, `bench pixels`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
