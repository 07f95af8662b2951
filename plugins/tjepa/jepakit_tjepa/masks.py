"""T-JEPA's column masker (the paper code's `MaskCollator`, arXiv 2410.05016): subsets of columns, not blocks.

Per batch: a context size c and a target size t, each `min + round((max - min) * u)` with min/max =
round(F * share), conditioned on c + t <= F (the code redraws until that holds). Per row: a random permutation;
its first c columns are the context, and each of the M targets is a random t-subset of the other F - c columns
(targets are disjoint from the context, not from each other). The [REG] tokens (grid indices F..F+R-1) are
appended to every context and never become targets, unless `draw_reg`: then the subsets are drawn from all F + R
tokens alike, as in the released code, whose [REG] token is one of its drawn positions.

It always terminates: instead of the code's redraw loop, the (c, t) pair is drawn once from the exact
conditional distribution, computed at construction over every allowed pair; a column count on which no pair
is allowed is an error at construction. Every row has the same sizes, so nothing is truncated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_tjepa.config import ColumnMaskConfig


class ColumnMasker:
    """Masks on a (F + R,) column grid: context [B, c + R], targets [B, M, t]. Pickles (plain tensors only)."""

    layout = "columns"

    def __init__(self, cfg: ColumnMaskConfig, grid: tuple[int, ...], meta: dict[str, Any] | None = None) -> None:
        grid = tuple(int(g) for g in grid)
        columns = (meta or {}).get("columns")
        n_cols = len(columns) if columns is not None else (grid[0] if grid else 0)
        if len(grid) != 1 or not 1 <= n_cols <= grid[0]:
            raise JepakitError(
                f"masker: tjepa/columns needs a (columns + [REG],) token grid, got {grid} for {n_cols} column(s)",
                "use it with the tabular encoder tjepa/transformer on a table dataset",
            )
        self.cfg, self.grid, self.n_cols = cfg, grid, n_cols
        self.n_draw = grid[0] if cfg.draw_reg else n_cols  # the tokens the subsets are drawn from
        allowed = cfg.size_pairs(self.n_draw)
        self.sizes = torch.tensor([[c, t] for c, t, _ in allowed], dtype=torch.long)  # [P, 2]
        weights = torch.tensor([w for *_, w in allowed], dtype=torch.float64)
        self.probs = weights / weights.sum()  # [P] the code's sizes conditioned on c + t <= F
        # [R] the [REG] tokens added to every context (none when they are drawn like columns)
        self.reg_idx = torch.arange(n_cols, n_cols if cfg.draw_reg else grid[0], dtype=torch.long)

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        B, F, M = batch_size, self.n_draw, self.cfg.num_targets
        k = int(torch.multinomial(self.probs, 1, generator=generator))
        c, t = (int(v) for v in self.sizes[k])
        perm = torch.rand(B, F, generator=generator).argsort(dim=1)  # [B, F] a random order of the drawn tokens
        ctx = perm[:, :c].sort(dim=1).values  # [B, c]
        rest = perm[:, c:]  # [B, F - c] the columns the context left
        pick = torch.rand(B, M, F - c, generator=generator).argsort(dim=2)[:, :, :t]  # [B, M, t]
        tgt = torch.gather(rest[:, None].expand(B, M, F - c), 2, pick).sort(dim=2).values  # [B, M, t]
        ctx = torch.cat([ctx, self.reg_idx.expand(B, -1)], dim=1)  # [B, c + R]: [REG] visible (R = 0 if drawn)
        return MaskSet(context=ctx, targets=tgt)

    def draw(self, x: torch.Tensor, path_stem: Path) -> list[Path]:
        """One picture of the masks of 4 rows: context, the targets (a column may be in several), hidden."""
        from jepakit.api import new_figure, save_png

        ms = self(4, torch.Generator().manual_seed(0))
        n, M = self.grid[0], ms.num_targets
        codes = torch.zeros(4, n)  # 0 hidden, 1 context, 2 target
        for row in range(4):
            codes[row, ms.context[row]] = 1.0
            codes[row, ms.targets[row].flatten()] = 2.0
        fig = new_figure(max(4.0, 0.35 * n + 1.5), 2.4)
        ax = fig.add_subplot(1, 1, 1)
        ax.imshow(codes.numpy(), cmap="viridis", vmin=0, vmax=2, aspect="auto")
        ax.set_yticks(range(4), [f"row {i}" for i in range(4)])
        ax.set_xlabel(f"token ({self.n_cols} columns, then {n - self.n_cols} [REG])")
        ax.set_title(f"context (teal), any of {M} targets (yellow), hidden (purple)")
        path = Path(path_stem).with_suffix(".png")
        save_png(fig, path)
        return [path]
