"""The chain panel driven through qtbot with a tiny real model (a 4-D VAE on 16x16 synthetic faces,
bundled with a small atlas so gap scores and the reference intensity exist)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import make_tiny_bundle
from PySide6.QtCore import Qt

from latentlab.explorer.chain_defaults import NOT_MEASURED, ChainDefault
from latentlab.explorer.session import ExplorerSession
from latentlab.ui.chain.panel import NO_ENCODER, ChainPanel

N = 6


@pytest.fixture(autouse=True)
def unmeasured(monkeypatch):
    """The tiny test VAE would otherwise open on the bundled VAE's measured default (its family's)."""
    monkeypatch.setattr("latentlab.ui.chain.panel.chain_default", lambda path, family: NOT_MEASURED)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return make_tiny_bundle(tmp_path_factory.mktemp("model"), latent_dim=4, atlas_size=40, faces=100)


@pytest.fixture
def session(checkpoint):
    return ExplorerSession.from_checkpoint(checkpoint)


@pytest.fixture
def panel(qtbot, session):
    widget = ChainPanel()
    qtbot.addWidget(widget)
    widget.worker_threads = 1
    widget.chains_spin.setValue(N)
    widget.set_session(session)
    widget.resize(600, 500)
    widget.show()
    qtbot.waitUntil(lambda: widget.latest_codes is not None, timeout=5000)
    yield widget
    widget.shutdown()


def settle(qtbot, panel, ms: int = 150) -> int:
    """Let an in-flight step arrive and the redraw timer run; return the step count."""
    qtbot.wait(ms)
    return panel.step_count


def test_step_advances_exactly_one_transition_and_changes_the_display(qtbot, panel):
    qtbot.waitUntil(lambda: panel.grid.image_array is not None, timeout=3000)
    z0, grid0 = panel.latest_codes.copy(), panel.grid.image_array.copy()
    assert panel.step_count == 0 and z0.shape == (N, 4)
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)
    assert settle(qtbot, panel, 300) == 1  # one Step, one transition
    assert not np.allclose(panel.latest_codes, z0)
    assert not np.array_equal(panel.grid.image_array, grid0)
    assert panel.step_label.text() == "Step 1"
    for _ in range(3):  # quick Steps are not lost: each is one transition
        panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 4, timeout=3000)
    assert settle(qtbot, panel, 300) == 4 and not panel.is_playing


def test_play_runs_then_pause_stops_between_steps(qtbot, panel):
    running = []
    panel.running_changed.connect(running.append)
    panel.fast_check.setChecked(True)
    panel.play()
    assert panel.is_playing and panel.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: panel.step_count >= 5, timeout=5000)
    panel.toggle_play()  # = pause
    assert not panel.is_playing and running == [True, False]
    count = settle(qtbot, panel)
    redraws = panel.redraw_count
    qtbot.wait(300)
    assert panel.step_count == count >= 5
    assert panel.redraw_count == redraws  # nothing changed, nothing redrawn
    history = panel._history["step"]
    assert list(history) == list(range(len(history)))  # every step arrived, in order


def test_speed_limits_the_rate_of_steps(qtbot, panel):
    panel.fast_check.setChecked(False)
    panel.speed_slider.setValue(4)  # 4 steps/s: a transition every 0.25 s
    panel.play()
    qtbot.wait(600)
    panel.pause()
    assert 1 <= settle(qtbot, panel) <= 4


def test_reset_returns_to_step_zero_with_fresh_starts_from_the_settings(qtbot, panel, session):
    start = session.prior_samples(N, seed=0)
    assert np.allclose(panel.latest_codes, start, atol=1e-6)
    panel.step()
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 2, timeout=3000)
    panel.seed_spin.setValue(7)
    panel.mode_combo.setCurrentIndex(1)  # stochastic: applies on Reset
    assert panel.step_count == 2
    panel.reset()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=3000)
    assert panel.step_count == 0
    assert np.allclose(panel.latest_codes, session.prior_samples(N, seed=7), atol=1e-6)
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)
    assert len(panel._history["step"]) == 2  # the curves restarted with the chains


def test_trails_are_emitted_throttled_with_shape_n_t_d(qtbot, panel):
    trails = []
    panel.trails_changed.connect(trails.append)
    panel.step()
    qtbot.waitUntil(lambda: bool(trails) and trails[-1].shape[1] == 2, timeout=3000)
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: trails[-1].shape[1] >= 6, timeout=5000)
    panel.pause()
    settle(qtbot, panel)
    last = trails[-1]
    assert last.dtype == np.float32 and last.shape == (N, min(panel.step_count + 1, 50), 4)
    assert np.allclose(last[:, -1], panel.latest_codes)
    assert len(trails) <= panel.redraw_count  # emitted from the redraw timer, not per step


def test_a_hidden_panel_still_emits_trails_but_does_not_redraw(qtbot, panel):
    trails = []
    panel.trails_changed.connect(trails.append)
    settle(qtbot, panel)
    panel.hide()  # e.g. the map tab is in front: the trails still move
    redraws = panel.redraw_count
    panel.step()
    qtbot.waitUntil(lambda: bool(trails) and trails[-1].shape[1] == 2, timeout=3000)
    assert panel.redraw_count == redraws
    panel.show()
    qtbot.waitUntil(lambda: panel.redraw_count == redraws + 1, timeout=3000)
    assert panel.step_label.text() == "Step 1"


def test_starting_from_the_current_face_uses_n_copies(qtbot, panel, session):
    face = session.atlas_codes[3]
    panel.set_current_code(face)
    panel.start_combo.setCurrentIndex(1)
    panel.reset()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=3000)
    assert panel.step_count == 0
    assert np.allclose(panel.latest_codes, np.repeat(face[None], N, axis=0), atol=1e-6)


def test_clicking_a_tile_selects_that_chain_for_the_filmstrip(qtbot, panel):
    from PySide6.QtCore import QPoint, Qt

    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1 and panel.film.image_array is not None, timeout=3000)
    qtbot.wait(100)
    grid = panel.grid
    # The centre of the last tile, found through the grid's own geometry.
    point = next(QPoint(x, y) for y in range(grid.height() - 1, 0, -2) for x in range(grid.width() - 1, 0, -2)
                 if grid.tile_at(x, y) == N - 1)
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=point)
    qtbot.wait(100)
    assert panel._selected == N - 1 and panel.film_label.text().startswith(f"Chain #{N} of {N}, steps 0–1")
    assert panel.film.image_array.shape[1] > panel.film.image_array.shape[0]  # two frames side by side


def test_reference_intensity_from_the_atlas_and_gap_scores_are_plotted(qtbot, panel):
    qtbot.waitUntil(lambda: panel._reference is not None, timeout=5000)
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)
    qtbot.wait(100)
    assert panel.plots.reference.isVisible() and 0.0 < panel.plots.reference.value() < 1.0
    _, gap = panel.plots.curves[0].getData()
    assert np.all(np.isfinite(gap))  # step 0's score was filled in once P̂(Z) was fitted


def test_a_model_without_encoder_disables_the_controls_with_an_explanation(qtbot, session, monkeypatch):
    monkeypatch.setattr(session.model, "has_encoder", False, raising=False)
    widget = ChainPanel()
    qtbot.addWidget(widget)
    widget.set_session(session)
    widget.show()
    assert widget.note_label.isVisible() and widget.note_label.text() == NO_ENCODER
    for control in (widget.play_button, widget.step_button, widget.reset_button, widget.chains_spin,
                    widget.mode_combo, widget.start_combo, widget.speed_slider):
        assert control.isVisible() and not control.isEnabled()  # greyed out, not hidden
    widget.play()
    widget.step()
    assert not widget.is_playing and widget.latest_codes is None
    assert not any(t.name == "latentlab-chain" for t in threading.enumerate())
    widget.set_session(None)
    assert "Load a model" in widget.note_label.text() and not widget.play_button.isEnabled()


def test_a_worker_error_is_shown_in_red_and_emitted(qtbot, panel, session, monkeypatch):
    errors = []
    panel.error_occurred.connect(errors.append)

    def broken(z):
        raise RuntimeError("boom")

    monkeypatch.setattr(session, "gap_scores", broken)
    panel.step()
    qtbot.waitUntil(lambda: bool(errors), timeout=3000)
    assert "boom" in errors[0] and panel.error_label.isVisible() and "boom" in panel.error_label.text()
    assert not panel.is_playing


def test_shutdown_joins_the_worker_even_while_playing(qtbot, panel):
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: panel.step_count >= 2, timeout=5000)
    panel.reset()  # retires the playing job without blocking; a new one starts
    assert panel.shutdown(timeout=10)
    assert not [t for t in threading.enumerate() if t.name == "latentlab-chain"]
    assert not panel.is_playing


def test_chains_can_start_from_samples_of_p_hat(qtbot, panel, session):
    """The third start: N seeded draws of the model's P̂(Z), made (and the density fitted) on the worker."""
    panel.start_combo.setCurrentIndex(panel.start_combo.findData("p_hat"))
    panel.seed_spin.setValue(7)
    assert panel.start_combo.model().item(panel.start_combo.currentIndex()).isEnabled()
    panel.reset()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=10000)
    np.testing.assert_allclose(panel.latest_codes, session.p_hat_draws(N, seed=7), rtol=1e-6)
    assert not panel.busy_label.isVisible()
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)


def test_without_an_atlas_p_hat_and_debias_are_disabled_with_the_reason(qtbot, checkpoint):
    session = ExplorerSession.from_checkpoint(checkpoint)
    session.atlas_codes = session.atlas_std = None   # e.g. a training checkpoint, never bundled
    widget = ChainPanel()
    qtbot.addWidget(widget)
    widget.set_session(session)
    widget.show()
    index = widget.start_combo.findData("p_hat")
    assert index >= 0 and not widget.start_combo.model().item(index).isEnabled()   # listed, greyed out
    tip = widget.start_combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "no atlas" in tip and "latentlab.bundle" in tip
    assert widget.debias_check.isVisible() and not widget.debias_check.isEnabled()
    assert "no atlas" in widget.debias_check.toolTip()
    assert widget.start_combo.isEnabled()  # the other starts still work
    qtbot.waitUntil(lambda: widget.latest_codes is not None, timeout=5000)
    widget.shutdown()


def test_debias_runs_the_debiased_chain(qtbot, panel, session):
    """Debias (on Reset): z_(t+1) = T(z_t) - b with b the atlas codes' mean one-step move; in mean mode
    (deterministic for this VAE) step 1 is the plain chain's step 1 minus b."""
    from latentlab.sampling.chain import latent_chain

    assert panel.debias_check.isEnabled() and "T(z_t) − b" in panel.debias_check.toolTip()
    z0 = panel.latest_codes.copy()
    panel.debias_check.setChecked(True)
    panel.reset()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=10000)
    assert panel.debiased
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=10000)
    b = session.chain_bias("mean")
    assert b is not None and b.shape == (4,) and np.linalg.norm(b) > 0
    plain = list(latent_chain(session.model, z0, 1, mode="mean"))[1].z
    np.testing.assert_allclose(panel.latest_codes, plain - b, atol=1e-5)


def test_log_p_hat_and_the_code_norm_are_plotted_beside_the_gap_score(qtbot, panel, session):
    """Issue 11: the gap score alone flatters a chain that leaves both P and P̂; log P̂(z) (with the
    encoded faces' 1 % floor) and ||z|| (with the prior's typical norm) are plotted beside it."""
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)
    qtbot.waitUntil(lambda: panel._p_hat_floor is not None, timeout=5000)
    qtbot.wait(150)
    steps, log_p = panel.plots.curves[1].getData()
    _, norms = panel.plots.curves[2].getData()
    assert len(steps) == 2 and np.all(np.isfinite(log_p)) and np.all(np.isfinite(norms))
    np.testing.assert_allclose(norms[-1], np.linalg.norm(panel.latest_codes, axis=1).mean(), rtol=1e-5)
    np.testing.assert_allclose(log_p[-1], session.log_p_hat(panel.latest_codes).mean(), rtol=1e-4)
    assert panel.plots.lines[1].isVisible() and panel.plots.lines[1].value() == pytest.approx(session.p_hat_floor())
    assert panel.plots.lines[2].isVisible() and panel.plots.lines[2].value() == pytest.approx(1.88, abs=0.01)  # d=4


def test_a_warning_says_when_the_chains_leave_p_hat(qtbot, panel, session, monkeypatch):
    qtbot.waitUntil(lambda: panel._p_hat_floor is not None, timeout=5000)
    assert panel.left_label.isHidden()
    panel._p_hat_floor = float(session.log_p_hat(panel.latest_codes).max()) + 1.0  # every chain below it
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=3000)
    qtbot.waitUntil(lambda: panel.left_label.isVisible(), timeout=3000)
    assert "have left P̂(Z)" in panel.left_label.text() and "100%" in panel.left_label.text()
    panel.reset()
    qtbot.waitUntil(lambda: panel.step_count == 0, timeout=3000)
    assert panel.left_label.isHidden()


def test_resume_continues_saved_codes_from_their_step(qtbot, panel, session):
    """A saved session's chains: resumed from their codes, numbered from their step, one transition per Step."""
    codes = session.atlas_codes[:3].copy()
    panel.resume(codes, 7)
    qtbot.waitUntil(lambda: panel.step_count == 7, timeout=3000)
    assert panel.chains_spin.value() == 3
    np.testing.assert_allclose(panel.latest_codes, codes, atol=1e-6)
    qtbot.waitUntil(lambda: panel.step_label.text() == "Step 7", timeout=3000)
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 8, timeout=3000)
    assert not np.allclose(panel.latest_codes, codes)
    panel.pause_spin.setValue(10)  # "pause after" counts from step 0, also for resumed chains
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=10000)
    assert settle(qtbot, panel, 400) == 10


def test_a_model_opens_on_its_measured_default_and_play_pauses_after_its_steps(qtbot, session, monkeypatch):
    measured = ChainDefault(mode="stochastic", debias=True, pause_after=3, improves=True, score=2.0,
                            score_step0=2.5, source="measured on this model (tiny.ckpt, training faces)")
    asked = []
    monkeypatch.setattr("latentlab.ui.chain.panel.chain_default",
                        lambda path, family: asked.append((path, family)) or measured)
    panel = ChainPanel()
    qtbot.addWidget(panel)
    panel.worker_threads = 1
    panel.chains_spin.setValue(N)
    panel.set_session(session)
    assert asked == [(session.path, "vae")]
    assert panel.mode_combo.currentData() == "stochastic" and panel.debias_check.isChecked()
    assert panel.pause_spin.value() == 3
    assert "stochastic + debias" in panel.default_label.text() and "2.00" in panel.default_label.text()
    assert not panel.default_label.isHidden()
    qtbot.wait(300)
    assert panel.latest_codes is None  # hidden (a tab behind another, as at launch): no chain set up yet
    panel.show()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=5000)  # shown: chains at step 0
    panel.fast_check.setChecked(True)
    panel.play()
    qtbot.waitUntil(lambda: not panel.is_playing, timeout=10000)  # paused by itself
    assert settle(qtbot, panel, 400) == 3 and panel.debiased
    panel.play()  # Play again goes on past the default's step count
    qtbot.waitUntil(lambda: panel.step_count >= 6, timeout=10000)
    panel.pause()
    panel.shutdown()


def test_the_mean_decode_mode_runs_in_the_window(qtbot, panel):
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("mean-decode"))
    panel.reset()
    qtbot.waitUntil(lambda: panel.latest_codes is not None, timeout=5000)
    z0 = panel.latest_codes.copy()
    panel.step()
    qtbot.waitUntil(lambda: panel.step_count == 1, timeout=5000)
    assert not np.allclose(panel.latest_codes, z0)


def test_the_chain_plots_are_built_when_first_shown_or_handed_data(qtbot, tmp_path, checkpoint):
    from conftest import open_main_window

    from latentlab.ui.chain.plots import ChainPlots

    unseen = ChainPlots()
    qtbot.addWidget(unseen)
    assert unseen.plots == []  # not built: five pyqtgraph plots cost the launch about 0.1 s
    unseen.set_data(np.arange(3.0), None, np.zeros(3), np.full(3, 0.5), 0.5, "step 0")
    assert len(unseen.plots) == 5
    assert list(unseen.curves[4].getData()[1]) == [0.5, 0.5, 0.5]

    window = open_main_window(qtbot, tmp_path, checkpoint)
    try:
        assert window.chain.plots.plots == []  # the Chain tab is not shown at launch
        window.tabs.setCurrentIndex(window.chain_tab)
        qtbot.waitUntil(lambda: len(window.chain.plots.plots) == 5, timeout=5000)
    finally:
        window.shutdown()
