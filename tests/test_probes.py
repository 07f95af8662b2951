"""The attentive probe reads tokens: it finds a class signal that mean-pooling dilutes, and evaluation feeds
token features only to heads that ask for them."""

from __future__ import annotations

import numpy as np
import torch

from jepakit.builtin.config import AttentiveProbeConfig, LinearProbeConfig
from jepakit.builtin.heads import AttentiveProbe, LinearProbe
from jepakit.engine.evaluate import extract_features


def _one_token_signal(n: int = 360, t: int = 16, f: int = 16, seed: int = 0):
    """Class k puts +4 on feature k of ONE token at a random position; every other token is noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, t, f, generator=g)
    x[torch.arange(n), torch.randint(0, t, (n,), generator=g), :3] += 4.0 * torch.nn.functional.one_hot(y, 3)
    return x.numpy(), y.numpy()


def test_attentive_probe_finds_what_mean_pooling_dilutes():
    x, y = _one_token_signal(n=480)
    probe = AttentiveProbe(AttentiveProbeConfig())  # the defaults users get
    probe.fit(x[:360], y[:360])
    attentive = probe.score(x[360:], y[360:])["accuracy"]
    linear = LinearProbe(LinearProbeConfig())
    linear.fit(x[:360].mean(1), y[:360])
    pooled = linear.score(x[360:].mean(1), y[360:])["accuracy"]
    assert attentive >= 80.0 and attentive > pooled + 15.0, (attentive, pooled)


def test_attentive_probe_is_deterministic_and_accepts_pooled_input():
    x, y = _one_token_signal(n=90, seed=1)
    scores = []
    for _ in range(2):
        p = AttentiveProbe(AttentiveProbeConfig(epochs=3))
        p.fit(x[:60], y[:60])
        scores.append(p.score(x[60:], y[60:])["accuracy"])
    assert scores[0] == scores[1]
    p = AttentiveProbe(AttentiveProbeConfig(epochs=2))
    p.fit(x[:60].mean(1), y[:60])  # [N, F]: raw or pooled features count as one token
    assert 0.0 <= p.score(x[60:].mean(1), y[60:])["accuracy"] <= 100.0


def test_token_features_have_one_row_per_token():
    from jepakit.builtin.config import ViTConfig
    from jepakit.builtin.models import VisionTransformer

    enc = VisionTransformer(ViTConfig(patch_size=4, embed_dim=16, depth=2, num_heads=2), input_shape=(1, 8, 8))
    data = [(torch.randn(1, 8, 8), i % 2) for i in range(6)]
    for readout, width in (("mean", 16), ("last4_mean", 32)):  # depth 2: "last 4" = both blocks
        tokens, labels = extract_features(enc, data, readout=readout, tokens=True)
        pooled, _ = extract_features(enc, data, readout=readout)
        assert tokens.shape == (6, 4, width) and pooled.shape == (6, width) and list(labels) == [0, 1] * 3
        if readout == "mean":
            np.testing.assert_allclose(tokens.mean(1), pooled, atol=1e-5)
