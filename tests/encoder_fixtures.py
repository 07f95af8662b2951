"""One tiny trained run shared by the export and embed tests (trained once per test session, a few seconds).

Also a reference ViT in the official I-JEPA / V-JEPA layout (timm's parameter names, a stored position table,
explicit softmax attention), written here from the papers' description, to check jepakit's imports against.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

#: ijepa-tiny shrunk to seconds: 4 steps of a 32-wide, 2-deep ViT on the native 8 px digits (patch 1: an 8x8 grid)
TINY = [
    "optim.steps=4",
    "optim.batch_size=16",
    "encoder.depth=2",
    "encoder.embed_dim=32",
    "encoder.num_heads=2",
    "encoder.patch_size=1",
    "predictor.depth=1",
    "predictor.embed_dim=16",
    "predictor.num_heads=2",
    "data.size=8",
    "data.digit_size=0",
]
_RUNS: dict[str, Path] = {}


def tiny_run(factory: pytest.TempPathFactory) -> Path:
    """The run directory of ijepa-tiny trained with TINY (and evaluated), shared by every test that asks."""
    if "run" not in _RUNS:
        from jepakit.testing.runs import train_tiny

        out = factory.mktemp("tiny-run") / "run"
        train_tiny("ijepa/ijepa-tiny", TINY, out)
        _RUNS["run"] = out
    return _RUNS["run"]


class _Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class _Attn(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.qkv, self.proj = heads, nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)  # [B, h, N, hd]
        w = ((q @ k.transpose(-2, -1)) * (D // self.heads) ** -0.5).softmax(dim=-1)  # [B, h, N, N]
        return self.proj((w @ v).transpose(1, 2).reshape(B, N, D))


class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim, eps=1e-6), _Attn(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), _Mlp(dim, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class _Patches(nn.Module):
    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.proj = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # [B, N, D]


class OfficialViT(nn.Module):
    """The published encoders' structure and names; `tubelet` > 0 makes it V-JEPA's video ViT."""

    def __init__(
        self, chans: int, dim: int, depth: int, heads: int, hidden: int, patch: int, tokens: int, tubelet: int = 0
    ) -> None:
        super().__init__()
        conv = (
            nn.Conv3d(chans, dim, (tubelet, patch, patch), (tubelet, patch, patch))
            if tubelet
            else nn.Conv2d(chans, dim, patch, patch)
        )
        self.patch_embed = _Patches(conv)
        # a random table on purpose: an import that recomputed positions instead of keeping these would fail
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.5, requires_grad=False)
        self.blocks = nn.ModuleList(_Block(dim, heads, hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        for p in self.parameters():  # non-trivial norms and biases too
            if p.requires_grad:
                nn.init.normal_(p, std=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.patch_embed(x) + self.pos_embed
        for block in self.blocks:
            z = block(z)
        return self.norm(z)


def official_checkpoint(context: nn.Module, target: nn.Module, prefix: str) -> dict:
    """What the official training loop saves: every model under DDP's (and the mask wrapper's) prefix."""
    return {
        "encoder": {prefix + k: v for k, v in context.state_dict().items()},
        "target_encoder": {prefix + k: v for k, v in target.state_dict().items()},
        "predictor": {"module.predictor_embed.weight": torch.zeros(4, 4)},
        "opt": {"state": {}, "param_groups": [{"lr": 1e-3, "params": [0, 1]}]},
        "scaler": None,
        "epoch": 3,
        "loss": 0.5,
        "batch_size": 8,
        "world_size": 1,
        "lr": 1e-3,
    }
