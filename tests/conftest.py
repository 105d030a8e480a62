"""Shared fixtures: the suite's own dataset cache and an isolated one per test, the real data beside
the repo, offscreen Qt."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def fuzz_examples(default: int) -> int:
    """Examples per property-based test: modest by default so the suite stays fast;
    LATENTLAB_FUZZ_EXAMPLES=N runs a larger fuzzing budget."""
    return int(os.environ.get("LATENTLAB_FUZZ_EXAMPLES", default))


@pytest.fixture(scope="session", autouse=True)
def suite_cache(tmp_path_factory) -> Iterator[Path]:
    """The suite's own dataset cache, shared by its tests and their subprocesses: running the tests
    never writes decoded datasets into the user's cache folder."""
    cache = tmp_path_factory.mktemp("dataset-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("LATENTLAB_CACHE_DIR", str(cache))
    yield cache
    patch.undo()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """Point LatentLab's dataset cache at a fresh temporary folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENTLAB_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def shared_data() -> Path:
    """../shared/data beside the repository; tests using it skip when it is absent (e.g. a user's clone)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (only present on the project's machines)")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread():
    """For tests of tiny models: one intra-op thread is faster than several fighting over a small CPU.
    Used by a module with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def no_leaked_threads():
    """Fail any test that leaves a thread running (workers must be stopped and joined)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]
        leaked += [t for t in threading.enumerate() if t not in before and t.is_alive()
                   and t.name.startswith("latentlab")]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A small VAE on 16x16 synthetic faces (generated, so always "on disk"), bundled with a 60-face
    atlas and its labels: what the window's tests open (one per test module)."""
    return make_tiny_bundle(tmp_path_factory.mktemp("model"), latent_dim=6, atlas_size=60, faces=200)


def open_main_window(qtbot, settings_folder: Path, checkpoint: Path | None = None):
    """A shown MainWindow with its own settings file; with `checkpoint`, opened on it and its first
    face shown. The caller shuts it down."""
    from PySide6.QtCore import QSettings

    from latentlab.ui.main_window import MainWindow

    win = MainWindow(QSettings(str(settings_folder / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    if checkpoint is not None:
        assert win.open_checkpoint(checkpoint)
        qtbot.waitUntil(lambda: win.face_panel.last_shown_at > 0, timeout=5000)
    return win


def make_tiny_bundle(folder: Path, latent_dim: int, atlas_size: int, faces: int) -> Path:
    """A small untrained VAE on 16x16 synthetic faces, saved and bundled with an `atlas_size`-face
    atlas (codes, posterior spreads and factor labels): what the explorer's tests load."""
    import torch

    from latentlab.bundle import bundle
    from latentlab.checkpoints import save_model
    from latentlab.data import load_dataset
    from latentlab.models import build_model

    torch.manual_seed(0)
    model = build_model("vae", {"image_shape": [3, 16, 16], "latent_dim": latent_dim, "base_channels": 8}).eval()
    dataset = load_dataset(f"synthetic-faces?size=16&n={faces}", split="train", limit=atlas_size)
    save_model(folder / "raw.ckpt", model, dataset=dataset.describe(), preprocessing=dataset.preprocessing)
    return bundle(folder / "raw.ckpt", folder / "tiny.ckpt", atlas_size=atlas_size)


def whole_and_resumed(make_config, tmp_path: Path, total: int, stop_at: int = 3):
    """Train `total` steps straight through, and again stopped after `stop_at` steps and resumed;
    assert both runs end with identical weights and return both final checkpoints.
    `make_config(out, max_steps=...)` builds the TrainConfig of either run."""
    import torch

    from latentlab.checkpoints import read_checkpoint
    from trainers.events import Finished, Step
    from trainers.loop import Trainer

    list(Trainer(make_config(tmp_path / "whole", max_steps=total)).run())
    part = make_config(tmp_path / "part", max_steps=total)
    trainer = Trainer(part)
    for event in trainer.run():
        if isinstance(event, Step) and event.step == stop_at:
            trainer.request_stop()
        last = event
    assert isinstance(last, Finished) and last.reason == "stopped" and last.step == stop_at
    resumed = [e.step for e in Trainer(part, resume=True).run() if isinstance(e, Step)]
    assert resumed == list(range(stop_at + 1, total + 1))
    a, b = read_checkpoint(tmp_path / "whole" / "last.ckpt"), read_checkpoint(tmp_path / "part" / "last.ckpt")
    assert a.training["step"] == b.training["step"] == total
    for key in a.state_dict:
        assert torch.equal(a.state_dict[key], b.state_dict[key]), key
    return a, b


def returns_within(function, seconds: float = 10.0):
    """Call `function` on a daemon thread and return its result; fail the test (instead of hanging the
    suite) if it has not returned after `seconds` (a named pipe read blocks for ever)."""
    import threading

    outcome: dict[str, object] = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as err:  # noqa: BLE001 - handed back to the test
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still blocked after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.fixture
def checkpoint_reader_threads(monkeypatch) -> list[int]:
    """The ids of the threads that read checkpoints through ExplorerSession.from_checkpoint while the
    test runs (to check that the window reads them off the GUI thread)."""
    import threading

    from latentlab.explorer import ExplorerSession

    seen: list[int] = []
    real = ExplorerSession.from_checkpoint.__func__

    def recording(cls, path):
        seen.append(threading.get_ident())
        return real(cls, path)

    monkeypatch.setattr(ExplorerSession, "from_checkpoint", classmethod(recording))
    return seen
