"""Mask pictures for point clouds: every point coloured by the role of its patch (context blue, each target
block its own colour, unused grey), from two views (front: x-y, top: x-z; y is up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit.api import new_figure, save_png
from jepakit_pointjepa.geometry import farthest_point_sample, iterative_nearest_order


def default_centres(x: torch.Tensor, groups: int) -> torch.Tensor:
    """[K, P, 3] -> the default encoder's patch centres [K, G, 3]: FPS, then the nearest-neighbour sequencer."""
    c = torch.gather(x, 1, farthest_point_sample(x, groups)[..., None].expand(-1, -1, 3))
    return torch.gather(c, 1, iterative_nearest_order(c)[..., None].expand(-1, -1, 3))


def plot_point_masks(
    x: torch.Tensor,
    context: torch.Tensor,
    targets: torch.Tensor,
    groups: int,
    path: Path,
    centres: torch.Tensor | None = None,
) -> Path:
    """x [K, P, 3], context [K, Nc], targets [K, M, Nt] (patch indices) -> a PNG, one column per cloud and one
    row per view. `centres` [K, G, 3] in token order (default: `default_centres`)."""
    import matplotlib

    x = x.float()
    c = default_centres(x, groups) if centres is None else centres.float()
    owner = torch.cdist(x, c).argmin(dim=2).numpy()  # [K, P] nearest patch centre of each point
    palette = matplotlib.colormaps["tab10"]
    k = len(x)
    fig = new_figure(2.4 * k, 4.8)
    for i in range(k):
        role = np.full(groups, -2)  # -2 unused, -1 context, m target block m
        role[context[i].numpy()] = -1
        for m in range(targets.shape[1]):
            role[targets[i, m].numpy()] = m
        colours: Any = [
            (0.8, 0.8, 0.8, 0.3) if r == -2 else (0.1, 0.3, 0.9, 0.6) if r == -1 else palette((r + 1) % 10)
            for r in role[owner[i]]
        ]
        pts = x[i].numpy()
        for row, (a, b, name) in enumerate(((0, 1, "front (x, y)"), (0, 2, "top (x, z)"))):
            ax = fig.add_subplot(2, k, row * k + i + 1)
            ax.scatter(pts[:, a], pts[:, b], s=3, c=colours, linewidths=0)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(name)
    fig.suptitle("blue: context patches; colours: target blocks; grey: unused", fontsize=8)
    save_png(fig, path)
    return path
