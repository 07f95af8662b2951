"""PNG plots of a run: loss curve, online probe, masks drawn over inputs, embedding PCA.

Agg backend only (runs are headless), and matplotlib is imported inside the functions so importing jepakit stays
cheap. Each PNG is written to a temp file in the same folder and renamed over the target, so a reader (or a
crash mid-write) never sees a half-written image.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

CONTEXT_RGBA = (0.15, 0.45, 1.0, 0.35)  # context tokens: translucent blue
NEITHER_RGBA = (0.55, 0.55, 0.55, 0.55)  # tokens in neither set (dropped by the masker): grey
TARGET_ALPHA = 0.18  # target cells: a light tint of their block's colour, so the input stays visible
MASK_LEGEND = (
    "blue tint: context (the encoder sees it); coloured outline + light tint: a target block (predicted); "
    "grey: in neither"
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def mask_caption(n_context: int, n_targets: int, target_size: int) -> str:
    """ "context 19 tokens, 4 targets x 12 tokens": what one sample's masks hold, in words."""
    return f"context {_plural(n_context, 'token')}, {_plural(n_targets, 'target')} x {_plural(target_size, 'token')}"


def _mask_overlay(n_tok: int, ctx: np.ndarray, tgt: np.ndarray, palette: Any) -> np.ndarray:
    """[N, RGBA]: grey for tokens in neither set, blue for context, each target block lightly in its colour."""
    overlay = np.tile(np.array(NEITHER_RGBA), (n_tok, 1))
    overlay[ctx] = CONTEXT_RGBA
    for m in range(tgt.shape[0]):
        overlay[tgt[m]] = (*palette((m + 1) % 10)[:3], TARGET_ALPHA)
    return overlay


def new_figure(w: float, h: float) -> Any:
    """A pyplot-free Figure on the Agg canvas: no global figure registry to leak, safe off the main thread."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h))
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Any, path: str | Path) -> Path:
    """Write the figure as PNG atomically (temp file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


#: what a figure may be saved as, by the file's suffix (matplotlib's format names)
FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write the figure atomically in the format its suffix names (FIGURE_FORMATS); ValueError for another."""
    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path}: unknown figure format {path.suffix!r}; use one of {', '.join(FIGURE_FORMATS)}")
    if fmt == "png":
        return save_png(fig, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fig.savefig(f, format=fmt, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _numpy(a: Any) -> np.ndarray:
    """Tensors (any device, with grad) or array-likes to numpy, without importing torch here."""
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a)


def plot_loss(metrics_rows: list[dict[str, Any]], path: str | Path) -> Path:
    """Loss (and each `loss/<term>`) against step on a log axis, with the learning rate on a twin axis.

    Log-y because JEPA losses fall by orders of magnitude and a collapse (loss -> ~0) must stay visible; it falls
    back to a linear axis when a value is <= 0. Rows without a finite loss are left out.
    """
    rows = [r for r in metrics_rows if isinstance(r.get("loss"), (int, float)) and math.isfinite(r["loss"])]
    fig = new_figure(6.0, 3.5)
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, "no loss logged yet", ha="center", va="center", transform=ax.transAxes)
        return save_png(fig, path)
    steps = np.array([r.get("step", i) for i, r in enumerate(rows)], dtype=float)  # [T]
    keys = ["loss"] + sorted({k for r in rows for k in r if k.startswith("loss/")})
    positive = True
    for key in keys:
        vals = np.array([r.get(key, np.nan) for r in rows], dtype=float)  # [T]
        ax.plot(steps, vals, label=key, lw=1.4 if key == "loss" else 0.9)
        positive &= bool(np.all(vals[np.isfinite(vals)] > 0))
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    handles, names = ax.get_legend_handles_labels()
    if any("lr" in r for r in rows):
        lr = np.array([r.get("lr", np.nan) for r in rows], dtype=float)
        ax2 = ax.twinx()
        ax2.plot(steps, lr, color="grey", ls=":", lw=1.0, label="learning rate (right axis)")
        ax2.set_ylabel("learning rate", color="grey")
        ax2.tick_params(axis="y", colors="grey")
        more, more_names = ax2.get_legend_handles_labels()
        handles, names = handles + more, names + more_names
    ax.legend(handles, names, loc="upper right", fontsize=7)
    ax.grid(alpha=0.3, which="both")
    return save_png(fig, path)


def plot_online_probe(metrics_rows: list[dict[str, Any]], path: str | Path) -> Path:
    """The online probe over training: k-NN (and linear) accuracy with its random-init figure as a dashed line,
    RankMe on a twin axis. Learning shows as a curve rising above its line; collapse as one falling back to it."""
    rows = [r for r in metrics_rows if isinstance(r.get("online_knn"), (int, float))]
    init = next((r for r in metrics_rows if "online_knn_random_init" in r), {})
    fig = new_figure(6.0, 3.5)
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, "no online probe logged yet", ha="center", va="center", transform=ax.transAxes)
        return save_png(fig, path)
    steps = np.array([r["step"] for r in rows], dtype=float)  # [P]
    for key, color in (("online_knn", "tab:blue"), ("online_linear", "tab:green")):
        if not any(key in r for r in rows):
            continue
        ax.plot(steps, [r.get(key, np.nan) for r in rows], "o-", color=color, ms=3, label=key.replace("online_", ""))
        if isinstance(init.get(key + "_random_init"), (int, float)):
            ax.axhline(
                init[key + "_random_init"],
                color=color,
                ls="--",
                lw=1.0,
                label=f"{key.replace('online_', '')} at random init",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy (%)")
    handles = list(ax.get_legend_handles_labels()[0])
    if any("online_rankme" in r for r in rows):
        ax2 = ax.twinx()
        ax2.plot(steps, [r.get("online_rankme", np.nan) for r in rows], ":", color="tab:orange", label="RankMe")
        if isinstance(init.get("online_rankme_random_init"), (int, float)):
            ax2.axhline(init["online_rankme_random_init"], color="tab:orange", ls=(0, (1, 4)), lw=0.8)
        ax2.set_ylabel("RankMe (effective rank)", color="tab:orange")
        ax2.tick_params(axis="y", colors="tab:orange")
        handles += ax2.get_legend_handles_labels()[0]
    ax.set_title("online probe (above the dashed line = learning; falling back to it = collapse)", fontsize=9)
    ax.legend(handles=handles, loc="lower right", fontsize=7)
    ax.grid(alpha=0.3)
    return save_png(fig, path)


def _to_display(img: np.ndarray) -> tuple[np.ndarray, str | None]:
    """[C, H, W] (or [H, W]) -> an image imshow understands; [-1, 1] inputs are mapped to [0, 1]."""
    if img.ndim == 2:
        img = img[None]
    lo, hi = float(img.min()), float(img.max())
    img = (img + 1.0) / 2.0 if lo >= -1.0 - 1e-6 and hi <= 1.0 + 1e-6 else (img - lo) / max(hi - lo, 1e-12)
    img = np.clip(img, 0.0, 1.0)
    if img.shape[0] == 3:
        return img.transpose(1, 2, 0), None  # [H, W, 3]
    return img[0], "gray"  # [H, W]; other channel counts show the first channel


def plot_masks(images: Any, context_idx: Any, target_idx: Any, grid: tuple[int, int], path: str | Path) -> Path:
    """Each sample with its context tokens tinted blue and each target block tinted and outlined in its own colour.

    images [K, C, H, W] (tensor or array), context_idx [K, Nc], target_idx [K, M, Nt], flat indices on `grid`
    (gh, gw). Seeing the masks is the quickest check that a masker matches its description.
    """
    from matplotlib.patches import Rectangle

    x, ctx, tgt = _numpy(images), _numpy(context_idx).astype(np.int64), _numpy(target_idx).astype(np.int64)
    if len(grid) != 2:
        raise ValueError(f"plot_masks draws 2-D grids only, got grid {tuple(grid)}")
    gh, gw = (int(g) for g in grid)
    if ctx.ndim != 2 or tgt.ndim != 3 or not (len(x) == len(ctx) == len(tgt)):
        raise ValueError(
            f"expected images [K,C,H,W], context [K,Nc], targets [K,M,Nt]; got {x.shape}, {ctx.shape}, {tgt.shape}"
        )
    n_tok = gh * gw
    if ctx.size and (ctx.min() < 0 or ctx.max() >= n_tok) or tgt.size and (tgt.min() < 0 or tgt.max() >= n_tok):
        raise ValueError(f"mask indices fall outside the {gh}x{gw} grid")
    import matplotlib

    palette = matplotlib.colormaps["tab10"]
    k = len(x)
    fig = new_figure(2.2 * k, 2.5)
    for i in range(k):
        ax = fig.add_subplot(1, k, i + 1)
        img, cmap = _to_display(x[i])
        ax.imshow(img, cmap=cmap, vmin=0, vmax=1, extent=(0, gw, gh, 0), interpolation="nearest")
        overlay = _mask_overlay(n_tok, ctx[i], tgt[i], palette)  # [N, RGBA]
        for m in range(tgt.shape[1]):
            colour = palette((m + 1) % 10)[:3]
            rows, cols = np.divmod(np.unique(tgt[i, m]), gw)  # bounding box of the block, in grid cells
            ax.add_patch(
                Rectangle(
                    (cols.min(), rows.min()),
                    cols.max() - cols.min() + 1,
                    rows.max() - rows.min() + 1,
                    fill=False,
                    edgecolor=colour,
                    lw=1.6,
                )
            )
        ax.imshow(overlay.reshape(gh, gw, 4), extent=(0, gw, gh, 0), interpolation="nearest")
        ax.set_xlim(0, gw)
        ax.set_ylim(gh, 0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(mask_caption(ctx.shape[1], tgt.shape[1], tgt.shape[2]).replace(", ", "\n"), fontsize=7)
    fig.suptitle(MASK_LEGEND, fontsize=8)
    return save_png(fig, path)


def plot_masks_3d(
    videos: Any, context_idx: Any, target_idx: Any, grid: tuple[int, int, int], path: str | Path, samples: int = 2
) -> Path:
    """Video masks as frame strips: one row per sample, one column per tubelet time step.

    videos [K, C, T, H, W], context_idx [K, Nc], target_idx [K, M, Nt], flat indices on `grid` (gt, gh, gw).
    Blue: context; colours: target blocks; grey: neither (the input itself may be black, e.g. a blank canvas).
    A tube mask shows as the same cells lit in every column.
    """
    import matplotlib

    x, ctx, tgt = _numpy(videos), _numpy(context_idx).astype(np.int64), _numpy(target_idx).astype(np.int64)
    if len(grid) != 3 or x.ndim != 5:
        raise ValueError(f"plot_masks_3d draws videos [K,C,T,H,W] on 3-D grids, got {x.shape} on {tuple(grid)}")
    gt, gh, gw = (int(g) for g in grid)
    step = max(1, x.shape[2] // gt)  # frames per tubelet
    palette = matplotlib.colormaps["tab10"]
    k = min(samples, len(x))
    fig = new_figure(1.6 * gt, 1.8 * k)
    for i in range(k):
        flat = _mask_overlay(gt * gh * gw, ctx[i], tgt[i], palette)  # [N, RGBA]
        for m in range(tgt.shape[1]):  # targets need a stronger tint here: no outlines on a strip
            flat[tgt[i, m], 3] = 0.45
        overlay = flat.reshape(gt, gh, gw, 4)  # [T, H, W, RGBA]
        for t in range(gt):
            ax = fig.add_subplot(k, gt, i * gt + t + 1)
            img, cmap = _to_display(x[i][:, t * step])
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1, extent=(0, gw, gh, 0), interpolation="nearest")
            ax.imshow(overlay[t], extent=(0, gw, gh, 0), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"t={t * step}", fontsize=7)
    fig.suptitle(
        f"{mask_caption(ctx.shape[1], tgt.shape[1], tgt.shape[2])} per clip. Blue: context; colours: target "
        "blocks; grey: neither; columns: tubelet time steps",
        fontsize=8,
    )
    return save_png(fig, path)


def plot_embedding_pca(
    feats: Any, labels: Any, path: str | Path, *, class_names: list[str] | None = None, title: str = ""
) -> Path:
    """The first two principal components of features [N, F], coloured by label.

    A quick look at class structure and collapse: collapsed features show as a line or a dot. `class_names`
    name the labels in the legend (indices otherwise); `title` says which encoder and split the points are.
    """
    z = _numpy(feats).astype(np.float64)
    y = _numpy(labels).reshape(-1)
    if z.ndim != 2 or len(z) < 2 or len(z) != len(y):
        raise ValueError(f"plot_embedding_pca needs feats [N >= 2, F] and labels [N]; got {z.shape}, {y.shape}")
    if not np.isfinite(z).all():
        raise ValueError("features contain NaN or inf")
    z = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    xy = z @ vt[:2].T  # [N, <=2]
    if xy.shape[1] < 2:
        xy = np.concatenate([xy, np.zeros((len(xy), 2 - xy.shape[1]))], axis=1)
    var = s**2 / max(float((s**2).sum()), 1e-12)
    classes, codes = np.unique(y, return_inverse=True)
    fig = new_figure(6.0, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    cmap = "tab10" if len(classes) <= 10 else "tab20" if len(classes) <= 20 else "viridis"
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=codes, cmap=cmap, s=6, alpha=0.8, vmin=0, vmax=max(len(classes) - 1, 1))
    if len(classes) <= 20:
        handles, _ = sc.legend_elements(num=None)  # one handle per distinct code
        names = [class_names[int(c)] if class_names and _is_index(c, len(class_names)) else str(c) for c in classes]
        ax.legend(handles, names, fontsize=7, markerscale=1.2, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ev = [f"{100 * v:.1f}%" for v in list(var[:2]) + [0.0] * (2 - len(var[:2]))]
    ax.set_xlabel(f"PC1 ({ev[0]})")
    ax.set_ylabel(f"PC2 ({ev[1]})")
    ax.set_title(f"{title}: PCA, n={len(z)}" if title else f"embedding PCA, n={len(z)}", fontsize=9)
    return save_png(fig, path)


def _is_index(c: Any, n: int) -> bool:
    return isinstance(c, (int, np.integer)) and 0 <= int(c) < n
