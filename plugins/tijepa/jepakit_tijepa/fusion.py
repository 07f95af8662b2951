"""TI-JEPA's encoder: an image tower and a text tower joined by cross-attention fusion blocks.

    image [B, C, H, W] --image tower (any registered 2-D encoder), context patches only--> [B, Nc, Di]
    tokens [B, L]      --open_clip TextTransformer-->                                 [B, L, Dt], pad mask [B, L]
    fusion: project both to width D; per block (core's SelfCrossBlock), patches attend to patches, then to the
            caption's tokens (padding masked out), then an MLP                      -> [B, Nc, D], final-normed

It satisfies core's Encoder contract with a dict input ({"image", "tokens"}), so core's JEPA trains it as is:
the context path fuses the caption with the visible patches, core's EMA target is a copy of this whole module
(the paper's target fusion module, run on the full image and the same caption), and the predictor fills in the
hidden blocks. Frozen towers (`freeze_image`, `freeze_text`) run without gradient and stay equal to their EMA
copies, which is the paper's "selective freezing".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from jepakit.api import SelfCrossBlock
from jepakit_tijepa.config import TIJEPAConfig
from jepakit_tijepa.text import TextTower


class TextImageEncoder(nn.Module):
    """The context (and, as an EMA copy, the target) path of TI-JEPA. forward(x, keep) -> [B, Nc or N, D]."""

    def __init__(self, image: nn.Module, text: TextTower, cfg: TIJEPAConfig) -> None:
        super().__init__()
        self.image, self.text, self.cfg = image, text, cfg
        d = cfg.fusion_width
        self.embed_dim, self.grid = d, tuple(image.grid)
        self.layout = getattr(image, "layout", "grid2d")
        self.image_in = nn.Linear(image.embed_dim, d)
        self.text_in = nn.Linear(text.width, d)
        self.blocks = nn.ModuleList(SelfCrossBlock(d, cfg.fusion_heads) for _ in range(cfg.fusion_depth))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self._init_fusion()
        if cfg.freeze_image:
            self.image.requires_grad_(False)
        if cfg.freeze_text:
            self.text.requires_grad_(False)

    def _init_fusion(self) -> None:
        """I-JEPA's init for the new layers: trunc-normal(0.02) linears, depth-scaled residual projections."""
        for m in [self.image_in, self.text_in, self.norm, *self.blocks.modules()]:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        for layer, block in enumerate(self.blocks, start=1):
            for proj in (block.attn.proj, block.cross.proj, block.mlp[2]):
                proj.weight.data.div_(math.sqrt(2.0 * layer))

    def encode_image(self, image: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """[B, C, H, W] -> patch features [B, Nc or N, Di] (no graph when the tower is frozen)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.cfg.freeze_image):
            return self.image(image, keep=keep)

    def encode_text(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, L] ids -> token features [B, L, Dt] and the mask of real tokens [B, L]."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.cfg.freeze_text):
            return self.text(ids)

    def fuse(self, patches: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor) -> torch.Tensor:
        """Tower outputs -> fused patch features [B, Np, D] (final LayerNorm)."""
        z, t = self.image_in(patches), self.text_in(text)  # [B, Np, D], [B, L, D]
        for block in self.blocks:
            z = block(z, t, text_mask)
        return self.norm(z)

    def forward(self, x: dict[str, torch.Tensor], keep: torch.Tensor | None = None) -> torch.Tensor:
        return self.fuse(self.encode_image(x["image"], keep), *self.encode_text(x["tokens"]))

    def forward_layers(self, x: dict[str, torch.Tensor], n: int) -> list[torch.Tensor]:
        """The fused output as the one readout layer (the fusion stack is what TI-JEPA trains)."""
        return [self.forward(x)]
