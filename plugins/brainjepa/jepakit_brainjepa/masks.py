"""Brain-JEPA's spatiotemporal masker (arXiv 2409.19407, Sec. 3.3; the official `MaskCollator_fmri`).

One observation block (the context) predicts three kinds of targets on an (ROI, time patch) grid:
- cross-ROI (alpha): ROIs the observation does not see, over a time window inside the observed window;
- cross-time (beta): observed ROIs at time patches outside the observation (on the left and right edges);
- double-cross (gamma): unobserved ROIs at those edge time patches.
See `SpatioTemporalMaskConfig` for the numbers. Axis 0 of the grid is "space" and axis 1 "time", so the same
masker runs on any 2-D token grid (S-JEPA's electrode x second tokens: the composition in plugins.toml).

Every draw comes from the generator; the loop over the batch has a fixed length and no retries: sizes that
could leave fewer than `min_keep` context tokens or a target window outside the observation are refused when
the masker is built.
"""

from __future__ import annotations

import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_brainjepa.config import SpatioTemporalMaskConfig


def _count(n: int, scale: float, least: int = 0) -> int:
    """The official sizes: int(n * scale), here with a floor (a target block has at least one row/column)."""
    return max(least, int(n * scale))


class SpatioTemporalMasker:
    """Masks on an (R, W) grid, flat index r * W + w: context [B, Nc], targets [B, 1, Nt] (one concatenated
    list [alpha, right edge, left edge], as the paper's code, each token once). Holds only numbers, so it pickles."""

    layout = ""  # any 2-D grid: axis 0 space (ROIs, electrodes), axis 1 time

    def __init__(self, cfg: SpatioTemporalMaskConfig, grid: tuple[int, ...]) -> None:
        grid = tuple(int(g) for g in grid)
        if len(grid) != 2 or min(grid) < 1:
            raise JepakitError(
                f"masker: brainjepa/spatiotemporal needs a 2-D (space, time) token grid, got {grid}",
                "use it with an encoder of ROI x time (brainjepa/encoder) or channel x time tokens",
            )
        self.cfg, self.grid = cfg, grid
        R, W = grid
        if 2 * cfg.edge_patches > W:
            raise JepakitError(
                f"masker.edge_patches: {cfg.edge_patches} patches on each time edge need at least "
                f"{2 * cfg.edge_patches} time patches, the grid has {W}",
                "lower masker.edge_patches or use longer windows (data.frames)",
            )
        obs_rois, obs_times = _count(R, cfg.obs_scale[0], 1), _count(W, cfg.obs_scale[0], 1)
        alpha_rois, alpha_times = _count(R, cfg.alpha_roi_scale[1], 1), _count(W, cfg.alpha_time_scale[1], 1)
        edge = min(_count(W, cfg.edge_time_scale[1]), cfg.edge_patches)
        if alpha_times > obs_times:
            raise JepakitError(
                f"masker: a cross-ROI target up to {alpha_times} time patches wide does not fit in an observation "
                f"window of {obs_times} (of {W}) patches",
                "lower masker.alpha_time_scale or raise masker.obs_scale",
            )
        worst = max(0, obs_rois - alpha_rois) * max(0, obs_times - 2 * edge)
        if worst < cfg.min_keep:
            raise JepakitError(
                f"masker: on a {R} x {W} grid the context can shrink to {worst} tokens, below min_keep "
                f"{cfg.min_keep} (observed ROIs minus cross-ROI ROIs, observed patches minus both edges)",
                "lower masker.alpha_roi_scale or masker.edge_time_scale, or use a larger grid",
            )

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        cfg, g = self.cfg, generator
        R, W = self.grid

        def uniform(lo_hi: tuple[float, float]) -> float:
            lo, hi = lo_hi
            return lo + float(torch.rand(1, generator=g)) * (hi - lo)

        # per batch: the cross-ROI block's and the observation block's sizes (the official order)
        a_rois, a_times = _count(R, uniform(cfg.alpha_roi_scale), 1), _count(W, uniform(cfg.alpha_time_scale), 1)
        o_rois, o_times = _count(R, uniform(cfg.obs_scale), 1), _count(W, uniform(cfg.obs_scale), 1)
        contexts, targets = [], []
        for _ in range(batch_size):
            keep = torch.zeros(R, W, dtype=torch.bool)  # the observation block, then cut down
            obs = torch.randperm(R, generator=g)[:o_rois]
            t0 = int(torch.randint(W - o_times + 1, (1,), generator=g))
            keep[obs, t0 : t0 + o_times] = True
            alpha = torch.randperm(R, generator=g)[:a_rois]
            a0 = t0 + int(torch.randint(o_times - a_times + 1, (1,), generator=g))
            tgt = torch.zeros(R, W, dtype=torch.bool)
            tgt[alpha, a0 : a0 + a_times] = True
            parts = [torch.nonzero(tgt.flatten()).flatten()]
            keep[alpha] = False  # cross-ROI: the alpha ROIs leave the context at every time
            in_both = torch.zeros(R, dtype=torch.bool)
            in_both[obs] = True
            alpha_mask = torch.zeros(R, dtype=torch.bool)
            alpha_mask[alpha] = True
            in_both &= alpha_mask
            both, other = torch.nonzero(in_both).flatten(), torch.nonzero(~in_both).flatten()
            for side in ("right", "left"):
                s = uniform(cfg.edge_roi_scale)
                n_beta, n_gamma = int(len(both) * s), int(len(other) * s)
                width = min(int(W * uniform(cfg.edge_time_scale)), cfg.edge_patches)
                cols = torch.randperm(cfg.edge_patches, generator=g)[:width]
                cols = cols + (W - cfg.edge_patches) if side == "right" else cols
                rows = torch.cat(
                    [
                        other[torch.randperm(len(other), generator=g)[:n_gamma]],
                        both[torch.randperm(len(both), generator=g)[:n_beta]],
                    ]
                )
                edge = torch.zeros(R, W, dtype=torch.bool)
                if width:
                    edge[rows[:, None], cols[None, :]] = True
                    keep[:, cols] = False  # the edge columns leave the context for every ROI
                edge &= ~tgt  # a token already in alpha (its window reached the edge) is predicted once
                tgt |= edge
                parts.append(torch.nonzero(edge.flatten()).flatten())
            contexts.append(torch.nonzero(keep.flatten()).flatten())
            targets.append(torch.cat(parts))
        n_ctx = min(len(c) for c in contexts)
        n_tgt = min(len(t) for t in targets)
        context = torch.stack([c[:n_ctx] for c in contexts])  # [B, Nc] (the official keeps the first n)
        target = torch.stack([t[:n_tgt] for t in targets])  # [B, Nt]
        return MaskSet(context=context, targets=target[:, None, :])
