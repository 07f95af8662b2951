"""The content branch's two views: random resized crops with a shift, random horizontal flips, Gaussian noise.

Applied on tensors inside `step`, drawn from a generator seeded by the batch's step, so a batch's views are a
function of (seed, step) like everything else in a jepakit run (exact resume). One affine grid per image keeps
it batched: no Python loop over images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_views(
    x: torch.Tensor, g: torch.Generator, crop_scale: tuple[float, float], max_shift: float, noise_std: float
) -> torch.Tensor:
    """Frames [B, C, H, W] -> one augmented view each, same shape. Crops keep the aspect ratio (digits are square)."""
    b = x.shape[0]
    lo, hi = crop_scale
    area = lo + (hi - lo) * torch.rand(b, generator=g)  # [B] fraction of the frame kept
    side = area.sqrt()  # crop side relative to the frame
    room = (1.0 - side).clamp_min(0.0)  # how far the crop centre may move (normalised coords / 1)
    centre = (torch.rand(b, 2, generator=g) * 2.0 - 1.0) * (room[:, None] + max_shift)  # [B, 2]
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)  # [B]
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = side * flip, side
    theta[:, :, 2] = centre
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)  # [B, H, W, 2]
    # outside the frame reads the darkest value (-1), the canvas colour, not 0 (mid-grey)
    out = F.grid_sample(x + 1.0, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1.0
    if noise_std > 0:
        out = out + noise_std * torch.randn(out.shape, generator=g).to(out.dtype)
    return out


def pick_pairs(b: int, frames: int, g: torch.Generator) -> torch.Tensor:
    """A random first frame t in [0, T-2] per clip: [B] long (the pair is (t, t+1))."""
    return torch.randint(0, max(frames - 1, 1), (b,), generator=g)


def step_generator(seed: int, step: int, salt: int) -> torch.Generator:
    """A generator that depends only on (run seed, step, salt)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919 + salt * 104_729) % (2**63 - 1))


__all__ = ["random_views", "pick_pairs", "step_generator"]
