"""V-JEPA's video encoder: a ViT on tubelets (Conv3d kernel = stride = tubelet x patch x patch), fixed 3-D sin-cos
positions on the (T', H', W') token grid, context tokens gathered before the blocks. Blocks, init and positions
are core's (jepakit.models); the predictor is core's TransformerPredictor built on the same 3-D grid.
"""

from __future__ import annotations

import torch
from torch import nn

from jepakit.errors import JepakitError
from jepakit.models import Block, gather_tokens, init_transformer, sincos_pos_embed
from jepakit_vjepa.config import VideoViTConfig


class VideoViT(nn.Module):
    """forward(x [B, C, T, H, W], keep [B, Nc] | None) -> [B, Nc or N, D], N = T/t * H/p * W/p (flat t-major).

    Images (C, H, W) are read as clips of `tubelet_size` identical frames, V-JEPA's protocol for image probes
    (the frame is repeated over time), giving a (1, H/p, W/p) grid.
    """

    layout = "grid3d"

    def __init__(self, cfg: VideoViTConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) not in (3, 4):
            raise JepakitError(f"encoder: a video ViT needs (C, T, H, W) clips, the dataset gives {shape}",
                               "pick a video dataset such as vjepa/moving-digits, or an encoder for this data")
        self.image_input = len(shape) == 3
        chans, frames, h, w = (shape[0], cfg.tubelet_size, *shape[1:]) if self.image_input else shape
        t, p = cfg.tubelet_size, cfg.patch_size
        if frames % t:
            raise JepakitError(f"encoder.tubelet_size: {t} does not divide the clip length {frames}",
                               "choose a tubelet size that divides data.frames")
        if h % p or w % p:
            raise JepakitError(f"encoder.patch_size: {p} does not divide the frame size {h}x{w}",
                               "choose a patch size that divides the frame size (or change data.size)")
        self.cfg, self.embed_dim, self.grid = cfg, cfg.embed_dim, (frames // t, h // p, w // p)
        self.patch_embed = nn.Conv3d(chans, cfg.embed_dim, kernel_size=(t, p, p), stride=(t, p, p))
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.embed_dim, self.grid)[None], persistent=False)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        init_transformer(self, self.blocks)

    @property
    def num_tokens(self) -> int:
        return self.grid[0] * self.grid[1] * self.grid[2]

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, T, H, W] (or [B, C, H, W] images) -> tubelet tokens with positions [B, N, D]."""
        if self.image_input and x.dim() == 4:
            x = x[:, :, None].expand(-1, -1, self.cfg.tubelet_size, -1, -1)  # [B, C, t, H, W]
        return self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed  # [B, T'H'W', D]

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        z = self.tokens(x)  # [B, N, D]
        if keep is not None:
            z = gather_tokens(z, keep)  # [B, Nc, D]: the context path costs O(Nc)
        for block in self.blocks:
            z = block(z)
        return self.norm(z)

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        """Outputs of the last n blocks on the full clip, each [B, N, D] (the last one final-normed)."""
        z, outs = self.tokens(x), []
        for block in self.blocks:
            z = block(z)
            outs.append(z)
        outs[-1] = self.norm(outs[-1])
        return outs[-n:]
