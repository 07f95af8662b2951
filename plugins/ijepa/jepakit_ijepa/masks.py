"""I-JEPA's multi-block masker (arXiv 2301.08243, section 3 and the official `MaskCollator`), written afresh.

Per batch: one target block size and one context block size are drawn (so targets stack without padding). Per
image: M target blocks at uniform positions, then a context block at a uniform position with the targets cut
out. A context that keeps fewer than `min_keep` tokens is redrawn, then target cut-outs are given up one at a
time, last target first, as the official collator does. Unlike the official loop this always ends: each level's
retries are drawn and scored at once, the last level cuts nothing out, and a grid too small is rejected in `__init__`.

`reference_quirks` reproduces the official off-by-ones; the default fixes them (see MultiBlockConfig).
"""

from __future__ import annotations

import torch

from jepakit.interfaces import MaskSet
from jepakit_ijepa import geometry
from jepakit_ijepa.config import MultiBlockConfig
from jepakit_ijepa.geometry import Size

#: Context positions tried per relaxation level before one more target cut-out is given up (the official timeout).
RETRIES = 20


class MultiBlockMasker:
    """Samples I-JEPA masks on a 2-D token grid: context [B, Nc] and targets [B, M, Nt], flat row-major indices.

    Holds only the config and numbers derived from it (no generator, no tensors), so it pickles into DataLoader
    workers; the `generator` passed to each call is its only source of randomness.
    """

    layout = "grid2d"

    def __init__(self, cfg: MultiBlockConfig, grid: tuple[int, ...]) -> None:
        self.cfg = cfg
        self.grid: tuple[int, int] = geometry.as_grid(grid)
        # The official code keeps a block only if it has *more* than min_keep tokens; ours asks for at least.
        self._strict = int(cfg.reference_quirks)
        self._tgt_need = cfg.min_keep + self._strict  # fewest tokens a target block may have
        self._ctx_need = max(self._tgt_need, 1)  # fewest tokens the context may keep (never empty)
        self._validate()

    # ----------------------------------------------------------------------------------------------- sampling

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        """Masks for one batch. Every draw comes from `generator`, in a fixed order, so equal seeds give equal masks."""
        cfg, (H, W) = self.cfg, self.grid
        B, M, N = batch_size, cfg.num_targets, H * W
        ht, wt = self._draw_size(cfg.target_scale, cfg.target_aspect, generator)
        hc, wc = self._draw_size(cfg.context_scale, cfg.context_aspect, generator)

        # Targets: corners in [0, H-h] (reference: [0, H-h), never touching the last row/column). Built row-major
        # from the corner, so each block's indices are sorted, and all blocks share one size: no truncation needed.
        top = torch.randint(0, H - ht + 1 - self._strict, (B, M), generator=generator)  # [B, M]
        left = torch.randint(0, W - wt + 1 - self._strict, (B, M), generator=generator)  # [B, M]
        dr = torch.arange(ht).repeat_interleave(wt)  # [Nt] row offset of each block token
        dc = torch.arange(wt).repeat(ht)  # [Nt] column offset
        targets = (top[..., None] + dr) * W + left[..., None] + dc  # [B, M, Nt]

        # The context may keep every token (allow_overlap) or every token outside all M targets.
        free = torch.ones(B, N, dtype=torch.bool)  # [B, N]
        if not cfg.allow_overlap:
            free.scatter_(1, targets.view(B, -1), False)
        context = torch.zeros(B, N, dtype=torch.bool)  # [B, N]
        for _ in range(cfg.num_context):  # the MaskSet holds one context: several blocks are merged
            block, found = self._place(free[:, None], hc, wc, generator, last_resort=cfg.allow_overlap)
            if not bool(found.all()):  # rare: relax the images whose RETRIES tries all kept too few tokens
                block[~found] = self._relaxed(targets[~found], hc, wc, generator)
            context |= block

        # Batch-min truncation so rows stack. The official code keeps each row's lowest `nc` indices, which drops
        # the bottom of the image more often (ijepa#60); by default a random subset of the kept tokens stays.
        nc = int(context.sum(1).min())
        ar = torch.arange(N)
        score = ar.float().expand(B, N) if cfg.reference_quirks else torch.rand(B, N, generator=generator)
        score = torch.where(context, score, torch.full_like(score, float("inf")))
        keep = score.topk(nc, dim=1, largest=False).indices.sort(dim=1).values  # [B, Nc], ascending
        return MaskSet(context=keep.contiguous(), targets=targets)  # [B, Nc], [B, M, Nt]

    def _relaxed(self, targets: torch.Tensor, hc: int, wc: int, generator: torch.Generator) -> torch.Tensor:
        """Context blocks [F, N] for images that failed with every cut-out: retry with the cut-outs of the first
        M-1, M-2, ... 0 targets (the official collator gives up the last target's cut-out first)."""
        F, M, _ = targets.shape
        N = self.grid[0] * self.grid[1]
        covered = torch.zeros(F, M, N, dtype=torch.bool).scatter_(2, targets, True)  # [F, M, N]
        first_m = covered.cumsum(1) > 0  # [F, M, N]: union of targets 0..m
        allowed = ~torch.cat([first_m[:, :-1].flip(1), torch.zeros(F, 1, N, dtype=torch.bool)], 1)  # [F, M, N]
        block, _ = self._place(allowed, hc, wc, generator, last_resort=True)
        return block

    def _place(
        self, allowed: torch.Tensor, hc: int, wc: int, generator: torch.Generator, last_resort: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One hc x wc context block per image, restricted to the tokens its first good level allows.

        allowed: [B, L, N] tokens each level (tried in order) lets the context keep. Returns the mask [B, N] and
        whether some try kept enough tokens [B]. All L x RETRIES corners are drawn at once and scored with an
        integral image, so the cost is fixed and no loop can fail to end. `last_resort`: the last level cuts
        nothing out, so it is always accepted (__init__ checked every context block holds enough tokens).
        """
        (H, W), (B, L, N) = self.grid, allowed.shape
        T = RETRIES if not bool(allowed.all()) else 1  # with nothing cut out the first try always succeeds
        top = torch.randint(0, H - hc + 1 - self._strict, (B, L, T), generator=generator)  # [B, L, T]
        left = torch.randint(0, W - wc + 1 - self._strict, (B, L, T), generator=generator)  # [B, L, T]

        # Integral image per level: S[r, c] = allowed tokens above and left of (r, c).
        S = torch.zeros(B, L, H + 1, W + 1, dtype=torch.int32)  # [B, L, H+1, W+1]
        S[:, :, 1:, 1:] = allowed.view(B, L, H, W).to(torch.int32).cumsum(2).cumsum(3)
        S = S.view(B, L, -1)

        def corner(r: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return S.gather(2, r * (W + 1) + c)  # [B, L, T]

        kept = corner(top + hc, left + wc) - corner(top, left + wc) - corner(top + hc, left) + corner(top, left)
        ok = (kept >= self._ctx_need).view(B, L * T)  # [B, L*T] in the order the official loop tries them
        if last_resort:
            ok[:, -1] = True
        pick = ok.to(torch.uint8).argmax(dim=1)  # [B] first acceptable candidate (0 if none)
        r0 = top.view(B, -1).gather(1, pick[:, None])  # [B, 1]
        c0 = left.view(B, -1).gather(1, pick[:, None])  # [B, 1]
        rows, cols = torch.arange(H), torch.arange(W)
        in_rows = (rows >= r0) & (rows < r0 + hc)  # [B, H]
        in_cols = (cols >= c0) & (cols < c0 + wc)  # [B, W]
        block = (in_rows[:, :, None] & in_cols[:, None, :]).view(B, N)  # [B, N]
        level = allowed.gather(1, (pick // T)[:, None, None].expand(B, 1, N)).squeeze(1)  # [B, N]
        return block & level, ok.any(dim=1)  # [B, N], [B]

    # ------------------------------------------------------------------------------------------- block sizes

    def _size(self, k: int, aspect: float) -> Size:
        """A block of about k tokens with height/width `aspect` (`geometry.block_size`)."""
        return geometry.block_size(self.grid, self._strict, k, aspect)

    def _draw_size(self, scale: tuple[float, float], aspect: tuple[float, float], generator: torch.Generator) -> Size:
        """Scale ~ U(scale), aspect ~ U(aspect); k = int(N * scale) tokens as in the official code.

        The reference draws one uniform and uses it for both (large blocks are then always the tallest);
        the default draws them independently, as the paper's text describes.
        """
        u_s, u_a = torch.rand(2, generator=generator).tolist()
        if self.cfg.reference_quirks:
            u_a = u_s
        s = scale[0] + u_s * (scale[1] - scale[0])
        a = aspect[0] + u_a * (aspect[1] - aspect[0])
        return self._size(int(self.grid[0] * self.grid[1] * s), a)

    # -------------------------------------------------------------------------------------------- validation

    def _validate(self) -> None:
        """Reject a grid on which a valid sample cannot exist (`geometry.validate`, which `jepakit validate`
        runs too, through MultiBlockConfig.check, before any tensor exists)."""
        geometry.validate(self.cfg, self.grid)
