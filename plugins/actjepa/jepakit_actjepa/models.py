"""ACT-JEPA's networks: the observation encoder (context E_theta and, as its EMA copy, target E_theta~) and the
chunk decoder used twice: as the action decoder D (ACT) and as the latent predictor P_phi (JEPA).

    o_t --state groups + image cells--> tokens [B, N, D] --transformer--> context tokens [B, N, D]
    H learned queries --SelfCrossBlocks over the context tokens--> [B, H, d] --linear--> a_t..a_{t+H-1} [B, H, 4]
                                                                                  or  z_{t+1}..z_{t+H}  [B, H, D]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import Block, SelfCrossBlock, gather_tokens, init_transformer
from jepakit_actjepa.config import ObsEncoderConfig


def _current(x: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A window (tensor [B, T, F] or {"state", "image"}) -> row 0: state [B, F] and image [B, 3, S, S] or None."""
    if isinstance(x, dict):
        return x["state"][:, 0], x["image"][:, 0]
    return x[:, 0], None


class ObsEncoder(nn.Module):
    """Tokens of one observation: a linear per state group (+ conv-stem cells of the image), a learned embedding
    per token, `depth` pre-norm blocks, a final LayerNorm. `forward(window)` encodes the window's current
    observation (row 0), which is what the policy, the probes and core's collapse monitor read."""

    layout = "tokens"

    def __init__(
        self, cfg: ObsEncoderConfig, input_shape: tuple[int, ...] = (9, 45), meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        meta = meta or {}
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 2:
            raise JepakitError(
                f"encoder.use: actjepa/obs-encoder reads windows [chunk + 1, features], got input shape {list(shape)}",
                'use a trajectory dataset: data.use = "actjepa/metaworld-demos" or "actjepa/trajectories"',
            )
        act_dim = int(meta.get("act_dim", 4))
        self.obs_dim = int(meta.get("obs_dim", shape[1] - act_dim - 2))
        groups = [int(g) for g in meta.get("state_groups", [self.obs_dim])]
        if sum(groups) != self.obs_dim or min(groups) < 1:
            raise JepakitError(
                f"encoder: state groups {groups} do not cover the {self.obs_dim}-d observation",
                "the dataset's meta['state_groups'] must sum to its observation size",
            )
        self.groups, self.embed_dim, self.cfg = groups, cfg.embed_dim, cfg
        mean = torch.tensor(meta.get("obs_mean", [0.0] * self.obs_dim), dtype=torch.float32)
        std = torch.tensor(meta.get("obs_std", [1.0] * self.obs_dim), dtype=torch.float32)
        self.register_buffer("obs_mean", mean, persistent=True)
        self.register_buffer("obs_std", std, persistent=True)
        self.state_proj = nn.ModuleList(nn.Linear(g, cfg.embed_dim) for g in groups)
        n_tokens = len(groups)
        size = int(meta.get("image_size") or 0)
        self.stem: nn.Module | None = None
        if size:
            layers: list[nn.Module] = []
            c_in = 3
            for c in cfg.image_stem:
                layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.GroupNorm(1, c), nn.GELU()]
                c_in = c
            layers.append(nn.Conv2d(c_in, cfg.embed_dim, 1))
            self.stem = nn.Sequential(*layers)
            side = size
            for _ in cfg.image_stem:
                side = (side + 1) // 2
            n_tokens += side * side
        self.grid = (n_tokens,)
        self.pos = nn.Parameter(torch.zeros(1, n_tokens, cfg.embed_dim))
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, qkv_bias=True) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=1e-6)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.pos, std=0.02)

    def tokenize(self, state: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        """state [B, F >= obs_dim] (+ image [B, 3, S, S] in [0, 1]) -> input tokens [B, N, D] with positions."""
        obs = (state[:, : self.obs_dim] - self.obs_mean) / self.obs_std  # [B, obs_dim]
        parts = torch.split(obs, self.groups, dim=1)
        tokens = [proj(p) for proj, p in zip(self.state_proj, parts, strict=True)]  # each [B, D]
        out = torch.stack(tokens, dim=1)  # [B, G, D]
        if self.stem is not None:
            if image is None:
                raise JepakitError("encoder: this encoder was built for images, the input has none", "")
            cells = self.stem(image * 2.0 - 1.0)  # [B, D, s, s]
            out = torch.cat([out, cells.flatten(2).transpose(1, 2)], dim=1)  # [B, G + s*s, D]
        return out + self.pos

    def encode(
        self, state: torch.Tensor, image: torch.Tensor | None = None, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """One observation per row: state [B, F] (+ image) -> tokens [B, N, D] (or [B, K, D] kept tokens)."""
        x = self.tokenize(state, image)
        if keep is not None:
            x = gather_tokens(x, keep)  # [B, K, D], gathered before the blocks
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)

    def forward(self, x: Any, keep: torch.Tensor | None = None) -> torch.Tensor:
        state, image = _current(x)
        return self.encode(state, image, keep)

    def forward_layers(self, x: Any, n: int) -> list[torch.Tensor]:
        state, image = _current(x)
        h, outs = self.tokenize(state, image), []
        for blk in self.blocks:
            h = blk(h)
            outs.append(h)
        return outs[-n:]


class ChunkDecoder(nn.Module):
    """H learned queries attend to each other and cross-attend the context tokens in `depth` SelfCrossBlocks,
    then a linear head: ACT's action decoder (out = act_dim) and ACT-JEPA's latent predictor (out = D)."""

    def __init__(self, embed_dim: int, width: int, depth: int, heads: int, chunk: int, out_dim: int) -> None:
        super().__init__()
        self.inp = nn.Linear(embed_dim, width)
        self.queries = nn.Parameter(torch.zeros(1, chunk, width))
        self.blocks = nn.ModuleList(SelfCrossBlock(width, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.head = nn.Linear(width, out_dim)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.queries, std=0.02)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """context [B, N, D] -> [B, H, out_dim]."""
        memory = self.inp(context)  # [B, N, w]
        q = self.queries.expand(context.shape[0], -1, -1)  # [B, H, w]
        for blk in self.blocks:
            q = blk(q, memory)
        return self.head(self.norm(q))
