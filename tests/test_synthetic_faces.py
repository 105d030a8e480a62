"""Tests for the procedural synthetic-faces dataset."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.data import synthetic_faces as sf
from latentlab.data.synthetic_faces import (
    CATEGORICAL_FACTORS,
    DEFAULT_COUNT,
    FACTOR_NAMES,
    FACTOR_RANGES,
    HAIR_COLOURS,
    HAIR_STYLES,
    render_faces,
    render_from_factors,
    sample_factors,
)


def test_constants():
    assert DEFAULT_COUNT == 30000
    assert len(HAIR_STYLES) >= 4 and len(set(HAIR_STYLES)) == len(HAIR_STYLES)
    assert len(HAIR_COLOURS) >= 5 and len(set(HAIR_COLOURS)) == len(HAIR_COLOURS)
    assert CATEGORICAL_FACTORS["hair_style"] is HAIR_STYLES
    assert CATEGORICAL_FACTORS["hair_colour"] is HAIR_COLOURS
    assert set(CATEGORICAL_FACTORS) <= set(FACTOR_NAMES)


def test_shapes_dtypes_and_ranges():
    imgs, f = render_faces(0, 40, seed=3)
    assert imgs.shape == (40, 3, 64, 64) and imgs.dtype == np.uint8
    assert tuple(f) == FACTOR_NAMES
    for name, (lo, hi) in FACTOR_RANGES.items():
        v = f[name]
        assert v.shape == (40,), name
        assert v.min() >= lo and v.max() <= hi, name
        if name in CATEGORICAL_FACTORS:
            assert v.dtype == np.int64, name
        else:
            assert v.dtype == np.float32, name
    # images use a reasonable dynamic range
    assert imgs.min() < 60 and imgs.max() > 200


def test_sample_factors_over_many_faces_cover_categories():
    f = sample_factors(0, 600, seed=0)
    for name, names in CATEGORICAL_FACTORS.items():
        assert set(np.unique(f[name])) == set(range(len(names))), name
    assert 0.15 < f["glasses"].mean() < 0.45
    assert f["smile"].min() < -0.9 and f["smile"].max() > 0.9


def test_deterministic_and_seed_dependent():
    a, fa = render_faces(0, 12, seed=1)
    b, fb = render_faces(0, 12, seed=1)
    c, _ = render_faces(0, 12, seed=2)
    assert a.tobytes() == b.tobytes()
    for k in fa:
        np.testing.assert_array_equal(fa[k], fb[k])
    assert (a != c).any(axis=(1, 2, 3)).all()


def test_slicing_consistency():
    full, ff = render_faces(0, 40, seed=5)
    part, fp = render_faces(5, 3, seed=5)
    np.testing.assert_array_equal(part, full[5:8])
    for k in ff:
        np.testing.assert_array_equal(fp[k], ff[k][5:8])
    # across an internal chunk boundary
    part2, _ = render_faces(30, 6, seed=5)
    np.testing.assert_array_equal(part2, full[30:36])
    single, _ = render_faces(37, 1, seed=5)
    np.testing.assert_array_equal(single[0], full[37])


def test_render_faces_equals_sample_plus_render():
    imgs, _ = render_faces(10, 8, seed=9)
    np.testing.assert_array_equal(render_from_factors(sample_factors(10, 8, seed=9)), imgs)


def test_cropping_is_lossless(monkeypatch):
    f = sample_factors(0, 40, seed=11)
    # append extreme faces: every continuous factor at its low / high end
    ext = {}
    for name, (lo, hi) in FACTOR_RANGES.items():
        vals = [lo, hi] * 4
        ext[name] = np.asarray(vals, f[name].dtype)
    ext["hair_style"] = np.arange(8) % len(HAIR_STYLES)
    ext["glasses"] = np.ones(8, np.int64)
    f = {k: np.concatenate([f[k], ext[k]]) for k in f}
    cropped = render_from_factors(f)
    monkeypatch.setattr(sf, "_NO_CROP", True)
    full = render_from_factors(f)
    np.testing.assert_array_equal(cropped, full)


def test_faces_are_distinct():
    imgs, _ = render_faces(0, 500, seed=0)
    assert len({im.tobytes() for im in imgs}) == 500
    x = imgs.reshape(500, -1).astype(np.float32)
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.fill_diagonal(d2, np.inf)
    rms = np.sqrt(np.maximum(d2.min(), 0.0) / x.shape[1])
    assert rms > 8.0  # every pair differs by clearly more than noise (RMS grey levels)


def test_other_sizes():
    small, _ = render_faces(0, 4, size=32)
    big, _ = render_faces(0, 4, size=128)
    base, _ = render_faces(0, 4)
    assert small.shape == (4, 3, 32, 32) and big.shape == (4, 3, 128, 128)
    # the 128px rendering box-downsampled to 64 matches the 64px rendering closely
    down = big.astype(np.float32).reshape(4, 3, 64, 2, 64, 2).mean(axis=(3, 5))
    assert np.abs(down - base).mean() < 4.0


def test_empty_and_invalid():
    imgs, f = render_faces(3, 0)
    assert imgs.shape == (0, 3, 64, 64) and all(len(v) == 0 for v in f.values())
    with pytest.raises(ValueError):
        sample_factors(-1, 3)
    with pytest.raises(ValueError):
        sample_factors(0, 3, seed=-2)
    with pytest.raises(ValueError):
        render_from_factors({"smile": np.zeros(2), "glasses": np.zeros(3)})


# --------------------------------------------------------------------------- localisation
def _centred(n=16, seed=4):
    """Random faces with the pose fixed (no shift / tilt, scale 1)."""
    f = sample_factors(0, n, seed=seed)
    f["shift_x"][:] = 0
    f["shift_y"][:] = 0
    f["rotation"][:] = 0
    f["scale"][:] = 1
    return f


def _diff(f, name, v0, v1):
    a = dict(f, **{name: np.full_like(f[name], v0)})
    b = dict(f, **{name: np.full_like(f[name], v1)})
    return np.abs(render_from_factors(a).astype(np.int32)
                  - render_from_factors(b).astype(np.int32)).sum(axis=(0, 1))  # [H, W]


def _share(d, rows, cols):
    return d[rows, cols].sum() / max(d.sum(), 1)


def _corners(d):
    return d[:8, :8].sum() + d[:8, -8:].sum()


def test_glasses_change_the_eye_band():
    d = _diff(_centred(), "glasses", 0, 1)
    assert d.sum() > 0
    assert _share(d, slice(20, 40), slice(8, 56)) > 0.95
    assert _corners(d) == 0


def test_smile_changes_the_lower_middle():
    f = _centred()
    f["mouth_open"][:] = 0
    d = _diff(f, "smile", -1.0, 1.0)
    assert d.sum() > 0
    assert _share(d, slice(34, 50), slice(20, 44)) > 0.95
    assert d[:30].sum() == 0  # nothing above the nose changes


def test_eye_spacing_and_size_change_the_eye_band():
    f = _centred()
    f["glasses"][:] = 0
    for name in ("eye_spacing", "eye_size"):
        d = _diff(f, name, 0.0, 1.0)
        assert d.sum() > 0, name
        assert _share(d, slice(18, 38), slice(14, 50)) > 0.95, name
        assert d[44:].sum() == 0, name


def test_background_changes_the_surroundings_not_the_face():
    d = _diff(_centred(), "background", 0.0, 0.5)
    assert _corners(d) > 0
    assert d[24:36, 26:38].sum() == 0  # middle of the face


def test_skin_tone_changes_the_face_not_the_corners():
    d = _diff(_centred(), "skin_tone", 0.0, 1.0)
    assert d[30:40, 26:38].sum() > 0
    assert _corners(d) == 0


def test_hair_style_changes_the_top_of_the_head():
    f = _centred()
    d = _diff(f, "hair_style", HAIR_STYLES.index("bald"), HAIR_STYLES.index("short"))
    assert _share(d, slice(0, 34), slice(0, 64)) > 0.9
