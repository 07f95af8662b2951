"""V-JEPA's video encoder: a ViT on tubelets (Conv3d kernel = stride = tubelet x patch x patch), fixed 3-D sin-cos
positions on the (T', H', W') token grid, context tokens gathered before the blocks. Blocks, init and positions
are core's (jepakit.api); the predictor is core's TransformerPredictor built on the same 3-D grid.
"""

from __future__ import annotations

import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import TokenEncoder
from jepakit_vjepa.config import VideoViTConfig


class VideoViT(TokenEncoder):
    """forward(x [B, C, T, H, W], keep [B, Nc] | None) -> [B, Nc or N, D], N = T/t * H/p * W/p (flat t-major).

    Images (C, H, W) are read as clips of `tubelet_size` identical frames, V-JEPA's protocol for image probes
    (the frame is repeated over time), giving a (1, H/p, W/p) grid. Blocks, context gather and readouts are
    core's `TokenEncoder`; this class only tokenizes tubelets.
    """

    layout = "grid3d"

    def __init__(self, cfg: VideoViTConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) not in (3, 4):
            raise JepakitError(
                f"encoder: a video ViT needs (C, T, H, W) clips, the dataset gives {shape}",
                "pick a video dataset such as vjepa/moving-digits, or an encoder for this data",
            )
        self.image_input = len(shape) == 3
        chans, frames, h, w = (shape[0], cfg.tubelet_size, *shape[1:]) if self.image_input else shape
        t, p = cfg.tubelet_size, cfg.patch_size
        if frames % t:
            raise JepakitError(
                f"encoder.tubelet_size: {t} does not divide the clip length {frames}",
                "choose a tubelet size that divides data.frames",
            )
        if h % p or w % p:
            raise JepakitError(
                f"encoder.patch_size: {p} does not divide the frame size {h}x{w}",
                "choose a patch size that divides the frame size (or change data.size)",
            )
        tubelets = nn.Conv3d(chans, cfg.embed_dim, kernel_size=(t, p, p), stride=(t, p, p))
        self._build(cfg, tubelets, (frames // t, h // p, w // p))

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, T, H, W] (or [B, C, H, W] images) -> tubelet tokens with positions [B, T'H'W', D]."""
        if self.image_input and x.dim() == 4:
            x = x[:, :, None].expand(-1, -1, self.cfg.tubelet_size, -1, -1)  # [B, C, t, H, W]
        return super().tokens(x)
