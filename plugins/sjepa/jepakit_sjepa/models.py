"""S-JEPA's networks: the per-channel conv tokenizer, the electrode-position code, the contextual encoder and the
transformer-decoder predictor. Self-attention and self+cross blocks and init are core's (jepakit.api).

Token layout "electrodes": the grid is (C, T') = (channels, seconds) and the flat index is c * T' + t.
Nothing in the weights depends on the channel list: positions are buffers rebuilt from xyz (`set_montage`), so
one trained encoder reads any montage.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import Block, SelfCrossBlock, TokenEncoder, gather_tokens, init_transformer, sincos_1d
from jepakit_sjepa.config import DecoderPredictorConfig, EEGEncoderConfig
from jepakit_sjepa.montage import positions_from_meta


def xyz_code(pos: torch.Tensor, dim: int) -> torch.Tensor:
    """[C, 3] unit positions -> [C, dim] continuous sin-cos code, dim/3 per axis at octave frequencies.

    The paper initialises its channel embedding from such a code of the electrode's 3-D location.
    """
    per_axis = dim // 3
    freqs = math.pi * 2.0 ** torch.arange(per_axis // 2, dtype=torch.float64) / 2.0  # [f] 0.5*pi, pi, 2*pi ...
    ang = pos.double()[:, :, None] * freqs  # [C, 3, f]
    return torch.cat([ang.sin(), ang.cos()], dim=2).reshape(len(pos), -1).float()  # [C, 3 * 2f]


def position_table(pos: np.ndarray, n_time: int, dim: int, channel_dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(channel code [C, channel_dims], time code [T', dim - channel_dims]) as fixed tables."""
    chan = xyz_code(torch.as_tensor(pos), channel_dims)
    time = sincos_1d(dim - channel_dims, torch.arange(n_time))
    return chan, time


class ConvFeatureEncoder(nn.Module):
    """wav2vec-style temporal convs run on every channel alone: [B, C, L] -> [B, C, T', d] (no padding, no bias).

    "group": GroupNorm(d, d) after the first conv only (wav2vec's default); "layer": LayerNorm over features
    after every conv; "none": no normalisation.
    """

    def __init__(self, layers: tuple[tuple[int, int, int], ...], norm: str) -> None:
        super().__init__()
        self.layers, mods, prev = tuple(layers), nn.ModuleList(), 1
        for i, (dim, k, s) in enumerate(self.layers):
            conv = nn.Conv1d(prev, dim, kernel_size=k, stride=s, bias=False)
            if norm == "group" and i == 0:
                normm: nn.Module = nn.GroupNorm(dim, dim)
            elif norm == "layer":
                normm = _ChannelLayerNorm(dim)
            else:
                normm = nn.Identity()
            mods.append(nn.Sequential(conv, normm, nn.GELU()))
            prev = dim
        self.convs, self.out_dim = mods, prev
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight)

    def out_len(self, length: int) -> int:
        for _, k, s in self.layers:
            length = (length - k) // s + 1
        return length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, L = x.shape
        z = x.reshape(B * C, 1, L)  # [B*C, 1, L] channels folded into the batch: channel-set independent
        for conv in self.convs:
            z = conv(z)
        return z.reshape(B, C, z.shape[1], z.shape[2]).transpose(2, 3)  # [B, C, T', d]


class _ChannelLayerNorm(nn.Module):
    """LayerNorm over the feature axis of [N, d, T] conv outputs."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class EEGEncoder(TokenEncoder):
    """forward(x [B, C, L], keep [B, Nc] | None) -> [B, Nc or C*T', D]; S-JEPA's contextual encoder: core's
    TokenEncoder (context gathered before the blocks, forward_layers) with its own tokenizer and positions.

    tokens = conv features (+ linear to D if the conv width differs) + [channel code | time code], where the
    channel code is sincos(xyz) + W sincos(xyz) with W trainable and zero at init.
    """

    layout = "electrodes"

    def __init__(self, cfg: EEGEncoderConfig, input_shape: tuple[int, ...], meta: dict[str, Any] | None = None) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 2:
            raise JepakitError(
                f"encoder: the EEG encoder needs (channels, samples) inputs, the dataset gives {shape}",
                "use an EEG dataset such as sjepa/sim-eeg",
            )
        self.cfg, self.embed_dim = cfg, cfg.embed_dim
        self.feature_encoder = ConvFeatureEncoder(cfg.conv_layers, cfg.conv_norm)
        self.n_time = self.feature_encoder.out_len(shape[1])
        if self.n_time < 1:
            raise JepakitError(
                f"encoder.conv_layers: {shape[1]} samples are too short for the conv stack",
                "use longer windows (data.window_s) or smaller kernels/strides",
            )
        d_conv = self.feature_encoder.out_dim
        self.proj = nn.Identity() if d_conv == cfg.embed_dim else nn.Linear(d_conv, cfg.embed_dim)
        self.channel_mix = nn.Linear(cfg.channel_dims, cfg.channel_dims, bias=False)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        init_transformer(self, self.blocks)
        nn.init.zeros_(self.channel_mix.weight)
        self.set_montage(positions_from_meta(meta, shape[0], "encoder"))

    def set_montage(self, pos: np.ndarray) -> None:
        """Read recordings with these electrodes [C, 3] from now on (same weights, any channel set)."""
        chan, time = position_table(pos, self.n_time, self.embed_dim, self.cfg.channel_dims)
        self.register_buffer("chan_code", chan, persistent=False)  # [C, channel_dims]
        self.register_buffer("time_code", time, persistent=False)  # [T', D - channel_dims]
        self.grid = (int(len(pos)), int(self.n_time))

    def positions(self) -> torch.Tensor:
        """[C*T', D] position code of every token, flat c * T' + t."""
        C, T = self.grid
        chan = self.chan_code + self.channel_mix(self.chan_code)  # [C, cd]
        return torch.cat([chan[:, None].expand(C, T, -1), self.time_code[None].expand(C, T, -1)], -1).reshape(C * T, -1)

    def local_features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv tokenizer alone (the post-local head's input): [B, C, L] -> [B, C, T', d]."""
        return self.feature_encoder(x)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        C, T = self.grid
        if x.dim() != 3 or x.shape[1] != C:
            raise JepakitError(
                f"encoder: got input {list(x.shape)}, expected [B, {C}, samples] for this montage",
                "call set_montage(positions) for recordings with another channel set",
            )
        z = self.proj(self.feature_encoder(x))  # [B, C, T', D]
        return z.reshape(len(x), C * T, -1) + self.positions()  # [B, N, D]


class DecoderPredictor(nn.Module):
    """forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D].

    Queries: one shared mask token + the fixed position code (electrode xyz | time) of each target token;
    memory: the context-encoder tokens (which carry their own positions), projected to the predictor width.
    """

    def __init__(
        self, cfg: DecoderPredictorConfig, embed_dim: int, grid: tuple[int, ...], meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        C, T = (int(g) for g in grid)
        d = cfg.embed_dim
        chan, time = position_table(positions_from_meta(meta, C, "predictor"), T, d, cfg.channel_dims)
        table = torch.cat([chan[:, None].expand(C, T, -1), time[None].expand(C, T, -1)], -1).reshape(C * T, d)
        self.register_buffer("pos", table[None], persistent=False)  # [1, N, d]
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.layers = nn.ModuleList(SelfCrossBlock(d, cfg.num_heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm, self.out = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, embed_dim)
        init_transformer(self, self.layers)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        B, M, Nt = tgt_idx.shape
        memory = self.embed(ctx)  # [B, Nc, d]
        pos = self.pos.expand(B, -1, -1)  # [B, N, d]
        q = self.mask_token + gather_tokens(pos, tgt_idx.reshape(B, M * Nt))  # [B, M*Nt, d]
        for layer in self.layers:
            q = layer(q, memory)
        return self.out(self.norm(q)).reshape(B, M, Nt, -1)
