"""A long-lived worker with a single latest-request slot (the StyleGAN3 visualizer's scheme).

`submit(request)` overwrites whatever request is pending — requests are never queued — and wakes
the worker, which always renders the newest one. Each result carries the id of the request it
answers, so the receiver can drop a result that is older than one it already shows. While the
user drags, the worker is therefore never more than one render behind the pointer.
"""

from __future__ import annotations

import logging
import os
import statistics
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from latentlab.services.foreground import Foreground

log = logging.getLogger(__name__)


DECODE_THREADS = 1  # torch intra-op threads of a decode worker (see one_torch_thread)


def one_torch_thread() -> None:
    """Give the calling thread one torch intra-op thread (the setting is per thread: training and the
    other workers keep theirs). For decode workers: one code, or a small batch, gains nothing from a
    second core, and a second intra-op thread would fight the GUI thread (repainting) for the CPU."""
    import torch

    if torch.get_num_threads() != DECODE_THREADS:
        torch.set_num_threads(DECODE_THREADS)


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with `threads` torch intra-op threads on the calling thread, then restore its own
    setting (a change costs about 0.1 ms here; `one_torch_thread` is for a worker's whole life)."""
    import torch

    own = torch.get_num_threads()
    if own == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(own)


BACKGROUND_NICE = 10  # CFS weight 110 against 1024 at nice 0: about a tenth of a contended core


def background_thread(threads: int) -> None:
    """For workers whose results can wait a little (playing chains, pixel sampling): `threads` torch
    intra-op threads for the calling thread, and the calling OS thread BACKGROUND_NICE nice levels
    lower (at most 19) than it was, so that when the cores are contended the kernel's scheduler runs
    the decode the user is waiting for (a thread at the process's own nice level) first, instead of
    queueing it behind a batch of 64 chains. On Linux the nice value is per thread (`setpriority` on the thread id) and inherited by threads it starts later,
    such as its intra-op threads. Raising nice needs no privilege; where it is unsupported, only the
    torch threads are set. Call it at the start of a thread of one's own (a job's thread, which ends
    with the job), never on a thread that is reused for decoding."""
    import torch

    torch.set_num_threads(threads)
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + BACKGROUND_NICE))
    except (AttributeError, OSError):  # not Linux/Unix, or refused: the threads setting still holds
        log.debug("could not lower the priority of thread %s", threading.current_thread().name)


class LatestRequestWorker:
    """Runs `render(request)` on one thread; reports `on_result(request_id, result)` or
    `on_error(request_id, message)` from that thread (a Qt bridge re-emits them as signals)."""

    def __init__(self, render: Callable[[Any], Any], on_result: Callable[[int, Any], None],
                 on_error: Callable[[int, str], None] | None = None, name: str = "latentlab-decode",
                 foreground: Foreground | None = None) -> None:
        self._render = render
        self._on_result = on_result
        self._on_error = on_error
        # When given, background loops hold back while a request of this worker is pending or rendering
        # (services.foreground): for the decode the user waits on, not for previews that can lag.
        self._foreground = foreground
        self._holding = False
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
            if self._foreground is not None and not self._holding and not self._closed:
                self._foreground.begin()
                self._holding = True
            self._condition.notify()
            return self._next_id

    def supersede(self) -> int:
        """Drop the pending request, if any (a render done elsewhere answers it: see `QuickRenders`),
        and return a new id, later than every request submitted so far, for that render's result.
        Background work is no longer held back for this worker: no result of it is awaited now."""
        with self._condition:
            self._next_id += 1
            self._pending = None
            self._release_foreground()
            return self._next_id

    def _release_foreground(self) -> None:
        """With the condition held: background work may go on unless another request is pending."""
        if self._holding and (self._pending is None or self._closed):
            self._foreground.end()
            self._holding = False

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the render in progress (if any) and wait for it."""
        with self._condition:
            self._closed = True
            self._pending = None
            self._release_foreground()
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
                with self._condition:
                    self._release_foreground()
                continue
            finally:
                # While it waits for the next request, the thread must not keep this one (and the model
                # it names) alive: a replaced model's memory is freed at once.
                request = None
            self.rendered += 1
            self._on_result(request_id, result)
            result = None
            with self._condition:
                self._release_foreground()


INLINE_BUDGET_S = 0.012  # a render this quick may run on the GUI thread (with its repaint, within a 60 Hz frame)


class QuickRenders:
    """Where the next render of the face should run: on the GUI thread, between its events, while the
    model's recent renders (wherever they ran) took a median of at most `budget_s`; else on a worker.

    Why: a worker's eager PyTorch forward takes the interpreter lock back after each of its torch
    calls, and whatever the GUI thread runs meanwhile (repainting the map under the moved handle and
    the previous face) makes it wait (`python -m latentlab.bench lock`); with the hand-offs to and
    from the worker, that added about 2 ms to a 5-6 ms decode (`python -m latentlab.bench drag`). A
    render run in place has neither cost, and one this short leaves the window responsive. A slow
    model (or a machine in a slow spell) moves back to the worker after a few renders, so the window
    never blocks for long. Needs `minimum` timings of the model first (the first renders of a model
    run on the worker). A worker's timings include its waits for the lock, so they overstate what the
    render would take in place: the estimate errs towards the worker. Not thread-safe: used from the
    GUI thread only."""

    def __init__(self, budget_s: float = INLINE_BUDGET_S, window: int = 9, minimum: int = 3) -> None:
        self.budget_s, self.minimum = budget_s, minimum
        self._seconds: deque[float] = deque(maxlen=window)
        self.last_seconds = 0.0   # the last render's time (for `bench drag`)
        self.last_inline = False  # whether it ran on the GUI thread
        self.inline_count = 0     # renders run on the GUI thread since `clear`

    @property
    def quick(self) -> bool:
        return len(self._seconds) >= self.minimum and statistics.median(self._seconds) <= self.budget_s

    def record(self, seconds: float, inline: bool) -> None:
        self._seconds.append(seconds)
        self.last_seconds, self.last_inline = seconds, inline
        self.inline_count += inline

    def clear(self) -> None:
        """Forget the timings (another model: its renders may take any time)."""
        self._seconds.clear()
        self.inline_count = 0
