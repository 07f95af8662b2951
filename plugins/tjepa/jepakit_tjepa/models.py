"""T-JEPA's networks: the column tokenizer + [REG] tokens + transformer encoder, and the transformer predictor.

Token layout "columns": the grid is (F + R,): tokens 0..F-1 are the table's columns in `meta["columns"]` order,
tokens F..F+R-1 the R [REG] tokens. Masks index this flat space; T-JEPA's masker never makes a [REG] token a
target and always keeps it in the context. Self-attention blocks and the init are core's (jepakit.api).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from jepakit import JepakitError
from jepakit.api import Block, TokenEncoder, gather_tokens, init_transformer, sincos_1d
from jepakit_tjepa.config import TabularEncoderConfig, TabularPredictorConfig


def column_kinds(meta: dict[str, Any] | None, n_columns: int, who: str) -> list[int]:
    """Per column its embedding-table size (0 = numerical) from the dataset's `meta["cardinalities"]`.

    Without that key every column is read as a number (a plain float table), so the encoder also runs on data
    that is not one of T-JEPA's tables; a key of the wrong length is a clear error.
    """
    cards = (meta or {}).get("cardinalities")
    if cards is None:
        return [0] * n_columns
    cards = [int(c) for c in cards]
    if len(cards) != n_columns:
        raise JepakitError(
            f"{who}: the dataset describes {len(cards)} columns (meta['cardinalities']) but its rows hold "
            f"{n_columns} values",
            "a dataset part must give one cardinality per column (0 for a number)",
        )
    return cards


class ColumnTokenizer(nn.Module):
    """Row [B, F] -> column tokens [B, F, D]: number j -> x_j * w_j; category j -> E_j[code]; every column adds
    its bias b_j, its learned feature-position embedding p_j and its type embedding (number or category).

    The weights w, b and the embedding tables are initialised as the paper's tokenizer (FT-Transformer's,
    uniform with bound 1/sqrt(D)); positions and types trunc-normal(0.02).
    """

    def __init__(self, cards: list[int], dim: int) -> None:
        super().__init__()
        self.num_idx = [j for j, k in enumerate(cards) if k == 0]
        self.cat_idx = [j for j, k in enumerate(cards) if k > 0]
        order = torch.tensor(self.num_idx + self.cat_idx, dtype=torch.long)
        self.register_buffer("inverse", torch.argsort(order), persistent=False)  # [F]: back to column order
        cat_cards = [cards[j] for j in self.cat_idx]
        offsets = torch.tensor([0, *cat_cards[:-1]], dtype=torch.long).cumsum(0) if cat_cards else torch.zeros(0)
        self.register_buffer("offsets", offsets.long(), persistent=False)  # [n_cat] start of each table
        self.register_buffer("cat_max", torch.tensor([k - 1 for k in cat_cards], dtype=torch.long), persistent=False)
        bound = 1.0 / math.sqrt(dim)
        self.num_weight = nn.Parameter(torch.empty(len(self.num_idx), dim).uniform_(-bound, bound))  # [n_num, D]
        self.cat_table = nn.Embedding(max(1, sum(cat_cards)), dim)  # all categories' rows, one table
        nn.init.uniform_(self.cat_table.weight, -bound, bound)
        self.bias = nn.Parameter(torch.empty(len(cards), dim).uniform_(-bound, bound))  # [F, D]
        self.position = nn.Parameter(nn.init.trunc_normal_(torch.empty(len(cards), dim), std=0.02))  # [F, D]
        self.type_embed = nn.Parameter(nn.init.trunc_normal_(torch.empty(2, dim), std=0.02))  # number, category
        kinds = torch.tensor([int(k > 0) for k in cards], dtype=torch.long)
        self.register_buffer("kinds", kinds, persistent=False)  # [F]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        parts = []
        if self.num_idx:
            parts.append(x[:, self.num_idx, None] * self.num_weight)  # [B, n_num, D]
        if self.cat_idx:
            codes = torch.minimum(x[:, self.cat_idx].round().long().clamp_min(0), self.cat_max)  # [B, n_cat]
            parts.append(self.cat_table(codes + self.offsets))  # [B, n_cat, D]
        z = torch.cat(parts, dim=1)[:, self.inverse] if parts else x.new_zeros(B, 0, self.bias.shape[1])
        return z + self.bias + self.position + self.type_embed[self.kinds]  # [B, F, D]


class TabularEncoder(TokenEncoder):
    """forward(x [B, F], keep [B, Nc] | None) -> [B, Nc or F + R, D]: T-JEPA's context / target encoder.

    Core's `TokenEncoder` with its own tokens (columns, then [REG]): `forward` and `forward_layers` are core's,
    so tokens are gathered before the blocks (the context path costs O(Nc)) and outputs are final-normed.
    """

    layout = "columns"

    def __init__(
        self, cfg: TabularEncoderConfig, input_shape: tuple[int, ...], meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 1 or shape[0] < 1:
            raise JepakitError(
                f"encoder: the tabular encoder needs rows of F values (input shape (F,)), the dataset gives {shape}",
                "use a table dataset such as tjepa/adult or tjepa/table",
            )
        self.cfg, self.embed_dim, self.n_columns = cfg, cfg.embed_dim, shape[0]
        self.grid = (shape[0] + cfg.reg_tokens,)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_ratio, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        init_transformer(self, self.blocks)
        self.tokenizer = ColumnTokenizer(column_kinds(meta, shape[0], "encoder"), cfg.embed_dim)
        self.reg = nn.Parameter(nn.init.trunc_normal_(torch.empty(cfg.reg_tokens, cfg.embed_dim), std=0.02))

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Rows [B, F] -> tokens [B, F + R, D]: the columns, then the [REG] tokens."""
        if x.dim() != 2 or x.shape[1] != self.n_columns:
            raise JepakitError(
                f"encoder: got rows of shape {list(x.shape)}, expected [B, {self.n_columns}]",
                "the encoder reads the table it was built for (same columns, same order)",
            )
        cols = self.tokenizer(x)  # [B, F, D]
        return torch.cat([cols, self.reg[None].expand(len(x), -1, -1)], dim=1)  # [B, F + R, D]


class TabularPredictor(nn.Module):
    """forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D]: the paper's predictor.

    Context tokens are projected to the predictor width and get fixed sin-cos positions of their token index;
    each target subset gets its own sequence (the context repeated, as the paper's code does), with one
    mask token per target column carrying only its position. Output tokens are projected back to D.
    """

    def __init__(
        self, cfg: TabularPredictorConfig, embed_dim: int, grid: tuple[int, ...], meta: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        d = cfg.embed_dim
        n = int(math.prod(grid))
        self.register_buffer("pos", sincos_1d(d, torch.arange(n))[None], persistent=False)  # [1, N, d]
        self.embed = nn.Linear(embed_dim, d)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d))
        self.blocks = nn.ModuleList(Block(d, cfg.num_heads, cfg.mlp_ratio, True, 1e-5) for _ in range(cfg.depth))
        self.norm, self.out = nn.LayerNorm(d, eps=1e-5), nn.Linear(d, embed_dim)
        init_transformer(self, self.blocks)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        B, M, Nt = tgt_idx.shape
        Nc = ctx.shape[1]
        pos = self.pos.expand(B, -1, -1)  # [B, N, d]
        h = self.embed(ctx) + gather_tokens(pos, ctx_idx)  # [B, Nc, d]
        q = self.mask_token + gather_tokens(pos, tgt_idx.reshape(B, M * Nt)).reshape(B, M, Nt, -1)  # [B, M, Nt, d]
        z = torch.cat([h[:, None].expand(B, M, Nc, -1), q], dim=2).reshape(B * M, Nc + Nt, -1)  # [B*M, Nc+Nt, d]
        for block in self.blocks:
            z = block(z)
        z = self.out(self.norm(z[:, Nc:]))  # [B*M, Nt, D]
        return z.reshape(B, M, Nt, -1)
