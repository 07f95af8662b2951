"""T-JEPA's evaluation pieces: the MLP probe learns, the readout's shapes, the label-budget subsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_tjepa.config import MLPProbeConfig, TabularEncoderConfig, TJEPAMethodConfig
from jepakit_tjepa.evaluation import budget_subsets, readout
from jepakit_tjepa.heads import MLPProbe
from jepakit_tjepa.models import TabularEncoder


def test_mlp_probe_learns_a_nonlinear_rule_and_is_seeded():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)  # XOR of signs: no linear probe gets this
    probe = MLPProbe(MLPProbeConfig(epochs=1, min_steps=200, hidden=64, batch_size=100, lr=1e-2))
    probe.fit(x[:400], y[:400])
    acc = probe.score(x[400:], y[400:])["accuracy"]
    assert acc >= 85.0
    again = MLPProbe(MLPProbeConfig(epochs=1, min_steps=200, hidden=64, batch_size=100, lr=1e-2))
    again.fit(x[:400], y[:400])
    assert again.score(x[400:], y[400:])["accuracy"] == acc
    with pytest.raises(RuntimeError):
        MLPProbe().score(x, y)


def test_readout_is_reg_tokens_then_the_column_mean():
    torch.manual_seed(0)
    meta = {"cardinalities": [0, 3, 0]}
    enc = TabularEncoder(TabularEncoderConfig(embed_dim=8, depth=1, num_heads=2, reg_tokens=2), (3,), meta)
    x = torch.randn(5, 3)
    full = enc.eval()(x)  # [5, 5, 8]
    f = readout(enc, x, "reg_mean")
    assert f.shape == (5, 3 * 8)
    np.testing.assert_allclose(f[:, :16], full[:, 3:].flatten(1).detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f[:, 16:], full[:, :3].mean(1).detach().numpy(), rtol=1e-5, atol=1e-6)
    noreg = TabularEncoder(TabularEncoderConfig(embed_dim=8, depth=1, num_heads=2, reg_tokens=0), (3,), meta)
    assert readout(noreg, x, "reg_mean").shape == (5, 8)
    with pytest.raises(ValueError, match="REG"):
        readout(noreg, x, "reg")


def test_budget_subsets_are_stratified_and_differ_per_draw():
    y = np.array([0] * 750 + [1] * 250)
    subs = budget_subsets(y, 256, 3, 0)
    assert [len(s) for s in subs] == [256] * 3 and not np.array_equal(subs[0], subs[1])
    assert all(abs(float(y[s].mean()) - 0.25) < 0.01 for s in subs)


def test_method_config_checks():
    with pytest.raises(ValueError, match="readout"):
        TJEPAMethodConfig(readout="cls")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="label_budgets"):
        TJEPAMethodConfig(label_budgets=[2])
