"""V-JEPA's video encoder: a ViT on tubelets (Conv3d kernel = stride = tubelet x patch x patch), fixed 3-D sin-cos
positions on the (T', H', W') token grid, context tokens gathered before the blocks. Blocks, init and positions
are core's (jepakit.api); the predictor is core's TransformerPredictor built on the same 3-D grid.
"""

from __future__ import annotations

import torch
from torch import nn

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
        grid = cfg.tubelet_grid(shape)  # refuses shapes the tubelets do not tile
        self.image_input = len(shape) == 3
        t, p = cfg.tubelet_size, cfg.patch_size
        tubelets = nn.Conv3d(shape[0], cfg.embed_dim, kernel_size=(t, p, p), stride=(t, p, p))
        self._build(cfg, tubelets, grid)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, T, H, W] (or [B, C, H, W] images) -> tubelet tokens with positions [B, T'H'W', D]."""
        if self.image_input and x.dim() == 4:
            x = x[:, :, None].expand(-1, -1, self.cfg.tubelet_size, -1, -1)  # [B, C, t, H, W]
        return super().tokens(x)
