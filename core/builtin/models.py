"""Core's encoder and predictor parts: the ViT on a 2-D patch grid and I-JEPA's narrow transformer predictor."""

from __future__ import annotations

import torch
from torch import nn

from jepakit.builtin.config import PredictorConfig, ViTConfig
from jepakit.library.layers import Block, TokenEncoder, gather_tokens, init_transformer, sincos_pos_embed


class VisionTransformer(TokenEncoder):
    """ViT encoder on a 2-D patch grid (I-JEPA's): a strided conv patchifies, no CLS token."""

    layout = "grid2d"

    def __init__(self, cfg: ViTConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        grid = cfg.token_grid(input_shape)  # the same arithmetic `jepakit validate` checks without tensors
        p = cfg.patch_size
        self._build(cfg, nn.Conv2d(input_shape[0], cfg.embed_dim, kernel_size=p, stride=p), grid)


class TransformerPredictor(nn.Module):
    """I-JEPA's narrow predictor: context tokens plus one shared mask token per target position, at width d.

    forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D]
    """

    pos_embed: torch.Tensor  # [1, N, d] buffer

    def __init__(self, cfg: PredictorConfig, embed_dim: int, grid: tuple[int, ...]) -> None:
        super().__init__()
        d = cfg.embed_dim
        self.cfg = cfg
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.register_buffer("pos_embed", sincos_pos_embed(d, tuple(grid))[None], persistent=False)
        self.blocks = nn.ModuleList(Block(d, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.proj = nn.Linear(d, embed_dim)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        B, Nc, _ = ctx.shape
        M, Nt = tgt_idx.shape[1], tgt_idx.shape[2]
        pos = self.pos_embed.expand(B, -1, -1)  # [B, N, d]
        z = self.embed(ctx) + gather_tokens(pos, ctx_idx)  # [B, Nc, d]
        queries = self.mask_token + gather_tokens(pos, tgt_idx.reshape(B, M * Nt))  # [B, M*Nt, d]
        if self.cfg.target_attention == "separate":
            # the paper's code: one sequence per target block, the context repeated for each
            z = z.repeat_interleave(M, dim=0)  # [B*M, Nc, d]
            queries = queries.reshape(B * M, Nt, -1)  # [B*M, Nt, d]
        seq = torch.cat([z, queries], dim=1)
        for block in self.blocks:
            seq = block(seq)
        out = self.proj(self.norm(seq[:, Nc:]))  # [B*M, Nt, D] or [B, M*Nt, D]
        return out.reshape(B, M, Nt, -1)
