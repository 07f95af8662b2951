"""The masker's picture: scalp maps of hidden (target) vs visible (context) electrodes, with each recording's trace."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_scalp_masks(xy: np.ndarray, hidden: np.ndarray, x: np.ndarray, path: Path) -> Path:
    """xy [C, 2] projected electrodes, hidden [R, C] bool, x [R, C, L] signals -> one PNG, R columns."""
    from jepakit.api import new_figure, save_png

    rows = len(hidden)
    fig = new_figure(3.2 * rows, 5.4)
    for r in range(rows):
        ax = fig.add_subplot(2, rows, r + 1)
        ax.add_patch(_circle(1.0))
        ax.plot([-0.1, 0.0, 0.1], [0.98, 1.12, 0.98], color="k", lw=1)  # nose
        ax.scatter(xy[~hidden[r], 0], xy[~hidden[r], 1], s=60, c="#3a78ff", label="context", zorder=3)
        ax.scatter(xy[hidden[r], 0], xy[hidden[r], 1], s=60, c="#e8402a", label="target (hidden)", zorder=3)
        ax.set_aspect("equal")
        ax.set_xlim(-1.25, 1.25)
        ax.set_ylim(-1.25, 1.25)
        ax.axis("off")
        ax.set_title(f"recording {r}: {int(hidden[r].sum())}/{hidden.shape[1]} hidden", fontsize=9)
        if r == 0:
            ax.legend(loc="lower left", fontsize=7, frameon=False)
        trace = fig.add_subplot(2, rows, rows + r + 1)
        sig = x[r]
        offs = np.arange(len(sig))[:, None] * 3.0 * (np.std(sig) + 1e-9)
        for c in range(len(sig)):
            trace.plot(sig[c] + offs[c], lw=0.5, color="#e8402a" if hidden[r, c] else "#3a78ff")
        trace.set_yticks([])
        trace.set_xlabel("sample", fontsize=8)
    fig.tight_layout()
    return save_png(fig, path)


def _circle(radius: float):
    from matplotlib.patches import Circle

    return Circle((0, 0), radius, fill=False, color="k", lw=1)
