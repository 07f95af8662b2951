"""Tests of V-JEPA's tube masker: the MaskSet contract, tubes through time, the paper's numbers, termination."""

from __future__ import annotations

import pytest
import torch
from jepakit_vjepa import masks
from jepakit_vjepa.config import TubeConfig
from jepakit_vjepa.masks import TubeMasker

from jepakit.errors import JepakitError
from jepakit.interfaces import Masker, MaskSet
from jepakit.testing.contracts import worker_copy
from jepakit.testing.draws import count_draws

PAPER_GRID = (8, 14, 14)  # 16 frames / tubelet 2, 224 px / patch 16
TINY_GRID = (4, 4, 4)


def make(grid: tuple[int, ...], **kw) -> TubeMasker:
    return TubeMasker(TubeConfig(**kw), grid)


def sample(m: TubeMasker, batch: int, seed: int) -> MaskSet:
    return m(batch, torch.Generator().manual_seed(seed))


def assert_valid(ms: MaskSet, n: int, batch: int) -> None:
    assert ms.context.dtype == torch.long and ms.targets.dtype == torch.long
    assert ms.context.shape[0] == batch and ms.context.shape[1] >= 1
    assert ms.targets.shape[:2] == (batch, 1) and ms.targets.shape[2] >= 1, "the union target is one block"
    for idx in (ms.context, ms.targets[:, 0]):
        assert int(idx.min()) >= 0 and int(idx.max()) < n
        assert bool((idx[:, 1:] > idx[:, :-1]).all()), "indices sorted and unique per row"


@pytest.mark.parametrize("generator", ["mixed", "short", "long"])
@pytest.mark.parametrize("grid", [PAPER_GRID, TINY_GRID, (2, 6, 10)])
def test_shapes_range_and_disjoint(grid, generator):
    m = make(grid, generator=generator)
    assert isinstance(m, Masker) and m.layout == "grid3d" and m.grid == grid
    n = grid[0] * grid[1] * grid[2]
    for seed in range(4):
        ms = sample(m, 16, seed)
        assert_valid(ms, n, 16)
        for ctx, tgt in zip(ms.context.tolist(), ms.targets[:, 0].tolist(), strict=True):
            assert not set(ctx) & set(tgt), "context and target must be disjoint"


@pytest.mark.parametrize("generator", ["short", "long"])
def test_targets_are_tubes_through_every_time_step(generator):
    """Before truncation each clip's target is a spatial pattern repeated at all T steps (temporal scale 1)."""
    T, H, W = PAPER_GRID
    m = make(PAPER_GRID, generator=generator)
    g = torch.Generator().manual_seed(0)
    t, h, w = m._draw_size(m._gens[generator][1], g)
    assert t == T
    union = m._place(8, m._gens[generator][0], t, h, w, g).view(8, T, H * W)  # [B, T, HW]
    assert bool((union == union[:, :1]).all()), "every time step must hide the same spatial region"
    # after truncation: every target token's spatial position is hidden in every frame (no context token there)
    ms = sample(m, 8, 1)
    for ctx, tgt in zip(ms.context.tolist(), ms.targets[:, 0].tolist(), strict=True):
        assert not {i % (H * W) for i in ctx} & {i % (H * W) for i in tgt}


def test_paper_block_counts_and_masking_ratio():
    """Short range: 8 tubes of int(196 * 0.15) = 29 tokens per frame; long: 2 of 137. The long-range union hides
    most of the clip (the paper's ~90 %), the short-range one less."""
    T, H, W = PAPER_GRID
    ratios = {}
    for gen, k in (("short", 29), ("long", 137)):
        m = make(PAPER_GRID, generator=gen)
        g = torch.Generator().manual_seed(0)
        t, h, w = m._draw_size(m._gens[gen][1], g)
        assert abs(h * w - k) <= max(h, w), (gen, h, w)
        assert 0.75 - 0.2 <= h / w <= 1.5 + 0.2
        ratios[gen] = float(m._place(256, m._gens[gen][0], t, h, w, g).float().mean())
    assert 0.55 < ratios["short"] < 0.8 and 0.72 < ratios["long"] < 0.97 and ratios["long"] > ratios["short"], ratios


def test_mixed_uses_both_generators():
    m = make(PAPER_GRID)
    sizes = {sample(m, 4, s).targets.shape[2] > 0.75 * 8 * 196 for s in range(30)}
    assert sizes == {True, False}, "mixed must draw both long-range (large) and short-range (small) targets"


def test_determinism_pickling_and_independence_from_the_global_rng():
    m = make(TINY_GRID)
    torch.manual_seed(0)
    a = sample(m, 8, 5)
    torch.manual_seed(1)
    b = sample(worker_copy(m), 8, 5)
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)
    others = [sample(m, 8, s) for s in range(6)]
    assert any(o.targets.shape != a.targets.shape or not torch.equal(o.targets, a.targets) for o in others)


def test_batch_min_truncation_keeps_a_random_subset():
    m = make(PAPER_GRID, generator="short")
    ms = sample(m, 32, 0)
    rows = torch.cat([sample(m, 32, s).context.flatten() % (14 * 14) // 14 for s in range(5)])
    assert abs(float(rows.float().mean()) - 6.5) < 1.0, "truncation must not favour low indices"
    assert ms.context.shape[1] >= m.cfg.min_keep


def test_a_two_d_grid_is_a_one_step_clip():
    m = make((14, 14))
    assert m.grid == (14, 14)
    assert_valid(sample(m, 4, 0), 196, 4)


@pytest.mark.parametrize(
    "grid, kw",
    [
        ((1, 1, 1), {}),
        ((4, 1, 1), {"generator": "short"}),
        ((1, 2, 2), {"generator": "long", "min_keep": 3}),
        ((4, 4, 4), {"min_keep": 40}),
        ((8, 14, 14), {"long_scale": (1.0, 1.0)}),
    ],
)
def test_impossible_grids_fail_at_build_with_a_hint(grid, kw, monkeypatch):
    """The build-time proof is a fixed grid search: at most PROBES^2 + 1 tube sizes per generator, never a loop
    that samples until it gives up."""
    sizes = []
    real = TubeMasker._size
    monkeypatch.setattr(TubeMasker, "_size", lambda self, *a: sizes.append(a) or real(self, *a))
    with pytest.raises(JepakitError) as info:
        make(grid, **kw)
    assert info.value.message.startswith("masker.") and info.value.hint
    assert 0 < len(sizes) <= 2 * (masks.PROBES**2 + 1)


@pytest.mark.parametrize("grid", [(1, 2, 2), (1, 3, 3), (2, 2, 3), (3, 5, 2), (1, 1, 4), (8, 2, 2)])
@pytest.mark.parametrize("generator", ["short", "long", "mixed"])
def test_small_grids_build_or_fail_cleanly_and_never_hang(grid, generator):
    for min_keep in (1, 2, 3):
        try:
            m = make(grid, generator=generator, min_keep=min_keep)
        except JepakitError as err:
            assert err.message.startswith("masker.")
            continue
        B, n, K = 16, grid[0] * grid[1] * grid[2], max(m.cfg.short_blocks, m.cfg.long_blocks)
        with count_draws(masks) as draws:  # fixed work per batch: 7 sampling calls, however many tries fail
            batches = [sample(m, B, seed) for seed in range(5)]
        assert draws.calls == 7 * len(batches)
        assert draws.numbers <= len(batches) * (4 + 3 * B * masks.RETRIES * K + 2 * B * n)
        for ms in batches:
            assert_valid(ms, n, B)
            assert ms.context.shape[1] >= min_keep
            for ctx, tgt in zip(ms.context.tolist(), ms.targets.flatten(1).tolist(), strict=True):
                assert not set(ctx) & set(tgt), "the context is the complement of the target"


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        TubeConfig(short_scale=(0.3, 0.2))
    with pytest.raises(ValueError):
        TubeConfig(generator="medium")
    with pytest.raises(ValueError):
        TubeConfig(min_keep=0)
    with pytest.raises(JepakitError):
        make((4, 4, 4, 4))
