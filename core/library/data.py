"""Data helpers plugins share: the in-memory tensor split, stratified splitting, class-folder discovery and
reading, image fitting and loading, JSONL records, and the on-disk cache folder."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit.errors import JepakitError

log = logging.getLogger("jepakit")

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


def class_folders(root: Path, cfg: Any, suffixes: tuple[str, ...] = IMAGE_SUFFIXES, noun: str = "image") -> list[Path]:
    """The class sub-folders of a user's data root (`cfg.path`), sorted; a clear error for every bad layout.

    `suffixes` are the files the loader reads and `noun` what one is called ("image", "recording"), for the
    messages only.
    """
    if not cfg.path:
        raise JepakitError(
            "data.path is empty: this dataset reads your own files",
            'set data.path = "/path/to/data" (one sub-folder per class)',
        )
    if not root.exists():
        raise JepakitError(
            f"data.path: folder not found: {root}", "check the path; it must be a folder with one sub-folder per class"
        )
    if not root.is_dir():
        raise JepakitError(
            f"data.path: {root} is a file, not a folder",
            "point data.path at the folder that holds one sub-folder per class",
        )
    entries = [p for p in root.iterdir() if not p.name.startswith(".")]
    if not entries:
        raise JepakitError(f"data.path: {root} is empty", "lay files out as path/<class name>/<file>")
    classes = sorted((p for p in entries if p.is_dir()), key=lambda p: p.name)
    if not classes:
        loose = sum(p.suffix.lower() in suffixes for p in entries)
        raise JepakitError(
            f"data.path: {root} has no class sub-folders ({loose} {noun} file(s) directly inside)",
            f"move {noun}s into one sub-folder per class: path/<class name>/<{noun} file>",
        )
    if len(classes) < 2:
        raise JepakitError(
            f'data.path: {root} has 1 class folder ("{classes[0].name}"); probes need at least 2',
            f"add a second class folder, e.g. path/<other class>/<{noun} file>",
        )
    return classes


@dataclass
class ClassFolderData:
    """A class-folder dataset as read by `read_class_folders`: one loaded item per readable file."""

    root: Path
    items: list[Any]  # what `load` returned, file by file, class by class
    labels: np.ndarray  # [N] class index of each item
    names: list[str]  # class names (the sub-folders), sorted
    skipped: list[str]  # files left out: other suffixes, or `load` raised
    train: np.ndarray  # stratified indices into items
    test: np.ndarray


def load_or_skip(
    file: Path, suffixes: tuple[str, ...], load: Callable[[Path], Any], skipped: list[str]
) -> tuple[bool, Any]:
    """(True, `load(file)`), or (False, None) with the file added to `skipped`: it has another suffix, or `load`
    raised (any decoder or header failure means "skip this file", never a reason to stop)."""
    if file.suffix.lower() not in suffixes:
        skipped.append(str(file))
        return False, None
    try:
        return True, load(file)
    except Exception as exc:  # see above: skipped and counted, the caller warns once
        log.debug("skipping %s: %s", file, exc)
        skipped.append(str(file))
        return False, None


def read_class_folders(
    cfg: Any, suffixes: tuple[str, ...], load: Callable[[Path], Any], *, source: str, noun: str
) -> ClassFolderData:
    """Every file under `cfg.path`/<class>/ (recursively, hidden files ignored) loaded with `load`, and a split.

    Files with another suffix, or that `load` raises on, are skipped, never fatal: one warning on the "jepakit"
    logger counts them and names the first. A class left with fewer than 2 items is a JepakitError naming it and
    its first unreadable file. The split is stratified by `cfg.split_seed` with `cfg.test_fraction` (at least
    one test item per class), so every run of a user's data is scored on one test set.
    """
    root = Path(cfg.path).expanduser()
    folders = class_folders(root, cfg, suffixes, noun)
    items: list[Any] = []
    labels: list[int] = []
    skipped: list[str] = []
    for label, folder in enumerate(folders):
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            ok, item = load_or_skip(file, suffixes, load, skipped)
            if ok:
                items.append(item)
                labels.append(label)
    if skipped:
        log.warning(
            "%s: skipped %d unreadable file(s) under %s (not %s, or failed to load); first: %s",
            source,
            len(skipped),
            root,
            "/".join(suffixes),
            skipped[0],
        )
    names = [f.name for f in folders]
    y = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(y, minlength=len(names))
    if counts.min() < 2:
        worst = names[int(counts.argmin())]
        bad = [s for s in skipped if Path(s).is_relative_to(root / worst)]
        raise JepakitError(
            f'data.path: class folder "{worst}" has {int(counts.min())} readable {noun}(s)'
            + (f"; unreadable: {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "") if bad else ""),
            f"every class needs at least 2 readable {noun}s (one for train, one for test)",
        )
    n, k = len(y), len(names)
    n_test = max(int(np.ceil(cfg.test_fraction * n)), k)
    if n - n_test < k:
        raise JepakitError(
            f"data.path: {n} {noun}s are too few to split {k} classes with test_fraction {cfg.test_fraction}",
            f"add {noun}s or change data.test_fraction",
        )
    train, test = stratified_split(y, n_test, int(cfg.split_seed))
    return ClassFolderData(root, items, y, names, skipped, train, test)


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
    im = ImageOps.fit(im, (size, size), method=Image.Resampling.BILINEAR)
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
