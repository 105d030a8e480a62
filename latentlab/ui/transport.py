"""Play / pause / step for a generator running on a worker thread, shared by the chain panel and the
pixel panel.

`Gate` lives on the worker side (no Qt): the generator's loop calls `wait_turn` before pulling the
next transition, and the GUI thread grants turns (`step`: exactly one; `play`: one every `interval`
seconds, 0 meaning as fast as possible). `GatedTransport` is the GUI side: the four transport
actions and the Play/Pause button state, written once, over a panel's `_gate`, `_playing`,
`play_button`, `running_changed` and `_ready`.
"""

from __future__ import annotations

import threading
import time


class Gate:
    """Decides, on the worker, when the next transition may be pulled (thread-safe)."""

    def __init__(self, interval: float) -> None:
        self._cond = threading.Condition()
        self._playing, self._credits, self._interval, self._stopped = False, 0, interval, False

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
        previous transition started; playing, the next starts `interval` seconds after it."""
        with self._cond:
            while not self._stopped:
                if self._credits:
                    self._credits -= 1
                    return True
                if self._playing:
                    delay = since + self._interval - time.monotonic()
                    if delay <= 0:
                        return True
                    self._cond.wait(delay)
                else:
                    self._cond.wait()
            return False


class GatedTransport:
    """Mixin for a panel that drives a job through a `Gate`. The panel provides `_gate` (the current
    job's Gate or None), `_playing`, `play_button` (a QPushButton), `running_changed` (a Signal(bool))
    and `_ready()` (True when a job can take a turn, starting a fresh one if the last has finished)."""

    _gate: Gate | None
    _playing: bool

    def _set_playing(self, playing: bool) -> None:
        """Show the state on the Play/Pause button; tell listeners when it changes."""
        self.play_button.setText("Pause" if playing else "Play")
        if playing != self._playing:
            self._playing = playing
            self.running_changed.emit(playing)

    def _ready(self) -> bool:
        raise NotImplementedError

    @property
    def is_playing(self) -> bool:
        return self._playing

    def toggle_play(self) -> None:
        self.pause() if self._playing else self.play()

    def play(self) -> None:
        if self._playing or not self._ready():
            return
        self._gate.play()
        self._set_playing(True)

    def pause(self) -> None:
        """Stop between transitions (the one in progress, if any, still arrives)."""
        if self._gate is not None:
            self._gate.pause()
        self._set_playing(False)

    def step(self) -> None:
        """Exactly one transition (while playing: pause instead)."""
        if self._playing:
            self.pause()
        elif self._ready():
            self._gate.step()
