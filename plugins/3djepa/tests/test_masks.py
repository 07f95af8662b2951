"""3D-JEPA's proximity blocks: each target block is the patches nearest its anchor centre; the context is the
context anchor's block minus every target patch; without centres the draws give valid blocks along the order."""

from __future__ import annotations

import pytest
import torch
from jepakit_3djepa.config import ProximityMaskConfig
from jepakit_3djepa.masks import ProximityBlockMasker, ProximityMasks, resolve

from jepakit import JepakitError
from jepakit.testing.contracts import worker_copy


def centres(b: int, g: int) -> torch.Tensor:
    return torch.rand(b, g, 3, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("seed", range(4))
def test_target_blocks_are_the_nearest_patches_of_their_anchor(seed):
    m = ProximityBlockMasker(ProximityMaskConfig(), (32,))
    draws = m(8, torch.Generator().manual_seed(seed))
    c = centres(8, 32)
    ms = resolve(draws, c)
    nt = draws.target_size
    assert ms.targets.shape == (8, 4, nt) and round(0.15 * 32) <= nt <= round(0.2 * 32)
    for b in range(8):
        for t in range(4):
            d = (c[b] - c[b, draws.anchors[b, t]]).norm(dim=-1)
            assert set(ms.targets[b, t].tolist()) == set(d.topk(nt, largest=False).indices.tolist())
        hidden = set(ms.targets[b].flatten().tolist())
        ctx = set(ms.context[b].tolist())
        assert not ctx & hidden
        dc = (c[b] - c[b, draws.anchors[b, -1]]).norm(dim=-1)
        block = set(dc.topk(draws.context_size, largest=False).indices.tolist())
        assert ctx <= block or len(ctx) == 1


def test_without_centres_the_blocks_are_runs_of_the_sequence():
    draws = ProximityBlockMasker(ProximityMaskConfig(), (40,))(6, torch.Generator().manual_seed(0))
    assert isinstance(draws, ProximityMasks) and resolve(draws, None) is draws
    steps = draws.targets[..., 1:] - draws.targets[..., :-1]
    assert bool((steps == 1).all())  # the nearest indices of an anchor are a contiguous run


def test_draws_follow_the_generator_and_survive_pickling():
    m = ProximityBlockMasker(ProximityMaskConfig(), (32,))
    a = m(4, torch.Generator().manual_seed(5))
    b = worker_copy(m)(4, torch.Generator().manual_seed(5))
    assert torch.equal(a.anchors, b.anchors) and torch.equal(a.context, b.context)


def test_too_few_patches_for_the_blocks_is_refused():
    with pytest.raises(JepakitError, match="cannot hold"):
        ProximityBlockMasker(ProximityMaskConfig(), (4,))
