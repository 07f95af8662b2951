"""Point-JEPA's masks: contiguous target runs of 15-20 %, one contiguous context run among the rest."""

from __future__ import annotations

import pytest
import torch
from jepakit_pointjepa.config import SequenceMaskConfig
from jepakit_pointjepa.masks import SequenceBlockMasker

from jepakit import JepakitError
from jepakit.testing.contracts import worker_copy


def draw(seed: int, grid: int = 64, batch: int = 32):
    return SequenceBlockMasker(SequenceMaskConfig(), (grid,))(batch, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("seed", range(5))
def test_targets_are_contiguous_runs_of_the_paper_size(seed):
    ms = draw(seed)
    assert ms.targets.shape[1] == 4
    lt = ms.targets.shape[2]
    assert round(0.15 * 64) <= lt <= round(0.2 * 64)
    steps = ms.targets[..., 1:] - ms.targets[..., :-1]
    assert bool((steps == 1).all())


@pytest.mark.parametrize("seed", range(5))
def test_context_is_one_run_of_the_uncovered_patches(seed):
    ms = draw(seed)
    for row in range(ms.context.shape[0]):
        covered = set(ms.targets[row].flatten().tolist())
        free = [i for i in range(64) if i not in covered]
        ctx = ms.context[row].tolist()
        assert not covered & set(ctx)
        start = free.index(ctx[0])
        assert ctx == free[start : start + len(ctx)]  # contiguous in the order of the free patches
    free_min = min(64 - len(set(r.flatten().tolist())) for r in ms.targets)
    assert ms.context.shape[1] <= round(0.75 * free_min) + 1


def test_masks_follow_the_generator_and_survive_pickling():
    m = SequenceBlockMasker(SequenceMaskConfig(), (32,))
    a = m(8, torch.Generator().manual_seed(3))
    b = worker_copy(m)(8, torch.Generator().manual_seed(3))
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)


def test_a_sequence_too_short_for_the_target_runs_is_refused():
    with pytest.raises(JepakitError, match="no context"):
        SequenceBlockMasker(SequenceMaskConfig(num_targets=4, target_scale=[0.2, 0.25]), (4,))
