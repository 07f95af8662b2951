"""I-JEPA's multi-block masker, vectorised over the batch and guaranteed to terminate.

Per batch: one target-block size and one context-block size. Per image: M target-block positions and one
context-block position; the context keeps its block minus the union of the targets. An image left with fewer
than `min_keep` context tokens is re-drawn (20 tries), then relaxed by ignoring target blocks one at a time, as
the official sampler does. Because the bare context block is checked against `min_keep` at construction,
relaxation always ends in a valid sample: the official loop can spin forever on small grids, this one cannot.
"""

from __future__ import annotations

import math

import torch

from jepakit.errors import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_ijepa.config import MultiBlockConfig

RETRIES = 20


class MultiBlockMasker:
    layout = "grid2d"

    def __init__(self, cfg: MultiBlockConfig, grid: tuple[int, int]) -> None:
        if len(grid) != 2:
            raise JepakitError(f"masker: ijepa/multiblock needs a 2-D token grid, got {tuple(grid)}",
                               "use a masker made for this encoder's layout")
        self.cfg, self.grid = cfg, (int(grid[0]), int(grid[1]))
        H, W = self.grid
        smallest = self._smallest_area(cfg.context_scale, cfg.context_aspect)
        if cfg.min_keep > smallest:
            raise JepakitError(
                f"masker.min_keep: {cfg.min_keep} is more than the smallest context block holds ({smallest} tokens "
                f"on the {H}x{W} token grid)",
                f"set masker.min_keep to at most {smallest}, lower the encoder's patch size, or raise context_scale",
            )

    def _smallest_area(self, scale: tuple[float, float], aspect: tuple[float, float], n: int = 41) -> int:
        """Fewest tokens a block drawn from these ranges can hold (rounding makes this non-monotone: scan)."""
        steps = [i / (n - 1) for i in range(n)]
        return min(math.prod(self._block_size(scale[0] + t * (scale[1] - scale[0]), aspect[0] + u * (aspect[1] - aspect[0])))
                   for t in steps for u in steps)

    def _block_size(self, scale: float, aspect: float) -> tuple[int, int]:
        """(h, w) of a block covering `scale` of the grid with height/width ratio `aspect`, clipped to the grid."""
        H, W = self.grid
        n = H * W
        h, w = round(math.sqrt(scale * n * aspect)), round(math.sqrt(scale * n / aspect))
        cap_h, cap_w = (H - 1, W - 1) if self.cfg.reference_quirks else (H, W)  # official: `while h >= H: h -= 1`
        return max(1, min(h, max(cap_h, 1))), max(1, min(w, max(cap_w, 1)))

    def _draw_size(self, scale: tuple[float, float], aspect: tuple[float, float], g: torch.Generator) -> tuple[int, int]:
        u = torch.rand(2, generator=g)
        if self.cfg.reference_quirks:  # the official sampler reuses one draw for scale and aspect
            u[1] = u[0]
        s = scale[0] + float(u[0]) * (scale[1] - scale[0])
        a = aspect[0] + float(u[1]) * (aspect[1] - aspect[0])
        return self._block_size(s, a)

    def _blocks(self, shape: tuple[int, ...], h: int, w: int, g: torch.Generator) -> torch.Tensor:
        """Boolean masks [*shape, H, W] of h x w blocks at uniformly drawn positions."""
        H, W = self.grid
        span_h, span_w = (H - h, W - w) if self.cfg.reference_quirks else (H - h + 1, W - w + 1)
        top = (torch.rand(shape, generator=g) * max(span_h, 1)).long()  # [*shape]
        left = (torch.rand(shape, generator=g) * max(span_w, 1)).long()
        rows, cols = torch.arange(H), torch.arange(W)
        in_r = (rows >= top[..., None]) & (rows < top[..., None] + h)  # [*shape, H]
        in_c = (cols >= left[..., None]) & (cols < left[..., None] + w)  # [*shape, W]
        return in_r[..., :, None] & in_c[..., None, :]

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        cfg, (H, W), B, M = self.cfg, self.grid, batch_size, self.cfg.num_targets
        th, tw = self._draw_size(cfg.target_scale, cfg.target_aspect, generator)
        ch, cw = self._draw_size(cfg.context_scale, cfg.context_aspect, generator)
        targets = self._blocks((B, M), th, tw, generator).reshape(B, M, H * W)  # [B, M, N]
        block = self._blocks((B,), ch, cw, generator).reshape(B, H * W)  # [B, N]
        context = self._context(block, targets)
        for _ in range(RETRIES):  # re-draw the images that kept too few context tokens
            bad = context.sum(1) < cfg.min_keep  # [B]
            if not bad.any():
                break
            n_bad = int(bad.sum())
            targets[bad] = self._blocks((n_bad, M), th, tw, generator).reshape(n_bad, M, H * W)
            block[bad] = self._blocks((n_bad,), ch, cw, generator).reshape(n_bad, H * W)
            context = self._context(block, targets)
        for keep_targets in range(M - 1, -1, -1):  # relax: ignore target blocks one at a time
            bad = context.sum(1) < cfg.min_keep
            if not bad.any():
                break
            context[bad] = self._context(block[bad], targets[bad, :keep_targets])
        return MaskSet(self._indices(context, generator), self._target_indices(targets, th * tw))

    def _context(self, block: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.cfg.allow_overlap or targets.shape[1] == 0:
            return block.clone()
        return block & ~targets.any(dim=1)  # [B, N]

    def _indices(self, mask: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Bool [B, N] -> sorted indices [B, K], K = the batch minimum of kept tokens.

        The official code truncates each sorted list (dropping the bottom of the image); we keep a random subset
        unless reference_quirks is set.
        """
        keep = int(mask.sum(1).min())
        if self.cfg.reference_quirks:
            score = -torch.arange(mask.shape[1], dtype=torch.float32).expand_as(mask)
        else:
            score = torch.rand(mask.shape, generator=g)
        score = score.masked_fill(~mask, float("-inf"))
        return score.topk(keep, dim=1).indices.sort(dim=1).values  # [B, K]

    @staticmethod
    def _target_indices(targets: torch.Tensor, size: int) -> torch.Tensor:
        """Bool [B, M, N] with `size` true per block -> ascending indices [B, M, size]."""
        order = torch.argsort((~targets).to(torch.uint8), dim=-1, stable=True)
        return order[..., :size].sort(dim=-1).values
