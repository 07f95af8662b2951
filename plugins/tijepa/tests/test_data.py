"""Captioned shapes: captions say what the image shows, held-out combinations, hard negatives, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_tijepa.config import CaptionedShapesConfig
from jepakit_tijepa.data import captioned_shapes
from jepakit_tijepa.scenes import COLOURS, RGB, SHAPES, Scene, caption, held_out, render, sample_scene, swap_one


def _fields(s: Scene) -> tuple:
    return (s.shape, s.colour, s.size, s.digit, s.digit_colour, s.relation)


def test_every_phrasing_names_every_attribute():
    s = Scene("triangle", "purple", "large", 4, "green", "above", scan=0)
    for p in range(3):
        text = caption(Scene(**{**s.__dict__, "phrasing": p}))
        assert all(w in text for w in ("triangle", "purple", "large", "4", "green"))
    assert "below" in caption(Scene(**{**s.__dict__, "phrasing": 1}))  # the digit's side of the relation


def test_swap_one_changes_exactly_one_attribute():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = sample_scene(rng, test=True)
        diff = [a != b for a, b in zip(_fields(s), _fields(swap_one(s, rng)), strict=True)]
        assert sum(diff) == 1


def test_training_never_holds_the_held_out_pairs_and_test_does():
    assert sum(held_out(s, c) for s in SHAPES for c in COLOURS) == 4
    rng = np.random.default_rng(1)
    assert not any(sample_scene(rng, test=False).unseen for _ in range(500))
    assert 40 < sum(sample_scene(rng, test=True).unseen for _ in range(500)) < 130  # about 1 in 6


def test_the_image_shows_the_named_colour_where_the_relation_puts_it():
    rng = np.random.default_rng(2)
    s = Scene("square", "red", "large", 1, "blue", "left of", scan=5)
    img = render(s, 32, rng).astype(float)  # [32, 32, 3]
    left, right = img[:, :14], img[:, 18:]
    red = np.asarray(RGB["red"], float)

    def near_red(part):
        return (np.abs(part - red).sum(-1) < 60).sum()

    assert near_red(left) > 40 and near_red(right) == 0


def test_splits_are_deterministic_and_carry_texts_tokens_and_negatives():
    cfg = CaptionedShapesConfig(n_train=24, n_test=16, context_length=20)
    a, b = captioned_shapes(cfg), captioned_shapes(cfg)
    assert torch.equal(a.train.x, b.train.x) and a.test.texts == b.test.texts
    x, y = a.train[3]
    assert x["image"].shape == (3, 32, 32) and x["tokens"].shape == (20,) and 0 <= y < 4
    assert a.train.x.min() >= -1 and a.train.x.max() <= 1
    assert all(t != n for t, n in zip(a.train.texts, a.train.negatives, strict=True))
    assert not torch.equal(a.train.tokens, a.train.neg_tokens)
    assert a.num_classes == 4 and a.modality == "text-image" and a.input_shape == (3, 32, 32)
    other = captioned_shapes(CaptionedShapesConfig(n_train=24, n_test=16, context_length=20, seed=1))
    assert a.train.texts != other.train.texts


@pytest.mark.parametrize("bad", [{"size": 20}, {"n_train": 2}, {"context_length": 4}])
def test_bad_settings_are_rejected(bad):
    with pytest.raises(ValueError):
        CaptionedShapesConfig(**bad)
