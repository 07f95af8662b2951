"""Captioned scenes: a coloured shape beside a real handwritten digit, and captions generated from the attributes.

A scene is six attributes (`Scene`); `render` draws it (4x supersampled, box-filtered down, so edges are
anti-aliased) and `caption` writes it in one of three phrasings. Digits are scikit-learn's 8x8 handwriting
(1,797 scans from 43 writers, shipped inside the package): training scenes use the first 1,400 scans and test
scenes the rest, so a test image never reuses a training glyph. `swap_one` changes exactly one attribute, which
makes the hard negatives of the match probe and of the energy AUC: the caption is right about everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

SHAPES = ("circle", "square", "triangle", "cross")
COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
RGB = {
    "red": (230, 40, 40),
    "green": (40, 200, 70),
    "blue": (60, 100, 245),
    "yellow": (240, 215, 40),
    "purple": (175, 70, 225),
    "white": (240, 240, 240),
}
SIZES = ("small", "large")
RELATIONS = ("left of", "right of", "above", "below")  # where the shape is, relative to the digit
INVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
PHRASINGS = 3
TRAIN_SCANS = 1400  # digit scans [0, 1400) draw training scenes, the rest test scenes


def held_out(shape: str, colour: str) -> bool:
    """The Latin-square diagonal: circle-red, square-green, triangle-blue, cross-yellow never appear in training."""
    return COLOURS.index(colour) == SHAPES.index(shape)


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    size: str
    digit: int
    digit_colour: str
    relation: str
    scan: int  # which digit scan draws the digit
    phrasing: int = 0

    @property
    def unseen(self) -> bool:
        return held_out(self.shape, self.colour)


def caption(s: Scene) -> str:
    """The scene in words, in its phrasing: every attribute is named, the relation from one side or the other."""
    if s.phrasing == 0:
        return f"a {s.size} {s.colour} {s.shape} {s.relation} a {s.digit_colour} {s.digit}"
    if s.phrasing == 1:
        return f"a {s.digit_colour} {s.digit} {INVERSE[s.relation]} a {s.size} {s.colour} {s.shape}"
    return f"the {s.shape} is {s.size} and {s.colour}, {s.relation} the {s.digit_colour} digit {s.digit}"


def sample_scene(rng: np.random.Generator, test: bool) -> Scene:
    """Uniform attributes; training scenes avoid the held-out shape-colour pairs, test scenes do not."""
    while True:
        shape, colour = SHAPES[rng.integers(len(SHAPES))], COLOURS[rng.integers(len(COLOURS))]
        if test or not held_out(shape, colour):
            break
    digit = int(rng.integers(10))
    scans = _digit_scans()[1][digit]
    pool = scans[scans >= TRAIN_SCANS] if test else scans[scans < TRAIN_SCANS]
    return Scene(
        shape,
        colour,
        SIZES[rng.integers(2)],
        digit,
        COLOURS[rng.integers(len(COLOURS))],
        RELATIONS[rng.integers(len(RELATIONS))],
        int(pool[rng.integers(len(pool))]),
        int(rng.integers(PHRASINGS)),
    )


def swap_one(s: Scene, rng: np.random.Generator) -> Scene:
    """The scene with exactly one of its six attributes changed to another value (the image stays the same)."""
    field = ("shape", "colour", "size", "digit", "digit_colour", "relation")[rng.integers(6)]
    options = {
        "shape": SHAPES,
        "colour": COLOURS,
        "size": SIZES,
        "digit": tuple(range(10)),
        "digit_colour": COLOURS,
        "relation": RELATIONS,
    }[field]
    others = [v for v in options if v != getattr(s, field)]
    return replace(s, **{field: others[rng.integers(len(others))]})


@lru_cache(maxsize=1)
def _digit_scans() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """scikit-learn's digit scans [1797, 8, 8] in [0, 1], and the scan indices of each digit."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)
    return images, {k: np.flatnonzero(d.target == k) for k in range(10)}


def _shape_mask(shape: str, big: int, cx: float, cy: float, r: float) -> np.ndarray:
    """A boolean [big, big] mask of the shape centred at (cx, cy) with half-extent r (supersampled pixels)."""
    yy, xx = np.mgrid[0:big, 0:big].astype(np.float32) + 0.5
    dx, dy = xx - cx, yy - cy
    if shape == "circle":
        return dx * dx + dy * dy <= r * r
    if shape == "square":
        return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    if shape == "triangle":  # apex up: inside when below the two slanted edges and above the base
        return (dy <= 0.8 * r) & (dy >= -r + 2.0 * np.abs(dx))
    arm = 0.32 * r  # cross: two bars
    return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))


def render(s: Scene, size: int, rng: np.random.Generator) -> np.ndarray:
    """The scene as an RGB image uint8 [size, size, 3]: tinted noisy background, the shape and the digit placed
    by the relation with jitter (4x supersampled, then averaged down)."""
    from PIL import Image

    k = 4
    big = size * k
    bg = rng.uniform(10, 60, size=3).astype(np.float32)
    canvas = np.broadcast_to(bg, (big, big, 3)).copy()
    near, far = 0.27 * big, 0.73 * big
    main = {"left of": (near, far), "right of": (far, near), "above": (near, far), "below": (far, near)}[s.relation]

    def jit() -> float:
        return float(rng.uniform(-0.05, 0.05) * big)

    def side() -> float:
        return float(big / 2 + rng.uniform(-0.14, 0.14) * big)

    horizontal = s.relation in ("left of", "right of")
    (sx, dx), (sy, dy) = (
        ((main[0] + jit(), main[1] + jit()), (side(), side()))
        if horizontal
        else ((side(), side()), (main[0] + jit(), main[1] + jit()))
    )
    r = (0.15 if s.size == "small" else 0.22) * big
    canvas[_shape_mask(s.shape, big, sx, sy, r)] = RGB[s.colour]
    glyph_px = int(round(0.42 * big))
    scan = _digit_scans()[0][s.scan]
    glyph = (
        np.asarray(
            Image.fromarray((scan * 255).astype(np.uint8)).resize((glyph_px, glyph_px), Image.BILINEAR), np.float32
        )
        / 255.0
    )
    x0, y0 = int(round(dx - glyph_px / 2)), int(round(dy - glyph_px / 2))
    x0, y0 = min(max(x0, 0), big - glyph_px), min(max(y0, 0), big - glyph_px)
    region = canvas[y0 : y0 + glyph_px, x0 : x0 + glyph_px]
    alpha = glyph[..., None]  # [g, g, 1]
    region[:] = (1 - alpha) * region + alpha * np.asarray(RGB[s.digit_colour], np.float32)
    canvas += rng.normal(0, 6, size=canvas.shape).astype(np.float32)
    small = canvas.reshape(size, k, size, k, 3).mean(axis=(1, 3))
    return np.clip(small, 0, 255).astype(np.uint8)
