"""The context-aware decoder reads the context in every layer; the negative cosine's range and gradient."""

from __future__ import annotations

import torch
from jepakit_3djepa.config import ContextDecoderConfig
from jepakit_3djepa.losses import NegCosine
from jepakit_3djepa.models import ContextDecoder


def test_every_layer_cross_attends_to_the_context():
    torch.manual_seed(0)
    dec = ContextDecoder(ContextDecoderConfig(embed_dim=16, depth=2, num_heads=2, pos_hidden=8), 24, (12,))
    ctx = torch.randn(2, 5, 24)
    ctx_idx, tgt_idx = torch.arange(5).expand(2, 5), (5 + torch.arange(6)).view(1, 2, 3).expand(2, -1, -1)
    centres = torch.rand(2, 12, 3)
    out = dec(ctx, ctx_idx, tgt_idx, centres)
    assert out.shape == (2, 2, 3, 24)
    seen = []
    hooks = [layer.cross.register_forward_hook(lambda m, i, o: seen.append(i[1].shape)) for layer in dec.layers]
    dec(ctx, ctx_idx, tgt_idx, centres)
    for h in hooks:
        h.remove()
    assert seen == [torch.Size([2, 5, 16])] * 2  # the context memory, fed to both layers
    moved = centres.clone()
    moved[:, 5:] += 0.5  # target positions come from their centres
    assert not torch.allclose(dec(ctx, ctx_idx, tgt_idx, moved), out)


def test_negative_cosine_is_minus_one_on_aligned_features_and_scale_free():
    loss = NegCosine()
    t = torch.randn(2, 3, 4, 8)
    assert float(loss(3.0 * t, t)) == -1.0 or abs(float(loss(3.0 * t, t)) + 1.0) < 1e-6
    assert abs(float(loss(-t, t)) - 1.0) < 1e-6
    p = torch.randn(2, 3, 4, 8, requires_grad=True)
    loss(p, t).backward()
    assert p.grad is not None and bool(torch.isfinite(p.grad).all())
