"""Point-JEPA's networks: the point-patch tokenizer (FPS + kNN + mini-PointNet, sequenced), the point transformer
encoder with centre positions re-added before every block, and the narrow predictor whose mask tokens carry the
position of the patch they stand for. Blocks and init are core's (jepakit.api).

Token layout "points": the grid is (num_groups,) and the flat index is the patch's place in the sequencer's
order, so contiguous index runs are spatially contiguous patches (with order = "nearest").
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import nn

from jepakit.api import Block, gather_tokens, init_transformer
from jepakit_pointjepa.config import PointEncoderConfig, PointPredictorConfig
from jepakit_pointjepa.geometry import farthest_point_sample, knn_groups, sequence

#: (num_groups, group_size, order) -> (weak reference to the last batch, its grouping): see PointEncoder.group
_GROUP_CACHE: dict[tuple[int, int, str], tuple[Any, tuple[torch.Tensor, torch.Tensor]]] = {}


class MiniPointNet(nn.Module):
    """Point-MAE's patch embedding: per-point MLP, max-pool, concatenate the pooled feature to every point,
    second MLP, max-pool: neighbourhoods [B, G, k, 3] -> tokens [B, G, D]. LayerNorm replaces BatchNorm so a
    cloud's tokens do not depend on the other clouds of its batch (student and EMA teacher normalise alike)."""

    def __init__(self, dims: list[int], out_dim: int) -> None:
        super().__init__()
        h1, c1, h2 = dims
        self.first = nn.Sequential(nn.Linear(3, h1), nn.LayerNorm(h1), nn.ReLU(), nn.Linear(h1, c1))
        self.second = nn.Sequential(nn.Linear(2 * c1, h2), nn.LayerNorm(h2), nn.ReLU(), nn.Linear(h2, out_dim))

    def forward(self, groups: torch.Tensor) -> torch.Tensor:
        f = self.first(groups)  # [B, G, k, c1]
        g = f.amax(dim=2, keepdim=True).expand_as(f)  # [B, G, k, c1]
        return self.second(torch.cat([g, f], dim=-1)).amax(dim=2)  # [B, G, D]


def index_line(n: int) -> torch.Tensor:
    """[1, n, 3]: token i at x = -1 + 2 i / (n - 1) on a line, the stand-in centres of callers without clouds."""
    return torch.stack([torch.linspace(-1.0, 1.0, n), torch.zeros(n), torch.zeros(n)], dim=1)[None]


def position_mlp(hidden: int, dim: int) -> nn.Sequential:
    """Patch centre [.., 3] -> position embedding [.., dim] (point2vec / Point-JEPA)."""
    return nn.Sequential(nn.Linear(3, hidden), nn.GELU(), nn.Linear(hidden, dim))


class PointEncoder(nn.Module):
    """forward(x [B, P, 3], keep [B, Nc] | None) -> [B, Nc or G, D]: tokenize, gather the kept patches before the
    blocks, add the centre positions before every block (the paper's encoder), final LayerNorm."""

    layout = "points"

    def __init__(self, cfg: PointEncoderConfig, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        cfg.check(tuple(int(s) for s in input_shape))
        self.cfg, self.embed_dim, self.grid = cfg, cfg.embed_dim, (cfg.num_groups,)
        self.patch_embed = MiniPointNet(list(cfg.pointnet_dims), cfg.embed_dim)
        self.pos_embed = position_mlp(cfg.pos_hidden, cfg.embed_dim)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        init_transformer(self, self.blocks)

    @torch.no_grad()
    def group(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, P, 3] -> (neighbourhoods [B, G, k, 3] relative to their centre, centres [B, G, 3]), both in the
        sequencer's order. No parameters: the same for the student and the teacher, so one training step groups
        its batch once (a one-entry cache keyed by the batch tensor object itself, shared by every encoder with
        the same grouping settings)."""
        key = (self.cfg.num_groups, self.cfg.group_size, self.cfg.order)
        hit = _GROUP_CACHE.get(key)
        if hit is not None and hit[0]() is x:
            return hit[1]
        out = self._group(x.float())
        _GROUP_CACHE[key] = (weakref.ref(x), out)
        return out

    def _group(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centres = torch.gather(x, 1, farthest_point_sample(x, self.cfg.num_groups)[..., None].expand(-1, -1, 3))
        order = sequence(centres, self.cfg.order)  # [B, G]
        centres = torch.gather(centres, 1, order[..., None].expand(-1, -1, 3))  # [B, G, 3]
        return knn_groups(x, centres, self.cfg.group_size), centres

    def centres(self, x: torch.Tensor) -> torch.Tensor:
        """Patch centres [B, G, 3] in token order (the predictor's and 3D-JEPA's masker's geometry)."""
        return self.group(x)[1]

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        groups, centres = self.group(x)
        return self.patch_embed(groups), self.pos_embed(centres)  # [B, G, D] each

    def _blocks(self, z: torch.Tensor, pos: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for block in self.blocks:
            z = block(z + pos)
            outs.append(z)
        return outs

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        z, pos = self._embed(x)
        if keep is not None:
            z, pos = gather_tokens(z, keep), gather_tokens(pos, keep)  # [B, Nc, D]
        return self.norm(self._blocks(z, pos)[-1])

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        """Outputs of the last min(n, depth) blocks on the full cloud, each [B, G, D] (the last final-normed)."""
        outs = self._blocks(*self._embed(x))
        outs[-1] = self.norm(outs[-1])
        return outs[-n:]


class PointPredictor(nn.Module):
    """forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt], centres [B, G, 3] | None) -> [B, M, Nt, D].

    Point-JEPA's predictor: context tokens (projected to the predictor width) and one shared mask token per
    target patch, each plus the position MLP of its patch centre, run together through the blocks (positions
    re-added before every block, as in the encoder); the mask tokens' outputs are projected back to D. All target
    blocks share one sequence (their mask tokens carry only position). Without `centres` (a caller that does not
    know the clouds) the position MLP reads the sequence index placed on a line (x in [-1, 1]) instead.
    """

    reads_centres = True

    def __init__(self, cfg: PointPredictorConfig, embed_dim: int, grid: tuple[int, ...]) -> None:
        super().__init__()
        d, self.num_tokens = cfg.embed_dim, int(grid[0])
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = position_mlp(cfg.pos_hidden, d)
        self.register_buffer("index_xyz", index_line(self.num_tokens), persistent=False)
        self.blocks = nn.ModuleList(Block(d, cfg.num_heads, cfg.mlp_ratio, True) for _ in range(cfg.depth))
        self.norm, self.out = nn.LayerNorm(d, eps=1e-6), nn.Linear(d, embed_dim)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def positions(self, centres: torch.Tensor | None, batch: int) -> torch.Tensor:
        """[B, G, d] position of every patch."""
        return self.pos_embed(self.index_xyz.expand(batch, -1, -1) if centres is None else centres)

    def forward(
        self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor, centres: Any = None
    ) -> torch.Tensor:
        B, M, Nt = tgt_idx.shape
        pos = self.positions(centres, B)  # [B, G, d]
        tgt_pos = gather_tokens(pos, tgt_idx.reshape(B, M * Nt))  # [B, M*Nt, d]
        z = torch.cat([self.embed(ctx), self.mask_token.expand(B, M * Nt, -1)], dim=1)  # [B, Nc + M*Nt, d]
        p = torch.cat([gather_tokens(pos, ctx_idx), tgt_pos], dim=1)
        for block in self.blocks:
            z = block(z + p)
        return self.out(self.norm(z[:, ctx.shape[1] :])).reshape(B, M, Nt, -1)
