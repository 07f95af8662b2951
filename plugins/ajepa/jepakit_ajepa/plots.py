"""Mask pictures for the run directory: log-mel spectrograms with the context and target patches drawn on them,
early in the curriculum (block masks) and late (time or frequency strips)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit_ajepa.audio import frontend_from_meta
from jepakit_ajepa.config import LogMelFields

CONTEXT_RGBA = (0.12, 0.47, 0.71, 0.45)  # blue
LATE_STEP, LATE_TOTAL = 999, 1000  # a step near the end of any schedule


def draw_curriculum(masker: Any, x: torch.Tensor, path_stem: Path) -> list[Path]:
    """x: waveforms [K, 1, S] (or spectrograms [K, 1, T, F]) -> [masks_early.png, masks_late.png]."""
    frontend = frontend_from_meta(masker.meta, LogMelFields().frontend())
    with torch.no_grad():
        spec = x if x.dim() == 4 else frontend(x)  # [K, 1, T, F]
    k = len(spec)
    paths = []
    for name, step, seed in (("early", 0, 0), ("late", LATE_STEP, 1)):
        rows = []
        for i in range(2):  # two batches, so the late picture can show both strip directions
            gen = torch.Generator().manual_seed(1000 * seed + i)
            rows.append(masker(k, gen, step=step, total_steps=LATE_TOTAL))
        path = path_stem.with_name(f"masks_{name}.png")
        p = masker.tf_probability(step, LATE_TOTAL)
        _plot(
            spec[:, 0].numpy(),
            rows,
            tuple(masker.grid),
            path,
            f"{name} (step {step} of {LATE_TOTAL}: P(time-frequency masks) = {p:.2f})",
        )
        paths.append(path)
    return paths


def _plot(spec: np.ndarray, masksets: list[Any], grid: tuple[int, int], path: Path, title: str) -> Path:
    """One row per MaskSet, one column per clip: frequency up, time right; blue context, coloured targets."""
    import matplotlib

    from jepakit.api import new_figure, save_png

    T, F = grid
    cols = min(len(spec), 4)
    palette = matplotlib.colormaps["tab10"]
    fig = new_figure(2.6 * cols, 2.4 * len(masksets))
    axes = fig.subplots(len(masksets), cols, squeeze=False)
    for r, ms in enumerate(masksets):
        ctx, tgt = ms.context.numpy(), ms.targets.numpy()
        for c in range(cols):
            overlay = np.zeros((T * F, 4))
            overlay[ctx[c]] = CONTEXT_RGBA
            for m in range(tgt.shape[1]):
                overlay[tgt[c, m]] = (*palette((m + 1) % 10)[:3], 0.55)
            overlay = overlay.reshape(T, F, 4).transpose(1, 0, 2)  # [F, T, 4]: frequency rows
            ax = axes[r, c]
            ax.imshow(spec[c].T, origin="lower", aspect="auto", cmap="magma", extent=(0, T, 0, F))
            ax.imshow(overlay, origin="lower", aspect="auto", extent=(0, T, 0, F), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel("mel band", fontsize=7)
            if r == len(masksets) - 1:
                ax.set_xlabel("time", fontsize=7)
    fig.suptitle(f"{title}\nblue: context ({ctx.shape[1]} tokens); colours: {tgt.shape[1]} targets", fontsize=8)
    return save_png(fig, path)
