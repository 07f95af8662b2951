"""Your own EEG: EDF, BDF, FIF or BrainVision recordings read with MNE, annotations as labels.

Each file is band-passed, resampled and scaled like the paper's inputs (volts -> microvolts, here / scale_uv),
then cut into windows of `window_s` seconds starting `tmin` after each annotation. A file that cannot be read,
holds NaN/inf in a channel, or yields no trial is skipped: the skips are counted and logged as one warning per
load (each file named with its reason); if nothing usable remains, a JepakitError names every file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import ImageSplit, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_sjepa.config import EEGFilesConfig
from jepakit_sjepa.data import BandPower
from jepakit_sjepa.montage import electrode_positions, montage_positions

log = logging.getLogger("jepakit")
SUFFIXES = (".edf", ".bdf", ".fif", ".vhdr")


class _Skip(Exception):
    """A file that cannot be used, with the reason."""


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES or p.name.endswith(".fif.gz"))
    raise JepakitError(f"data.path: {path} does not exist", "point data.path at an EEG file or a folder of them")


def _read(path: Path, cfg: EEGFilesConfig) -> tuple[list[str], np.ndarray, list[tuple[float, str]]]:
    """(EEG channel names, data [C, L] scaled, [(onset seconds, description)]) after filtering and resampling."""
    import mne

    try:
        raw = mne.io.read_raw(path, preload=True, verbose="error")
    except Exception as exc:  # MNE raises many types for a damaged file
        raise _Skip(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from exc
    raw.pick("eeg", exclude=[])
    if not raw.ch_names:
        raise _Skip("no EEG channels")
    data = raw.get_data()
    bad = [raw.ch_names[i] for i in np.flatnonzero(~np.isfinite(data).all(axis=1))]
    if bad:
        raise _Skip(f"channel(s) {bad[:4]} hold NaN or inf")
    raw.filter(cfg.l_freq, min(cfg.h_freq, raw.info["sfreq"] / 2 - 0.5), verbose="error")
    if abs(raw.info["sfreq"] - cfg.sfreq) > 1e-6:
        raw.resample(cfg.sfreq, verbose="error")
    events = [(float(a["onset"]) - raw.first_time, str(a["description"])) for a in raw.annotations]
    return list(raw.ch_names), raw.get_data() * 1e6 / cfg.scale_uv, events


def eeg_files(cfg: EEGFilesConfig, seed: int = 0) -> DataSplits:
    """Windows [C, L] of every usable file; labels = annotation descriptions; stratified trial split."""
    if not cfg.path:
        raise JepakitError("data.path: empty", "set data.path to an EEG file or folder (EDF, BDF, FIF, BrainVision)")
    files = _files(Path(cfg.path).expanduser())
    if not files:
        raise JepakitError(f"data.path: no {'/'.join(SUFFIXES)} files under {cfg.path}", "check the folder")
    known = {k.lower() for k in montage_positions(cfg.montage)}
    length = int(round(cfg.window_s * cfg.sfreq))
    loaded, skipped = [], []
    for f in files:
        try:
            names, data, events = _read(f, cfg)
            names_known = [n for n in names if n.lower() in known]
            if not names_known:
                raise _Skip(f"no channel with a position in montage {cfg.montage}")
            loaded.append((f, names, data, events))
        except _Skip as why:
            skipped.append(f"{f.name}: {why}")
    common = _common_channels([(names, {x.lower() for x in names}) for _, names, _, _ in loaded], known)
    xs, ys = [], []
    for f, names, data, events in loaded:
        rows = [names.index(c) for c in common]
        trials = [(d, int(round((t + cfg.tmin) * cfg.sfreq))) for t, d in events if not cfg.labels or d in cfg.labels]
        trials = [(d, s) for d, s in trials if 0 <= s and s + length <= data.shape[1]]
        if not trials:
            skipped.append(f"{f.name}: no annotation with a full {cfg.window_s} s window")
            continue
        xs.extend(data[rows, s : s + length] for _, s in trials)
        ys.extend(d for d, _ in trials)
    if skipped:
        log.warning("sjepa/eeg-files: skipped %d of %d file(s): %s", len(skipped), len(files), "; ".join(skipped))
    if not xs:
        raise JepakitError(
            f"data.path: no usable EEG trials in {cfg.path} ({len(skipped)} file(s) skipped: {'; '.join(skipped)})",
            "check the files, their annotations and data.labels",
        )
    classes = sorted(set(ys))
    y = np.asarray([classes.index(v) for v in ys])
    if len(classes) < 2 or np.bincount(y).min() < 2:
        counts = dict(zip(*np.unique(ys, return_counts=True), strict=True))
        raise JepakitError(
            f"data: need at least 2 labels with 2 trials each, got {counts}",
            "annotate more events or widen data.labels",
        )
    x = torch.as_tensor(np.stack(xs), dtype=torch.float32)  # [N, C, L]
    n_test = max(len(classes), int(round(cfg.test_fraction * len(y))))
    train, test = stratified_split(y, n_test, cfg.split_seed)
    yt = torch.as_tensor(y)
    pos = electrode_positions(common, cfg.montage)
    meta = {
        "ch_names": common,
        "ch_pos": pos.tolist(),
        "sfreq": float(cfg.sfreq),
        "units": f"{cfg.scale_uv} uV",
        "skipped": skipped,
    }
    return DataSplits(
        name=f"eeg-files-{Path(cfg.path).name}",
        train=ImageSplit(x[train], yt[train], skipped),
        test=ImageSplit(x[test], yt[test], skipped),
        input_shape=tuple(x.shape[1:]),
        num_classes=len(classes),
        modality="eeg",
        class_names=classes,
        meta=meta,
        raw_features=BandPower(cfg.sfreq),
    )


def _common_channels(per_file: list[tuple[list[str], set[str]]], known: set[str]) -> list[str]:
    """Channels (first file's spelling and order) that every file has and the montage places."""
    if not per_file:
        return []
    first = per_file[0][0]
    return [c for c in first if c.lower() in known and all(c.lower() in low for _, low in per_file)]
