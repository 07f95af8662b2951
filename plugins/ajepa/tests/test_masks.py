"""A-JEPA's curriculum masker: the schedule moves as configured (blocks early, strips late), shapes, disjointness,
the paper's sizes, determinism in (seed, step), termination on small grids, pictures."""

from __future__ import annotations

import pytest
import torch
from jepakit_ajepa import masks
from jepakit_ajepa.config import CurriculumConfig
from jepakit_ajepa.masks import CurriculumMasker

from jepakit.engine.loader import sample_masks
from jepakit.errors import JepakitError
from jepakit.interfaces import Masker, MaskSet
from jepakit.testing.contracts import worker_copy
from jepakit.testing.draws import count_draws

PAPER_GRID = (64, 8)  # 1024 frames x 128 mel bins, 16x16 patches (time x frequency)
TINY_GRID = (8, 8)


def make(grid: tuple[int, int] = TINY_GRID, **kw) -> CurriculumMasker:
    return CurriculumMasker(CurriculumConfig(**kw), grid)


def at(m: CurriculumMasker, step: int, total: int, seed: int, batch: int = 8) -> MaskSet:
    return sample_masks(m, batch, torch.Generator().manual_seed(seed), step=step, total_steps=total)


def shape_of(idx: list[int], grid: tuple[int, int]) -> str:
    """ "time" / "freq" strip (spans the whole other axis), "block" (a rectangle spanning neither), or "other"."""
    T, F = grid
    ts, fs = {i // F for i in idx}, {i % F for i in idx}
    rect = len(idx) == (max(ts) - min(ts) + 1) * (max(fs) - min(fs) + 1)
    if not rect:
        return "other"
    if len(fs) == F and len(ts) < T:
        return "time"
    if len(ts) == T and len(fs) < F:
        return "freq"
    return "block" if len(ts) < T and len(fs) < F else "other"


def kinds(ms: MaskSet, grid: tuple[int, int]) -> set[str]:
    return {shape_of(b.tolist(), grid) for b in ms.targets.flatten(0, 1)}


def test_schedule_ramps_between_the_configured_fractions():
    m = make(curriculum=(0.2, 0.6))
    assert [m.tf_probability(s, 100) for s in (0, 19, 20, 40, 60, 99)] == pytest.approx([0, 0, 0, 0.5, 1, 1])
    assert make(curriculum=(1.0, 1.0)).tf_probability(99, 100) == 0.0  # blocks for the whole run
    assert make(curriculum=(0.0, 0.0)).tf_probability(0, 100) == 1.0  # strips from the first step
    step = make(curriculum=(0.5, 0.5))
    assert step.tf_probability(49, 100) == 0.0 and step.tf_probability(50, 100) == 1.0


@pytest.mark.parametrize("grid", [TINY_GRID, PAPER_GRID])
def test_early_masks_are_random_blocks_and_late_masks_are_strips(grid):
    m = make(grid, curriculum=(0.1, 0.6))
    early = set().union(*(kinds(at(m, s, 1000, seed=s), grid) for s in range(0, 100, 5)))
    late = set().union(*(kinds(at(m, s, 1000, seed=s), grid) for s in range(600, 1000, 20)))
    assert early == {"block"}, early
    assert late == {"time", "freq"}, late


def test_the_share_of_strip_batches_follows_the_schedule():
    m = make(curriculum=(0.0, 1.0))
    for step, p in ((250, 0.25), (750, 0.75)):
        strips = sum("block" not in kinds(at(m, step, 1000, seed=s, batch=2), TINY_GRID) for s in range(400))
        assert abs(strips / 400 - p) < 0.08, (step, strips)


def test_time_prob_picks_the_strip_direction():
    only_time = make(curriculum=(0.0, 0.0), time_prob=1.0)
    only_freq = make(curriculum=(0.0, 0.0), time_prob=0.0)
    assert all(kinds(at(only_time, 0, 10, s), TINY_GRID) == {"time"} for s in range(20))
    assert all(kinds(at(only_freq, 0, 10, s), TINY_GRID) == {"freq"} for s in range(20))


@pytest.mark.parametrize("grid", [TINY_GRID, PAPER_GRID, (16, 4), (3, 5)])
def test_shapes_disjoint_and_min_keep(grid):
    m = make(grid, min_keep=2)
    assert isinstance(m, Masker) and m.layout == "tf2d" and m.grid == grid and m.step_aware
    n = grid[0] * grid[1]
    for s in range(30):
        ms = at(m, s, 30, seed=s, batch=16)
        c, t = ms.context, ms.targets
        assert c.dtype == t.dtype == torch.long and c.shape[0] == t.shape[0] == 16 and t.shape[1] == 4
        assert c.shape[1] >= 2 and int(c.max()) < n and int(t.max()) < n and int(t.min()) >= 0
        assert bool((c[:, 1:] > c[:, :-1]).all()) and bool((t[..., 1:] > t[..., :-1]).all()), "sorted, unique"
        for ctx, tgt in zip(c.tolist(), t.flatten(1).tolist(), strict=True):
            assert not set(ctx) & set(tgt), "context and targets must be disjoint"


def test_paper_sizes_on_the_paper_grid():
    """512 tokens: blocks of int(512 * 0.15..0.2) = 76..102 tokens, at most 63 x 7 (I-JEPA keeps blocks short of
    the full axis, so on 8 bands wide blocks shrink to 7 bands); time strips of 10..13 frames x 8 bands;
    frequency strips of 1..2 bands x 64 frames. Four targets, context about the rest."""
    m = make(PAPER_GRID)
    g = torch.Generator().manual_seed(0)
    for mode, lo, hi in (("block", 49, 102), ("time", 80, 104), ("freq", 64, 128)):
        for _ in range(10):
            ms = m.sample(4, g, mode)
            assert lo <= ms.targets.shape[2] <= hi, (mode, ms.targets.shape)
            assert ms.targets.shape[1] == 4


def test_masks_are_a_pure_function_of_seed_and_step_and_pickle():
    m = make(curriculum=(0.0, 1.0))
    torch.manual_seed(0)
    a = at(m, 900, 1000, seed=5)  # u = 0.83 < P = 0.9: strips
    torch.manual_seed(1)
    b = at(worker_copy(m), 900, 1000, seed=5)
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)
    c = at(m, 10, 1000, seed=5)  # same seed, early: blocks
    assert not (c.targets.shape == a.targets.shape and torch.equal(c.targets, a.targets))
    plain = m(8, torch.Generator().manual_seed(3))  # called without step: the start of the schedule
    assert kinds(plain, TINY_GRID) == {"block"}


@pytest.mark.parametrize("grid", [(1, 1), (1, 8), (8, 1), (2, 2), (2, 3), (3, 3), (4, 2)])
@pytest.mark.parametrize("curriculum", [(0.0, 1.0), (1.0, 1.0), (0.0, 0.0)])
def test_small_grids_build_or_fail_cleanly_and_never_hang(grid, curriculum):
    """Cramped grids either fail at build or sample valid masks with a fixed amount of work per batch: the same
    8 sampling calls whatever the share of rejected placements (no redraw loop), each of a bounded size."""
    B, n = 8, grid[0] * grid[1]
    for min_keep in (1, 2, 4):
        try:
            m = make(grid, curriculum=curriculum, min_keep=min_keep)
        except JepakitError as err:
            assert err.message.startswith("masker.") and err.hint
            continue
        M = m.cfg.num_targets
        with count_draws(masks) as draws:
            batches = [at(m, s, 6, seed=s, batch=B) for s in range(6)]
        assert draws.calls == 8 * len(batches)
        assert draws.numbers <= len(batches) * (5 + 2 * B * masks.RETRIES * (M + 1) + B * n)
        for ms in batches:
            assert ms.context.shape == (B, ms.context.shape[1]) and ms.context.shape[1] >= min_keep
            assert ms.targets.shape[:2] == (B, M) and int(ms.targets.max()) < n and int(ms.context.max()) < n
            for ctx, tgt in zip(ms.context.tolist(), ms.targets.flatten(1).tolist(), strict=True):
                assert len(set(ctx)) == len(ctx) and not set(ctx) & set(tgt)


def test_bad_settings():
    with pytest.raises(ValueError):
        CurriculumConfig(curriculum=(0.8, 0.2))
    with pytest.raises(ValueError):
        CurriculumConfig(time_prob=1.5)
    with pytest.raises(ValueError):
        CurriculumConfig(num_targets=0)
    with pytest.raises(JepakitError, match="tf2d|time, frequency"):
        make((4, 4, 4))
    with pytest.raises(JepakitError, match="masker.target_scale"):
        make((1, 8), curriculum=(0.0, 0.0), time_prob=1.0)  # one time strip covers the only frame


def test_draw_writes_early_and_late_pictures(tmp_path):
    frontend = {
        "sample_rate": 8000,
        "n_mels": 32,
        "frames": 32,
        "win_ms": 25.0,
        "hop_ms": 16.0,
        "f_min": 0.0,
        "f_max": 0.0,
    }
    m = CurriculumMasker(CurriculumConfig(), (8, 8), meta={"frontend": frontend})
    paths = m.draw(torch.randn(4, 1, 31 * 128), tmp_path / "masks")
    assert [p.name for p in paths] == ["masks_early.png", "masks_late.png"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_an_empty_context_is_a_config_error():
    with pytest.raises(ValueError, match="min_keep must be at least 1"):
        CurriculumConfig(min_keep=0)


def test_the_curriculum_check_refuses_what_the_grid_cannot_hold():
    """`jepakit validate` (given a grid): a non-(time, frequency) grid and an unreachable min_keep fail early."""
    CurriculumConfig().check((16, 4))
    with pytest.raises(ValueError, match="time, frequency"):
        CurriculumConfig().check((4, 4, 4))
    with pytest.raises(ValueError, match="min_keep = 64 cannot be met on the 8x8 grid"):
        CurriculumConfig(min_keep=64).check((8, 8))
