"""Your own EEG: EDF, BDF, FIF or BrainVision recordings read with MNE, annotations as labels, streamed.

Listing opens each file with `preload=False` (header and annotations only): memory does not grow with the
collection. A window is read when the loader asks for it, in the DataLoader's workers: the window plus a margin
on each side is band-passed, resampled (polyphase) and scaled like the paper's inputs (volts -> microvolts, here
/ scale_uv), then the margin is cut off, so the filter's edge effects fall outside the window (the margin is
half the FIR filter's length, as MNE designs it for `l_freq`). A file that cannot be opened, has no EEG channel
the montage places, or yields no trial is skipped at listing time: the skips are counted and logged as one
warning per load (each file named with its reason). A window that holds NaN or inf is found when it is read:
it is replaced by the next readable window (deterministically) and counted in a warning, as core's image
folder does with a corrupt image. If nothing usable remains, a JepakitError names every file.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jepakit import JepakitError
from jepakit.api import DecodedSamples, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_sjepa.config import EEGFilesConfig
from jepakit_sjepa.data import BandPower
from jepakit_sjepa.montage import electrode_positions, montage_positions

log = logging.getLogger("jepakit")
SUFFIXES = (".edf", ".bdf", ".fif", ".vhdr")
OPEN_FILES = 16  # recordings each process keeps open (MNE Raw objects without data)


class _Skip(Exception):
    """A file that cannot be used, with the reason."""


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES or p.name.endswith(".fif.gz"))
    raise JepakitError(f"data.path: {path} does not exist", "point data.path at an EEG file or a folder of them")


def _open(path: Path) -> Any:
    """The recording with its EEG channels picked, data left on disk."""
    import mne

    try:
        raw = mne.io.read_raw(path, preload=False, verbose="error")
    except Exception as exc:  # MNE raises many types for a damaged file
        raise _Skip(f"unreadable ({type(exc).__name__}: {str(exc)[:120]})") from exc
    raw.pick("eeg", exclude=[])
    if not raw.ch_names:
        raise _Skip("no EEG channels")
    return raw


def margin_s(l_freq: float) -> float:
    """Seconds read beyond each side of a window: half MNE's default FIR length for this high-pass (3.3 / the
    transition band, the band being l_freq / 4 clipped to [2 Hz, l_freq]) plus half a second."""
    band = min(max(l_freq * 0.25, 2.0), l_freq)
    return 0.5 * 3.3 / band + 0.5


class EEGWindows(DecodedSamples):
    """Windows [C, L] float32 read on demand from recordings on disk; y the annotation's class.

    Holds only numbers per window (file index, first sample at the file's rate, label) and the file paths; each
    process opens the files itself (at most OPEN_FILES at once), so forked or spawned workers share nothing.
    """

    source = "sjepa/eeg-files"
    unit = "window"
    counted = "window(s) unusable"
    hint = "check the recordings for NaN/inf samples (e.g. mne.io.read_raw(...).get_data())"
    max_substitutes = 64  # windows next to a NaN stretch come in runs

    def __init__(
        self,
        files: list[str],
        rows: list[list[int]],
        rates: list[float],
        index: np.ndarray,
        labels: np.ndarray,
        cfg: EEGFilesConfig,
    ) -> None:
        super().__init__(labels)
        self.files, self.rows, self.rates = files, rows, rates
        self.index = np.asarray(index, dtype=np.int64)  # [N, 2]: file, first sample at the file's own rate
        self.cfg = cfg
        self.length = int(round(cfg.window_s * cfg.sfreq))
        self._raws: OrderedDict[int, Any] = OrderedDict()

    def subset(self, keep: np.ndarray) -> EEGWindows:
        return EEGWindows(self.files, self.rows, self.rates, self.index[keep], self.labels[keep], self.cfg)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_raws": OrderedDict()}  # open files stay in the process that opened them

    def _raw(self, f: int) -> Any:
        if f in self._raws:
            self._raws.move_to_end(f)
        else:
            self._raws[f] = _open(Path(self.files[f]))
            if len(self._raws) > OPEN_FILES:
                self._raws.popitem(last=False)
        return self._raws[f]

    def window(self, i: int) -> np.ndarray:
        """Window i as the eager reader made it: band-pass, resample, scale; [C, L] float32."""
        import mne

        cfg = self.cfg
        f, start = (int(v) for v in self.index[i])
        raw, rate = self._raw(f), self.rates[f]
        n = int(round(cfg.window_s * rate))
        pad = int(round(margin_s(cfg.l_freq) * rate))
        lo, hi = max(0, start - pad), min(raw.n_times, start + n + pad)
        seg = raw.get_data(picks=self.rows[f], start=lo, stop=hi)  # [C, n + margins] volts
        if not np.isfinite(seg).all():
            raise ValueError("the window or its filter margin holds NaN or inf")
        seg = mne.filter.filter_data(seg, rate, cfg.l_freq, min(cfg.h_freq, rate / 2 - 0.5), verbose="error")
        if abs(rate - cfg.sfreq) > 1e-6:
            # polyphase: a finite filter, so a window read with its margin equals the whole file resampled
            seg = mne.filter.resample(seg, up=cfg.sfreq, down=rate, method="polyphase", verbose="error")
        first = int(round((start - lo) * cfg.sfreq / rate))
        out = seg[:, first : first + self.length] * 1e6 / cfg.scale_uv
        if out.shape[1] != self.length:
            raise ValueError(f"window holds {out.shape[1]} samples, expected {self.length}")
        return out.astype(np.float32)

    def _name(self, i: int) -> str:
        return f"window {i} of {Path(self.files[int(self.index[i, 0])]).name}"

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        return torch.from_numpy(self.window(i))


def eeg_files(cfg: EEGFilesConfig, seed: int = 0) -> DataSplits:
    """Windows [C, L] of every usable file, streamed; labels = annotation descriptions; stratified trial split."""
    if not cfg.path:
        raise JepakitError("data.path: empty", "set data.path to an EEG file or folder (EDF, BDF, FIF, BrainVision)")
    files = _files(Path(cfg.path).expanduser())
    if not files:
        raise JepakitError(f"data.path: no {'/'.join(SUFFIXES)} files under {cfg.path}", "check the folder")
    known = {k.lower() for k in montage_positions(cfg.montage)}
    opened, skipped = [], []
    for f in files:
        try:
            raw = _open(f)
            if not any(n.lower() in known for n in raw.ch_names):
                raise _Skip(f"no channel with a position in montage {cfg.montage}")
            opened.append((f, raw))
        except _Skip as why:
            skipped.append(f"{f.name}: {why}")
    common = _common_channels([(raw.ch_names, {x.lower() for x in raw.ch_names}) for _, raw in opened], known)
    paths, rows, rates, index, ys = [], [], [], [], []
    for f, raw in opened:
        rate = float(raw.info["sfreq"])
        n = int(round(cfg.window_s * rate))
        events = [(float(a["onset"]) - raw.first_time, str(a["description"])) for a in raw.annotations]
        starts = [(d, int(round((t + cfg.tmin) * rate))) for t, d in events if not cfg.labels or d in cfg.labels]
        starts = [(d, s) for d, s in starts if 0 <= s and s + n <= raw.n_times]
        if not starts:
            skipped.append(f"{f.name}: no annotation with a full {cfg.window_s} s window")
            continue
        index.extend((len(paths), s) for _, s in starts)
        ys.extend(d for d, _ in starts)
        paths.append(str(f))
        rows.append([raw.ch_names.index(c) for c in common])
        rates.append(rate)
    if skipped:
        log.warning("sjepa/eeg-files: skipped %d of %d file(s): %s", len(skipped), len(files), "; ".join(skipped))
    if not ys:
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
    windows = EEGWindows(paths, rows, rates, np.asarray(index), y, cfg)
    n_test = max(len(classes), int(round(cfg.test_fraction * len(y))))
    train, test = stratified_split(y, n_test, cfg.split_seed)
    meta = {
        "ch_names": common,
        "ch_pos": electrode_positions(common, cfg.montage).tolist(),
        "sfreq": float(cfg.sfreq),
        "units": f"{cfg.scale_uv} uV",
        "skipped": skipped,
    }
    return DataSplits(
        name=f"eeg-files-{Path(cfg.path).name}",
        train=windows.subset(train),
        test=windows.subset(test),
        input_shape=(len(common), windows.length),
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
