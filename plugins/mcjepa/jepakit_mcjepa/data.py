"""Flow digits: V-JEPA's moving digits over a static textured background, with exact optical flow per frame pair.

The clips come from `jepakit_vjepa.data` (imported, not copied): each real 8x8 digit, upsampled, slides `speed`
pixels per frame right, left, down or up and never leaves the canvas (so nothing bounces or exits). Here its
pixels brighter than `threshold` are pasted over a per-clip static texture. Because the digit moves rigidly by
an integer velocity v and the background does not move, the forward flow t -> t+1 is exactly v on the digit's
pixels in frame t and 0 elsewhere, and frame_{t+1}(p + v) == frame_t(p) on the digit. Background pixels that
the digit covers in frame t+1 are *occluded* (their flow is 0 but they are not visible at t+1); `occlusion`
marks them so tests and readers can leave them out of photometric checks. EPE is scored on every pixel.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from jepakit_vjepa.data import DIRECTIONS, moving_digit_clips

from jepakit.api import ImageSplit, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_mcjepa.config import FlowDigitsConfig


class FlowSplit(ImageSplit):
    """An in-memory split of clips `x` [N, 1, T, S, S] with digit labels `y` [N], each clip's velocity
    `velocity` [N, 2] (pixels per frame as (dx, dy)), and the digit masks `digit` [N, T, S, S] (bool)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, velocity: torch.Tensor, digit: torch.Tensor) -> None:
        super().__init__(x, y)
        self.velocity = velocity.float()  # [N, 2]
        self.digit = digit  # [N, T, S, S]

    def flow(self, idx: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Ground-truth forward flow of frame pairs (t, t+1) of clips idx: [K, 2, S, S] as (dx, dy) pixels."""
        mask = self.digit[idx, t].float()  # [K, S, S]
        return self.velocity[idx][:, :, None, None] * mask[:, None]  # [K, 2, S, S]

    def occlusion(self, idx: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Pixels of frame t hidden in frame t+1 (background the digit moves onto): [K, S, S] bool."""
        return self.digit[idx, t + 1] & ~self.digit[idx, t]


def _texture(n: int, size: int, cells: int, amplitude: float, bank: int, g: torch.Generator) -> torch.Tensor:
    """Smooth static backgrounds [N, S, S] in [-1, -1 + amplitude], each drawn from a bank of `bank` textures."""
    coarse = torch.rand(bank, 1, cells, cells, generator=g)  # [K, 1, c, c]
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0.0, 1.0)
    pick = torch.randint(0, bank, (n,), generator=g)  # [N]
    return -1.0 + amplitude * smooth[pick, 0]  # [N, S, S]


def _flow_clips(cfg: FlowDigitsConfig) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, torch.Tensor]:
    """(clips [N, 1, T, S, S], digit masks [N, T, S, S], digit labels [N], velocities [N, 2] as (dx, dy))."""
    return _generate(
        cfg.frames,
        cfg.size,
        cfg.digit_size,
        cfg.speed,
        cfg.background,
        cfg.background_cells,
        cfg.textures,
        cfg.threshold,
        cfg.seed,
    )


@functools.lru_cache(maxsize=4)
def _generate(
    frames: int,
    size: int,
    digit_size: int,
    speed: int,
    background: float,
    cells: int,
    textures: int,
    threshold: float,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor, np.ndarray, torch.Tensor]:
    video, digit, direction = moving_digit_clips(frames, size, digit_size, speed, seed)
    sprite = (video[:, 0] + 1.0) / 2.0  # [N, T, S, S] in [0, 1]; exactly 0 off the sprite
    mask = sprite > threshold  # [N, T, S, S] the digit's pixels, moving rigidly with it
    g = torch.Generator().manual_seed(seed + 1)
    bg = _texture(len(video), size, cells, background, textures, g)  # [N, S, S]
    frames = torch.where(mask, video[:, 0], bg[:, None])  # [N, T, S, S]
    dirs = torch.as_tensor(direction)
    d_row = torch.tensor([v[1] for v in DIRECTIONS], dtype=torch.float32)[dirs]  # [N]
    d_col = torch.tensor([v[2] for v in DIRECTIONS], dtype=torch.float32)[dirs]
    velocity = speed * torch.stack([d_col, d_row], dim=1)  # [N, 2] (dx, dy)
    return frames[:, None].contiguous(), mask, digit, velocity


def flow_digits(cfg: FlowDigitsConfig, seed: int = 0) -> DataSplits:
    """Clips [1, T, S, S] labelled with their digit; `seed` (the run's) is ignored so every run scores the same
    split. The splits are `FlowSplit`s: they carry each clip's velocity and digit masks for flow evaluation."""
    x, mask, digit, velocity = _flow_clips(cfg)
    if cfg.limit:
        x, mask, digit, velocity = x[: cfg.limit], mask[: cfg.limit], digit[: cfg.limit], velocity[: cfg.limit]
    train, test = stratified_split(digit, int(cfg.test_size), int(cfg.seed))
    y = torch.as_tensor(digit, dtype=torch.long)
    tr, te = torch.as_tensor(train), torch.as_tensor(test)
    splits = {k: FlowSplit(x[i], y[i], velocity[i], mask[i]) for k, i in (("train", tr), ("test", te))}
    return DataSplits(
        name=f"flow-digits{cfg.size}x{cfg.frames}",
        train=splits["train"],
        test=splits["test"],
        input_shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=10,
        modality="video",
        class_names=[str(i) for i in range(10)],
        meta={"ground_truth_flow": True, "speed": cfg.speed, "frames": cfg.frames},
    )
