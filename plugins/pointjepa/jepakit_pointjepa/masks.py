"""Point-JEPA's masker (arXiv 2404.16432, sec. 3): contiguous runs of the sequencer's order.

The encoder's tokens are already in the sequencer's order (iterative nearest neighbour), so a contiguous run of
token indices is a spatially contiguous group of patches, and the masker needs no geometry of its own. Per batch:
one target length (`target_scale` of the patches) and one context ratio; per cloud: `num_targets` target runs at
independent random starts (they may overlap each other, as I-JEPA's blocks), then one contiguous run of the
patches no target covers, `context_scale` of them, at a random start. Context rows are truncated to the batch
minimum (a contiguous run stays contiguous). A fixed number of draws per batch: sampling always ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_pointjepa.config import SequenceMaskConfig


class SequenceBlockMasker:
    """Masks on a (G,) patch sequence: context [B, Nc] (one contiguous run of the non-target patches), targets
    [B, M, Nt] (M contiguous runs). Holds only numbers, so it pickles into DataLoader workers."""

    layout = "points"

    def __init__(self, cfg: SequenceMaskConfig, grid: tuple[int, ...]) -> None:
        grid = tuple(int(g) for g in grid)
        cfg.check(grid)
        self.cfg, self.grid, self.n = cfg, grid, grid[0]
        self.lt = (max(1, round(cfg.target_scale[0] * self.n)), max(1, round(cfg.target_scale[1] * self.n)))
        if cfg.num_targets * self.lt[1] >= self.n:
            raise JepakitError(
                f"masker: {cfg.num_targets} target runs of up to {self.lt[1]} patches leave no context among "
                f"{self.n} patches",
                "lower masker.num_targets or masker.target_scale, or raise encoder.num_groups",
            )

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        B, G, M = batch_size, self.n, self.cfg.num_targets
        lt = int(torch.randint(self.lt[0], self.lt[1] + 1, (1,), generator=generator))
        lo, hi = self.cfg.context_scale
        ratio = lo + (hi - lo) * float(torch.rand(1, generator=generator))
        starts = torch.randint(0, G - lt + 1, (B, M), generator=generator)  # [B, M]
        targets = starts[..., None] + torch.arange(lt)  # [B, M, lt]
        covered = torch.zeros(B, G, dtype=torch.bool)
        covered.scatter_(1, targets.reshape(B, -1), True)
        free = (~covered).sum(dim=1)  # [B] patches no target covers (>= 1: see __init__)
        lc = int(torch.clamp((free.float() * ratio).round().long(), min=1).min())
        cstart = (torch.rand(B, generator=generator) * (free - lc + 1).float()).long()  # [B] in [0, free - lc]
        rest = torch.where(covered, G + torch.arange(G), torch.arange(G)).sort(dim=1).values  # free patches first
        context = torch.gather(rest, 1, cstart[:, None] + torch.arange(lc))  # [B, lc]
        return MaskSet(context=context, targets=targets)

    def draw(self, x: torch.Tensor, path_stem: Path) -> list[Path]:
        """The masks on 4 clouds, two views each (PNG); patches as the default encoder makes them
        (FPS centres, nearest-neighbour sequencer, P / G points per patch)."""
        from jepakit_pointjepa.plots import plot_point_masks

        ms = self(len(x), torch.Generator().manual_seed(0))
        path = Path(path_stem).with_suffix(".png")
        return [plot_point_masks(x, ms.context, ms.targets, self.n, path)]


def describe(masks: Any) -> str:
    """One line about a MaskSet's sizes (for logs and tests)."""
    return f"context {tuple(masks.context.shape)}, targets {tuple(masks.targets.shape)}"
