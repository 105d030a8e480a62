"""When a stepped job may take its next step: play / pause / step for a generator on a worker thread.

`Gate` lives on the worker side (no Qt): the generator's loop calls `wait_turn` before pulling the
next transition, and the GUI thread grants turns (`step`: exactly one; `play`: one every `interval`
seconds, 0 meaning as fast as possible). `pause_after(n)` makes Play stop by itself once n transitions
have been granted (the chain panel's measured best step count); Step and a later Play go on past it. The chain and pixel runs (`explorer.chain_runs`,
`explorer.pixel_runs`) are paced by one; `ui.widgets.transport.GatedTransport` is the GUI side.
"""

from __future__ import annotations

import threading
import time

from latentlab.services.foreground import FOREGROUND, Foreground


class Gate:
    """Decides, on the worker, when the next transition may be pulled (thread-safe)."""

    def __init__(self, interval: float, foreground: Foreground = FOREGROUND) -> None:
        self._foreground = foreground
        self._cond = threading.Condition()
        self._playing, self._credits, self._interval, self._stopped = False, 0, interval, False
        self._granted, self._pause_after = 0, None

    @property
    def granted(self) -> int:
        """Transitions granted so far."""
        with self._cond:
            return self._granted

    def pause_after(self, transitions: int | None) -> None:
        """Playing pauses by itself when `transitions` have been granted in all (None or 0: never).
        It fires once: pressing Play again there goes on."""
        self._set(pause_after=transitions or None)

    def _set(self, **values) -> None:
        with self._cond:
            for name, value in values.items():
                setattr(self, "_" + name, value)
            self._cond.notify_all()

    def play(self) -> None:
        self._set(playing=True, credits=0)

    def pause(self) -> None:
        self._set(playing=False, credits=0)

    def set_interval(self, seconds: float) -> None:
        self._set(interval=seconds)

    def stop(self) -> None:
        self._set(stopped=True)

    def step(self) -> None:
        with self._cond:
            self._credits += 1
            self._cond.notify_all()

    def wait_turn(self, since: float) -> bool:
        """Block until a transition is allowed (True) or the job is stopped (False). `since`: when the
        previous transition started; playing, the next starts `interval` seconds after it. A granted
        transition then waits (briefly) while a decode the user is waiting for is in flight
        (`services.foreground`), so that background runs do not compete with a drag."""
        if not self._next_turn(since):
            return False
        self._foreground.hold_background()
        return True

    def _next_turn(self, since: float) -> bool:
        with self._cond:
            while not self._stopped:
                if self._credits:
                    self._credits -= 1
                    self._granted += 1
                    return True
                if self._playing and self._pause_after is not None and self._granted >= self._pause_after:
                    self._playing, self._pause_after = False, None
                    continue
                if self._playing:
                    delay = since + self._interval - time.monotonic()
                    if delay <= 0:
                        self._granted += 1
                        return True
                    self._cond.wait(delay)
                else:
                    self._cond.wait()
            return False
