"""Moving digits: real digits, fixed split, motion that matches the direction label."""

from __future__ import annotations

import pytest
import torch
from jepakit_vjepa.config import MovingDigitsConfig
from jepakit_vjepa.data import DIRECTIONS, moving_digits


def test_splits_shapes_and_labels():
    s = moving_digits(MovingDigitsConfig())  # its speed is measured in benchmarks/masker_speed.py, not asserted
    assert s.input_shape == (1, 8, 16, 16) and s.modality == "video" and s.num_classes == 10
    assert len(s.train) == 1400 and len(s.test) == 397
    assert float(s.train.x.min()) == -1.0 and float(s.train.x.max()) <= 1.0
    d = moving_digits(MovingDigitsConfig(label="direction"))
    assert d.num_classes == 4 and set(d.train.y.tolist()) == {0, 1, 2, 3}


def test_the_digit_moves_in_its_labelled_direction_and_stays_on_canvas():
    s = moving_digits(MovingDigitsConfig(label="direction", limit=200, test_size=50))
    for x, y in zip(s.train.x[:40], s.train.y[:40].tolist(), strict=True):
        ink = x[0] > -1.0  # [T, S, S]
        first, last = ink[0].nonzero().float().mean(0), ink[-1].nonzero().float().mean(0)
        _, dr, dc = DIRECTIONS[y]
        assert torch.allclose(last - first, torch.tensor([7.0 * dr, 7.0 * dc]), atol=1e-4)
        assert int(ink[0].sum()) == int(ink[-1].sum()), "the sprite never leaves the canvas"


def test_fixed_split_ignores_the_run_seed():
    a, b = moving_digits(MovingDigitsConfig(), seed=0), moving_digits(MovingDigitsConfig(), seed=7)
    assert torch.equal(a.test.x, b.test.x)


def test_bad_configs():
    with pytest.raises(ValueError):
        MovingDigitsConfig(size=12, frames=8, digit_size=8)  # 8 + 7 > 12: leaves the canvas
    with pytest.raises(ValueError):
        MovingDigitsConfig(label="colour")
