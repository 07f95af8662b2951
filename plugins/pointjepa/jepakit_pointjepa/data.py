"""Point-cloud datasets: Sweet Home 3D's furniture (real models), generated parametric shapes, and the user's own
files. Every split holds clouds sampled once ([N, stored, 3], on the unit sphere); a sample is `points` of them.

Training reads `pretrain`, whose `sample(index, key)` applies Point-JEPA's transforms with a key that is a pure
function of (run seed, step, index): a fresh random subset of the stored points, scale U(0.8, 1.2) on x and z,
re-centring into the unit sphere, a rotation about the up axis (y) and a translation of up to 0.2. The probes
read `train` / `test`: the first `points` stored points (a fixed uniform subset), never augmented.
"""

from __future__ import annotations

import logging
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit import JepakitError
from jepakit.api import cache_dir, read_class_folders, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_pointjepa.config import AugmentConfig, FurnitureConfig, PointFolderConfig, ShapesConfig
from jepakit_pointjepa.furniture import CLASSES, PACKAGE_HINT, load_models
from jepakit_pointjepa.geometry import normalise
from jepakit_pointjepa.meshes import POINT_SUFFIXES, MeshError, read_cloud
from jepakit_pointjepa.shapes import SHAPES, shape_set

log = logging.getLogger("jepakit")


class PointSplit(Dataset):
    """Clouds [N, stored, 3] and labels [N] (-1 = unlabelled). `x` is the clean view [N, points, 3]."""

    def __init__(
        self, clouds: torch.Tensor, y: torch.Tensor, points: int, augment: AugmentConfig | None = None
    ) -> None:
        self.store, self.y, self.points = clouds.float().contiguous(), y.long(), int(points)
        self.augment = augment if augment is not None and augment.augment else None
        self.x = self.store[:, : self.points].contiguous()  # [N, points, 3] the clean clouds the probes read

    def __len__(self) -> int:
        return int(self.store.shape[0])

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])

    def sample(self, i: int, key: int) -> tuple[torch.Tensor, int]:
        """Cloud i under Point-JEPA's training transforms drawn from `key`; clean when augmentation is off."""
        if self.augment is None:
            return self[i]
        return augment_cloud(self.store[i], self.points, self.augment, key), int(self.y[i])


def augment_cloud(cloud: torch.Tensor, points: int, cfg: AugmentConfig, key: int) -> torch.Tensor:
    """[S, 3] -> [points, 3]: subsample, scale x/z, unit sphere, rotate about y, translate (the paper's order)."""
    g = torch.Generator().manual_seed(int(key) % (2**63 - 1))
    p = cloud[torch.randperm(cloud.shape[0], generator=g)[:points]]  # [points, 3]
    lo, hi = cfg.scale
    s = lo + (hi - lo) * torch.rand(2, generator=g)
    p = p * torch.stack([s[0], torch.ones(()), s[1]])
    p = normalise(p)
    if cfg.rotate:
        a = 2 * math.pi * float(torch.rand(1, generator=g))
        c, si = math.cos(a), math.sin(a)
        rot = torch.tensor([[c, 0.0, si], [0.0, 1.0, 0.0], [-si, 0.0, c]])
        p = p @ rot.T
    if cfg.translate:
        p = p + (torch.rand(3, generator=g) * 2 - 1) * cfg.translate
    return p.contiguous()


def d2_features(x: torch.Tensor, bins: int = 64) -> torch.Tensor:
    """The hand-crafted raw baseline: x [B, P, 3] -> [B, bins + 3]: the D2 shape distribution (Osada et al.: the
    histogram of distances between point pairs, over [0, 2] on the unit sphere; 4 P fixed pairs) and the
    extents of the bounding box along x, y, z."""
    x = x.float()
    B, P, _ = x.shape
    i = torch.arange(P)
    d = torch.cat([(x - x[:, (i * s + o) % P]).norm(dim=-1) for s, o in ((7, 1), (13, 5), (31, 11), (61, 17))], 1)
    idx = (d / 2.0 * bins).long().clamp(0, bins - 1)  # [B, 4P]
    hist = torch.zeros(B, bins).scatter_add_(1, idx, torch.ones_like(d)) / d.shape[1]
    extents = x.amax(dim=1) - x.amin(dim=1)  # [B, 3]
    return torch.cat([hist, extents], dim=1)


def _splits(
    name: str,
    clouds: np.ndarray,
    y: np.ndarray,
    cfg: Any,
    class_names: list[str],
    train_idx: np.ndarray | None,
    test_idx: np.ndarray | None,
    pretrain_idx: np.ndarray,
    meta: dict[str, Any],
) -> DataSplits:
    t_clouds, t_y = torch.from_numpy(np.ascontiguousarray(clouds)), torch.from_numpy(np.asarray(y, dtype=np.int64))

    def split(idx: np.ndarray, augment: bool) -> PointSplit:
        ix = torch.from_numpy(np.asarray(idx, dtype=np.int64))
        return PointSplit(t_clouds[ix], t_y[ix], cfg.points, cfg if augment else None)

    return DataSplits(
        name=name,
        train=None if train_idx is None else split(train_idx, False),
        test=None if test_idx is None else split(test_idx, False),
        input_shape=(int(cfg.points), 3),
        num_classes=len(class_names),
        modality="points",
        class_names=list(class_names),
        meta={"up_axis": 1, **meta},
        raw_features=d2_features,
        pretrain=split(pretrain_idx, True),
    )


def furniture(cfg: FurnitureConfig, seed: int = 0) -> DataSplits:
    """Sweet Home 3D's furniture: the labelled models split stratified (test_fraction), every distinct model
    (labelled or not) for pretraining; clouds cached under jepakit's cache folder."""
    root = Path(cfg.path).expanduser()
    if not root.is_dir() or not any(root.glob("*.sh3f")):
        raise JepakitError(f"data.path: no Sweet Home 3D furniture catalogues (*.sh3f) in {root}", PACKAGE_HINT)
    clouds, y, names, dups = _cached_models(root, cfg.stored)
    y = y.copy()
    counts = np.bincount(y[y >= 0], minlength=len(CLASSES))
    y[(y >= 0) & (counts[np.maximum(y, 0)] < 2)] = -1  # a class needs a train and a test model (subsets of catalogues)
    labelled = np.flatnonzero(y >= 0)
    if len(labelled) < 4:
        raise JepakitError(
            f"data.path: the catalogues under {root} hold too few models of the 11 classes", PACKAGE_HINT
        )
    tr, te = stratified_split(y[labelled], cfg.test_fraction, cfg.split_seed)
    pretrain = np.arange(len(y)) if cfg.pretrain == "all" else labelled
    meta = {"models": len(y), "labelled": len(labelled), "duplicates_dropped": dups, "source": str(root)}
    return _splits("sweethome3d-furniture", clouds, y, cfg, list(CLASSES), labelled[tr], labelled[te], pretrain, meta)


def _cached_models(root: Path, stored: int) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """load_models, read from / written to the cache (keyed by the catalogues' names, sizes and mtimes)."""
    stamp = "|".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in sorted(root.glob("*.sh3f")))
    base = cache_dir()
    path = None if base is None else base / "pointjepa" / f"furniture-{stored}-{zlib.crc32(stamp.encode()):08x}.npz"
    if path is not None and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return z["clouds"], z["labels"], [str(n) for n in z["names"]], int(z["dups"])
        except (OSError, ValueError, KeyError) as exc:
            log.warning("pointjepa: ignoring an unreadable cache %s (%s)", path, exc)
    log.info("pointjepa: sampling %d points from every furniture model (once; cached)", stored)
    clouds, y, names, dups = load_models(root, stored)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, clouds=clouds, labels=y, names=np.asarray(names), dups=dups)
        tmp.replace(path)
    return clouds, y, names, dups


def shapes(cfg: ShapesConfig, seed: int = 0) -> DataSplits:
    """Generated parametric shapes: train_per_class + test_per_class clouds of each of `classes` shapes."""
    x_tr, y_tr = shape_set(cfg.train_per_class, cfg.stored, cfg.seed, cfg.classes)
    x_te, y_te = shape_set(cfg.test_per_class, cfg.stored, cfg.seed + 1_000_003, cfg.classes)
    clouds, y = np.concatenate([x_tr, x_te]), np.concatenate([y_tr, y_te])
    tr, te = np.arange(len(y_tr)), len(y_tr) + np.arange(len(y_te))
    return _splits("parametric-shapes", clouds, y, cfg, list(SHAPES[: cfg.classes]), tr, te, tr, {})


def point_folder(cfg: PointFolderConfig, seed: int = 0) -> DataSplits:
    """The user's clouds and meshes: class sub-folders (labelled, stratified split) or files directly in the
    folder (unlabelled: pretraining only). Unreadable files are skipped and counted in one warning."""
    root = Path(cfg.path).expanduser()
    if not cfg.path or not root.is_dir():
        raise JepakitError(
            f"data.path: {cfg.path or '(empty)'} is not a folder",
            f"point data.path at a folder of {'/'.join(POINT_SUFFIXES)} files (class sub-folders for labels)",
        )

    def load(file: Path) -> np.ndarray:
        return read_cloud(file, cfg.stored, np.random.default_rng(zlib.crc32(file.name.encode())))

    if any(p.is_dir() and not p.name.startswith(".") for p in root.iterdir()):
        data = read_class_folders(cfg, POINT_SUFFIXES, load, source="pointjepa/point-folder", noun="cloud")
        clouds, y = np.stack(data.items), np.asarray(data.labels)
        meta = {"skipped": list(data.skipped)}
        return _splits(root.name, clouds, y, cfg, data.names, data.train, data.test, data.train, meta)
    items, skipped = [], []
    for file in sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            if file.suffix.lower() not in POINT_SUFFIXES:
                raise MeshError("other suffix")
            items.append(load(file))
        except (MeshError, OSError, ValueError) as exc:
            skipped.append(f"{file} ({exc})")
    if skipped:
        log.warning(
            "pointjepa/point-folder: skipped %d unreadable file(s) under %s; first: %s", len(skipped), root, skipped[0]
        )
    if not items:
        raise JepakitError(
            f"data.path: no readable cloud or mesh in {root}" + (f" (first failure: {skipped[0]})" if skipped else ""),
            f"put {'/'.join(POINT_SUFFIXES)} files there, or class sub-folders of them",
        )
    clouds = np.stack(items)
    y = np.full(len(items), -1, dtype=np.int64)
    return _splits(root.name, clouds, y, cfg, [], None, None, np.arange(len(y)), {"skipped": skipped})
