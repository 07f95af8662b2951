"""3D-JEPA's multi-block masks (arXiv 2409.15803, sec. 3.2): spatially contiguous blocks chosen by the proximity
of patch centres: each target block is the Nt patches nearest to a random anchor patch; the context block is the
Nc patches nearest to another anchor, minus every target patch, truncated to the batch minimum.

The masker runs in the DataLoader workers, which never see the clouds; the block sizes and anchors it draws are
a function of (seed, step). `resolve(masks, centres)` turns them into blocks with the batch's patch centres;
3D-JEPA's method (`3djepa/jepa`) calls it inside the training step. Without centres (under another method) the
same draws make blocks by distance along the sequencer's order, a contiguous-run approximation, so the masker
still satisfies the plain MaskSet contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from jepakit.interfaces import MaskSet
from jepakit_3djepa.config import ProximityMaskConfig


@dataclass
class ProximityMasks(MaskSet):
    """A MaskSet (blocks by sequence distance) that also carries its draws: `anchors` [B, M + 1] (the target
    blocks' anchors, then the context's) and the block sizes, so `resolve` can rebuild them by centre distance."""

    anchors: torch.Tensor
    target_size: int
    context_size: int


def blocks(dist: torch.Tensor, nt: int, nc: int) -> MaskSet:
    """dist [B, M + 1, G] (each anchor's distance to every patch) -> targets [B, M, nt] (the nt nearest patches
    of each target anchor) and context [B, K] (the non-target patches among the nc nearest of the context anchor;
    K = the batch minimum, at least 1: the nearest non-target patches when a block is swallowed by targets)."""
    B, M1, G = dist.shape
    targets = dist[:, :-1].topk(nt, dim=-1, largest=False).indices.sort(dim=-1).values  # [B, M, nt]
    hidden = torch.zeros(B, G, dtype=torch.bool, device=dist.device)
    hidden.scatter_(1, targets.reshape(B, -1), True)
    dc = dist[:, -1]  # [B, G]
    rank = dc.argsort(dim=1).argsort(dim=1)  # [B, G] each patch's rank by distance to the context anchor
    in_block = (rank < nc) & ~hidden
    k = max(1, int(in_block.sum(dim=1).min()))
    order = dc.masked_fill(hidden, float("inf")).argsort(dim=1)  # non-target patches first, nearest first
    return MaskSet(context=order[:, :k].sort(dim=1).values, targets=targets)


def resolve(masks: MaskSet, centres: torch.Tensor | None) -> MaskSet:
    """Blocks by centre proximity for `ProximityMasks` and centres [B, G, 3]; anything else unchanged."""
    if not isinstance(masks, ProximityMasks) or centres is None:
        return masks
    rows = torch.arange(len(centres), device=centres.device)[:, None]
    anchors = masks.anchors.to(centres.device)
    dist = torch.cdist(centres[rows, anchors].float(), centres.float())  # [B, M + 1, G]
    return blocks(dist, masks.target_size, masks.context_size)


class ProximityBlockMasker:
    """Draws per batch one target size and one context size, per cloud M + 1 anchor patches; holds only numbers,
    so it pickles into DataLoader workers. A fixed number of draws per batch: sampling always ends."""

    layout = "points"

    def __init__(self, cfg: ProximityMaskConfig, grid: tuple[int, ...]) -> None:
        grid = tuple(int(g) for g in grid)
        cfg.check(grid)
        self.cfg, self.grid, self.n = cfg, grid, grid[0]

    def _size(self, scale: list[float], generator: torch.Generator) -> int:
        s = scale[0] + (scale[1] - scale[0]) * float(torch.rand(1, generator=generator))
        return max(1, min(self.n, round(s * self.n)))

    def __call__(self, batch_size: int, generator: torch.Generator) -> ProximityMasks:
        nt, nc = self._size(self.cfg.target_scale, generator), self._size(self.cfg.context_scale, generator)
        anchors = torch.randint(0, self.n, (batch_size, self.cfg.num_targets + 1), generator=generator)
        pos = torch.arange(self.n, dtype=torch.float32)
        dist = (pos - anchors[..., None].float()).abs() + pos * 1e-3  # [B, M + 1, G] along the sequence
        fallback = blocks(dist, nt, nc)
        return ProximityMasks(fallback.context, fallback.targets, anchors, nt, nc)

    def draw(self, x: torch.Tensor, path_stem: Path) -> list[Path]:
        """The blocks on 4 clouds, two views each (PNG), with the default encoder's patch centres."""
        from jepakit_pointjepa.plots import default_centres, plot_point_masks

        centres = default_centres(x.float(), self.n)
        ms = resolve(self(len(x), torch.Generator().manual_seed(0)), centres)
        path = Path(path_stem).with_suffix(".png")
        return [plot_point_masks(x, ms.context, ms.targets, self.n, path, centres)]
