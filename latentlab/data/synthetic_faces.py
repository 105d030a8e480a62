"""Procedural synthetic faces: a built-in dataset that needs no files.

Each sample is a small cartoon portrait (64x64 RGB by default) drawn with
anti-aliased signed-distance fields in numpy, vectorised over a batch of
faces.  Layers, back to front:

* background: a hue-coloured backdrop with a gentle vertical gradient;
* shoulders (shirt in its own hue), long / curly hair behind the head, a bun;
* neck, ears, head (an ellipse whose width, height and jaw narrowing vary,
  with soft shading), cheeks;
* front hair (cap, fringe/bangs, side locks, or the horseshoe of a bald head);
* eyes (white, coloured iris, pupil, highlight, lid line) and eyebrows;
* a nose hint, a mouth (a thick parabolic arc from frown to smile that can
  open into a lens showing teeth);
* glasses (round or square rims, bridge, temples, a faint lens glare).

The whole head is placed with a small random shift, scale and tilt.

Every generating factor is returned as a label (1-D arrays), see
``FACTOR_RANGES`` for names and ranges; categorical factors are small ints
indexing the name tuples in ``CATEGORICAL_FACTORS``.

Determinism contract
--------------------
Face ``i`` of seed ``seed`` (``seed >= 0``, ``i >= 0``) depends only on
``(seed, i)``: its factors come from ``np.random.default_rng([seed, i])``, and
rendering is purely per-face element-wise arithmetic, so
``render_faces(5, 3)`` equals ``render_faces(0, 10)[5:8]`` bit for bit, and the
same call always returns the same bytes (for a given numpy version).
``render_faces(start, count, seed) == render_from_factors(sample_factors(start,
count, seed))``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "CATEGORICAL_FACTORS",
    "DEFAULT_COUNT",
    "EYE_COLOURS",
    "FACTOR_NAMES",
    "FACTOR_RANGES",
    "GLASSES_COLOURS",
    "GLASSES_SHAPES",
    "HAIR_COLOURS",
    "HAIR_STYLES",
    "render_faces",
    "render_from_factors",
    "sample_factors",
]

DEFAULT_COUNT: int = 30000

HAIR_STYLES: tuple[str, ...] = ("bald", "short", "fringe", "long", "curly", "bun")
HAIR_COLOURS: tuple[str, ...] = ("black", "dark_brown", "brown", "blond", "red", "grey")
EYE_COLOURS: tuple[str, ...] = ("brown", "blue", "green", "dark")
GLASSES_COLOURS: tuple[str, ...] = ("black", "brown", "red", "blue")
GLASSES_SHAPES: tuple[str, ...] = ("round", "square")

CATEGORICAL_FACTORS: dict[str, tuple[str, ...]] = {
    "hair_style": HAIR_STYLES,
    "hair_colour": HAIR_COLOURS,
    "eye_colour": EYE_COLOURS,
    "glasses": ("no", "yes"),
    "glasses_colour": GLASSES_COLOURS,
    "glasses_shape": GLASSES_SHAPES,
}

# name -> (low, high); ints are inclusive category indices.
FACTOR_RANGES: dict[str, tuple[float, float]] = {
    "face_width": (0.0, 1.0),      # narrow .. wide head
    "face_height": (0.0, 1.0),     # short .. tall head
    "jaw": (0.0, 1.0),             # round .. narrow/pointed chin
    "skin_tone": (0.0, 1.0),       # light .. dark
    "hair_colour": (0, len(HAIR_COLOURS) - 1),
    "hair_style": (0, len(HAIR_STYLES) - 1),
    "eye_size": (0.0, 1.0),
    "eye_spacing": (0.0, 1.0),     # close .. far apart
    "eye_colour": (0, len(EYE_COLOURS) - 1),
    "gaze": (-1.0, 1.0),           # looking left .. right (image x)
    "brow_tilt": (-1.0, 1.0),      # worried .. stern
    "smile": (-1.0, 1.0),          # frown .. smile
    "mouth_width": (0.0, 1.0),
    "mouth_open": (0.0, 1.0),      # 0 = closed (about half of faces)
    "glasses": (0, 1),
    "glasses_colour": (0, len(GLASSES_COLOURS) - 1),
    "glasses_shape": (0, len(GLASSES_SHAPES) - 1),
    "background": (0.0, 1.0),      # background hue
    "shirt": (0.0, 1.0),           # shirt hue
    "shift_x": (-4.0, 4.0),        # head offset, pixels at 64x64
    "shift_y": (-3.0, 3.0),
    "scale": (0.92, 1.08),
    "rotation": (-8.0, 8.0),       # degrees, positive = clockwise on screen
}
FACTOR_NAMES: tuple[str, ...] = tuple(FACTOR_RANGES)

_N_UNIFORMS = 32  # uniforms drawn per face (spare ones keep room for additions)
_CHUNK = 32       # faces rendered per numpy batch (small = cache friendly)
_NO_CROP = False  # True: draw every layer on the full canvas (tests check it changes nothing)

# Values used by render_from_factors for factors missing from its input.
_DEFAULTS: dict[str, float] = {
    name: (0 if name in CATEGORICAL_FACTORS else 0.5 * (lo + hi))
    for name, (lo, hi) in FACTOR_RANGES.items()
}
_DEFAULTS["scale"] = 1.0

_SKIN_ANCHORS = np.array(
    [
        (255, 226, 204),
        (243, 198, 165),
        (226, 172, 130),
        (198, 136, 94),
        (160, 104, 66),
        (118, 74, 48),
        (82, 52, 36),
    ],
    np.float32,
) / 255.0
_HAIR_RGB = np.array(
    [(38, 32, 34), (74, 48, 32), (128, 86, 50), (222, 186, 110), (178, 82, 40), (172, 170, 170)],
    np.float32,
) / 255.0
_EYE_RGB = np.array(
    [(110, 66, 36), (70, 125, 190), (80, 135, 80), (48, 38, 34)], np.float32) / 255.0
_GLASSES_RGB = np.array(
    [(25, 25, 30), (105, 62, 35), (185, 35, 45), (35, 70, 165)], np.float32) / 255.0


# --------------------------------------------------------------------------- factors
def sample_factors(start: int, count: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Factors of faces ``start .. start+count-1``; face i depends only on (seed, i)."""
    start, count, seed = int(start), int(count), int(seed)
    if start < 0 or count < 0 or seed < 0:
        raise ValueError("start, count and seed must be non-negative")
    u = np.empty((count, _N_UNIFORMS), np.float64)
    for k in range(count):
        u[k] = np.random.default_rng([seed, start + k]).random(_N_UNIFORMS)

    def cat(col: np.ndarray, n: int) -> np.ndarray:
        return np.minimum((col * n).astype(np.int64), n - 1)

    def f32(x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32)

    mouth_open = np.clip((u[:, 13] - 0.5) / 0.5, 0.0, 1.0)
    return {
        "face_width": f32(u[:, 0]),
        "face_height": f32(u[:, 1]),
        "jaw": f32(u[:, 2]),
        "skin_tone": f32(u[:, 3]),
        "hair_colour": cat(u[:, 4], len(HAIR_COLOURS)),
        "hair_style": cat(u[:, 5], len(HAIR_STYLES)),
        "eye_size": f32(u[:, 6]),
        "eye_spacing": f32(u[:, 7]),
        "eye_colour": cat(u[:, 8], len(EYE_COLOURS)),
        "gaze": f32(2 * u[:, 9] - 1),
        "brow_tilt": f32(2 * u[:, 10] - 1),
        "smile": f32(2 * u[:, 11] - 1),
        "mouth_width": f32(u[:, 12]),
        "mouth_open": f32(mouth_open),
        "glasses": (u[:, 14] < 0.3).astype(np.int64),
        "glasses_colour": cat(u[:, 15], len(GLASSES_COLOURS)),
        "glasses_shape": cat(u[:, 16], len(GLASSES_SHAPES)),
        "background": f32(u[:, 17]),
        "shirt": f32(u[:, 18]),
        "shift_x": f32((2 * u[:, 19] - 1) * 4.0),
        "shift_y": f32((2 * u[:, 20] - 1) * 3.0),
        "scale": f32(0.92 + 0.16 * u[:, 21]),
        "rotation": f32((2 * u[:, 22] - 1) * 8.0),
    }


# --------------------------------------------------------------------------- SDF helpers
def _circle(x, y, r):
    return np.sqrt(x * x + y * y) - r


def _ellipse(x, y, a, b):
    """Approximate signed distance to an axis-aligned ellipse (exact sign)."""
    xa = x / a
    yb = y / b
    k0 = np.sqrt(xa * xa + yb * yb)
    xa /= a
    yb /= b
    k1 = np.sqrt(xa * xa + yb * yb)
    k1 += 1e-6
    return k0 * (k0 - 1.0) / k1


def _rbox(x, y, hx, hy, r):
    """Rounded box centred at the origin (half extents hx, hy, corner radius r)."""
    qx = np.abs(x) - (hx - r)
    qy = np.abs(y) - (hy - r)
    ox = np.maximum(qx, 0.0)
    oy = np.maximum(qy, 0.0)
    return np.sqrt(ox * ox + oy * oy) + np.minimum(np.maximum(qx, qy), 0.0) - r


def _segment(x, y, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    px, py = x - ax, y - ay
    t = np.clip((px * dx + py * dy) / (dx * dx + dy * dy + 1e-6), 0.0, 1.0)
    px -= t * dx
    py -= t * dy
    return np.sqrt(px * px + py * py)


def _arc(x, y, x0, y0, w, h):
    """Unsigned distance to the parabola segment y = y0 + h*(1-t^2) - h/2, t=(x-x0)/w, |t|<=1.

    With image y pointing down, h > 0 bends the middle down (a smile)."""
    t = (x - x0) / w
    f = y0 + h * (0.5 - t * t)
    slope = (-2.0 * h / w) * t
    d_in = np.abs(y - f) / np.sqrt(1.0 + slope * slope)
    ex = np.abs(x - x0) - w
    ey = y - (y0 - 0.5 * h)
    d_end = np.sqrt(ex * ex + ey * ey)
    return np.where(np.abs(t) <= 1.0, d_in, d_end)


def _bumps(x, y, k_squarings):
    """cos(k*theta) around the origin, k = 2**k_squarings, without trig."""
    re, im = x, y
    for _ in range(k_squarings):
        re, im = re * re - im * im, 2.0 * re * im
    r2 = x * x + y * y + 1e-6
    for _ in range(k_squarings - 1):
        r2 = r2 * r2
    return re / r2


def _hsv(h, s, v):
    """Vectorised HSV -> RGB, inputs [B] in [0,1]; returns [B, 3] float32."""
    h6 = (h % 1.0) * 6.0
    rgb = np.stack([np.clip(np.abs(h6 - 3.0) - 1.0, 0, 1),
                    np.clip(2.0 - np.abs(h6 - 2.0), 0, 1),
                    np.clip(2.0 - np.abs(h6 - 4.0), 0, 1)], axis=-1)
    return ((1.0 - s[:, None] + s[:, None] * rgb) * v[:, None]).astype(np.float32)


# --------------------------------------------------------------------------- renderer
class _Region:
    """A crop of the canvas (pixel rows x cols) for a subset of faces.

    Pixels outside a region would get exactly zero coverage, so cropping never
    changes the result; it only saves work."""

    def __init__(self, cv: _Canvas, idx, rows: slice, cols: slice):
        self.cv, self.idx, self.rows, self.cols = cv, idx, rows, cols
        faces = slice(None) if idx is None else idx
        self.u = cv.U[faces, rows, cols]
        self.v = cv.V[faces, rows, cols]
        self.inv_px = self.sel(cv.inv_px)

    def sel(self, x):
        """Restrict a per-face array ([B], [B,1,1] or [B,3]) to this region's faces."""
        if self.idx is None or np.ndim(x) == 0:
            return x
        return x[self.idx]

    def alpha(self, d, opacity=None):
        a = 0.5 - d * self.inv_px
        np.clip(a, 0.0, 1.0, out=a)
        if opacity is not None:
            a *= opacity
        return a

    def over(self, a, colour):
        """Composite colour ([b,3] or [b,3,h,w]) with coverage a [b,h,w]."""
        if colour.ndim == 2:
            colour = colour[:, :, None, None]
        img = self.cv.img
        if self.idx is None:
            dst = img[:, :, self.rows, self.cols]
            dst += a[:, None] * (colour - dst)
        else:
            dst = img[self.idx, :, self.rows, self.cols]
            dst += a[:, None] * (colour - dst)
            img[self.idx, :, self.rows, self.cols] = dst


class _Canvas:
    """A batch of images plus per-face local coordinates (face-centred, 64px units)."""

    def __init__(self, f: dict[str, np.ndarray], size: int):
        n = len(f["smile"])
        self.n, self.size = n, size
        g = (np.arange(size, dtype=np.float32) + np.float32(0.5)) * np.float32(64.0 / size)
        X, Y = g.reshape(1, 1, size), g.reshape(1, size, 1)
        self.cx = 32.0 + f["shift_x"].astype(np.float64)
        self.cy = 29.0 + f["shift_y"].astype(np.float64)
        self.scale = f["scale"].astype(np.float64)
        th = np.radians(f["rotation"].astype(np.float64))
        self.cos, self.sin = np.cos(th), np.sin(th)
        c = _p(self.cos / self.scale)
        sn = _p(self.sin / self.scale)
        dx, dy = X - _p(self.cx), Y - _p(self.cy)
        self.U = c * dx + sn * dy        # local x (right), 64px units at scale 1
        self.V = c * dy - sn * dx        # local y (down)
        self.inv_px = _p(self.scale * (size / 64.0))
        self.img = np.empty((n, 3, size, size), np.float32)

    def region(self, u0, u1, v0, v1, idx=None):
        """Region covering the local box [u0,u1]x[v0,v1] (scalars or [B] arrays) of
        the faces idx (all if None); None when it is empty."""
        if idx is not None:
            idx = np.flatnonzero(idx)
            if idx.size == 0:
                return None
            if idx.size == self.n:
                idx = None
        sel = slice(None) if idx is None else idx

        def per_face(x):
            return np.broadcast_to(np.asarray(x, np.float64).reshape(-1), (self.n,))[sel]

        us = [per_face(u0), per_face(u1)]
        vs = [per_face(v0), per_face(v1)]
        c, s, k = self.cos[sel], self.sin[sel], self.scale[sel]
        xs, ys = [], []
        for u in us:
            for v in vs:
                xs.append(self.cx[sel] + k * (c * u - s * v))
                ys.append(self.cy[sel] + k * (s * u + c * v))
        if _NO_CROP:  # debugging / tests: the full canvas
            return _Region(self, idx, slice(0, self.size), slice(0, self.size))
        q = self.size / 64.0
        x0, x1 = np.min(xs) * q - 0.5, np.max(xs) * q - 0.5
        y0, y1 = np.min(ys) * q - 0.5, np.max(ys) * q - 0.5
        r0 = min(max(0, int(math.floor(y0)) - 2), self.size)
        r1 = max(min(self.size, int(math.ceil(y1)) + 3), r0)
        c0 = min(max(0, int(math.floor(x0)) - 2), self.size)
        c1 = max(min(self.size, int(math.ceil(x1)) + 3), c0)
        return _Region(self, idx, slice(r0, r1), slice(c0, c1))


def _p(v):
    """Per-face values as a float32 [B,1,1] array (scalars stay float32 scalars)."""
    if np.ndim(v) == 0:
        return np.float32(v)
    v = np.asarray(v, np.float32)
    return v.reshape(v.shape[0], 1, 1)


def _tile(rgb, n):
    return np.tile(np.asarray(rgb, np.float32).reshape(1, 3), (n, 1))


def _render_chunk(f: dict[str, np.ndarray], size: int) -> np.ndarray:
    cv = _Canvas(f, size)
    n = cv.n
    f32 = np.float32

    # ---- per-face parameters (local units = pixels of a 64x64 image at scale 1) ----
    fw, fh = f["face_width"], f["face_height"]
    a_ = 15.0 + 4.0 * fw                     # head half width   [B]
    b_ = 18.5 + 3.5 * fh                     # head half height  [B]
    a, b = _p(a_), _p(b_)
    jaw = _p(0.12 + 0.28 * f["jaw"])
    style = f["hair_style"]
    hair_rgb = _HAIR_RGB[f["hair_colour"]]
    t = f["skin_tone"].astype(np.float32) * (len(_SKIN_ANCHORS) - 1)
    i0 = np.clip(t.astype(np.int64), 0, len(_SKIN_ANCHORS) - 2)
    fr = np.clip(t - i0, 0.0, 1.0)[:, None]
    skin = _SKIN_ANCHORS[i0] * (1 - fr) + _SKIN_ANCHORS[i0 + 1] * fr
    ey_ = 0.06 * b_                          # eye line
    ex_ = 6.2 + 2.4 * f["eye_spacing"]       # eye centre |x|
    rx_ = 2.5 + 1.2 * f["eye_size"]          # eye half width
    ry_ = 0.78 * rx_

    # ---- background ---------------------------------------------------------------
    bg = _hsv(f["background"].astype(np.float32), np.full(n, 0.32, np.float32),
              np.full(n, 0.90, np.float32))
    grad = (1.06 - 0.14 * (np.arange(size, dtype=np.float32) + 0.5) / size).reshape(1, 1, size, 1)
    cv.img[:] = bg[:, :, None, None] * grad

    # ---- shoulders / shirt ------------------------------------------------------------
    shirt = _hsv(f["shirt"].astype(np.float32), np.full(n, 0.45, np.float32),
                 np.full(n, 0.62, np.float32))
    r = cv.region(-(a_ + 13), a_ + 13, b_ + 4, b_ + 36)
    if r:
        u, v = r.u, r.v
        bb = r.sel(b)
        d = _ellipse(u, v - (bb + 20.0), r.sel(a) + 12.0, f32(15.0))
        shade = 1.0 + 0.10 * np.clip((v - (bb + 6.0)) * -0.1, -1.0, 0.3)
        r.over(r.alpha(d), r.sel(shirt)[:, :, None, None] * shade[:, None])

    # ---- hair behind the head (long, curly, bun) -------------------------------------
    hair_back = hair_rgb * 0.80
    r = cv.region(-(a_ + 5.5), a_ + 5.5, -(b_ + 4.5), 1.3 * b_ + 1.5, idx=style == 3)
    if r:  # long: ellipse around the top + rounded box falling to the shoulders
        u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
        d = np.minimum(_ellipse(u, v + 1.0, aa + 3.5, bb + 2.5),
                       _rbox(u, v - bb * 0.55, aa + 4.0, bb * 0.75, f32(5.0)))
        shade = 1.0 - 0.12 * np.clip(v / bb, -1.0, 1.5)
        r.over(r.alpha(d), r.sel(hair_back)[:, :, None, None] * shade[:, None])
    r = cv.region(-(a_ + 9.0), a_ + 9.0, -(b_ + 10.5), b_ + 4.5, idx=style == 4)
    if r:  # curly: a cloud of curls
        u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
        vc = v + 3.0
        d = _ellipse(u, vc, aa + 6.5, bb + 4.5) - 1.6 * np.abs(_bumps(u, vc, 3))
        shade = 1.0 - 0.12 * np.clip(v / bb, -1.0, 1.5)
        r.over(r.alpha(d), r.sel(hair_back)[:, :, None, None] * shade[:, None])
    r = cv.region(-8.0, 8.0, -(b_ + 10.0), -(b_ - 5.0), idx=style == 5)
    if r:  # bun
        u, v, bb = r.u, r.v, r.sel(b)
        d = _circle(u, v + bb + 2.5, f32(6.5))
        shade = 1.0 + 0.08 * np.clip(-(v + bb + 2.5) / 6.5, -1.0, 1.0)
        r.over(r.alpha(d), r.sel(hair_rgb * 0.9)[:, :, None, None] * shade[:, None])

    # ---- neck ---------------------------------------------------------------------
    r = cv.region(-(0.36 * a_ + 1.5), 0.36 * a_ + 1.5, 0.4 * b_ - 1.5, 1.4 * b_ + 1.5)
    if r:
        u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
        d = _rbox(u, v - bb * 0.9, aa * 0.36, bb * 0.5, f32(2.0))
        shade = 0.80 + 0.10 * np.clip((v - bb * 0.8) / (0.4 * bb), 0.0, 1.0)
        r.over(r.alpha(d), r.sel(skin)[:, :, None, None] * shade[:, None])

    # ---- ears (mirror symmetric) ------------------------------------------------------
    r = cv.region(-(a_ + 4.5), a_ + 4.5, -4.5, 7.5)
    if r:
        au = np.abs(r.u)
        d = _ellipse(au - r.sel(a) * 0.97, r.v - 1.5, f32(3.2), f32(4.6))
        inner = 0.88 - 0.16 * np.clip(-d * 0.6, 0.0, 1.0)   # darker inside
        r.over(r.alpha(d), r.sel(skin)[:, :, None, None] * inner[:, None])

    # ---- head -------------------------------------------------------------------------
    r = cv.region(-(a_ + 1.5), a_ + 1.5, -(b_ + 1.5), b_ + 1.5)
    u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
    yn = np.clip(v / bb, 0.0, 1.0)
    xj = u / (1.0 - r.sel(jaw) * yn * yn)
    d = _ellipse(xj, v, aa, bb)
    xa, yb = u / aa, v / bb
    r2 = xa * xa + yb * yb
    shade = 1.04 - 0.05 * xa - 0.04 * yb - 0.12 * (r2 * r2)
    r.over(r.alpha(d), r.sel(skin)[:, :, None, None] * shade[:, None])

    # ---- front hair ------------------------------------------------------------------
    # One parametric shape for every style with hair on top: an outer cap (a slightly
    # enlarged head ellipse, bumpy for curls) minus a face window, the window cut by
    # a fringe line, the side hair ending at y_hi.
    def pick(vals):
        return np.asarray(vals, np.float64)[style]
    #                 bald   short  fringe long   curly  bun
    thick = pick([0.0, 2.2, 2.4, 2.6, 3.0, 1.5])
    win_top = pick([0.0, 0.62, 0.95, 0.62, 0.60, 0.70])    # window height (x b)
    win_side = pick([0.0, 1.6, 1.4, 3.0, 2.0, 1.7])        # side hair thickness
    fringe = pick([0.0, -0.52, -0.32, -9, -9, -9])         # bangs line (x b)
    slant = pick([0.0, 0.22, 0.0, 0.0, 0.0, 0.0])          # side-swept hairline
    zigzag = pick([0.0, 0.0, 2.2, 0.0, 0.0, 0.0])          # jagged edge of bangs
    y_hi = pick([0.0, 0.12, 0.14, 0.55, 0.30, 0.10])       # lower end of side hair
    r = cv.region(-(a_ + thick + 2.0), a_ + thick + 2.0, -(b_ + 1.6 * thick + 2.0),
                  y_hi * b_ + 1.5, idx=style != 0)
    if r:
        u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
        tk = r.sel(_p(thick))
        d_out = _ellipse(u, v + tk * 0.6, aa + tk, bb + tk)
        curly = np.flatnonzero(r.sel(style) == 4)
        if curly.size:
            d_out[curly] -= 1.2 * np.abs(_bumps(u[curly], v[curly], 3))
        wc = f32(3.0)  # window centre y
        d_win = _ellipse(u, v - wc, aa - r.sel(_p(win_side)), bb * r.sel(_p(win_top)) + wc)
        edge = r.sel(_p(fringe)) * bb + r.sel(_p(slant)) * u
        edge += np.abs((u * 0.45) % 1.0 - 0.5) * r.sel(_p(zigzag))
        d_win = np.maximum(d_win, edge - v)
        d = np.maximum(d_out, -d_win)
        d = np.maximum(d, v - r.sel(_p(y_hi)) * bb)
        yb = v / bb
        shade = 1.0 + 0.10 * np.clip(-yb - 0.3, -1.0, 0.7) - 0.10 * np.clip(yb, 0.0, 1.0)
        shade *= 1.0 + 0.05 * (np.abs((u * 0.7) % 1.0 - 0.5) - 0.25)   # strands
        r.over(r.alpha(d), r.sel(hair_rgb)[:, :, None, None] * shade[:, None])
    # bald: a tuft of hair over each ear
    r = cv.region(-(a_ + 3.0), a_ + 3.0, -0.3 * b_ - 1.5, 0.3 * b_ + 1.5, idx=style == 0)
    if r:
        u, v, aa, bb = r.u, r.v, r.sel(a), r.sel(b)
        d = _ellipse(np.abs(u) - (aa - 0.6), v + 0.02 * bb, f32(2.0), 0.24 * bb)
        d = np.maximum(d, -_ellipse(u, v, aa - 1.6, bb))  # keep to the rim of the head
        shade = 1.0 - 0.12 * np.clip(v / (0.25 * bb), -1.0, 1.0)
        r.over(r.alpha(d), r.sel(hair_rgb)[:, :, None, None] * shade[:, None])

    # ---- eyes and brows (mirror symmetric about the face's vertical axis) ------------
    ex, rx, ry, ey = _p(ex_), _p(rx_), _p(ry_), _p(ey_)
    r = cv.region(-(ex_ + rx_ + 2.5), ex_ + rx_ + 2.5, ey_ - ry_ - 7.5, ey_ + ry_ + 1.5)
    u, v = r.u, r.v
    sx = np.where(u >= 0, f32(1.0), f32(-1.0))
    eu, ev = np.abs(u) - ex, v - ey
    # brows: short arcs, tilted inward (stern) or outward (worried)
    tilt = _p(f["brow_tilt"] * 0.35)
    d = _arc(eu, ev + ry + 2.6 + tilt * eu, f32(0.0), f32(0.0), rx + 0.6, f32(-1.0)) - 0.55
    brow_rgb = np.where((f["hair_colour"] == 3)[:, None], hair_rgb * 0.7, hair_rgb * 0.85)
    r.over(r.alpha(d), brow_rgb)
    # eye white
    d_eye = _ellipse(eu, ev, rx, ry)
    r.over(r.alpha(d_eye), _tile((0.97, 0.97, 0.96), n))
    # iris, pupil, highlight (gaze moves both irises the same way on screen)
    gz = _p(f["gaze"] * 0.9) * sx
    ri = ry * 0.95
    iu, iv = eu - gz, ev + 0.1
    di = np.sqrt(iu * iu + iv * iv)
    r.over(r.alpha(np.maximum(di - ri, d_eye)), _EYE_RGB[f["eye_colour"]])
    r.over(r.alpha(np.maximum(di - 0.5 * ri, d_eye)), _tile((0.06, 0.05, 0.05), n))
    d_hl = _circle(iu + ri * 0.35 * sx, iv + ri * 0.4, ri * 0.28)
    r.over(r.alpha(d_hl, 0.9), _tile((1.0, 1.0, 1.0), n))
    # lid line, thicker on the upper lid
    d_lid = np.abs(d_eye) - np.where(ev < 0, f32(0.42), f32(0.22))
    r.over(r.alpha(d_lid, 0.9), skin * 0.25 + 0.03)

    # ---- glasses ------------------------------------------------------------------
    square = _p(f["glasses_shape"] == 1)
    gr = np.minimum(rx + 2.0, ex - 1.0)
    hx = gr + 0.3 * square
    hy = gr * (1.0 - 0.2 * square)
    cr = gr * (1.0 - square) + 1.6 * square
    gy = ey + 0.3
    hy_ = hy.reshape(n)
    gy_ = gy.reshape(n)
    r = cv.region(-(a_ + 1.5), a_ + 1.5, gy_ - hy_ - 1.5, gy_ + hy_ + 1.5, idx=f["glasses"] > 0)
    if r:
        u, v = r.u, r.v
        au = np.abs(u)
        exs, hxs, gys = r.sel(ex), r.sel(hx), r.sel(gy)
        eu = au - exs
        d_lens = _rbox(eu, v - gys, hxs, r.sel(hy), r.sel(cr))
        d = np.abs(d_lens) - 0.5
        d = np.minimum(d, _segment(u, v, -(exs - hxs), gys - 0.8, exs - hxs, gys - 0.8) - 0.5)
        d = np.minimum(d, _segment(au, v, exs + hxs, gys - 0.8, r.sel(a) + 0.5, gys - 1.8) - 0.45)
        glare = r.alpha(d_lens) * np.clip(0.8 - (v - gys + 0.3 * eu) * 0.25, 0.0, 1.0)
        glare *= 0.18
        r.over(glare, _tile((1.0, 1.0, 1.0), len(u)))
        r.over(r.alpha(d), r.sel(_GLASSES_RGB[f["glasses_colour"]]))

    # ---- cheeks ------------------------------------------------------------------
    r = cv.region(-(ex_ + 4.5), ex_ + 4.5, ey_ + 2.0, ey_ + 9.0)
    cu, cw = np.abs(r.u) - (ex + 1.0), r.v - (ey + 5.5)
    blush = 1.0 - (cu * cu + cw * cw) * f32(1.0 / 9.0)
    np.clip(blush, 0.0, 1.0, out=blush)
    blush *= blush
    blush *= 0.22
    r.over(blush, _tile((0.93, 0.45, 0.45), n))

    # ---- nose hint ---------------------------------------------------------------
    ny = b * 0.36
    r = cv.region(-3.0, 3.0, 0.36 * b_ - 2.0, 0.36 * b_ + 2.0)
    d = _arc(r.u, r.v, f32(0.0), ny, f32(1.6), f32(0.7)) - 0.4
    r.over(r.alpha(d, 0.75), skin * 0.62)

    # ---- mouth: a parabolic arc (smile > 0 bends the middle down), opening into a lens
    mw_ = 3.2 + 2.8 * f["mouth_width"]
    mh_ = 2.4 * f["smile"]
    op_ = 3.2 * f["mouth_open"]
    my_ = 0.60 * b_
    r = cv.region(-(mw_ + 1.5), mw_ + 1.5, my_ - np.abs(mh_) * 0.5 - 1.5,
                  my_ + np.abs(mh_) * 0.5 + op_ + 1.5)
    u, v = r.u, r.v
    mw, mh, opn, my = _p(mw_), _p(mh_), _p(op_), _p(my_)
    tm = u / mw
    tt = 1.0 - tm * tm
    top = my + mh * (tt - 0.5)
    bot = top + opn * tt
    au_m = np.abs(u) - mw
    d_fill = np.maximum(np.maximum(top - v, v - bot), au_m)
    is_open = _p(f["mouth_open"] > 0.05)
    r.over(r.alpha(d_fill, is_open), _tile((0.40, 0.10, 0.14), n))
    teeth = np.maximum(d_fill, v - (top + np.minimum(opn * 0.35, 1.1) * tt))
    r.over(r.alpha(teeth, is_open), _tile((0.96, 0.96, 0.94), n))
    lip = skin * 0.32 + np.array([[0.32, 0.06, 0.08]], np.float32)
    d = _arc(u, v, f32(0.0), my, mw, mh) - 0.6
    slope = 2.0 * (opn - mh) * tm / mw
    d_low = np.abs(v - bot) / np.sqrt(1.0 + slope * slope) + np.maximum(au_m, 0.0) * 4.0 - 0.45
    d_low += (1.0 - is_open) * 1e3
    r.over(r.alpha(np.minimum(d, d_low)), lip)

    return cv.img


def render_from_factors(factors: dict[str, np.ndarray], size: int = 64) -> np.ndarray:
    """Render faces from a factors dict (as returned by :func:`sample_factors`).

    Returns uint8 images ``[N, 3, size, size]`` (NCHW).  Factors missing from the
    dict take a neutral default (middle of the range, no glasses, first category,
    scale 1), so callers can pass partial dicts; categorical values are clipped to
    valid indices.  Each face's pixels depend only on its own factors."""
    size = int(size)
    if size < 4:
        raise ValueError("size must be >= 4")
    lens = {np.asarray(v).reshape(-1).shape[0] for v in factors.values()}
    if len(lens) != 1:
        raise ValueError("factors must be a non-empty dict of equal-length 1-D arrays")
    n = lens.pop()
    f: dict[str, np.ndarray] = {}
    for name in FACTOR_NAMES:
        if name in factors:
            val = np.asarray(factors[name]).reshape(n)
        else:
            val = np.full(n, _DEFAULTS[name])
        if name in CATEGORICAL_FACTORS:
            f[name] = np.clip(val, 0, len(CATEGORICAL_FACTORS[name]) - 1).astype(np.int64)
        else:
            f[name] = val.astype(np.float32)
    out = np.empty((n, 3, size, size), np.uint8)
    for s in range(0, n, _CHUNK):
        img = _render_chunk({k: v[s:s + _CHUNK] for k, v in f.items()}, size)
        img *= 255.0
        img += 0.5
        np.clip(img, 0.0, 255.0, out=img)
        out[s:s + _CHUNK] = img.astype(np.uint8)
    return out


def render_faces(start: int, count: int, seed: int = 0, size: int = 64
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Faces ``start .. start+count-1`` of ``seed``: (uint8 [count,3,size,size], factors)."""
    factors = sample_factors(start, count, seed)
    return render_from_factors(factors, size), factors
