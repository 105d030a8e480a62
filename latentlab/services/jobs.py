"""Run a generator on a worker thread, with pause / resume / cancel between yields.

    job = GeneratorJob(trainer.run, on_event=..., on_error=..., on_done=..., on_cancel=trainer.request_stop)
    job.start(); ...; job.pause(); job.resume(); job.cancel(); job.join()

The worker pulls one item at a time: between two items it waits while the job is paused, so a
paused job is blocked between two steps and makes no progress. `cancel()` calls `on_cancel` when
given (a cooperative stop: the generator is expected to wind down by itself, e.g. the Trainer
writes a resumable checkpoint and yields `Finished("stopped")`, so the job keeps consuming it);
without `on_cancel` the job stops pulling and closes the generator. Cancel also wakes a paused job.

Callbacks run on the worker thread: `on_event(item)` for each item, `on_error(message)` when the
generator (or a callback) raises, `on_done()` at the end either way. Errors never escape the thread:
a `LatentLabError` reports `str(err)` (a user-facing sentence); anything else reports
"TypeName: message" and logs the traceback. A generator (or a progress callback inside it) may
raise `JobCancelled` to end quietly once the job is cancelled.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from latentlab.errors import LatentLabError

log = logging.getLogger(__name__)

THREAD_PREFIX = "latentlab-"


class JobCancelled(Exception):
    """Raised inside a job (e.g. from a progress callback) to end it quietly after `cancel()`."""


def error_message(err: BaseException) -> str:
    """The text shown to the user: the message itself for LatentLab errors, else type and message."""
    if isinstance(err, LatentLabError):
        return str(err)
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class GeneratorJob:
    """One run of `generator_fn()` on a `latentlab-<name>` thread (see the module docstring)."""

    def __init__(self, generator_fn: Callable[[], Iterator[Any]], *,
                 on_event: Callable[[Any], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_done: Callable[[], None] | None = None,
                 on_cancel: Callable[[], None] | None = None,
                 name: str = "job") -> None:
        self._generator_fn = generator_fn
        self._on_event = on_event
        self._on_error = on_error
        self._on_done = on_done
        self._on_cancel = on_cancel
        self._gate = threading.Event()      # set = may run; cleared = paused
        self._gate.set()
        self._cancelled = threading.Event()
        self._blocked = threading.Event()   # set while the worker waits at the pause gate
        self._thread = threading.Thread(target=self._run, name=THREAD_PREFIX + name, daemon=True)

    # ------------------------------------------------------------------ control (any thread)
    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        """Block the worker before it pulls the next item (no effect once cancelled)."""
        if not self._cancelled.is_set():
            self._gate.clear()

    def resume(self) -> None:
        self._gate.set()

    def cancel(self) -> None:
        """Stop the job: calls `on_cancel` (cooperative stop) and wakes a paused worker."""
        if self._cancelled.is_set():
            return
        self._cancelled.set()
        if self._on_cancel is not None:
            try:
                self._on_cancel()
            except Exception:  # a failing stop hook must not break the caller
                log.exception("on_cancel failed")
        self._gate.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end; True when it has (or never started)."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()

    @property
    def is_paused(self) -> bool:
        """Pause requested and not resumed (the worker blocks at the next item boundary)."""
        return self.is_running and not self._gate.is_set()

    @property
    def is_blocked(self) -> bool:
        """The worker is actually waiting at the pause gate, between two items."""
        return self._blocked.is_set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        generator = None
        try:
            generator = self._generator_fn()
            while True:
                if not self._gate.is_set():
                    self._blocked.set()
                    self._gate.wait()
                    self._blocked.clear()
                if self._cancelled.is_set() and self._on_cancel is None:
                    break
                try:
                    item = next(generator)
                except StopIteration:
                    break
                if self._on_event is not None:
                    self._on_event(item)
        except JobCancelled:
            log.debug("job %s ended on cancel", self._thread.name)
        except Exception as err:  # reported to the UI, never raised in the thread
            if not isinstance(err, LatentLabError):
                log.exception("job %s failed", self._thread.name)
            self._call(self._on_error, error_message(err))
        finally:
            if generator is not None and hasattr(generator, "close"):
                try:
                    generator.close()
                except Exception:
                    log.exception("closing job %s failed", self._thread.name)
            self._call(self._on_done)

    @staticmethod
    def _call(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:  # the UI may be gone; nothing else to tell
            log.exception("job callback failed")
