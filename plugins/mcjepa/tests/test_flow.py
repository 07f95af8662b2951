"""Warping, correlation and flow resizing on cases whose answer is known."""

from __future__ import annotations

import torch
from jepakit_mcjepa.flow import correlation, end_point_error, resize_flow, warp


def _img(b: int = 2, c: int = 3, h: int = 8, w: int = 10) -> torch.Tensor:
    return torch.randn(b, c, h, w, generator=torch.Generator().manual_seed(0))


def test_zero_flow_is_identity():
    x = _img()
    torch.testing.assert_close(warp(x, torch.zeros(2, 2, 8, 10)), x)


def test_integer_flow_reads_the_shifted_pixel():
    x = _img()
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0], flow[:, 1] = 2.0, -1.0  # read x at (col + 2, row - 1)
    out = warp(x, flow)
    torch.testing.assert_close(out[:, :, 1:, :-2], x[:, :, :-1, 2:])
    assert float(out[:, :, 0].abs().max()) < 1e-5 and float(out[:, :, :, -2:].abs().max()) < 1e-5, "zeros outside"


def test_half_pixel_flow_interpolates():
    x = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 3, 5).contiguous()
    flow = torch.zeros(1, 2, 3, 5)
    flow[:, 0] = 0.5
    torch.testing.assert_close(warp(x, flow)[0, 0, 1, :4], torch.tensor([0.5, 1.5, 2.5, 3.5]))


def test_warp_is_differentiable_in_flow_and_features():
    x = _img().requires_grad_(True)
    flow = (0.3 * torch.randn(2, 2, 8, 10)).requires_grad_(True)
    warp(x, flow).square().sum().backward()
    assert x.grad is not None and flow.grad is not None and float(flow.grad.abs().sum()) > 0


def test_correlation_peaks_at_the_true_displacement():
    f1 = _img(1, 16, 12, 12)
    f2 = torch.roll(f1, shifts=(1, -2), dims=(2, 3))  # f2(p + (dx=-2, dy=1)) = f1(p)
    cost = correlation(f1, f2, radius=3)  # [1, 49, 12, 12]
    assert cost.shape == (1, 49, 12, 12)
    best = cost[0, :, 4:8, 4:8].argmax(dim=0)  # interior, away from the wrap-around
    assert set(best.flatten().tolist()) == {(1 + 3) * 7 + (-2 + 3)}


def test_resize_flow_scales_vectors():
    flow = torch.ones(1, 2, 4, 4)
    flow[:, 1] = -3.0
    up = resize_flow(flow, (16, 8))
    assert up.shape == (1, 2, 16, 8)
    torch.testing.assert_close(up[:, 0], torch.full((1, 16, 8), 2.0))
    torch.testing.assert_close(up[:, 1], torch.full((1, 16, 8), -12.0))


def test_end_point_error():
    a, b = torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    b[:, 0], b[:, 1] = 3.0, 4.0
    torch.testing.assert_close(end_point_error(a, b), torch.full((1, 2, 2), 5.0))
