"""Flow digits: the ground-truth flow is exact (warping by it reproduces the other frame on the digit), the
background is static, splits are fixed, bad settings are refused."""

from __future__ import annotations

import pytest
import torch
from jepakit_mcjepa.config import FlowDigitsConfig
from jepakit_mcjepa.data import flow_digits
from jepakit_mcjepa.flow import warp

CFG = FlowDigitsConfig(limit=200, test_size=50)


@pytest.fixture(scope="module")
def splits():
    return flow_digits(CFG)


def test_shapes_labels_and_value_ranges(splits):
    tr = splits.train
    assert splits.input_shape == (1, 4, 32, 32) and splits.modality == "video" and splits.num_classes == 10
    assert len(tr) == 150 and len(splits.test) == 50
    assert float(tr.x.min()) >= -1.0 and float(tr.x.max()) <= 1.0
    assert set(tr.velocity.abs().sum(1).tolist()) == {2.0}, "one axis, speed 2"
    bg = tr.x[:, 0][~tr.digit]
    assert float(bg.max()) <= -1.0 + CFG.background + 1e-6 and float(bg.std()) > 0.02, "a static texture"


def test_gt_flow_moves_every_digit_pixel_onto_the_next_frame(splits):
    """frame_{t+1}(p + v) == frame_t(p) exactly on the digit, checked by shifting pixel coordinates."""
    tr = splits.train
    for i in range(20):
        for t in range(3):
            ys, xs = tr.digit[i, t].nonzero(as_tuple=True)
            dx, dy = (int(v) for v in tr.velocity[i])
            before = tr.x[i, 0, t, ys, xs]
            after = tr.x[i, 0, t + 1, ys + dy, xs + dx]
            assert torch.equal(before, after)
            assert int(tr.digit[i, t].sum()) == int(tr.digit[i, t + 1].sum()), "the digit never leaves the canvas"


def test_warping_by_gt_flow_reproduces_the_other_frame(splits):
    """Backward warping: warp(frame t+1, forward flow) == frame t on the digit and on visible background;
    warp(frame t, backward flow) == frame t+1 on the digit's pixels at t+1 (the moving pixels)."""
    tr = splits.train
    idx, t = torch.arange(30), torch.randint(0, 3, (30,), generator=torch.Generator().manual_seed(0))
    f1, f2 = tr.x[idx, :, t], tr.x[idx, :, t + 1]  # [K, 1, S, S]
    fw = tr.flow(idx, t)  # [K, 2, S, S]
    visible = ~tr.occlusion(idx, t)
    torch.testing.assert_close(warp(f2, fw)[:, 0][visible], f1[:, 0][visible], atol=1e-5, rtol=0)
    moving = tr.digit[idx, t + 1]
    bw = -tr.velocity[idx][:, :, None, None] * moving[:, None].float()  # t+1 -> t on the digit at t+1
    torch.testing.assert_close(warp(f1, bw)[:, 0][moving], f2[:, 0][moving], atol=1e-5, rtol=0)
    occluded = tr.occlusion(idx, t)
    assert occluded.any() and not (occluded & tr.digit[idx, t]).any()
    assert float((warp(f2, fw)[:, 0] - f1[:, 0]).abs()[occluded].max()) > 0.1, "occluded pixels really differ"


def test_fixed_split_ignores_the_run_seed():
    a, b = flow_digits(CFG, seed=0), flow_digits(CFG, seed=3)
    assert torch.equal(a.test.x, b.test.x) and torch.equal(a.test.velocity, b.test.velocity)


def test_blank_background_is_vjepas_canvas():
    s = flow_digits(FlowDigitsConfig(limit=100, test_size=20, background=0.0))
    assert float(s.train.x[:, 0][~s.train.digit].abs().sub(1.0).abs().max()) < 1e-6


@pytest.mark.parametrize(
    "kw",
    [dict(size=20), dict(frames=1), dict(background=0.9), dict(threshold=0.0), dict(limit=2000), dict(test_size=5)],
)
def test_bad_configs(kw):
    with pytest.raises(ValueError):
        FlowDigitsConfig(**kw)
