"""The spatiotemporal masker: one observation block, cross-ROI / cross-time / double-cross targets, always ends."""

from __future__ import annotations

import pytest
import torch
from jepakit_brainjepa import masks
from jepakit_brainjepa.config import SpatioTemporalMaskConfig
from jepakit_brainjepa.masks import SpatioTemporalMasker

from jepakit.errors import JepakitError
from jepakit.testing.draws import count_draws

GRID = (94, 10)


def _one(masker: SpatioTemporalMasker, seed: int) -> tuple[set, set]:
    ms = masker(1, torch.Generator().manual_seed(seed))
    W = masker.grid[1]
    ctx = {(i // W, i % W) for i in ms.context[0].tolist()}
    tgt = {(i // W, i % W) for i in ms.targets[0, 0].tolist()}
    return ctx, tgt


def test_context_is_one_observation_block_minus_the_target_rois_and_edge_columns():
    m = SpatioTemporalMasker(SpatioTemporalMaskConfig(), GRID)
    for seed in range(30):
        ctx, tgt = _one(m, seed)
        assert ctx and tgt and not ctx & tgt
        times = sorted({t for _, t in ctx})
        assert times[-1] - times[0] + 1 >= int(10 * 0.84) - 2 * 3  # one observed window, edge columns cut out
        rois = {r for r, _ in ctx}
        # every context ROI is seen over the same time patches: ROIs x times is a full block
        assert ctx == {(r, t) for r in rois for t in times}
        # targets at visible time patches are cross-ROI (alpha): their ROIs are hidden at every time
        inside = {r for r, t in tgt if t in set(times)}
        assert not inside & rois


def test_targets_cover_cross_roi_and_both_time_edges():
    m = SpatioTemporalMasker(SpatioTemporalMaskConfig(edge_time_scale=(0.3, 0.4)), GRID)  # 3 edge columns each side
    seen_left = seen_right = 0
    for seed in range(20):
        ctx, tgt = _one(m, seed)
        cols = {t for _, t in tgt}
        seen_left += bool(cols & {0, 1, 2})
        seen_right += bool(cols & {7, 8, 9})
        ctx_cols = {t for _, t in ctx}
        edge_cols = {t for _, t in tgt if t in (0, 1, 2, 7, 8, 9)} - {t for _, t in tgt if t in ctx_cols}
        assert not edge_cols & ctx_cols  # an edge column holding targets is hidden from the context
    assert seen_left == seen_right == 20


def test_batch_rows_have_equal_lengths_and_sampling_is_bounded():
    m = SpatioTemporalMasker(SpatioTemporalMaskConfig(), GRID)
    for seed in range(5):
        ms = m(16, torch.Generator().manual_seed(seed))
        assert ms.context.shape[0] == 16 and ms.targets.shape[:2] == (16, 1)
        assert ms.context.shape[1] >= 4 and ms.targets.shape[2] >= 1
    # a fixed number of random draws per sample (4 per batch, 14 per sample): no retry loop can spin
    for batch in (1, 8, 32):
        with count_draws(masks) as draws:
            m(batch, torch.Generator().manual_seed(0))
        assert draws.calls == 4 + 14 * batch


def test_impossible_sizes_are_refused_at_build_time():
    with pytest.raises(JepakitError, match="edge_patches"):
        SpatioTemporalMasker(SpatioTemporalMaskConfig(edge_patches=3), (94, 5))
    with pytest.raises(JepakitError, match="min_keep"):
        SpatioTemporalMasker(SpatioTemporalMaskConfig(alpha_roi_scale=(0.9, 0.95), obs_scale=(0.9, 0.95)), GRID)
    with pytest.raises(JepakitError, match="does not fit"):
        SpatioTemporalMasker(SpatioTemporalMaskConfig(obs_scale=(0.3, 0.4), alpha_time_scale=(0.6, 0.7)), GRID)
    with pytest.raises(JepakitError, match="2-D"):
        SpatioTemporalMasker(SpatioTemporalMaskConfig(), (4, 4, 4))
