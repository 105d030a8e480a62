"""Chain throughput: latent-chain steps per second for 64 chains (64x64 by default) against the bare
decode + encode forward passes in the same run (target ratio >= 0.9), and the chain panel's redraw
rate while its chains play as fast as possible (target >= 20 redraws/s).

(a) `sampling.latent_chain` on one batch of prior codes, both modes, against a bare loop of the same
    forward passes (mean: `decode(z).mean` + `encode(x).mean`; stochastic: `decode(z).sample()` +
    `encode(x).sample()`), in alternating rounds; the median of the rounds is reported. Step 0 (the
    chain's first decode) is outside the timing: each timed chain step costs one encode and one decode,
    like the bare loop.
(b) A real ChainPanel (shown; offscreen unless DISPLAY is set) plays the chains as fast as possible
    for --seconds on its worker, as in the app: steps/s reached inside the app, real redraws per
    second (the panel redraws on a ~30 Hz timer, only when a new step arrived, so it can never
    exceed the step rate), the time one redraw takes, and the event loop's longest stall (10 ms
    heartbeat).

    python -m latentlab.bench chain-speed [--checkpoint FILE] [--chains 64] [--steps 10] [--rounds 5] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

from latentlab.bench import offscreen_without_display

TARGET_RATIO = 0.9
TARGET_REDRAWS = 20.0


def _time_chain(model, z0, steps: int, mode: str, seed: int) -> float:
    import torch

    from latentlab.sampling.chain import latent_chain

    chain = latent_chain(model, z0, steps, mode, torch.Generator().manual_seed(seed))
    next(chain)  # step 0: the start's decode, not a transition
    start = time.perf_counter()
    for _ in chain:
        pass
    return steps / (time.perf_counter() - start)


def _time_bare(model, z0, steps: int, mode: str, seed: int) -> float:
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        z = torch.from_numpy(z0)
        likelihood = model.decode(z)  # as the chain's step 0
        start = time.perf_counter()
        for _ in range(steps):
            if mode == "mean":
                z = model.encode(likelihood.mean).mean
            else:
                z = model.encode(likelihood.sample(generator=generator)).sample(generator=generator)
            likelihood = model.decode(z)
            likelihood.mean  # what the chain displays
        return steps / (time.perf_counter() - start)


def throughput(session, chains: int, steps: int, rounds: int) -> bool:
    import torch

    model = session.model.eval()
    z0 = session.prior_samples(chains, seed=0).astype(np.float32)
    _time_chain(model, z0, 1, "mean", 0)  # warm-up
    _time_bare(model, z0, 1, "mean", 0)
    rates: dict[tuple[str, str], list[float]] = {}
    for r in range(rounds):
        for mode in ("mean", "stochastic"):
            for name, timer in (("chain", _time_chain), ("bare", _time_bare)):
                rates.setdefault((name, mode), []).append(timer(model, z0, steps, mode, r))
    print(f"(a) {chains} chains at {'x'.join(map(str, session.image_shape[1:]))}, latent {session.latent_dim}; "
          f"{steps} steps x {rounds} alternating rounds; {torch.get_num_threads()} torch threads")
    ok = True
    for mode in ("mean", "stochastic"):
        chain, bare = (statistics.median(rates[(name, mode)]) for name in ("chain", "bare"))
        ok &= chain / bare >= TARGET_RATIO
        print(f"    {mode:10s}  latent_chain {chain:7.2f} steps/s   bare decode+encode {bare:7.2f} steps/s   "
              f"ratio {chain / bare:.2f}  (target >= {TARGET_RATIO})")
    return ok


def in_app(session, chains: int, seconds: float, chain_rate: float | None, threads: int | None) -> bool:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.chain.panel import ChainPanel

    app = QApplication.instance() or QApplication([])
    panel = ChainPanel()
    panel.chains_spin.setValue(chains)
    if threads:
        panel.worker_threads = threads
    panel.resize(900, 700)
    panel.show()
    draw_times: list[float] = []
    draw = panel._draw

    def timed_draw() -> None:
        before, start = panel.redraw_count, time.perf_counter()
        draw()
        if panel.redraw_count > before:
            draw_times.append(time.perf_counter() - start)

    panel._timer.timeout.disconnect()
    panel._timer.timeout.connect(timed_draw)
    panel.set_session(session)
    deadline = time.perf_counter() + 120  # step 0, the P̂(Z) fit and the reference decodes come first
    while (panel._reference is None and session.atlas_codes is not None or panel.latest_codes is None) \
            and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.01)
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.TimerType.PreciseTimer)
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(lambda: ticks.append(time.perf_counter()))
    panel.fast_check.setChecked(True)
    panel.pause_spin.setValue(0)  # play on: the model's measured default would pause after its best step
    heartbeat.start()
    loop = QEventLoop()
    QTimer.singleShot(2000, loop.quit)  # baseline: the same shown panel, chains paused
    loop.exec()
    idle = np.diff(ticks) * 1e3
    ticks.clear()
    steps0, redraws0 = panel.step_count, panel.redraw_count
    draw_times.clear()
    start, gui_cpu = time.perf_counter(), time.thread_time()
    panel.play()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    elapsed, gui_cpu = time.perf_counter() - start, time.thread_time() - gui_cpu
    steps, redraws = panel.step_count - steps0, panel.redraw_count - redraws0
    # Capacity: the same chains keep playing, and every ~30 Hz tick redraws whether or not a new step
    # came, so this counts the redraws the GUI thread sustains while the chains compute.
    forcer = QTimer()
    forcer.setInterval(15)
    forcer.timeout.connect(panel.request_redraw)
    forced_redraws0, forced_start = panel.redraw_count, time.perf_counter()
    forcer.start()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    forcer.stop()
    forced_rate = (panel.redraw_count - forced_redraws0) / (time.perf_counter() - forced_start)
    heartbeat.stop()
    panel.shutdown()
    gaps = np.diff(ticks) * 1e3 if len(ticks) > 1 else np.zeros(1)
    step_rate, redraw_rate = steps / elapsed, redraws / elapsed
    print(f"(b) ChainPanel, {chains} chains playing as fast as possible for {elapsed:.1f} s "
          f"(worker: {panel.worker_threads} torch threads)")
    vs = f" ({step_rate / chain_rate:.2f} of (a)'s mean-mode chain)" if chain_rate else ""
    print(f"    chain steps/s inside the app: {step_rate:6.2f}{vs}")
    print(f"    redraws/s: {redraw_rate:6.2f}  (target >= {TARGET_REDRAWS:.0f}; at most one per new step and "
          f"~30/s)   one redraw (data -> widgets, before Qt paints): median "
          f"{statistics.median(draw_times or [0]) * 1e3:.1f} ms")
    print(f"    GUI thread busy {gui_cpu / elapsed:.0%} of the time (CPU time: redraws, painting, messages, "
          f"heartbeat)")
    print(f"    event loop (10 ms heartbeat): p99 gap {np.percentile(gaps, 99):.1f} ms, max {gaps.max():.1f} ms "
          f"while playing; {np.percentile(idle, 99):.1f} / {idle.max():.1f} ms paused (baseline)")
    print(f"    redraws/s when every tick redraws (the panel's capacity while the chains run): {forced_rate:6.2f}"
          f"  (target >= {TARGET_REDRAWS:.0f})")
    if redraw_rate < TARGET_REDRAWS and step_rate < TARGET_REDRAWS:
        print(f"    note: the chains produce only {step_rate:.1f} new steps/s here, so there is nothing new to "
              "draw more often than that")
    return forced_rate >= TARGET_REDRAWS


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentlab.bench chain-speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="default: the bundled default model (vae-celeba.ckpt)")
    parser.add_argument("--chains", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="chain steps per timed round (default 10)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the panel plays (default 5)")
    parser.add_argument("--threads", type=int, help="torch threads of the panel's worker (default: the app's, "
                        "all cores but one)")
    parser.add_argument("--skip-app", action="store_true", help="only (a)")
    args = parser.parse_args(argv)
    offscreen_without_display()

    from latentlab.bench.arguments import open_session

    session = open_session(args.checkpoint)
    if session is None:
        return 2
    path = session.path
    if not session.has_encoder:
        print(f"{path}: this model has no encoder, so the latent chain does not apply", file=sys.stderr)
        return 2
    print(f"checkpoint {path}")
    throughput(session, args.chains, args.steps, args.rounds)
    if not args.skip_app:
        import torch

        z0 = session.prior_samples(args.chains, seed=0).astype(np.float32)
        # the worker's count, for a fair comparison
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) - 1))
        rate = statistics.median(_time_chain(session.model, z0, args.steps, "mean", 0) for _ in range(2))
        print(f"    (mean-mode latent_chain at the worker's {torch.get_num_threads()} threads: {rate:.2f} steps/s)")
        in_app(session, args.chains, args.seconds, rate, args.threads)
    return 0
