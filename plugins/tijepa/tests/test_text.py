"""The text side is open_clip's own: its bundled BPE tokenizer (offline) and its TextTransformer."""

from __future__ import annotations

import socket

import pytest
import torch
from jepakit_tijepa.config import TIJEPAConfig
from jepakit_tijepa.text import PAD_ID, TextTower, tokenize, word_count


def test_tokenizer_works_offline_with_start_end_and_padding(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the tokenizer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    ids = tokenize(["a small red circle left of a blue 7", "   "], 12)
    assert ids.shape == (2, 12) and ids.dtype == torch.long
    sot, eot = 49406, 49407  # open_clip's <start_of_text>, <end_of_text>
    assert ids[0, 0] == sot and ids[0, 10] == eot and ids[0, 11] == PAD_ID
    assert word_count(ids).tolist() == [9, 0]  # whitespace tokenizes to nothing
    long = tokenize(["word " * 40], 8)
    assert long[0, 0] == sot and long[0, -1] == eot  # cut to fit, the end token kept


def test_same_words_same_ids_different_words_differ():
    a, b, c = tokenize(["a red circle", "a red circle", "a blue circle"], 8)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("causal", [True, False])
def test_text_tower_gives_token_features_and_a_padding_mask(causal):
    tower = TextTower(TIJEPAConfig(text_width=32, text_layers=1, text_heads=2, text_causal=causal), 10)
    ids = tokenize(["a red circle", "a large white cross above a green 3"], 10)
    feats, mask = tower(ids)
    assert feats.shape == (2, 10, 32) and mask.tolist()[0] == [True] * 5 + [False] * 5
    assert torch.isfinite(feats).all()
    if causal:  # CLIP's causal tower: a token's features do not depend on later tokens
        other = tokenize(["a red square"], 10)
        f2, _ = tower(other)
        assert torch.allclose(feats[0, :3], f2[0, :3], atol=1e-6)
        assert not torch.allclose(feats[0, 3], f2[0, 3])
