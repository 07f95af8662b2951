"""Transformer layers every token-grid JEPA shares: sin-cos positions, attention with the fast CPU-bf16 path,
pre-norm self-attention and self+cross-attention blocks, the token encoder base class, I-JEPA's init.

Follows the I-JEPA paper's choices: pre-norm blocks (LayerNorm eps 1e-6, MLP ratio 4, qkv bias), fixed sin-cos
positions, no CLS token, trunc-normal(0.02) init with each block's output projections divided by sqrt(2 * layer).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


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


def _cpu_bf16(q: torch.Tensor) -> bool:
    """True under CPU bf16 autocast, where explicit GEMMs beat torch's fused attention kernel."""
    return (
        q.device.type == "cpu"
        and torch.is_autocast_enabled("cpu")
        and torch.get_autocast_dtype("cpu") == torch.bfloat16
    )


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax attention, q [B, H, Nq, hd], k/v [B, H, Nk, hd] -> [B, H, Nq, hd]; every attention in jepakit.

    `key_mask` [B, Nk] (True = attend) keeps padding keys out; a query whose keys are all masked gets zeros, on
    both paths. SDPA everywhere except under CPU bf16 autocast, where explicit matmuls (bf16 GEMMs, softmax kept
    in fp32 by autocast) replace it: torch's fused CPU flash kernel runs its bf16 backward ~4x slower than its
    fp32 one (35 vs 9 ms per call in ijepa/bench, benchmarks/README.md), which made bf16 training slower than fp32.
    """
    keep = None if key_mask is None else key_mask[:, None, None, :]  # [B, 1, 1, Nk]
    if _cpu_bf16(q):
        scores = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5  # [B, H, Nq, Nk]
        if keep is None:
            return scores.softmax(dim=-1) @ v
        return scores.masked_fill(~keep, float("-inf")).softmax(dim=-1).nan_to_num(0.0) @ v
    return F.scaled_dot_product_attention(q, k, v, attn_mask=keep)


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
    block: Any  # any block with an `attn.proj` and an `mlp[2]` linear: plugins bring their own blocks
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


class CrossAttention(nn.Module):
    """Queries [B, Nq, D] attend to a memory [B, Nm, D] (a decoder's second attention, a text-image fusion, an
    attentive probe's pooling); `memory_mask` [B, Nm] (True = attend) keeps padding out. Goes through
    `attention`, so CPU bf16 gets the fast explicit-GEMM path. Linears are created q, kv, proj (seeded inits of
    the blocks this replaced stay the same)."""

    def __init__(self, dim: int, heads: int, bias: bool = True) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B or 1, Nq, D] (1: learned queries shared by the batch), memory [B, Nm, D] -> [B, Nq, D]."""
        (Bq, Nq, D), B, h = x.shape, memory.shape[0], self.heads
        q = self.q(x).reshape(Bq, Nq, h, D // h).transpose(1, 2).expand(B, -1, -1, -1)  # [B, h, Nq, hd]
        k, v = self.kv(memory).reshape(B, memory.shape[1], 2, h, D // h).permute(2, 0, 3, 1, 4)  # [B, h, Nm, hd]
        out = attention(q, k, v, memory_mask)  # [B, h, Nq, hd]
        return self.proj(out.transpose(1, 2).reshape(B, Nq, D))


class SelfCrossBlock(nn.Module):
    """Pre-norm decoder block: x + self_attn(ln(x)), x + cross_attn(ln(x), ln(memory)), x + mlp(ln(x)).

    The memory is fed to every block (a context-aware decoder, a fusion block), not only at the input. Linears
    are created in the order attn, cross, mlp, so a seeded build draws the same weights as the blocks it replaced.
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qkv_bias)
        self.norm_q, self.norm_m = nn.LayerNorm(dim, eps=eps), nn.LayerNorm(dim, eps=eps)
        self.cross = CrossAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        x = x + self.cross(self.norm_q(x), self.norm_m(memory), memory_mask)
        return x + self.mlp(self.norm2(x))
