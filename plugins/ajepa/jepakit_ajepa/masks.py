"""A-JEPA's curriculum masker on a (time, frequency) token grid, written afresh from the paper's description.

Per batch, one mode: "block" (I-JEPA multi-block: num_targets blocks of one size, positions per sample) or
"tf" (time-frequency aware: num_targets strips, all time strips or all frequency strips, that cross the whole
other axis). P(tf) ramps linearly over the training fractions `curriculum`. The masker is `step_aware`: core's
collate passes (step, total_steps), so a batch's masks stay a pure function of (seed, step) in any worker.

Context = a block of context_scale minus the union of the targets. A placement leaving fewer than min_keep
context tokens is redrawn (RETRIES placements scored at once); if all fail, every target becomes the first
block and the context its complement, which `__init__` proved always leaves min_keep. So sampling always ends.
Targets of a batch share one size, so they need no truncation; the context is cut to the batch minimum by
keeping a random subset of each row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from jepakit import JepakitError
from jepakit.interfaces import MaskSet
from jepakit_ajepa.config import CurriculumConfig

#: Placements tried per sample before the single-block fallback.
RETRIES = 16
MODES = ("block", "time", "freq")


class CurriculumMasker:
    """Samples context [B, Nc] and targets [B, M, Nt] on grid (T, F), flat index t * F + f (time-major)."""

    layout = "tf2d"
    step_aware = True

    def __init__(self, cfg: CurriculumConfig, grid: tuple[int, ...], meta: Mapping[str, Any] | None = None) -> None:
        grid = tuple(int(g) for g in grid)
        if len(grid) != 2 or min(grid) < 1:
            raise JepakitError(
                f"masker: ajepa/curriculum needs a (time, frequency) token grid, got {grid}",
                "use it with a spectrogram encoder such as ajepa/spectrogram-vit",
            )
        self.cfg, self.grid, self.meta = cfg, grid, dict(meta or {})
        self._validate()

    # ------------------------------------------------------------------------------------------- schedule

    def tf_probability(self, step: int, total_steps: int) -> float:
        """P(time-frequency aware masks) at this step: 0 before curriculum[0], 1 from curriculum[1] on."""
        progress = step / max(1, total_steps)
        a, b = self.cfg.curriculum
        if progress >= b:
            return 1.0
        if progress < a:
            return 0.0
        return (progress - a) / (b - a)

    def __call__(self, batch_size: int, generator: torch.Generator, step: int = 0, total_steps: int = 1) -> MaskSet:
        """One batch's masks; two uniforms pick the mode, so the stream is the same whatever the schedule."""
        u, v = torch.rand(2, generator=generator).tolist()
        strips = "time" if v < self.cfg.time_prob else "freq"
        mode = "block" if u >= self.tf_probability(step, total_steps) else strips
        return self.sample(batch_size, generator, mode)

    # ------------------------------------------------------------------------------------------- sampling

    def sample(self, batch_size: int, generator: torch.Generator, mode: str) -> MaskSet:
        """Masks of one mode ("block", "time" or "freq")."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        B, M = batch_size, self.cfg.num_targets
        th, tw = self._target_size(mode, generator)
        ch, cw = self._context_size(generator)
        T, F = self.grid
        R = RETRIES
        targets = _blocks(B * R * M, th, tw, self.grid, generator).view(B, R, M, T * F)  # [B, R, M, N]
        context = _blocks(B * R, ch, cw, self.grid, generator).view(B, R, T * F)  # [B, R, N]
        context = context & ~targets.any(dim=2)
        ok = context.sum(-1) >= self.cfg.min_keep  # [B, R]
        pick = torch.cat([ok, torch.ones(B, 1, dtype=torch.bool)], 1).to(torch.uint8).argmax(1)  # [B]
        rows = torch.arange(B)
        fallback = pick == R  # no placement worked: all targets = the first block, context = its complement
        first = targets[:, 0, 0]  # [B, N]
        pick = pick.clamp(max=R - 1)
        tgt = torch.where(fallback[:, None, None], first[:, None].expand(-1, M, -1), targets[rows, pick])  # [B, M, N]
        ctx = torch.where(fallback[:, None], ~first, context[rows, pick])  # [B, N]
        return MaskSet(context=_truncate(ctx, generator), targets=_indices(tgt, th * tw))

    def _target_size(self, mode: str, generator: torch.Generator) -> tuple[int, int]:
        """(time, frequency) extent of this batch's targets."""
        us, ua = torch.rand(2, generator=generator).tolist()
        (s0, s1), (a0, a1) = self.cfg.target_scale, self.cfg.aspect
        return self._size(mode, s0 + us * (s1 - s0), a0 + ua * (a1 - a0))

    def _size(self, mode: str, scale: float, aspect: float) -> tuple[int, int]:
        T, F = self.grid
        if mode == "time":  # a run of frames over every band
            return max(1, min(int(round(scale * T)), T)), F
        if mode == "freq":  # a run of bands over every frame
            return T, max(1, min(int(round(scale * F)), F))
        k = max(1, int(T * F * scale))
        h, w = int(round(math.sqrt(k * aspect))), int(round(math.sqrt(k / aspect)))
        # as I-JEPA: a block stays short of the full axis (T - 1, F - 1), so blocks never turn into strips
        return max(1, min(h, T - 1)), max(1, min(w, F - 1))

    def _context_size(self, generator: torch.Generator) -> tuple[int, int]:
        """(time, frequency) extent of the context block: context_scale of the grid, in the grid's own aspect
        (I-JEPA's aspect 1 on its square grids; on a 64 x 8 spectrogram grid a square block could hold 1/8)."""
        (c0, c1) = self.cfg.context_scale
        scale = c0 + float(torch.rand(1, generator=generator)) * (c1 - c0)
        T, F = self.grid
        return max(1, min(int(round(T * math.sqrt(scale))), T)), max(1, min(int(round(F * math.sqrt(scale))), F))

    def _largest(self, mode: str) -> int:
        """Most tokens one target of this mode can cover over a dense sweep of scales and aspects."""
        (s0, s1), (a0, a1) = self.cfg.target_scale, self.cfg.aspect
        probes = [i / 64 for i in range(65)]
        return max(
            h * w for u in probes for v in probes for h, w in [self._size(mode, s0 + u * (s1 - s0), a0 + v * (a1 - a0))]
        )

    def modes(self) -> tuple[str, ...]:
        """The modes this schedule can use: blocks only for curriculum [1, 1], strips only for [0, 0]."""
        a, b = self.cfg.curriculum
        tp = self.cfg.time_prob
        tf = tuple(m for m, used in (("time", tp > 0.0), ("freq", tp < 1.0)) if used)
        if a >= 1.0:
            return ("block",)
        return tf if b <= 0.0 else ("block", *tf)

    def _validate(self) -> None:
        """The fallback (one target, context = its complement) must leave min_keep tokens for every mode used."""
        T, F = self.grid
        for mode in self.modes():
            left = T * F - self._largest(mode)
            if left < self.cfg.min_keep:
                what = {"block": "block", "time": "time strip", "freq": "frequency strip"}[mode]
                raise JepakitError(
                    f"masker.target_scale: on the {T} x {F} (time x frequency) token grid one {what} can leave "
                    f"{left} context token{'s' * (left != 1)}, fewer than masker.min_keep = {self.cfg.min_keep}",
                    "use a smaller masker.target_scale, a finer token grid (smaller encoder.patch_size or more "
                    "data.frames / data.n_mels), a lower masker.min_keep, or a curriculum without this mode",
                )

    # ------------------------------------------------------------------------------------------- pictures

    def draw(self, x: torch.Tensor, path_stem: Path) -> list[Path]:
        """masks_early.png (step 0 of the schedule) and masks_late.png (its last step) over the log-mel of x."""
        from jepakit_ajepa.plots import draw_curriculum

        return draw_curriculum(self, x, Path(path_stem))


def _blocks(n: int, h: int, w: int, grid: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """n blocks of h x w at uniform positions -> [n, T * F] bool."""
    T, F = grid
    r0 = torch.randint(0, T - h + 1, (n,), generator=generator)
    c0 = torch.randint(0, F - w + 1, (n,), generator=generator)
    rows = (torch.arange(T) >= r0[:, None]) & (torch.arange(T) < r0[:, None] + h)  # [n, T]
    cols = (torch.arange(F) >= c0[:, None]) & (torch.arange(F) < c0[:, None] + w)  # [n, F]
    return (rows[:, :, None] & cols[:, None, :]).flatten(1)


def _indices(mask: torch.Tensor, count: int) -> torch.Tensor:
    """[..., N] bool with exactly `count` True per row -> [..., count] sorted indices."""
    return mask.float().topk(count, dim=-1, sorted=False).indices.sort(dim=-1).values.contiguous()


def _truncate(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """[B, N] bool -> [B, n] sorted indices, n = the batch minimum; a random subset of each row survives."""
    n = int(mask.sum(1).min())
    score = torch.rand(mask.shape, generator=generator)
    score = torch.where(mask, score, torch.full_like(score, 2.0))
    return score.topk(n, dim=1, largest=False).indices.sort(dim=1).values.contiguous()
