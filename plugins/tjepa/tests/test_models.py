"""The tabular encoder: one token per column, categories through their own tables, [REG] tokens last, context
gathered before the blocks; the predictor's shapes; clear errors for rows of the wrong width."""

from __future__ import annotations

import pytest
import torch
from jepakit_tjepa.config import TabularEncoderConfig, TabularPredictorConfig
from jepakit_tjepa.models import ColumnTokenizer, TabularEncoder, TabularPredictor

from jepakit.errors import JepakitError

META = {"columns": ["n1", "k1", "n2", "k2"], "cardinalities": [0, 3, 0, 5]}
CFG = TabularEncoderConfig(embed_dim=16, depth=1, num_heads=2, reg_tokens=2)


def test_each_column_is_its_own_token():
    torch.manual_seed(0)
    tok = ColumnTokenizer(META["cardinalities"], 8)
    x = torch.tensor([[0.5, 1.0, -1.0, 4.0], [0.5, 2.0, -1.0, 4.0]])
    z = tok(x)  # [2, 4, 8]
    assert z.shape == (2, 4, 8)
    changed = (z[0] - z[1]).abs().sum(-1) > 0
    assert changed.tolist() == [False, True, False, False]  # only the category that differs
    x2 = x.clone()
    x2[0, 0] = 1.5  # a number moves its token along its own direction w_j
    torch.testing.assert_close(tok(x2)[0, 0] - z[0, 0], tok.num_weight[0])
    wild = torch.tensor([[0.0, 99.0, 0.0, -3.0]])  # out-of-range codes are clamped into the table
    assert torch.isfinite(tok(wild)).all()


def test_reg_tokens_come_after_the_columns_and_context_is_gathered():
    torch.manual_seed(0)
    enc = TabularEncoder(CFG, (4,), META)
    assert enc.grid == (6,) and enc.layout == "columns"
    x = torch.randn(3, 4)
    x[:, 1], x[:, 3] = 1.0, 2.0
    assert enc(x).shape == (3, 6, 16)
    keep = torch.tensor([[0, 4, 5]] * 3)  # one column + both [REG]
    assert enc(x, keep).shape == (3, 3, 16)
    toks = enc.tokens(x)
    torch.testing.assert_close(toks[:, 4:], enc.reg[None].expand(3, -1, -1))
    noreg = TabularEncoder(TabularEncoderConfig(embed_dim=16, depth=1, num_heads=2, reg_tokens=0), (4,), META)
    assert noreg.grid == (4,)


def test_rows_of_the_wrong_width_are_refused():
    enc = TabularEncoder(CFG, (4,), META)
    with pytest.raises(JepakitError, match="expected"):
        enc(torch.randn(2, 5))
    with pytest.raises(JepakitError, match="cardinalities"):
        TabularEncoder(CFG, (3,), META)
    with pytest.raises(JepakitError, match="input shape"):
        TabularEncoder(CFG, (2, 2), META)


def test_predictor_runs_one_sequence_per_target_subset():
    torch.manual_seed(0)
    pred = TabularPredictor(TabularPredictorConfig(embed_dim=8, depth=1, num_heads=2), 16, (6,))
    ctx = torch.randn(2, 3, 16, requires_grad=True)
    ctx_idx = torch.tensor([[0, 4, 5], [2, 4, 5]])
    tgt_idx = torch.tensor([[[1, 2], [2, 3], [1, 3], [1, 2]], [[0, 1], [1, 3], [0, 3], [3, 1]]])
    out = pred(ctx, ctx_idx, tgt_idx)
    assert out.shape == (2, 4, 2, 16)
    out.sum().backward()
    assert ctx.grad is not None and torch.isfinite(ctx.grad).all()
    # target subsets do not see each other: changing subset 1's columns leaves subset 0's prediction alone
    other = tgt_idx.clone()
    other[:, 1] = torch.tensor([[0, 1], [0, 2]])
    torch.testing.assert_close(pred(ctx, ctx_idx, other)[:, 0], out[:, 0])
