"""The column masker: the paper code's sizes, context and targets disjoint, [REG] always in the context, a fixed
number of random draws per batch (it cannot loop), clear errors for shares that cannot fit."""

from __future__ import annotations

import pytest
import torch
from jepakit_tjepa import masks
from jepakit_tjepa.config import ColumnMaskConfig, size_weights
from jepakit_tjepa.masks import ColumnMasker

from jepakit.errors import JepakitError
from jepakit.testing.contracts import worker_copy
from jepakit.testing.draws import count_draws

COLS = {"columns": [f"c{i}" for i in range(14)]}  # Adult's 14 columns


def make(n_reg: int = 1, **kw) -> ColumnMasker:
    return ColumnMasker(ColumnMaskConfig(**kw), (14 + n_reg,), COLS)


def test_sizes_follow_the_paper_codes_rounding():
    # round(14 * 0.2) = 3, round(14 * 0.4) = 6: 3 + round(3u) puts half weight on 3 and 6
    w = size_weights(14, (0.2, 0.4))
    assert w == pytest.approx({3: 1 / 6, 4: 1 / 3, 5: 1 / 3, 6: 1 / 6})
    assert size_weights(10, (0.5, 0.5)) == {5: 1.0}


def test_context_and_targets_are_disjoint_and_reg_is_always_context():
    m = make(n_reg=2)
    for seed in range(20):
        ms = m(32, torch.Generator().manual_seed(seed))
        c, t = ms.context, ms.targets
        assert t.shape[:2] == (32, 4)
        n_ctx, n_tgt = c.shape[1] - 2, t.shape[2]
        assert 3 <= n_ctx <= 6 and 3 <= n_tgt <= 6 and n_ctx + n_tgt <= 14
        assert (c[:, -2:] == torch.tensor([14, 15])).all()  # the [REG] tokens, in every row
        assert int(t.max()) < 14  # never a target
        for row in range(32):
            ctx = set(c[row].tolist())
            for blk in t[row].tolist():
                assert not ctx & set(blk) and len(set(blk)) == len(blk)


def test_draw_reg_draws_the_reg_tokens_like_columns():
    # the released code's index space: [REG] is one of the drawn tokens (context, a target or hidden)
    m = make(n_reg=1, draw_reg=True)
    assert m.n_draw == 15 and m.reg_idx.numel() == 0
    in_ctx = in_tgt = 0
    for seed in range(40):
        ms = m(16, torch.Generator().manual_seed(seed))
        c, t = ms.context, ms.targets
        assert 3 <= c.shape[1] <= 6  # round(15 * 0.2) = 3 .. round(15 * 0.4) = 6, no [REG] added
        for row in range(16):
            ctx = set(c[row].tolist())
            assert all(not ctx & set(blk) for blk in t[row].tolist())
        in_ctx += int((c == 14).any(dim=1).sum())
        in_tgt += int((t == 14).flatten(1).any(dim=1).sum())
    assert in_ctx > 0 and in_tgt > 0  # both happen
    assert in_ctx < 40 * 16  # and it is not always visible


def test_every_allowed_size_pair_occurs_and_targets_differ():
    m = make(context_share=[0.5, 0.8], target_share=[0.3, 0.6])  # some pairs exceed 14 columns
    seen = set()
    for seed in range(200):
        ms = m(4, torch.Generator().manual_seed(seed))
        seen.add((ms.context.shape[1] - 1, ms.targets.shape[2]))
    assert all(c + t <= 14 for c, t in seen)
    assert seen == {(int(c), int(t)) for c, t in m.sizes.tolist()}
    ms = make()(64, torch.Generator().manual_seed(0))  # t <= 6 < 8 <= F - c: room for different subsets
    assert not torch.equal(ms.targets[:, 0], ms.targets[:, 1])  # each target is its own subset


def test_a_fixed_number_of_draws_per_batch():
    m = make()
    with count_draws(masks) as draws:
        for seed in range(5):
            m(16, torch.Generator().manual_seed(seed))
    assert draws.calls == 3 * 5  # one size pair, one column order, one target choice per batch
    assert draws.numbers <= 5 * (1 + 16 * 14 + 16 * 4 * 14)


def test_shares_that_cannot_fit_are_a_clear_error():
    with pytest.raises(JepakitError, match="context_share") as err:
        ColumnMasker(ColumnMaskConfig(context_share=[0.9, 1.0], target_share=[0.5, 0.6]), (6,), {})
    assert err.value.hint
    with pytest.raises(JepakitError, match="at least one column"):
        ColumnMasker(ColumnMaskConfig(context_share=[0.1, 0.1], target_share=[0.1, 0.1]), (3,), {})
    with pytest.raises(JepakitError, match="token grid"):
        ColumnMasker(ColumnMaskConfig(), (4, 4), {})


def test_pickles_and_is_deterministic(tmp_path):
    m = make()
    a = m(8, torch.Generator().manual_seed(3))
    b = worker_copy(m)(8, torch.Generator().manual_seed(3))
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)
    paths = m.draw(torch.zeros(4, 14), tmp_path / "masks")
    assert paths == [tmp_path / "masks.png"] and paths[0].stat().st_size > 2000


def test_validate_refuses_shares_that_cannot_fit_before_any_tensor():
    from jepakit.framework.checks import check_run
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.plugins import load_plugins

    state = load_plugins()
    check_run(resolve_run({"variant": "tjepa/tjepa-tiny"}, state, []))  # the preset passes
    bad = ["masker.context_share=[0.01,0.02]"]  # rounds to 0 of Adult's 14 columns
    with pytest.raises(JepakitError, match="masker.context_share / target_share: on 14 token"):
        check_run(resolve_run({"variant": "tjepa/tjepa-tiny"}, state, bad))
    # with draw_reg the shares are of all 15 tokens ([REG] included)
    with pytest.raises(JepakitError, match="on 15 token"):
        check_run(resolve_run({"variant": "tjepa/tjepa-tiny"}, state, [*bad, "masker.draw_reg=true"]))
