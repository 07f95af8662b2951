"""Each loss term on hand-made cases: zero where the answer is right, larger where it is wrong."""

from __future__ import annotations

import torch
from jepakit_mcjepa import losses

from jepakit.api import vicreg_var_cov

G = torch.Generator().manual_seed(0)


def _shifted_pair(dx: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Frame 2 is frame 1 moved dx pixels right; returns (frame1, frame2, true forward flow)."""
    f1 = torch.rand(2, 1, 16, 16, generator=G) * 2 - 1
    f1[..., -dx:] = 0.0  # what warping reads from outside the frame, so the true flow explains every pixel
    f2 = torch.roll(f1, shifts=dx, dims=3)
    flow = torch.zeros(2, 2, 16, 16)
    flow[:, 0] = dx
    return f1, f2, flow


def test_photometric_is_zero_for_the_true_flow_and_positive_otherwise():
    f1, f2, flow = _shifted_pair()
    assert float(losses.photometric(f1, f2, flow, 0.85)) < 1e-5
    assert float(losses.photometric(f1, f2, 0 * flow, 0.85)) > 0.05
    assert float(losses.photometric(f1, f1, 0 * flow, 0.0)) < 1e-6  # grid_sample rounds at 1e-7


def test_ssim_distance_is_zero_for_identical_images():
    x = torch.rand(1, 1, 8, 8, generator=G) * 2 - 1
    assert float(losses.ssim_distance(x, x).max()) < 1e-4
    assert float(losses.ssim_distance(x, -x).mean()) > 0.1


def test_regression_in_feature_space():
    f1, f2, flow = _shifted_pair()
    feats1, feats2 = f1.repeat(1, 4, 1, 1), f2.repeat(1, 4, 1, 1)
    assert float(losses.regression(feats1, feats2, flow)) < 1e-10
    assert float(losses.regression(feats1, feats2, -flow)) > 0.1


def test_smoothness_is_zero_for_constant_flow_and_edge_aware():
    img = torch.zeros(1, 1, 8, 8)
    flow = torch.zeros(1, 2, 8, 8)
    flow[:, 0] = 3.0
    assert float(losses.smoothness(flow, img, 10.0)) == 0.0
    step = torch.zeros(1, 2, 8, 8)
    step[..., 4:] = 1.0  # a flow discontinuity between columns 3 and 4
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., 4:] = 2.0  # ... where the image has an edge
    flat = losses.smoothness(step, img, 10.0)
    assert float(flat) > 0 and float(losses.smoothness(step, edge, 10.0)) < 1e-3 * float(flat)


def test_cycle_is_zero_for_consistent_flows():
    feats = torch.rand(1, 3, 12, 12, generator=G)
    fw, bw = torch.zeros(1, 2, 12, 12), torch.zeros(1, 2, 12, 12)
    fw[:, 0], bw[:, 0] = 2.0, -2.0
    sl = (slice(None), slice(None), slice(2, 10), slice(2, 10))  # away from the borders the warps leave
    consistent = (feats - losses.warp(losses.warp(feats, bw), fw))[sl].abs().max()
    assert float(consistent) < 1e-5
    assert float(losses.cycle(feats, fw, bw)) < float(losses.cycle(feats, fw, fw))
    assert float(losses.cycle(feats, 0 * fw, 0 * bw)) == 0.0


def test_variance_hinge_and_covariance():
    def variance(z: torch.Tensor) -> torch.Tensor:
        return vicreg_var_cov(z)[0]

    def covariance(z: torch.Tensor) -> torch.Tensor:
        return vicreg_var_cov(z)[1]

    wide = torch.randn(4000, 8, generator=G) * 3.0
    assert float(variance(wide)) == 0.0
    assert abs(float(variance(torch.zeros(100, 8))) - (1.0 - 1e-2)) < 1e-4, "constant: 1 - sqrt(eps)"
    assert float(covariance(torch.randn(4000, 8, generator=G))) < 0.01
    z = torch.randn(4000, 1, generator=G)
    assert float(covariance(torch.cat([z, z], dim=1))) > 0.9  # 2 * 1^2 / 2


def test_feature_vc_samples_locations():
    fmap = torch.randn(4, 6, 8, 8, generator=G) * 2.0
    var, cov = losses.feature_vc(fmap, samples=100, generator=torch.Generator().manual_seed(1))
    assert float(var) < 0.05 and float(cov) < 0.5
    const = torch.ones(4, 6, 8, 8)
    assert float(losses.feature_vc(const, samples=64)[0]) > 0.98


def test_vicreg_parts():
    z = torch.randn(256, 16, generator=G)
    total, parts = losses.vicreg(z, z, 25.0, 25.0, 1.0)
    assert parts["inv"] == 0.0 and parts["var"] < 0.1
    total2, parts2 = losses.vicreg(z, z + 1.0, 25.0, 25.0, 1.0)
    assert abs(parts2["inv"] - 1.0) < 1e-5 and float(total2) > float(total)


def test_forward_backward_check_finds_occlusions():
    fw, bw = torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 8)
    fw[:, 0], bw[:, 0] = 2.0, -2.0
    assert bool(losses.visible_mask(fw, bw)[..., :6].all()), "consistent flows: visible (away from the border)"
    bw[..., 4:] = 0.0  # frame 2's right half does not come back: frame-1 pixels mapping there are occluded
    vis = losses.visible_mask(fw, bw)[0, 0]
    assert not bool(vis[:, 2:6].any()) and bool(vis[:, :2].all())


def test_photometric_ignores_masked_pixels():
    f1, f2, flow = _shifted_pair()
    wrong = f2.clone()
    wrong[..., :4] = 5.0  # garbage where the mask says "occluded"
    visible = torch.ones(2, 1, 16, 16, dtype=torch.bool)
    visible[..., :2] = False  # frame-1 columns 0-1 read frame-2 columns 2-3
    assert float(losses.photometric(f1, wrong, flow, 0.0, visible)) < 1e-6
    assert float(losses.photometric(f1, wrong, flow, 0.0)) > 0.1
