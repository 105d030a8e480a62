"""What the GUI thread's work costs a decode on another thread, through the interpreter lock.

The face under the drag handle is decoded on a worker thread, and an eager PyTorch forward takes the
interpreter lock back after each of its torch calls. Whatever holds the lock on the GUI thread in the
meantime delays it. This bench times the real decoder's forward (`model.decode(z).mean` for one code,
one torch thread, as `services.decode` runs it) on a worker thread while the main thread, for the
same few seconds, does each of:

- nothing (sleeps): the reference;
- Qt painting through PySide6: a decoded face drawn smoothly scaled into a 256 x 256 image, as the
  face view paints it, again and again;
- Python code: a loop of small Python operations, as a pyqtgraph repaint or a panel's redraw runs;
- numpy arithmetic on one thread: work that releases the lock, the control for the cost of sharing
  the cores.

With --traced, the same for a TorchScript trace of the forward, whose call keeps the lock released
for the whole forward (the app decodes eagerly). It prints how many forwards the worker finished,
their median and p95 time and the slowdown against the reference. A main thread that keeps the lock makes each of the decode's torch calls wait for it
(up to Python's switch interval, 5 ms, per call), so the slowdowns say which GUI work a drag's decode
must not overlap. The main thread works without a pause here, the worst case: in the window, a
handle move's repaint is a millisecond or so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from latentlab.bench import offscreen_without_display
from latentlab.bench.arguments import open_session, positive_int

CASES = ("idle", "qt-painting", "python", "numpy")


def main_thread_work(case: str) -> Callable[[], None]:
    """One unit of the main thread's work for `case` (called until the worker's time is up)."""
    if case == "idle":
        return lambda: time.sleep(0.001)
    if case == "qt-painting":
        from PySide6.QtCore import QRect
        from PySide6.QtGui import QImage, QPainter

        face = QImage(64, 64, QImage.Format.Format_RGB888)
        face.fill(0x808080)
        target = QImage(256, 256, QImage.Format.Format_RGB32)

        def paint() -> None:
            painter = QPainter(target)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRect(0, 0, 256, 256), face)
            painter.end()

        return paint
    if case == "python":
        return lambda: sum(i * i for i in range(200))
    if case == "numpy":
        values = np.random.default_rng(0).random(200_000)
        out = np.empty_like(values)
        return lambda: np.exp(values, out=out)  # one thread, the lock released
    raise ValueError(f"unknown case {case!r}; one of {', '.join(CASES)}")


def decode_times(forward: Callable[[], object], seconds: float, work: Callable[[], None]) -> list[float]:
    """Seconds per `forward()` on a worker thread (one torch thread) over `seconds`, while this thread
    calls `work()` over and over."""
    import torch

    times: list[float] = []
    done = threading.Event()

    def worker() -> None:
        torch.set_num_threads(1)
        with torch.no_grad():
            forward()  # warm
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                start = time.perf_counter()
                forward()
                times.append(time.perf_counter() - start)
        done.set()

    thread = threading.Thread(target=worker, name="latentlab-bench-lock")
    thread.start()
    while not done.is_set():
        work()
    thread.join()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench lock", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the bundled default model")
    parser.add_argument("--seconds", type=positive_int, default=3, help="per case (default 3)")
    parser.add_argument("--traced", action="store_true",
                        help="also time the same forward as a TorchScript trace (`torch.jit.trace`, deprecated in "
                        "favour of torch.export / torch.compile), whose call runs every torch operation of the "
                        "forward without taking the lock back between them; the app does not use it")
    args = parser.parse_args(argv)
    offscreen_without_display()
    import torch
    from PySide6.QtWidgets import QApplication

    session = open_session(args.checkpoint)
    if session is None:
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0]])  # painting a QImage needs one
    z = torch.zeros(1, session.latent_dim)

    def forward() -> object:
        return session.model.decode(z).mean

    forwards = {"eager": forward}
    if args.traced:
        forwards["traced"] = traced_forward(session.model, z)
    print(f"checkpoint {session.path}; the decoder's forward for one code on a worker thread (one torch thread), "
          f"{args.seconds} s per case, while the main thread does:")
    for name, run in forwards.items():
        reference = None
        for case in CASES:
            times = decode_times(run, args.seconds, main_thread_work(case))
            median = statistics.median(times)
            reference = reference or median
            print(f"  {name:6s} {case:12s} forward median {median * 1e3:7.2f} ms   p95 "
                  f"{np.percentile(times, 95) * 1e3:7.2f} ms   {len(times):5d} forwards   slowdown x{median / reference:.2f}")
    del app
    return 0


def traced_forward(model, z) -> Callable[[], object]:
    """The same forward as a TorchScript trace of `model.decode(z).mean` (its output checked equal to
    the eager one's)."""
    import warnings

    import torch

    class DecoderMean(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, code: torch.Tensor) -> torch.Tensor:
            return self.model.decode(code).mean

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the tracer's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(DecoderMean().eval(), z)
        if not torch.equal(traced(z), model.decode(z).mean):
            raise RuntimeError("the traced forward does not reproduce the eager one")
    return lambda: traced(z)
