"""Differentiable flow operations: backward warping, local correlation (the cost volume), flow resizing.

Convention everywhere: flow [B, 2, H, W] holds (dx, dy) in pixels of its own grid, and the forward flow
f_{t->t+1}(p) is where pixel p of frame t moves to. Backward warping reads the second frame at p + f(p):
warp(I_{t+1}, f_{t->t+1}) reconstructs I_t wherever p stays visible.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Pixel coordinates [1, 2, H, W] as (x, y)."""
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij"
    )
    return torch.stack([xs, ys])[None]


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample x [B, C, H, W] at p + flow(p) (bilinear, zeros outside the frame): [B, C, H, W]."""
    b, _, h, w = x.shape
    pos = base_grid(h, w, x.device, flow.dtype) + flow  # [B, 2, H, W] absolute (x, y)
    gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0  # align_corners=True: pixel centres at -1 .. 1
    gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack([gx, gy], dim=-1)  # [B, H, W, 2]
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="zeros", align_corners=True)


def correlation(f1: torch.Tensor, f2: torch.Tensor, radius: int) -> torch.Tensor:
    """Local cost volume: <f1(p), f2(p + d)> / C for every d in [-radius, radius]^2.

    f1, f2: [B, C, H, W] -> [B, (2r+1)^2, H, W], displacement index = (dy + r) * (2r+1) + (dx + r).
    """
    b, c, h, w = f1.shape
    k = 2 * radius + 1
    patches = F.unfold(f2, kernel_size=k, padding=radius)  # [B, C*k*k, H*W]
    patches = patches.view(b, c, k * k, h, w)  # [B, C, k*k, H, W]
    return (f1[:, :, None] * patches).sum(dim=1) / c  # [B, k*k, H, W]


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinearly resize a flow field to `size` and rescale its vectors to the new grid's pixels."""
    h, w = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)  # [B, 2, H', W']
    scale = torch.tensor([size[1] / w, size[0] / h], device=flow.device, dtype=flow.dtype)
    return out * scale[None, :, None, None]


def end_point_error(flow: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-pixel Euclidean distance between flows [B, 2, H, W] -> [B, H, W]."""
    return (flow - gt).pow(2).sum(dim=1).clamp_min(0.0).sqrt()
