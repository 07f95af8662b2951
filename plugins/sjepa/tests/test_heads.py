"""The three S-JEPA heads fit and score; the spatial filter finds a channel-local signal a flat probe must hunt for."""

from __future__ import annotations

import numpy as np
import torch
from jepakit_sjepa.config import SpatialHeadConfig
from jepakit_sjepa.heads import PostLocalHead, PreLocalHead, SpatialFilterHead
from jepakit_sjepa.models import ConvFeatureEncoder

CFG = SpatialHeadConfig(epochs=30, batch_size=64, lr=3e-3)


def _tokens(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """[n, C=6, T=2, F=4] noise; class = sign of feature 0 on channel 2 (one electrode carries the label)."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 6, 2, 4, generator=g)
    x[:, 2, :, 0] += 3.0 * (2 * y[:, None] - 1)
    return x.numpy(), y.numpy()


def test_contextual_and_post_local_heads_learn_a_channel_signal():
    xtr, ytr = _tokens(200, 0)
    xte, yte = _tokens(100, 1)
    for cls in (SpatialFilterHead, PostLocalHead):
        head = cls(CFG)
        head.fit(xtr, ytr)
        assert head.score(xte, yte)["accuracy"] >= 90.0


def test_pre_local_head_filters_then_runs_the_frozen_tokenizer():
    g = torch.Generator().manual_seed(0)
    n, C, L = 160, 5, 64
    y = torch.arange(n) % 2
    t = torch.arange(L) / 32.0
    x = 0.5 * torch.randn(n, C, L, generator=g)
    x[:, 1] += torch.where(y[:, None] == 1, torch.sin(2 * torch.pi * 8 * t), torch.zeros(L)) * 2.0
    local = ConvFeatureEncoder(((8, 8, 4), (8, 2, 2)), "layer")
    before = [p.clone() for p in local.parameters()]
    head = PreLocalHead(CFG)
    head.local = local
    head.fit(x[:120].numpy(), y[:120].numpy())
    assert head.score(x[120:].numpy(), y[120:].numpy())["accuracy"] >= 85.0
    assert all(torch.equal(a, b) for a, b in zip(before, local.parameters(), strict=True))  # frozen


def test_heads_accept_pooled_features():
    x = np.random.default_rng(0).standard_normal((160, 8)).astype(np.float32)
    y = np.arange(160) % 2
    x[:, 0] += 4 * (2 * y - 1)
    for cls in (SpatialFilterHead, PreLocalHead):
        head = cls(CFG)
        head.fit(x[:120], y[:120])
        assert head.score(x[120:], y[120:])["accuracy"] >= 80.0


def test_finetuning_trains_a_copy_of_the_encoder_end_to_end(meta19):
    from jepakit_sjepa.config import EEGEncoderConfig, FineTuneConfig
    from jepakit_sjepa.heads import finetune_contextual, fit_contextual
    from jepakit_sjepa.models import EEGEncoder

    g = torch.Generator().manual_seed(0)
    n, L = 160, 128
    y = torch.arange(n) % 2
    t = torch.arange(L) / 64.0
    x = 0.5 * torch.randn(n, 19, L, generator=g)
    x[:, 8] += torch.where(y[:, None] == 1, 2.0 * torch.sin(2 * torch.pi * 10 * t), torch.zeros(L))  # C3 rhythm
    torch.manual_seed(0)
    enc = EEGEncoder(
        EEGEncoderConfig(
            conv_layers=((8, 16, 8), (16, 2, 2), (16, 2, 2), (16, 2, 2)),
            conv_norm="none",
            embed_dim=24,
            depth=1,
            num_heads=2,
            channel_dims=12,
        ),
        (19, L),
        meta19,
    ).requires_grad_(False)  # frozen, as an EMA target is
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    cfg = FineTuneConfig(epochs=15, batch_size=32, lr=3e-3, encoder_lr=1e-3)
    net, classes = fit_contextual(enc, x[:120], y[:120].numpy(), cfg)
    assert list(classes) == [0, 1] and not net.training
    moved = [k for k, v in net.encoder.state_dict().items() if not torch.equal(v, before[k])]
    assert any(k.startswith("feature_encoder") for k in moved) and any(k.startswith("blocks") for k in moved)
    assert all(torch.equal(v, before[k]) for k, v in enc.state_dict().items())  # the run's encoder is untouched
    assert not any(p.requires_grad for p in enc.parameters())
    assert finetune_contextual(enc, (x[:120], y[:120].numpy()), (x[120:], y[120:].numpy()), cfg) >= 90.0
