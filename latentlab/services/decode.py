"""A long-lived worker with a single latest-request slot (the StyleGAN3 visualizer's scheme).

`submit(request)` overwrites whatever request is pending — requests are never queued — and wakes
the worker, which always renders the newest one. Each result carries the id of the request it
answers, so the receiver can drop a result that is older than one it already shows. While the
user drags, the worker is therefore never more than one render behind the pointer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def one_torch_thread() -> None:
    """Give the calling thread one torch intra-op thread (the setting is per thread: training and the
    other workers keep theirs). For decode workers: one code, or a small batch, gains nothing from a
    second core, and a second intra-op thread would fight the GUI thread (repainting) for the CPU."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


class LatestRequestWorker:
    """Runs `render(request)` on one thread; reports `on_result(request_id, result)` or
    `on_error(request_id, message)` from that thread (a Qt bridge re-emits them as signals)."""

    def __init__(self, render: Callable[[Any], Any], on_result: Callable[[int, Any], None],
                 on_error: Callable[[int, str], None] | None = None, name: str = "latentlab-decode") -> None:
        self._render = render
        self._on_result = on_result
        self._on_error = on_error
        self._condition = threading.Condition()
        self._pending: tuple[int, Any] | None = None
        self._next_id = 0
        self._closed = False
        self.rendered = 0          # how many requests were rendered (the rest were overwritten)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, request: Any) -> int:
        """Replace the pending request with `request`; returns its id (increasing)."""
        with self._condition:
            self._next_id += 1
            self._pending = (self._next_id, request)
            self._condition.notify()
            return self._next_id

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the render in progress (if any) and wait for it."""
        with self._condition:
            self._closed = True
            self._pending = None
            self._condition.notify()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending is None and not self._closed:
                    self._condition.wait()
                if self._closed:
                    return
                request_id, request = self._pending
                self._pending = None
            try:
                result = self._render(request)
            except Exception as err:  # a bad model must never kill the worker
                log.exception("render failed")
                if self._on_error is not None:
                    self._on_error(request_id, str(err) or type(err).__name__)
                continue
            finally:
                # While it waits for the next request, the thread must not keep this one (and the model
                # it names) alive: a replaced model's memory is freed at once.
                request = None
            self.rendered += 1
            self._on_result(request_id, result)
            result = None
