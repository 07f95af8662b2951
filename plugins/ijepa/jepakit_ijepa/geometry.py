"""The block-size arithmetic of the multi-block masker, torch-free: which block sizes a batch can draw on a token
grid, and whether a valid sample can exist there at all.

`MultiBlockMasker` draws its sizes and validates its grid with these functions; `MultiBlockConfig.check` calls
`validate` with the grid the encoder will produce, so `jepakit validate` refuses a masker that cannot fit before
any tensor exists. `strict` is 1 under `reference_quirks` (the official collator's off-by-ones), else 0.
"""

from __future__ import annotations

import itertools
import math
from typing import Protocol

from jepakit import JepakitError

Size = tuple[int, int]


class Settings(Protocol):
    """The MultiBlockConfig fields the geometry reads."""

    target_scale: tuple[float, float]
    target_aspect: tuple[float, float]
    context_scale: tuple[float, float]
    context_aspect: tuple[float, float]
    min_keep: int
    allow_overlap: bool
    reference_quirks: bool


def as_grid(grid: tuple[int, ...]) -> Size:
    """The 2-D token grid the masker works on; any other grid is a JepakitError naming the masker."""
    if len(grid) != 2 or min(grid) < 1:
        raise JepakitError(
            f"masker: ijepa/multiblock needs a 2-D token grid, got {tuple(grid)}",
            "use it with a 2-D image encoder such as core/vit",
        )
    return int(grid[0]), int(grid[1])


def block_size(grid: Size, strict: int, k: int, aspect: float) -> Size:
    """A block of about k tokens with height/width `aspect`: h = round(sqrt(k a)), w = round(sqrt(k / a)).

    Clipped to the grid, at least 1; the reference caps blocks at H-1 x W-1 (its `while h >= H` loop).
    """
    H, W = grid
    h, w = int(round(math.sqrt(k * aspect))), int(round(math.sqrt(k / aspect)))
    return max(1, min(h, H - strict)), max(1, min(w, W - strict))


def possible_sizes(cfg: Settings, grid: Size, scale: tuple[float, float], aspect: tuple[float, float]) -> set[Size]:
    """Every size the masker's draw can return: int() and round() are piecewise constant, so evaluating at each
    breakpoint and midway between breakpoints covers them all (exactly, unlike a dense sample)."""
    N, strict = grid[0] * grid[1], int(cfg.reference_quirks)
    (s0, s1), (a0, a1) = scale, aspect
    ks = range(int(N * s0), int(N * s1) + 1)

    def with_midpoints(points: list[float]) -> list[float]:
        pts = sorted(set(points))
        return pts + [(x + y) / 2 for x, y in itertools.pairwise(pts)]

    if not cfg.reference_quirks:  # independent draws: per k, the aspect breakpoints of that k
        return {block_size(grid, strict, k, a) for k in ks for a in with_midpoints([a0, a1, *aspect_breaks(k, a0, a1)])}
    us = [0.0, 1.0]  # one shared draw u: breakpoints where int(N s(u)) or a round() flips
    if s1 > s0:
        us += [(k / N - s0) / (s1 - s0) for k in ks]
    if a1 > a0:
        us += [(a - a0) / (a1 - a0) for k in ks for a in aspect_breaks(k, a0, a1)]
    return {
        block_size(grid, strict, int(N * (s0 + u * (s1 - s0))), a0 + u * (a1 - a0))
        for u in with_midpoints([u for u in us if 0.0 <= u <= 1.0])
    }


def best_context(grid: Size, strict: int, ctx: set[Size], tgt: set[Size]) -> int:
    """Most context tokens that can survive the cut-outs, over all drawable sizes: all M targets stacked on one
    spot and pushed as far from the context block as corner ranges allow."""
    H, W = grid
    return max(
        hc * wc - max(0, hc + ht - H + strict) * max(0, wc + wt - W + strict) for hc, wc in ctx for ht, wt in tgt
    )


def validate(cfg: Settings, grid: Size) -> None:
    """Reject a grid on which a valid sample cannot exist, naming the key to change and the largest value that
    would work. The official collator loops forever instead (e.g. 8x8 grid with min_keep 10)."""
    (H, W), strict = grid, int(cfg.reference_quirks)
    where = f"the {H}x{W} token grid"
    if cfg.reference_quirks and min(H, W) < 2:
        raise JepakitError(
            f"masker.reference_quirks: the official block placement needs a grid at least 2x2, got {where}",
            "set masker.reference_quirks = false",
        )
    tgt = possible_sizes(cfg, grid, cfg.target_scale, cfg.target_aspect)
    ctx = possible_sizes(cfg, grid, cfg.context_scale, cfg.context_aspect)
    limits = {
        "its smallest target block": min(h * w for h, w in tgt),
        "its smallest context block": min(h * w for h, w in ctx),
    }
    if not cfg.allow_overlap:
        best = best_context(grid, strict, ctx, tgt)
        if best == 0:
            raise JepakitError(
                f"masker.target_scale: on {where} the target blocks always cover the whole context block, "
                "so no context token is left",
                "use a smaller masker.target_scale, a finer token grid (smaller patch size), "
                "or masker.allow_overlap = true",
            )
        limits["the context left after cutting out the smallest targets"] = best
    what, tokens = min(limits.items(), key=lambda kv: kv[1])
    largest = tokens - strict  # largest min_keep that every batch can satisfy
    if cfg.min_keep > largest:
        rule = " (reference_quirks asks for more than min_keep)" if strict else ""
        why = (
            f"it exceeds the {H * W} tokens of {where}"
            if cfg.min_keep > H * W
            else f"on {where} {what} has {tokens} token{'s' * (tokens != 1)}{rule}"
        )
        raise JepakitError(
            f"masker.min_keep = {cfg.min_keep} cannot be met: {why}",
            f"set masker.min_keep <= {largest}, or use a finer token grid (smaller patch size)",
        )


def aspect_breaks(k: int, a0: float, a1: float) -> list[float]:
    """Aspects in [a0, a1] where round(sqrt(k a)) or round(sqrt(k / a)) changes value (crosses j + 0.5)."""
    if k <= 0:
        return []
    hs = [(j + 0.5) ** 2 / k for j in range(int(math.sqrt(k * a1)) + 1)]
    ws = [k / (j + 0.5) ** 2 for j in range(int(math.sqrt(k / a0)) + 1)]
    return [a for a in hs + ws if a0 <= a <= a1]
