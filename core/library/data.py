"""Data helpers plugins share: the in-memory tensor split, stratified splitting, class-folder discovery, image
fitting and loading, JSONL records, and the on-disk cache folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit.errors import JepakitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


class ImageSplit(Dataset):
    """One split held in memory: `x` [N, C, H, W] float32 in [-1, 1], `y` [N] long. Indexing is a tensor view.

    `skipped` lists files that could not be read (image folders only), so callers can report them.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, skipped: list[str] | None = None) -> None:
        self.x = x.contiguous()  # [N, C, H, W]
        self.y = y.long()  # [N]
        self.skipped: list[str] = list(skipped or [])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


def stratified_split(y: np.ndarray, test: float | int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified indices (train, test): every class appears in both splits in proportion."""
    from sklearn.model_selection import train_test_split

    train, test_idx = train_test_split(np.arange(len(y)), test_size=test, stratify=y, random_state=seed)
    return np.sort(train), np.sort(test_idx)


def class_folders(root: Path, cfg: Any) -> list[Path]:
    """The class sub-folders of a user's data root (`cfg.path`), sorted; a clear error for every bad layout."""
    if not cfg.path:
        raise JepakitError("data.path is empty: this dataset reads your own files",
                           'set data.path = "/path/to/data" (one sub-folder per class)')
    if not root.exists():
        raise JepakitError(f"data.path: folder not found: {root}",
                           "check the path; it must be a folder with one sub-folder per class")
    if not root.is_dir():
        raise JepakitError(f"data.path: {root} is a file, not a folder",
                           "point data.path at the folder that holds one sub-folder per class")
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise JepakitError(f"data.path: {root} is empty", "lay files out as path/<class name>/<file>")
    classes = sorted((p for p in entries if p.is_dir()), key=lambda p: p.name)
    if not classes:
        loose = sum(p.suffix.lower() in IMAGE_SUFFIXES for p in entries)
        raise JepakitError(f"data.path: {root} has no class sub-folders ({loose} image file(s) directly inside)",
                           "move images into one sub-folder per class: path/<class name>/<image file>")
    if len(classes) < 2:
        raise JepakitError(f'data.path: {root} has 1 class folder ("{classes[0].name}"); probes need at least 2',
                           "add a second class folder, e.g. path/<other class>/<image file>")
    return classes


def load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """Center-crop to a square, resize, and return float32 [C, S, S] in [0, 1]; raises on unreadable files."""
    from PIL import Image

    with Image.open(path) as im:
        im.seek(0)  # first frame of an animated gif/webp
        return fit_image(im, size, channels)


def fit_image(im: Any, size: int, channels: int) -> np.ndarray:
    """A PIL image center-cropped to a square and resized: float32 [C, S, S] in [0, 1] (also video frames)."""
    from PIL import Image, ImageOps

    im = im.convert("L" if channels == 1 else "RGB")
    im = ImageOps.fit(im, (size, size), method=Image.BILINEAR)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr.reshape(size, size, channels).transpose(2, 0, 1)


def json_object(line: str) -> dict[str, Any]:
    """One JSONL line -> its object; ValueError says why not (the reason a loader's skip warning names)."""
    try:
        rec: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"not a JSON object but {type(rec).__name__}")
    return rec


def cache_dir() -> Path | None:
    """$JEPAKIT_CACHE, else ~/.cache/jepakit; JEPAKIT_CACHE set to "", "0", "off" or "none" disables it."""
    env = os.environ.get("JEPAKIT_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("", "0", "off", "none", "false") else Path(env).expanduser()
    return Path.home() / ".cache" / "jepakit"
