"""Core's datasets: real material that ships offline, and a loader for the user's own images.

Each returns `DataSplits` with a fixed train/test split, so every probe row (trained, random init, raw) is
scored on the same images.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from jepakit.builtin.data_config import DigitsConfig, GlyphsConfig, ImageFolderConfig
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits

log = logging.getLogger("jepakit")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


def _split(y: np.ndarray, test: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=test, stratify=y, random_state=seed)


def _splits(name: str, x: torch.Tensor, y: np.ndarray, tr: np.ndarray, te: np.ndarray, classes: list[str]) -> DataSplits:
    yt = torch.as_tensor(y, dtype=torch.long)
    return DataSplits(name, TensorDataset(x[tr], yt[tr]), TensorDataset(x[te], yt[te]), tuple(x.shape[1:]),
                      len(classes), "image", classes)


def digits(cfg: DigitsConfig, seed: int = 0) -> DataSplits:
    """scikit-learn digits: pixels / 16, bilinear upsampling to cfg.size, mapped to [-1, 1]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.as_tensor(d.images, dtype=torch.float32)[:, None] / 16.0  # [1797, 1, 8, 8]
    x = F.interpolate(x, size=(cfg.size, cfg.size), mode="bilinear", align_corners=False) * 2 - 1
    tr, te = _split(d.target, cfg.test_size, cfg.split_seed)
    return _splits(f"digits{cfg.size}", x, d.target, tr, te, [str(i) for i in range(10)])


def _fonts() -> list[Path]:
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    faces = sorted(p for p in ttf.glob("*.ttf") if p.stem.startswith(("DejaVu", "STIXGeneral", "cmr", "cmss", "cmtt")))
    if not faces:
        raise JepakitError(f"no fonts found in {ttf}", "reinstall matplotlib (it ships the fonts glyphs renders)")
    return faces


def _render(letter: str, font_path: Path, cfg: GlyphsConfig, rng: np.random.Generator, fonts: list[Path]) -> np.ndarray:
    """One glyph on a canvas 2x the output size, transformed, cluttered, then downsampled (anti-aliasing)."""
    from PIL import Image, ImageDraw, ImageFont

    big = cfg.size * 2
    img = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(font_path), int(big * rng.uniform(0.55, 0.8)))
    left, top, right, bottom = draw.textbbox((0, 0), letter, font=font)
    draw.text(((big - (right - left)) / 2 - left, (big - (bottom - top)) / 2 - top), letter, fill=255, font=font)
    if cfg.jitter:
        angle = rng.uniform(-15, 15)
        scale = rng.uniform(0.7, 1.1)
        shear = rng.uniform(-0.2, 0.2)
        dx, dy = rng.uniform(-0.22, 0.22, size=2) * big
        img = img.rotate(angle, resample=Image.BILINEAR, center=(big / 2, big / 2))
        c = big / 2  # inverse affine about the centre: output (u, v) samples input (a u + b v + e, ...)
        a, b, d_, e_ = 1 / scale, shear / scale, 0.0, 1 / scale
        img = img.transform((big, big), Image.AFFINE, (a, b, c - a * c - b * c - dx, d_, e_, c - e_ * c - dy),
                            resample=Image.BILINEAR)
    if cfg.clutter:
        draw = ImageDraw.Draw(img)
        for _ in range(rng.integers(1, 4)):  # strokes
            pts = [tuple(rng.uniform(0, big, size=2)) for _ in range(2)]
            draw.line(pts, fill=int(rng.uniform(90, 200)), width=int(rng.integers(1, 3)))
        if rng.random() < 0.5:  # a fragment of another glyph at the border
            other = chr(ord("A") + int(rng.integers(0, 26)))
            frag = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), int(big * 0.5))
            corner = (float(rng.choice([-0.25, 0.75])) * big, float(rng.uniform(-0.2, 0.8)) * big)
            draw.text(corner, other, fill=int(rng.uniform(120, 220)), font=frag)
    out = np.asarray(img.resize((cfg.size, cfg.size), Image.BILINEAR), dtype=np.float32) / 255.0
    if cfg.clutter:
        out = np.clip(out + rng.normal(0, 0.05, size=out.shape), 0, 1)
    return out


def glyphs(cfg: GlyphsConfig, seed: int = 0) -> DataSplits:
    """Letters from matplotlib's fonts with affine jitter and clutter; deterministic from cfg.seed."""
    fonts = _fonts()
    rng = np.random.default_rng(cfg.seed)
    letters = [chr(ord("A") + i) for i in range(cfg.classes)]
    images, labels = [], []
    for label, letter in enumerate(letters):
        for _ in range(cfg.per_class):
            images.append(_render(letter, fonts[int(rng.integers(len(fonts)))], cfg, rng, fonts))
            labels.append(label)
    x = torch.as_tensor(np.stack(images))[:, None] * 2 - 1  # [N, 1, S, S] in [-1, 1]
    y = np.asarray(labels)
    tr, te = _split(y, cfg.test_fraction, cfg.seed)
    return _splits(f"glyphs{cfg.size}", x, y, tr, te, letters)


def image_folder(cfg: ImageFolderConfig, seed: int = 0) -> DataSplits:
    """path/<class>/<image>: resized to cfg.size, [-1, 1]; unreadable files are skipped, counted and logged."""
    from PIL import Image, UnidentifiedImageError

    root = Path(cfg.path).expanduser()
    if not cfg.path or not root.is_dir():
        raise JepakitError(f"data.path: image folder not found: {cfg.path or '(empty)'}",
                           "set data.path to a folder with one subfolder of images per class")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise JepakitError(f"data.path: {root} has {len(classes)} class folder(s); a probe needs at least 2",
                           "lay images out as path/<class name>/<image file>")
    if cfg.channels not in (1, 3):
        raise JepakitError(f"data.channels: expected 1 or 3, got {cfg.channels}", "1 = grayscale, 3 = RGB")
    images, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).rglob("*")):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(file) as im:
                    im = im.convert("L" if cfg.channels == 1 else "RGB").resize((cfg.size, cfg.size), Image.BILINEAR)
                    arr = np.asarray(im, dtype=np.float32) / 255.0
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                skipped.append(str(file))
                continue
            images.append(arr.reshape(cfg.size, cfg.size, cfg.channels).transpose(2, 0, 1))
            labels.append(label)
    if skipped:
        log.warning("skipped %d unreadable image file(s) in %s, first: %s", len(skipped), root, skipped[0])
    counts = np.bincount(labels, minlength=len(classes)) if labels else np.zeros(len(classes), int)
    if counts.min() < 2:
        empty = classes[int(counts.argmin())]
        raise JepakitError(f'data.path: class folder "{empty}" has {int(counts.min())} readable image(s)',
                           "every class needs at least 2 readable images for a train/test split")
    x = torch.as_tensor(np.stack(images)) * 2 - 1
    y = np.asarray(labels)
    tr, te = _split(y, cfg.test_fraction, cfg.split_seed)
    splits = _splits(root.name, x, y, tr, te, classes)
    splits.skipped = skipped  # type: ignore[attr-defined]
    return splits
