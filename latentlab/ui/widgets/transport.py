"""Play / pause / step for a generator running on a worker thread, shared by the chain panel and the
pixel panel.

The worker side is `services.gate.Gate` (no Qt): the generator's loop waits there for its turn.
`GatedTransport` is the GUI side: the four transport actions and the Play/Pause button state,
written once, over a panel's `_gate`, `_playing`, `play_button`, `running_changed` and `_ready`.
"""

from __future__ import annotations

from latentlab.services.gate import Gate


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
