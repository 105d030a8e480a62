"""Interactive work first: while a decode the user is waiting for (the face under a dragged handle) is
pending or running, background workers (playing chains, pixel sampling) hold back at their next step.

Lowering the background threads' OS priority (`services.decode.background_thread`) is not enough on
its own: all workers share one interpreter lock, and a sampler that runs a Python loop per sub-pixel
takes it back between every torch call, so the decode waits for it a few hundred times a second.
Here the background loop simply does not start its next step while the foreground is busy, and
waits at most `MAX_HOLD_S` per step so that a drag that never stops still lets it advance.
"""

from __future__ import annotations

import threading
import time

MAX_HOLD_S = 0.1  # a background step is never held longer than this, however long the drag


class Foreground:
    """A count of foreground renders pending or running, and a wait for it to reach zero (thread-safe)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = 0

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._busy > 0

    def begin(self) -> None:
        """A foreground render is pending (call `end` once for each `begin`)."""
        with self._cond:
            self._busy += 1

    def end(self) -> None:
        with self._cond:
            self._busy = max(0, self._busy - 1)
            if not self._busy:
                self._cond.notify_all()

    def hold_background(self, timeout: float = MAX_HOLD_S) -> float:
        """For a background loop, before its next step: wait until no foreground render is pending, at
        most `timeout` seconds. Returns the seconds waited."""
        start = time.monotonic()
        with self._cond:
            self._cond.wait_for(lambda: not self._busy, timeout)
        return time.monotonic() - start


FOREGROUND = Foreground()


class RedrawYield:
    """For a GUI-thread timer that redraws background results (chain frames, sub-pixels): `skip()` is
    True while the foreground is busy, so that the face's result is handled and painted first, but
    never more than `max_skips` ticks in a row, so that a drag that never stops still lets the
    background views refresh (at a ~33 ms tick and 3 skips: at least every 132 ms)."""

    def __init__(self, foreground: Foreground = FOREGROUND, max_skips: int = 3) -> None:
        self._foreground, self._max_skips, self._skipped = foreground, max_skips, 0

    def skip(self) -> bool:
        if self._foreground.busy and self._skipped < self._max_skips:
            self._skipped += 1
            return True
        self._skipped = 0
        return False
