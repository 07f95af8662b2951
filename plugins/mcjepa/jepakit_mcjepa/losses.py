"""MC-JEPA's loss terms, each a plain function of tensors (unit-tested on hand-made cases).

Motion (per direction, see `flow.py` for the warping convention):
- photometric: SSIM + L1 between frame t and frame t+1 warped back by the flow (image level), on pixels the
  forward-backward check finds visible (occluded pixels have no match);
- regression: ||X_t - warp(X_{t+1}, f)||^2 on every pyramid level (the "predictive" part, in feature space);
- smoothness: first-order, edge-aware (flow may change where the image has edges);
- cycle: X_t warped to t+1 by the backward flow and back by the forward flow must come back to X_t;
- VC: variance hinge + covariance of pyramid features, so the regression cannot be won by constant features.
Content: VICReg (invariance MSE + variance hinge + covariance) on expanded pooled features of two views.
Both use core's `vicreg_var_cov` (float32, as core's `core/vicreg` term).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jepakit.api import vicreg_var_cov
from jepakit_mcjepa.flow import warp


def ssim_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(1 - SSIM) / 2 per pixel over 3x3 windows (the unsupervised-flow convention), [B, C, H, W] in [-1, 1]."""
    a, b = (a + 1.0) / 2.0, (b + 1.0) / 2.0  # SSIM constants assume [0, 1]
    c1, c2 = 0.01**2, 0.03**2
    mu_a, mu_b = F.avg_pool2d(a, 3, 1, 1), F.avg_pool2d(b, 3, 1, 1)
    var_a = F.avg_pool2d(a * a, 3, 1, 1) - mu_a**2
    var_b = F.avg_pool2d(b * b, 3, 1, 1) - mu_b**2
    cov = F.avg_pool2d(a * b, 3, 1, 1) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ((1.0 - ssim) / 2.0).clamp(0.0, 1.0)


def photometric(
    frame1: torch.Tensor,
    frame2: torch.Tensor,
    flow: torch.Tensor,
    ssim_weight: float,
    visible: torch.Tensor | None = None,
) -> torch.Tensor:
    """Photometric error of frame1 against frame2 warped back by the full-resolution flow 1 -> 2, averaged over
    the `visible` pixels [B, 1, H, W] (all when None): an occluded pixel has no correct match in frame2."""
    rec = warp(frame2, flow)  # [B, C, H, W]
    err = (frame1 - rec).abs()
    if ssim_weight > 0.0:
        err = ssim_weight * ssim_distance(frame1, rec) + (1.0 - ssim_weight) * err
    if visible is None:
        return err.mean()
    w = visible.to(err.dtype).expand_as(err)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def visible_mask(
    flow_fw: torch.Tensor, flow_bw: torch.Tensor, alpha1: float = 0.01, alpha2: float = 0.5
) -> torch.Tensor:
    """Forward-backward consistency (UnFlow, Meister et al. 2018): pixel p of frame 1 is visible in frame 2 when
    |f_fw(p) + f_bw(p + f_fw(p))|^2 < alpha1 (|f_fw|^2 + |f_bw(p + f_fw)|^2) + alpha2. No gradient. [B, 1, H, W]."""
    with torch.no_grad():
        back = warp(flow_bw, flow_fw)  # [B, 2, H, W]
        gap = (flow_fw + back).pow(2).sum(1, keepdim=True)
        bound = alpha1 * (flow_fw.pow(2).sum(1, keepdim=True) + back.pow(2).sum(1, keepdim=True)) + alpha2
        return gap < bound


def regression(feat1: torch.Tensor, feat2: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Mean squared error between a level's features of frame 1 and frame 2's features warped back: [B, C, h, w]."""
    return (feat1 - warp(feat2, flow)).pow(2).mean()


def smoothness(flow: torch.Tensor, image: torch.Tensor, edge: float) -> torch.Tensor:
    """First-order edge-aware smoothness: mean |grad flow| * exp(-edge * mean_c |grad image|)."""

    def grads(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]

    fx, fy = grads(flow)  # [B, 2, H, W-1], [B, 2, H-1, W]
    ix, iy = grads(image)
    wx = torch.exp(-edge * ix.abs().mean(dim=1, keepdim=True))
    wy = torch.exp(-edge * iy.abs().mean(dim=1, keepdim=True))
    return 0.5 * ((fx.abs() * wx).mean() + (fy.abs() * wy).mean())


def cycle(feat1: torch.Tensor, flow_fw: torch.Tensor, flow_bw: torch.Tensor) -> torch.Tensor:
    """Forward-backward cycle: warp frame-1 features to frame 2 with the backward flow, back with the forward one.

    warp(X1, f_bw) ~ X2, then warp(that, f_fw) ~ X1 when f_fw(p) + f_bw(p + f_fw(p)) = 0.
    """
    there = warp(feat1, flow_bw)  # [B, C, h, w] ~ frame 2's features
    back = warp(there, flow_fw)  # ~ frame 1's features
    return (feat1 - back).pow(2).mean()


def feature_vc(
    fmap: torch.Tensor, samples: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(variance, covariance) of a feature map [B, C, h, w], each location a sample (at most `samples` of them)."""
    z = fmap.permute(0, 2, 3, 1).reshape(-1, fmap.shape[1])  # [B*h*w, C]
    if len(z) > samples:
        idx = torch.randperm(len(z), generator=generator)[:samples].to(z.device)
        z = z[idx]
    return vicreg_var_cov(z)


def vicreg(
    z1: torch.Tensor, z2: torch.Tensor, inv: float, var: float, cov: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """VICReg (Bardes et al. 2022) on expanded embeddings [B, E] of two views: weighted sum and its parts."""
    (var1, cov1), (var2, cov2) = vicreg_var_cov(z1), vicreg_var_cov(z2)
    parts = {"inv": F.mse_loss(z1, z2), "var": (var1 + var2) / 2, "cov": cov1 + cov2}
    total = inv * parts["inv"] + var * parts["var"] + cov * parts["cov"]
    return total, {k: float(v.detach()) for k, v in parts.items()}
