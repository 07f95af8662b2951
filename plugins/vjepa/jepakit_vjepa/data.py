"""Moving digits: scikit-learn's real 8x8 handwritten digits sliding across a blank canvas, generated offline.

One clip per digit (1,797), each with a fixed direction (right, left, down, up) and start drawn from cfg.seed,
moving cfg.speed pixels per frame and never leaving the canvas. Label: the digit (content) or the direction
(dynamics: no single frame tells it). Fixed stratified split, independent of the run's seed, so every probe row
of every run scores on the same clips. Generation is vectorised: well under a second.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from jepakit.api import ImageSplit, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_vjepa.config import MovingDigitsConfig

DIRECTIONS = (("right", 0, 1), ("left", 0, -1), ("down", 1, 0), ("up", -1, 0))  # (name, d_row, d_col)


@functools.lru_cache(maxsize=4)
def moving_digit_clips(
    frames: int, size: int, digit_size: int, speed: int, seed: int
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """(clips [N, 1, T, S, S] in [-1, 1], digit labels [N], direction labels [N])."""
    from sklearn.datasets import load_digits

    d = load_digits()
    sprites = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [N, 1, 8, 8] in [0, 1]
    if digit_size != 8:
        sprites = F.interpolate(sprites, size=(digit_size, digit_size), mode="bilinear", align_corners=False)
    n, travel, room = len(sprites), speed * (frames - 1), size - digit_size
    g = torch.Generator().manual_seed(seed)
    direction = torch.randint(0, len(DIRECTIONS), (n,), generator=g)  # [N]
    dr = torch.tensor([v[1] for v in DIRECTIONS])[direction]  # [N]
    dc = torch.tensor([v[2] for v in DIRECTIONS])[direction]
    u = torch.rand(n, 2, generator=g)  # start positions: anywhere the whole path stays on the canvas

    def start(delta: torch.Tensor, col: int) -> torch.Tensor:
        span = room - travel * delta.abs()  # free range of the start on this axis
        s = (u[:, col] * (span + 1)).floor().long().clamp(max=span)
        return s + travel * (delta < 0).long()  # moving backwards starts at the far side

    r0, c0 = start(dr, 0), start(dc, 1)  # [N]
    t = torch.arange(frames)
    rows = r0[:, None] + speed * dr[:, None] * t  # [N, T] top row of the sprite at each frame
    cols = c0[:, None] + speed * dc[:, None] * t  # [N, T]
    # Paste with one scatter-free gather: canvas pixel (y, x) reads sprite (y - row, x - col) where in range.
    ys = torch.arange(size)[None, None, :] - rows[..., None]  # [N, T, S]
    xs = torch.arange(size)[None, None, :] - cols[..., None]  # [N, T, S]
    vy, vx = (ys >= 0) & (ys < digit_size), (xs >= 0) & (xs < digit_size)
    ys, xs = ys.clamp(0, digit_size - 1), xs.clamp(0, digit_size - 1)
    flat = sprites[:, 0].reshape(n, -1)  # [N, d*d]
    idx = (ys[..., :, None] * digit_size + xs[..., None, :]).reshape(n, -1)  # [N, T*S*S]
    video = flat.gather(1, idx).view(n, frames, size, size)  # [N, T, S, S]
    video = video * (vy[..., :, None] & vx[..., None, :]).float()
    return (video * 2.0 - 1.0)[:, None].contiguous(), np.asarray(d.target), direction.numpy()


def moving_digits(cfg: MovingDigitsConfig, seed: int = 0) -> DataSplits:
    """Clips [1, T, S, S]; `seed` (the run's) is ignored so every run scores on the same split."""
    x, digit, direction = moving_digit_clips(cfg.frames, cfg.size, cfg.digit_size, cfg.speed, cfg.seed)
    if cfg.limit:
        x, digit, direction = x[: cfg.limit], digit[: cfg.limit], direction[: cfg.limit]
    y = digit if cfg.label == "digit" else direction
    train, test = stratified_split(y, int(cfg.test_size), int(cfg.seed))
    tr, te, yt = torch.as_tensor(train), torch.as_tensor(test), torch.as_tensor(y, dtype=torch.long)
    names = [str(i) for i in range(10)] if cfg.label == "digit" else [v[0] for v in DIRECTIONS]
    name = f"moving-digits{cfg.size}x{cfg.frames}-{cfg.label}"
    other, other_y = ("direction", direction) if cfg.label == "digit" else ("digit", digit)
    return DataSplits(
        name=name,
        train=ImageSplit(x[tr], yt[tr]),
        test=ImageSplit(x[te], yt[te]),
        input_shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=len(names),
        modality="video",
        class_names=names,
        extra_labels={other: (np.asarray(other_y)[train], np.asarray(other_y)[test])},
    )
