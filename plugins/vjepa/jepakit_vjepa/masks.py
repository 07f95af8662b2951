"""V-JEPA's 3-D multi-block "tube" masker (arXiv 2404.08471, section 3.2 and appendix), written afresh.

Per batch: one generator (short- or long-range), one spatial block size (scale, aspect) and one tube length.
Per clip: `num_blocks` tubes at uniform positions (corners inclusive of the last row/column); their UNION is
the target and the complement is the context. A placement that leaves fewer than `min_keep` context tokens is
redrawn (RETRIES tries, drawn up front, rasterised only while needed); if all fail the clip falls back to its first
tube alone, which `__init__` proved always leaves enough. So sampling always ends, and impossible grids fail at
build time.
Both index lists are truncated to the batch minimum by keeping a random subset (the target is one block: M=1).
"""

from __future__ import annotations

import math

import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_vjepa.config import TubeConfig

#: Placements tried per clip before falling back to a single tube.
RETRIES = 20
#: Rows truncated at a time (bounds the temporaries of a large batch).
TRUNCATE_ROWS = 256
#: Scale/aspect values probed when bounding the largest block a generator can draw (grid-search, both ends).
PROBES = 129


class TubeMasker:
    """Samples V-JEPA masks on a (T, H, W) token grid: context [B, Nc], targets [B, 1, Nt], flat row-major.

    A 2-D grid (H, W) is accepted as a one-step clip (T = 1), e.g. images fed to a video encoder.
    Holds only the config and derived numbers, so it pickles into DataLoader workers.
    """

    layout = "grid3d"

    def __init__(self, cfg: TubeConfig, grid: tuple[int, ...]) -> None:
        grid = tuple(int(g) for g in grid)
        if len(grid) not in (2, 3) or min(grid) < 1:
            raise JepakitError(
                f"masker: vjepa/tube needs a (T, H, W) token grid, got {grid}",
                "use it with a video encoder such as vjepa/video-vit",
            )
        self.cfg, self.grid = cfg, grid
        self._thw = (1, *grid) if len(grid) == 2 else grid
        self._gens = {"short": (cfg.short_blocks, cfg.short_scale), "long": (cfg.long_blocks, cfg.long_scale)}
        self._validate()

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        """Masks for one batch; every draw comes from `generator` in a fixed order."""
        cfg, B = self.cfg, batch_size
        u = float(torch.rand(1, generator=generator))  # drawn always, so the stream does not depend on the mode
        name = cfg.generator if cfg.generator != "mixed" else ("short" if u < 0.5 else "long")
        K, scale = self._gens[name]
        t, h, w = self._draw_size(scale, generator)
        target = self._place(B, K, t, h, w, generator)  # [B, N] bool
        context = ~target
        ctx = self._truncate(context, generator)  # [B, Nc]
        tgt = self._truncate(target, generator)  # [B, Nt]
        return MaskSet(context=ctx, targets=tgt[:, None, :])

    # ------------------------------------------------------------------------------------------------ sampling

    def _place(self, B: int, K: int, t: int, h: int, w: int, generator: torch.Generator) -> torch.Tensor:
        """Union of K tubes per clip [B, N]: the first of RETRIES placements that leaves min_keep context tokens.

        All RETRIES x K corners are drawn up front (a fixed stream: the masks are a function of the seed), but a
        placement is only rasterised for the clips still without a good one. About 2 % of clips need a second
        try, so this costs one [B, N] union instead of a [B, RETRIES, K, N] tensor at large batch sizes.
        """
        T, H, W = self._thw
        N = T * H * W
        R = RETRIES
        t0 = torch.randint(0, T - t + 1, (B, R, K), generator=generator)  # [B, R, K]
        r0 = torch.randint(0, H - h + 1, (B, R, K), generator=generator)
        c0 = torch.randint(0, W - w + 1, (B, R, K), generator=generator)
        out = torch.zeros(B, N, dtype=torch.bool)  # [B, N]
        todo = torch.arange(B)  # clips still without an acceptable placement
        for r in range(R):
            union = _union(t0[todo, r], r0[todo, r], c0[todo, r], (t, h, w), (T, H, W))  # [b, N]
            ok = N - _row_counts(union) >= self.cfg.min_keep  # [b]
            out[todo[ok]] = union[ok]
            todo = todo[~ok]
            if len(todo) == 0:
                return out
        # last resort, proven safe at construction: the clip's first tube of its first placement alone
        out[todo] = _union(t0[todo, 0, :1], r0[todo, 0, :1], c0[todo, 0, :1], (t, h, w), (T, H, W))
        return out

    @staticmethod
    def _truncate(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """[B, N] bool -> [B, n] sorted indices, n = batch minimum; a random subset of each row survives.

        Each row keeps its n lowest random scores. Rows go in chunks (the scores are drawn chunk by chunk from the
        same stream, so the result equals one [B, N] draw), which keeps memory flat at the paper's batch of 3072.
        """
        B, N = mask.shape
        n = int(_row_counts(mask).min())
        out = []
        for i in range(0, B, TRUNCATE_ROWS):
            m = mask[i : i + TRUNCATE_ROWS]  # [b, N]
            score = torch.rand(m.shape, generator=generator).masked_fill_(~m, 2.0)  # [b, N]
            out.append(score.topk(n, dim=1, largest=False).indices.sort(dim=1).values)  # [b, n]
        return torch.cat(out).contiguous()

    # ------------------------------------------------------------------------------------------- block sizes

    def _size(self, scale: float, aspect: float, tscale: float) -> tuple[int, int, int]:
        """(t, h, w) of a tube: t = max(1, int(T st)); k = int(H W s) tokens per frame, h = round(sqrt(k a))."""
        T, H, W = self._thw
        k = int(H * W * scale)
        h, w = int(round(math.sqrt(k * aspect))), int(round(math.sqrt(k / aspect)))
        return max(1, min(int(T * tscale), T)), max(1, min(h, H)), max(1, min(w, W))

    def _draw_size(self, scale: tuple[float, float], generator: torch.Generator) -> tuple[int, int, int]:
        us, ua, ut = torch.rand(3, generator=generator).tolist()
        (s0, s1), (a0, a1), (t0, t1) = scale, self.cfg.aspect, self.cfg.temporal_scale
        return self._size(s0 + us * (s1 - s0), a0 + ua * (a1 - a0), t0 + ut * (t1 - t0))

    def _largest_tube(self, scale: tuple[float, float]) -> int:
        """Most tokens one tube can cover, over a dense grid of scale, aspect and temporal-scale draws."""
        (s0, s1), (a0, a1), (_, t1) = scale, self.cfg.aspect, self.cfg.temporal_scale
        us = [i / (PROBES - 1) for i in range(PROBES)]
        best = 0
        for u in us:
            for v in us:
                t, h, w = self._size(s0 + u * (s1 - s0), a0 + v * (a1 - a0), t1)
                best = max(best, t * h * w)
        return max(best, self._size(s1, a0, t1)[0])

    def _validate(self) -> None:
        """The fallback (one tube) must always leave min_keep context tokens, else no sample may exist."""
        T, H, W = self._thw
        N = T * H * W
        used = ("short", "long") if self.cfg.generator == "mixed" else (self.cfg.generator,)
        for name in used:
            left = N - self._largest_tube(self._gens[name][1])
            if left < self.cfg.min_keep:
                raise JepakitError(
                    f"masker.{name}_scale: on the {T}x{H}x{W} token grid one {name}-range tube can leave "
                    f"{left} context token{'s' * (left != 1)}, fewer than masker.min_keep = {self.cfg.min_keep}",
                    f"use a smaller masker.{name}_scale or temporal_scale, a finer token grid (smaller patch or "
                    f"tubelet), or masker.min_keep <= {max(left, 0)}"
                    if left >= 1
                    else f"use a smaller masker.{name}_scale or temporal_scale, or a finer token grid "
                    "(smaller patch or tubelet)",
                )


def _span(start: torch.Tensor, length: int, size: int) -> torch.Tensor:
    """start [...] -> [..., size] bool, True on [start, start + length)."""
    ar = torch.arange(size)
    return (ar >= start[..., None]) & (ar < start[..., None] + length)


def _union(
    t0: torch.Tensor, r0: torch.Tensor, c0: torch.Tensor, size: tuple[int, int, int], grid: tuple[int, int, int]
) -> torch.Tensor:
    """Corners [b, K] of tubes of `size` (t, h, w) -> the union of each row's K tubes [b, N], flat row-major.

    One tube at a time, so memory is [b, N] whatever K is.
    """
    (t, h, w), (T, H, W) = size, grid
    in_t, in_r, in_c = _span(t0, t, T), _span(r0, h, H), _span(c0, w, W)  # [b, K, T], [b, K, H], [b, K, W]
    union = torch.zeros(len(t0), T, H, W, dtype=torch.bool)  # [b, T, H, W]
    for k in range(t0.shape[1]):
        union |= in_t[:, k, :, None, None] & in_r[:, k, None, :, None] & in_c[:, k, None, None, :]
    return union.flatten(1)  # [b, N]


def _row_counts(mask: torch.Tensor) -> torch.Tensor:
    """[B, N] bool -> [B] True count per row. Chunked: torch's bool sum makes an integer copy of the whole input."""
    return torch.cat([mask[i : i + TRUNCATE_ROWS].sum(dim=1) for i in range(0, len(mask), TRUNCATE_ROWS)])
