"""PNG plots of a run: loss curve, masks drawn over inputs, embedding PCA. Agg backend; atomic writes."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from jepakit.ckpt import atomic_write


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _figure().close(fig)
    atomic_write(Path(path), buf.getvalue())


def plot_loss(rows: list[dict[str, Any]], path: Path) -> None:
    """Total loss and each term against step (log scale), with the learning rate on a twin axis."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps = [r["step"] for r in rows if "loss" in r]
    for key in sorted({k for r in rows for k in r if k == "loss" or k.startswith("loss/")}):
        ax.plot(steps, [r.get(key, np.nan) for r in rows if "loss" in r], label=key, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if steps and min(r["loss"] for r in rows if "loss" in r) > 0:
        ax.set_yscale("log")
    ax.legend(loc="upper right", fontsize=7)
    if rows and "lr" in rows[0]:
        ax2 = ax.twinx()
        ax2.plot(steps, [r.get("lr", np.nan) for r in rows if "loss" in r], color="grey", ls=":", lw=1)
        ax2.set_ylabel("lr", color="grey")
    _save(fig, path)


def plot_masks(images: Any, context_idx: Any, target_idx: Any, grid: tuple[int, int], path: Path) -> None:
    """Each sample with its context tokens tinted blue and each target block in its own colour."""
    plt = _figure()
    images, ctx, tgt = (np.asarray(a) for a in (images, context_idx, target_idx))
    k = len(images)
    fig, axes = plt.subplots(1, k, figsize=(2.2 * k, 2.4), squeeze=False)
    gh, gw = grid
    colours = plt.get_cmap("tab10")
    for i, ax in enumerate(axes[0]):
        img = images[i]
        img = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        ax.imshow((img + 1) / 2, cmap="gray", vmin=0, vmax=1, extent=(0, gw, gh, 0))
        overlay = np.zeros((gh * gw, 4))
        overlay[ctx[i]] = (0.1, 0.4, 1.0, 0.35)
        for m in range(tgt.shape[1]):
            overlay[tgt[i, m]] = (*colours(m + 1)[:3], 0.55)
        ax.imshow(overlay.reshape(gh, gw, 4), extent=(0, gw, gh, 0))
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].set_title("blue: context, colours: targets", fontsize=7, loc="left")
    _save(fig, path)


def plot_embedding_pca(feats: np.ndarray, labels: np.ndarray, path: Path) -> None:
    """First two principal components of the features, coloured by label."""
    plt = _figure()
    z = feats - feats.mean(0)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    xy = z @ vt[:2].T
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.scatter(xy[:, 0], xy[:, 1], c=labels, cmap="tab20", s=4)
    ax.set_title("embedding PCA (test split)", fontsize=8)
    _save(fig, path)
