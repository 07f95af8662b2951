"""3D-JEPA's context-aware decoder (arXiv 2409.15803, sec. 3.3): the context is fed to every decoder layer.

Each target patch is a query: a shared mask token plus the position MLP of its patch centre. Every layer is
core's SelfCrossBlock: self-attention over all target queries of the cloud, cross-attention to the context
tokens (projected to the decoder width, plus their own centre positions), MLP. Unlike a predictor that
concatenates context and mask tokens once at the input (Point-JEPA's), the queries read the context afresh in
each layer and the context tokens are never updated by the decoder, which the paper argues pushes the encoder,
not the decoder, to model the semantics.
"""

from __future__ import annotations

from typing import Any

import torch
from jepakit_pointjepa.models import index_line
from torch import nn

from jepakit.api import SelfCrossBlock, gather_tokens, init_transformer
from jepakit_3djepa.config import ContextDecoderConfig


class ContextDecoder(nn.Module):
    """forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt], centres [B, G, 3] | None) -> [B, M, Nt, D].

    Without `centres` (a caller that does not know the clouds) positions are a sin-cos code of the sequence
    index, as for Point-JEPA's predictor.
    """

    reads_centres = True

    def __init__(self, cfg: ContextDecoderConfig, embed_dim: int, grid: tuple[int, ...]) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Sequential(nn.Linear(3, cfg.pos_hidden), nn.GELU(), nn.Linear(cfg.pos_hidden, d))
        self.register_buffer("index_xyz", index_line(int(grid[0])), persistent=False)
        self.layers = nn.ModuleList(SelfCrossBlock(d, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm, self.out = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, embed_dim)
        init_transformer(self, self.layers)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(
        self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor, centres: Any = None
    ) -> torch.Tensor:
        B, M, Nt = tgt_idx.shape
        pos = self.pos_embed(self.index_xyz.expand(B, -1, -1) if centres is None else centres)  # [B, G, d]
        memory = self.embed(ctx) + gather_tokens(pos, ctx_idx)  # [B, Nc, d]
        q = self.mask_token + gather_tokens(pos, tgt_idx.reshape(B, M * Nt))  # [B, M*Nt, d]
        for layer in self.layers:
            q = layer(q, memory)
        return self.out(self.norm(q)).reshape(B, M, Nt, -1)
