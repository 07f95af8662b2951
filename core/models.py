"""Transformer parts shared by every grid-based JEPA: sin-cos positions, SDPA blocks, the ViT encoder, the predictor.

Follows the I-JEPA paper's choices: pre-norm blocks (LayerNorm eps 1e-6, MLP ratio 4, qkv bias), fixed sin-cos
positions, no CLS token, trunc-normal(0.02) init with each block's output projections divided by sqrt(2 * layer).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from jepakit.builtin.configs import PredictorConfig, ViTConfig
from jepakit.errors import JepakitError


def sincos_1d(dim: int, pos: torch.Tensor) -> torch.Tensor:
    """[P] positions -> [P, dim] sin/cos features (half sin, half cos), the transformer's fixed encoding."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    out = pos.double()[:, None] * omega[None, :]  # [P, dim/2]
    return torch.cat([out.sin(), out.cos()], dim=1).float()


def sincos_pos_embed(dim: int, grid: tuple[int, ...]) -> torch.Tensor:
    """Fixed sin-cos table [N, dim] for a 1-, 2- or 3-D grid, flattened row-major (the masks' index space).

    The channels are split evenly across axes (I-JEPA: half for rows, half for columns); any remainder is zero.
    """
    axes = len(grid)
    per_axis = (dim // axes) // 2 * 2
    coords = torch.meshgrid(*[torch.arange(g) for g in grid], indexing="ij")
    parts = [sincos_1d(per_axis, c.reshape(-1)) for c in coords]  # each [N, per_axis]
    table = torch.cat(parts, dim=1)
    if table.shape[1] < dim:
        table = F.pad(table, (0, dim - table.shape[1]))
    return table  # [N, dim]


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x [B, N, D], idx [B, K] -> [B, K, D]: one batched gather, no Python loop."""
    return torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Softmax attention, q [B, H, Nq, hd], k/v [B, H, Nk, hd] -> [B, H, Nq, hd].

    SDPA everywhere except under CPU bf16 autocast, where explicit matmuls (bf16 GEMMs, softmax kept in fp32 by
    autocast) replace it: torch's fused CPU flash kernel runs its bf16 backward ~4x slower than its fp32 one
    (35 vs 9 ms per call in ijepa/bench, benchmarks/README.md), which made bf16 training slower than fp32.
    """
    if q.device.type == "cpu" and torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16:
        scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5  # [B, H, Nq, Nk]
        return scores.softmax(dim=-1) @ v
    return F.scaled_dot_product_attention(q, k, v)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # [3, B, H, N, hd]
        out = attention(qkv[0], qkv[1], qkv[2])  # [B, H, N, hd]
        return self.proj(out.transpose(1, 2).reshape(B, N, D))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, qkv_bias: bool, eps: float = 1e-6) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def init_transformer(module: nn.Module, blocks: nn.ModuleList) -> None:
    """Trunc-normal(0.02) linears, unit LayerNorms, then depth-scaled residual projections (I-JEPA's init)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for layer, block in enumerate(blocks, start=1):
        block.attn.proj.weight.data.div_(math.sqrt(2.0 * layer))
        block.mlp[2].weight.data.div_(math.sqrt(2.0 * layer))


class TokenEncoder(nn.Module):
    """A pre-norm transformer over a token grid; subclasses supply the tokenizer (`patch_embed`) and the grid.

    The context path gathers kept tokens before the blocks, so it costs O(Nc), not O(N). Any grid works:
    the fixed sin-cos table is built for its number of axes.
    """

    def _build(self, cfg: Any, patch_embed: nn.Module, grid: tuple[int, ...]) -> None:
        """Call from the subclass's __init__ once `patch_embed` exists (it consumes the RNG first)."""
        self.cfg, self.embed_dim, self.grid = cfg, cfg.embed_dim, tuple(grid)
        self.patch_embed = patch_embed
        self.register_buffer("pos_embed", sincos_pos_embed(cfg.embed_dim, self.grid)[None], persistent=False)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        init_transformer(self, self.blocks)

    @property
    def num_tokens(self) -> int:
        return math.prod(self.grid)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """x -> tokens with positions [B, N, D] (N flattened row-major over the grid: the masks' index space)."""
        return self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed  # [B, N, D]

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        z = self.tokens(x)  # [B, N, D]
        if keep is not None:
            z = gather_tokens(z, keep)  # [B, Nc, D]
        for block in self.blocks:
            z = block(z)
        return self.norm(z)

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        """Outputs of the last min(n, depth) blocks on the full input, each [B, N, D] (the last final-normed)."""
        z, outs = self.tokens(x), []
        for block in self.blocks:
            z = block(z)
            outs.append(z)
        outs[-1] = self.norm(outs[-1])
        return outs[-n:]


class VisionTransformer(TokenEncoder):
    """ViT encoder on a 2-D patch grid (I-JEPA's): a strided conv patchifies, no CLS token."""

    layout = "grid2d"

    def __init__(self, cfg: ViTConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise JepakitError(f"encoder: a 2-D ViT needs (C, H, W) inputs, the dataset gives {tuple(input_shape)}",
                               "pick an encoder whose layout matches the dataset")
        chans, h, w = input_shape
        p = cfg.patch_size
        if h % p or w % p:
            raise JepakitError(f"encoder.patch_size: {p} does not divide the input size {h}x{w}",
                               "choose a patch size that divides the image size (or change data.size)")
        self._build(cfg, nn.Conv2d(chans, cfg.embed_dim, kernel_size=p, stride=p), (h // p, w // p))


class TransformerPredictor(nn.Module):
    """I-JEPA's narrow predictor: context tokens plus one shared mask token per target position, at width d.

    forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D]
    """

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
