"""The generated UI sessions: intents, the held-out split, what the frames show, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_uijepa.config import UISessionsConfig
from jepakit_uijepa.data import ui_sessions
from jepakit_uijepa.screens import (
    RENDER,
    SLOTS,
    Intent,
    _row_centre,
    alarm_frames,
    all_intents,
    held_out,
    music_frames,
    random_theme,
    render_session,
)
from jepakit_uijepa.text import detokenize, token_f1, tokenize


def test_intents_and_the_held_out_diagonal():
    intents = all_intents()
    assert len(intents) == 56 and len(set(intents)) == 56
    unseen = [it for it in intents if held_out(it)]
    assert len(unseen) == 14  # 4 per 4x4 app, 2 of the 8 settings
    for app, (a_values, b_values) in SLOTS.items():  # every slot value is still seen in training
        seen = [it for it in intents if it.app == app and not held_out(it)]
        assert {it.a for it in seen} == set(range(len(a_values)))
        assert {it.b for it in seen} == set(range(len(b_values)))
    assert Intent("alarm", 1, 2).texts() == ["set an alarm for 7:30", "wake me up at 7:30"]
    assert Intent("settings", 0, 0).texts()[0] == "turn off wifi"


def test_a_session_is_a_function_of_its_seed():
    it = Intent("chat", 2, 3)
    a = render_session(it, 8, np.random.default_rng(5))
    assert a.shape == (8, RENDER, RENDER, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_session(it, 8, np.random.default_rng(5)))
    assert not np.array_equal(a, render_session(it, 8, np.random.default_rng(6)))
    with pytest.raises(ValueError, match="at least 7 frames"):
        render_session(it, 6, np.random.default_rng(0))


def test_the_settings_session_flips_exactly_the_intended_toggle():
    rng = np.random.default_rng(0)
    for a in range(4):
        for b in (0, 1):
            clip = render_session(Intent("settings", a, b), 8, rng).astype(int)
            changed = np.abs(clip[-1] - clip[0]).sum(axis=-1) > 0  # [H, W]
            rows = np.nonzero(changed.any(axis=1))[0]
            # only the tapped row's switch differs between the first and the last frame
            assert rows.min() >= 16 + a * 11 - 3 and rows.max() <= 16 + a * 11 + 12, (a, b, rows)


def test_list_apps_tap_the_intended_widgets():
    th = random_theme("alarm", np.random.default_rng(0))
    touches = [p for _, p in alarm_frames(Intent("alarm", 2, 3), th) if p is not None]
    assert touches == [_row_centre(2, 4, 28), _row_centre(3, 34, 60), (32, 58)]  # hour 8, minute 45, Save
    touches = [p for _, p in music_frames(Intent("music", 1, 3), th) if p is not None]
    assert touches[0] == _row_centre(1, 4, 60) and touches[1][0] == 2 + 3 * 15 + 7  # rock, then the tv
    for app in ("alarm", "chat", "music"):  # every tap frame shows the marker: it differs from the frame before
        clip = render_session(Intent(app, 1, 1), 7, np.random.default_rng(1)).astype(int)
        differs = [bool(np.abs(clip[t] - clip[t - 1]).sum()) for t in range(1, 7)]
        assert differs == [True] * 6, app


def test_dataset_splits_hold_out_intents_and_carry_texts():
    cfg = UISessionsConfig(train_per_intent=2, test_per_seen_intent=1, test_per_unseen_intent=2)
    s = ui_sessions(cfg)
    assert s.input_shape == (3, 8, 32, 32) and s.modality == "video"
    assert len(s.train) == 42 * 2 and len(s.test) == 42 + 14 * 2
    assert float(s.train.x.min()) >= -1.0 and float(s.train.x.max()) <= 1.0
    train_classes = set(s.train.y.tolist())
    assert all(not s.meta["held_out"][k] for k in train_classes)
    assert {k for k in s.test.y.tolist() if s.meta["held_out"][k]} == {k for k, h in enumerate(s.meta["held_out"]) if h}
    for x_text, k in zip(s.test.texts, s.test.y.tolist(), strict=True):
        assert x_text in s.meta["references"][k]
    again = ui_sessions(cfg)
    assert torch.equal(again.train.x, s.train.x) and again.test.texts == s.test.texts  # deterministic
    with pytest.raises(ValueError, match="frames"):
        UISessionsConfig(frames=6)
    with pytest.raises(ValueError, match="size"):
        UISessionsConfig(size=24)


def test_text_tokens_and_similarity():
    assert tokenize("Set an alarm for 7:30") == ["set", "an", "alarm", "for", "7", ":", "30"]
    assert detokenize(tokenize("wake me up at 7:30")) == "wake me up at 7:30"
    assert token_f1(tokenize("turn on wifi"), tokenize("turn on wifi")) == 1.0
    assert token_f1(tokenize("turn off wifi"), tokenize("turn on wifi")) == pytest.approx(2 / 3)
    assert token_f1([], tokenize("hi")) == 0.0 and token_f1(["x"], ["y"]) == 0.0
