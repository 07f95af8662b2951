"""Your own ROI time series as a Brain-JEPA dataset: `.npy`, `.csv`, `.mat` per subject, or NIfTI + an atlas.

Each file is one scan; its subject (the label) is the file name, or the part before the first "_" with
`subject_from = "prefix"` (so `sub01_run1.npy` and `sub01_run2.npy` are one subject). Everything after reading
(halves, per-half standardisation, windows, gradients) is `data.window_splits`, as for the shipped scans.

Bad input: a file that cannot be read, is not 2-D, or whose ROI count differs from the others is an error
naming it (a silently dropped subject would change the task); a file holding NaN/inf or too short for one
window per half is skipped, and one warning counts the skipped files and names why.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from jepakit import JepakitError
from jepakit.interfaces import DataSplits
from jepakit_brainjepa.config import ROIFilesConfig
from jepakit_brainjepa.data import Scan, read_mat, window_splits

log = logging.getLogger("jepakit")
SUFFIXES = (".npy", ".csv", ".mat", ".nii", ".nii.gz")


def _suffix(path: Path) -> str:
    return ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix.lower()


def _read_csv(path: Path) -> np.ndarray:
    """Numbers of a CSV; a first row that is not numeric (ROI names) is a header and skipped."""
    with path.open(encoding="utf-8", errors="replace") as f:
        first = f.readline()
    try:
        [float(v) for v in first.strip().split(",") if v.strip()]
        skip = 0
    except ValueError:
        skip = 1
    try:
        return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    except ValueError as exc:  # a ragged row, a missing column, text in a number's place
        raise JepakitError(
            f"data: {path} is not a table of numbers ({exc})",
            "every row needs one number per column (ROI or time point); fill or drop incomplete rows",
        ) from None


def _read_nifti(path: Path, atlas: str) -> np.ndarray:
    """[T, R] mean signal per atlas label through nilearn (optional dependency)."""
    if not atlas:
        raise JepakitError(f"data: {path} is a NIfTI image; reducing it to ROIs needs an atlas", "set data.atlas")
    try:
        from nilearn.maskers import NiftiLabelsMasker
    except ImportError:
        raise JepakitError(
            f"data: reading NIfTI ({path.name}) needs nilearn, which is not installed",
            "pip install nilearn, or export ROI series as .npy/.csv",
        ) from None
    return np.asarray(NiftiLabelsMasker(labels_img=atlas).fit_transform(str(path)))


def read_series(path: Path, cfg: ROIFilesConfig) -> np.ndarray:
    """One file -> [R, T] float64 (orientation per `time_first`; NIfTI always gives [T, R] first)."""
    kind = _suffix(path)
    if kind == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise JepakitError(f"data: cannot read {path} as a .npy array ({exc})", "check the file") from None
    elif kind == ".csv":
        x = _read_csv(path)
    elif kind == ".mat":
        x = read_mat(path, cfg.mat_key)
    else:
        return _read_nifti(path, cfg.atlas).T.astype(np.float64)
    if x.ndim != 2 or x.dtype.kind not in "fiu":
        raise JepakitError(
            f"data: {path} holds an array of shape {tuple(x.shape)} ({x.dtype}); expected a 2-D "
            f"[{'time points, ROIs' if cfg.time_first else 'ROIs, time points'}] series",
            "save one 2-D array per subject (set data.time_first = true for [time points, ROIs])",
        )
    return (x.T if cfg.time_first else x).astype(np.float64)


def roi_files(cfg: ROIFilesConfig, seed: int = 0) -> DataSplits:
    """Every series file under `cfg.path` as window splits for subject identification across time."""
    if not cfg.path:
        raise JepakitError("data.path: empty", "set data.path to a folder of ROI series files (.npy/.csv/.mat)")
    root = Path(cfg.path).expanduser()
    if not root.exists():
        raise JepakitError(f"data.path: {root} does not exist", "point data.path at your ROI series folder")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    files = [p for p in files if _suffix(p) in SUFFIXES]
    if not files:
        raise JepakitError(f"data.path: no {'/'.join(SUFFIXES)} files under {root}", "one file per subject or scan")
    scans: list[Scan] = []
    skipped: list[str] = []
    for f in files:
        x = read_series(f, cfg)
        if scans and x.shape[0] != scans[0].series.shape[0]:
            raise JepakitError(
                f"data: {f} has {x.shape[0]} ROIs but {scans[0].source} has {scans[0].series.shape[0]}",
                "every file must use the same parcellation (set data.time_first if some files are transposed)",
            )
        if not np.isfinite(x).all():
            skipped.append(f"{f.name} (NaN/inf values)")
            continue
        if x.shape[1] // 2 < cfg.frames:
            skipped.append(f"{f.name} ({x.shape[1]} time points: each half needs a window of {cfg.frames})")
            continue
        stem = f.name[: -len(_suffix(f))]
        subject = stem.split("_")[0] if cfg.subject_from == "prefix" else stem
        scans.append(Scan(x, subject, str(f)))
    if skipped:
        log.warning("brainjepa/roi-files: skipped %d of %d file(s): %s", len(skipped), len(files), "; ".join(skipped))
    if not scans:
        raise JepakitError(
            f"data: none of the {len(files)} file(s) under {root} is usable: {'; '.join(skipped)}",
            "fix or remove the files named above (NaN-free series, long enough for two windows)",
        )
    splits = window_splits(scans, cfg, f"roi-files-{root.name}", {"skipped": skipped, "origin": str(root)})
    return splits
