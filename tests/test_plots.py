"""Plots are written as complete, valid PNGs (and no temp files are left behind)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from jepakit.library import plots


def _assert_png(path: Path) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 50 and im.size[1] > 50
        im.verify()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_plot_loss_with_lr_and_terms(tmp_path: Path) -> None:
    rows = [
        {"step": s, "loss": 1.0 / (s + 1), "loss/pred": 0.5 / (s + 1), "lr": 1e-3 * min(1, s / 5)} for s in range(20)
    ]
    rows.append({"step": 20, "loss": float("nan")})  # a bad row is dropped, not plotted
    _assert_png(plots.plot_loss(rows, tmp_path / "sub" / "loss.png"))


def test_plot_loss_empty_and_nonpositive(tmp_path: Path) -> None:
    _assert_png(plots.plot_loss([], tmp_path / "empty.png"))
    _assert_png(plots.plot_loss([{"step": 0, "loss": 0.0}, {"step": 1, "loss": -0.1}], tmp_path / "neg.png"))


def test_plot_masks_tensor_and_array(tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    images = torch.rand(3, 1, 16, 16, generator=g) * 2 - 1  # [K, C, H, W]
    ctx = torch.stack([torch.randperm(64, generator=g)[:20] for _ in range(3)])  # [K, Nc]
    block = torch.tensor([0, 1, 8, 9])  # a 2x2 block on the 8x8 grid
    tgt = torch.stack([torch.stack([block + 18, block + 36]) for _ in range(3)])  # [K, M=2, Nt=4]
    _assert_png(plots.plot_masks(images, ctx, tgt, (8, 8), tmp_path / "masks.png"))
    rgb = np.random.default_rng(0).random((2, 3, 16, 16))  # RGB in [0, 1] on a 4x4 grid
    ctx4 = np.array([[2, 3, 6, 7], [8, 9, 12, 13]])  # [K, Nc]
    tgt4 = np.array([[[0, 1, 4, 5]], [[10, 11, 14, 15]]])  # [K, M=1, Nt=4]
    _assert_png(plots.plot_masks(rgb, ctx4, tgt4, (4, 4), tmp_path / "rgb.png"))
    with pytest.raises(ValueError):
        plots.plot_masks(images, ctx, tgt, (4, 4), tmp_path / "bad.png")  # indices beyond a 4x4 grid


def test_plot_masks_3d_draws_tubes_on_every_frame(tmp_path: Path) -> None:
    """A V-JEPA tube: the same cells in each tubelet step; the PNG shows one column per step."""
    video = torch.rand(2, 1, 8, 16, 16)  # [K, C, T, H, W]
    grid = (4, 4, 4)  # tubelet 2 frames, 4x4 patches
    tube = torch.tensor([5, 6, 9, 10])  # a 2x2 spatial block
    tgt = torch.stack([tube + 16 * t for t in range(4)]).flatten()  # the block on every time step
    tgt = tgt[None, None].expand(2, 1, -1)  # [K, M=1, Nt=16]
    ctx = torch.tensor([i for i in range(64) if i not in set(tgt[0, 0].tolist())])[None].expand(2, -1)  # [K, 48]
    path = plots.plot_masks_3d(video, ctx, tgt, grid, tmp_path / "masks3d.png")
    _assert_png(path)
    with Image.open(path) as im:
        assert im.size[0] > im.size[1]  # 4 frame columns, 2 sample rows
    with pytest.raises(ValueError):
        plots.plot_masks_3d(video[:, 0], ctx, tgt, grid, tmp_path / "bad.png")  # [K, T, H, W] is not a video batch


def test_plot_embedding_pca(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 25)
    feats = rng.normal(size=(100, 8)) + labels[:, None]
    _assert_png(plots.plot_embedding_pca(feats, labels, tmp_path / "pca.png"))
    with pytest.raises(ValueError):
        plots.plot_embedding_pca(np.zeros((1, 3)), np.zeros(1), tmp_path / "one.png")


def test_atomic_write_replaces_existing(tmp_path: Path) -> None:
    path = tmp_path / "loss.png"
    path.write_bytes(b"old")
    plots.plot_loss([{"step": 0, "loss": 1.0}, {"step": 1, "loss": 0.5}], path)
    _assert_png(path)


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions draw, captured as they are saved (what the PNG shows, as text a test reads)."""
    figures = []
    save = plots.save_png

    def keep(fig, path):
        figures.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "save_png", keep)
    return figures


def test_what_the_plots_say(tmp_path: Path, drawn) -> None:
    """Legends and captions a reader relies on: the lr curve is in the legend; mask captions say what the blocks
    are, in words and with correct plurals; the PCA legend names classes and its title the encoder."""
    plots.plot_loss([{"step": s, "loss": 1.0 / (s + 1), "lr": 1e-3} for s in range(5)], tmp_path / "l.png")
    legend = [t.get_text() for t in drawn[-1].axes[0].get_legend().get_texts()]
    assert legend == ["loss", "learning rate (right axis)"]

    images = np.zeros((2, 1, 16, 16))  # a black canvas: the grey 'neither' cells must stay explained
    ctx = np.array([[2, 3, 6, 7], [8, 9, 12, 13]])
    tgt = np.array([[[0, 1, 4, 5]], [[10, 11, 14, 15]]])
    plots.plot_masks(images, ctx, tgt, (4, 4), tmp_path / "m.png")
    fig = drawn[-1]
    assert [ax.get_title() for ax in fig.axes] == ["context 4 tokens\n1 target x 4 tokens"] * 2
    assert fig._suptitle.get_text() == plots.MASK_LEGEND and "grey: in neither" in plots.MASK_LEGEND
    assert "outline" in plots.MASK_LEGEND and len(fig.axes[0].patches) == 1  # the caption's outline is drawn
    assert plots.mask_caption(19, 4, 12) == "context 19 tokens, 4 targets x 12 tokens"

    labels = np.repeat(np.arange(3), 10)
    feats = np.random.default_rng(0).normal(size=(30, 5)) + labels[:, None]
    names = ["cat", "dog", "bird"]
    plots.plot_embedding_pca(feats, labels, tmp_path / "p.png", class_names=names, title="target encoder")
    ax = drawn[-1].axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == names
    assert ax.get_title().startswith("target encoder: PCA")
