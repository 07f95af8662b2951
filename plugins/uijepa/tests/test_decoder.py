"""The intent decoder: vocabulary, prefix-LM masking, and that it learns to write what the features say."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_uijepa.config import IntentDecoderConfig
from jepakit_uijepa.decoder import BOS, EOS, PAD, UNK, IntentDecoder, IntentLM, Vocab
from jepakit_uijepa.method import raw_tubelets

HOURS, MINUTES = ("6", "7", "8", "9"), ("00", "15", "30", "45")


def _toy(n: int, seed: int) -> tuple[np.ndarray, list[str], list[tuple[int, int]]]:
    """Features [n, 4, 8]: token 0 one-hot-codes the hour, token 2 the minute, the rest is noise."""
    rng = np.random.default_rng(seed)
    slots = [(int(rng.integers(4)), int(rng.integers(4))) for _ in range(n)]
    x = rng.normal(0, 0.3, (n, 4, 8)).astype(np.float32)
    for i, (a, b) in enumerate(slots):
        x[i, 0, a] += 3.0
        x[i, 2, 4 + b] += 3.0
    return x, [f"set an alarm for {HOURS[a]}:{MINUTES[b]}" for a, b in slots], slots


def test_vocab_round_trip_and_unknown_words():
    v = Vocab(["set an alarm for 7:30", "text Ana hi"])
    ids = v.encode("text Ben hi", 6)
    assert ids[0] == BOS and ids[2] == UNK and len(ids) == 8 and ids[-1] == PAD and EOS in ids
    assert v.decode(v.encode("set an alarm for 7:30", 10)) == ["set", "an", "alarm", "for", "7", ":", "30"]
    assert v.decode(v.encode("set an alarm for 7:30", 3)) == ["set", "an", "alarm"]  # cut, still ends with <eos>


def test_text_tokens_cannot_see_the_future_but_see_the_whole_prefix():
    torch.manual_seed(0)
    lm = IntentLM(feat_dim=8, prefix_len=4, vocab=20, max_len=6, cfg=IntentDecoderConfig(width=16, heads=2, dropout=0))
    lm.eval()
    prefix, ids = torch.randn(1, 4, 8), torch.tensor([[1, 5, 6, 7]])
    base = lm(prefix, ids)  # [1, 4, 20]
    changed = ids.clone()
    changed[0, 3] = 9  # a later token must not change earlier logits
    assert torch.allclose(lm(prefix, changed)[:, :3], base[:, :3], atol=1e-6)
    moved = prefix.clone()
    moved[0, 3] = torch.randn(8)  # the last prefix token reaches the first text position
    assert not torch.allclose(lm(moved, ids)[:, 0], base[:, 0])


def test_decoder_learns_to_write_the_intent_the_features_encode():
    x, texts, _ = _toy(240, 0)
    cfg = IntentDecoderConfig(width=32, depth=1, heads=2, epochs=30, batch_size=32, lr=3e-3, dropout=0.0)
    dec = IntentDecoder(cfg)
    losses = dec.fit(x, texts)
    assert losses[-1] < 0.2 * losses[0]
    xt, tt, _ = _toy(60, 1)
    scores = dec.score(xt, [[t] for t in tt])
    assert scores.exact.mean() >= 0.9 and scores.f1.mean() >= 0.95
    # the same decoder on features that carry nothing cannot do better than guessing the slots
    noise = IntentDecoder(cfg)
    noise.fit(np.random.default_rng(2).normal(size=x.shape).astype(np.float32), texts)
    assert noise.score(xt, [[t] for t in tt]).exact.mean() <= 0.3
    with pytest.raises(RuntimeError, match="before fit"):
        IntentDecoder(cfg).generate(xt)


def test_raw_tubelets_follow_the_encoders_token_grid():
    x = torch.arange(2 * 3 * 4 * 8 * 8, dtype=torch.float32).reshape(2, 3, 4, 8, 8)  # [B, C, T, H, W]
    tok = raw_tubelets(x, (2, 2, 2))  # tubelets 2 x 4 x 4
    assert tok.shape == (2, 8, 3 * 2 * 4 * 4)
    # token (t=1, h=0, w=1) of clip 1 holds frames 2-3, rows 0-3, columns 4-7 of every channel
    want = x[1, :, 2:4, 0:4, 4:8].reshape(-1)
    assert torch.equal(tok[1, 1 * 4 + 0 * 2 + 1], want)
