"""The encoder's tokens and positions (gradient map vs sin-cos ROI index) and the predictor's shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_brainjepa.config import BrainEncoderConfig, BrainPredictorConfig
from jepakit_brainjepa.models import BrainEncoder, BrainPredictor, PatchEmbed

from jepakit.errors import JepakitError

CFG = BrainEncoderConfig(patch_size=4, embed_dim=32, depth=1, num_heads=2)


def test_a_token_is_one_roi_by_one_time_patch(meta12):
    enc = BrainEncoder(CFG, (12, 24), meta12)
    assert enc.grid == (12, 6)
    x = torch.zeros(2, 12, 24)
    x[:, 3, 8:12] = 1.0  # ROI 3, frames 8..11 = patch 2
    emb = PatchEmbed(4, 32)
    z = emb(x) - emb(torch.zeros_like(x))  # [2, 72, 32]: only the token 3 * 6 + 2 changes
    changed = torch.nonzero(z.abs().sum(-1)[0] > 0).flatten().tolist()
    assert changed == [3 * 6 + 2]
    assert enc(x).shape == (2, 72, 32) and enc(x, torch.arange(0, 72, 3).expand(2, -1)).shape == (2, 24, 32)


def test_gradient_positions_follow_the_rois_coordinates(meta12):
    enc = BrainEncoder(CFG, (12, 24), meta12)
    pos = enc.pos().reshape(12, 6, 32)  # [R, W, D]: first half time code, second half ROI code
    assert torch.allclose(pos[0, :, :16], pos[5, :, :16])  # time half: the same for every ROI
    assert torch.allclose(pos[:, 0, 16:], pos[:, 4, 16:])  # ROI half: the same at every time patch
    roi = pos[:, 0, 16:].detach()
    assert float(roi.min()) == pytest.approx(-1.0) and float(roi.max()) == pytest.approx(1.0)  # min-max scaled
    # two ROIs with the same gradient coordinates get the same code; the map is learnable
    meta = {"gradients": [meta12["gradients"][0]] * 2 + meta12["gradients"][2:]}
    twin = BrainEncoder(CFG, (12, 24), meta).pos().reshape(12, 6, 32)
    assert torch.equal(twin[0], twin[1])
    assert enc.pos.proj.weight.requires_grad and "pos.gradients" in enc.state_dict()


def test_sincos_ablation_needs_no_gradients():
    enc = BrainEncoder(
        BrainEncoderConfig(patch_size=4, embed_dim=32, depth=1, num_heads=2, positions="sincos"), (12, 24), {}
    )
    pos = enc.pos().reshape(12, 6, 32)
    assert not any(n.startswith("pos.") for n, _ in enc.named_parameters())  # fixed code
    assert float((pos[0, 0, 16:] - pos[1, 0, 16:]).abs().max()) > 0.1


def test_missing_or_mismatched_gradients_are_clear_errors(meta12):
    with pytest.raises(JepakitError, match="gradients") as info:
        BrainEncoder(CFG, (12, 24), {})
    assert "sincos" in info.value.hint
    with pytest.raises(JepakitError, match=r"\[12, k\]"):
        BrainEncoder(CFG, (12, 24), {"gradients": np.zeros((10, 5)).tolist()})
    with pytest.raises(JepakitError, match="patch_size"):
        BrainEncoder(CFG, (12, 26), meta12)
    enc = BrainEncoder(CFG, (12, 24), meta12)
    with pytest.raises(JepakitError, match="expected"):
        enc(torch.zeros(1, 11, 24))


def test_predictor_shapes_and_gradients(meta12):
    pred = BrainPredictor(BrainPredictorConfig(embed_dim=16, depth=1, num_heads=2), 32, (12, 6), meta12)
    ctx = torch.randn(2, 20, 32, requires_grad=True)
    ctx_idx = torch.arange(20).expand(2, -1)
    tgt_idx = torch.arange(40, 55).expand(2, -1)[:, None]
    out = pred(ctx, ctx_idx, tgt_idx)
    assert out.shape == (2, 1, 15, 32)
    out.sum().backward()
    assert ctx.grad is not None and torch.isfinite(ctx.grad).all()
    assert pred.pos.proj.weight.grad is not None  # the predictor's own gradient map learns too
