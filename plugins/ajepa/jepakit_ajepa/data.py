"""A-JEPA's datasets: spoken digits synthesised offline with eSpeak NG, and a loader for the user's recordings.

Both return mono waveforms [N, 1, S] (S = the front end's clip length) with a fixed stratified split that ignores
the run's seed, and put the front end's settings and the train split's log-mel statistics in `meta`, so the
encoder, the masker's pictures and the raw baseline (`raw_features`, the flattened log-mel) all use one front end.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from jepakit.api import ImageSplit, stratified_split
from jepakit import JepakitError
from jepakit.interfaces import DataSplits
from jepakit_ajepa.audio import LogMel, RawLogMel, frontend_numbers
from jepakit_ajepa.config import AudioFolderConfig, LogMelFields, SpokenDigitsConfig
from jepakit_ajepa.synth import DIGIT_WORDS, grid_of, load_or_synthesize, resample

log = logging.getLogger("jepakit")

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def _splits(name: str, cfg: LogMelFields, x: torch.Tensor, y: np.ndarray, train: np.ndarray, test: np.ndarray,
            classes: list[str], skipped: list[str] | None = None) -> DataSplits:
    """DataSplits with the front end in meta and the raw log-mel baseline; statistics from the train split."""
    settings = cfg.frontend()
    tr, te = torch.as_tensor(train), torch.as_tensor(test)
    mean, std = LogMel(settings).fit(x[tr])
    yt = torch.as_tensor(y, dtype=torch.long)
    meta = {"frontend": settings, "logmel_mean": mean, "logmel_std": std, "sample_rate": cfg.sample_rate,
            "class_names": list(classes)}
    return DataSplits(name=name, train=ImageSplit(x[tr], yt[tr], skipped), test=ImageSplit(x[te], yt[te], skipped),
                      input_shape=tuple(int(s) for s in x.shape[1:]), num_classes=len(classes), modality="audio",
                      class_names=list(classes), meta=meta, raw_features=RawLogMel(settings, mean, std))


# ----------------------------------------------------------------------------------------------- spoken digits


def _pink(rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """[n, length] pink (1/f power) noise with unit RMS per row."""
    spec = np.fft.rfft(rng.standard_normal((n, length)), axis=1)
    freqs = np.arange(spec.shape[1], dtype=np.float64)
    spec = spec / np.sqrt(np.maximum(freqs, 1.0))  # amplitude ~ 1/sqrt(f)
    noise = np.fft.irfft(spec, n=length, axis=1)
    return noise / np.maximum(noise.std(axis=1, keepdims=True), 1e-12)


def _record(words: list[np.ndarray], length: int, cfg: SpokenDigitsConfig) -> np.ndarray:
    """Place each word at a random onset, set a random level, add pink noise at a random SNR -> [n, length]."""
    rng = np.random.default_rng(cfg.seed)
    n = len(words)
    out = np.zeros((n, length), dtype=np.float32)
    u_onset = rng.random(n)
    gain = 10.0 ** (rng.uniform(*cfg.gain_db, size=n) / 20.0)
    snr = rng.uniform(*cfg.snr_db, size=n)
    speech_rms = np.empty(n)
    for i, w in enumerate(words):
        w = w[:length] / max(float(np.abs(w).max()), 1e-6) * 0.5 * gain[i]  # peak 0.5, then the gain
        start = int(u_onset[i] * (length - len(w) + 1)) if cfg.shift else 0
        out[i, start:start + len(w)] = w
        speech_rms[i] = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) if len(w) else 0.0
    noise = _pink(rng, n, length) * (speech_rms / 10.0 ** (snr / 20.0))[:, None]
    return np.clip(out + noise, -1.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=2)
def _digit_clips(cfg_items: tuple) -> tuple[torch.Tensor, np.ndarray]:
    """(waveforms [N, 1, S], digit labels [N]) for one config; memory cache over the disk cache."""
    cfg = SpokenDigitsConfig(**dict(cfg_items))
    items = grid_of(cfg.voices, cfg.variants, cfg.rates, cfg.pitches)
    samples, offsets, labels = load_or_synthesize(items, cfg.sample_rate)
    words = [samples[offsets[i]:offsets[i + 1]].astype(np.float32) / 32768.0 for i in range(len(labels))]
    length = frontend_numbers(cfg.frontend())["samples"]
    x = torch.from_numpy(_record(words, length, cfg))[:, None]  # [N, 1, S]
    return x, labels


def spoken_digits(cfg: SpokenDigitsConfig, seed: int = 0) -> DataSplits:
    """"zero".."nine" in many eSpeak voices, recorded with onset, gain and noise variation; labels = digits.

    The run's `seed` is ignored: clips, variations and split are a function of cfg alone, so every run is scored
    on the same test clips.
    """
    items = asdict(cfg)
    x, y = _digit_clips(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(items.items())))
    if cfg.limit_per_class:
        keep = np.concatenate([np.flatnonzero(y == d)[: cfg.limit_per_class] for d in range(10)])
        x, y = x[torch.as_tensor(keep)], y[keep]
    train, test = stratified_split(y, float(cfg.test_fraction), int(cfg.seed))
    return _splits(f"spoken-digits-{cfg.sample_rate // 1000}k", cfg, x, y, train, test, list(DIGIT_WORDS))


# ------------------------------------------------------------------------------------------------ audio folder


def _load_audio(path: Path, sample_rate: int, length: int) -> np.ndarray:
    """float32 [length] mono at sample_rate, cut or zero-padded; raises on unreadable or empty files."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # [S, C]
    if data.size == 0:
        raise ValueError("no audio samples")
    wave = resample(data.mean(axis=1), int(rate), sample_rate)[:length]
    if not np.isfinite(wave).all():
        raise ValueError("non-finite samples")
    return np.pad(wave, (0, length - len(wave)))


def _class_folders(root: Path, cfg: AudioFolderConfig) -> list[Path]:
    if not cfg.path:
        raise JepakitError("data.path is empty: audio-folder needs the folder of your recordings",
                           'set data.path = "/path/to/audio" (one sub-folder of .wav/.flac/.ogg files per class)')
    if not root.is_dir():
        raise JepakitError(f"data.path: {root} is not a folder" if root.exists() else
                           f"data.path: audio folder not found: {root}",
                           "point data.path at a folder with one sub-folder of recordings per class")
    classes = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    if len(classes) < 2:
        raise JepakitError(f"data.path: {root} has {len(classes)} class folder(s); probes need at least 2",
                           "lay recordings out as path/<class name>/<file>.wav, one sub-folder per class")
    return classes


def audio_folder(cfg: AudioFolderConfig, seed: int = 0) -> DataSplits:
    """The user's recordings, `path/<class>/*.wav|flac|ogg`, loaded eagerly as mono clips at cfg.sample_rate.

    Unreadable files (truncated, not audio, empty) are skipped with one warning that counts them and names the
    first; if a class keeps fewer than 2 clips, a JepakitError names the class and its first bad file.
    """
    root = Path(cfg.path).expanduser()
    folders = _class_folders(root, cfg)
    length = frontend_numbers(cfg.frontend())["samples"]
    waves: list[np.ndarray] = []
    labels: list[int] = []
    skipped: list[str] = []
    for label, folder in enumerate(folders):
        for file in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            try:
                if file.suffix.lower() not in AUDIO_SUFFIXES:
                    raise ValueError(f"not a {'/'.join(AUDIO_SUFFIXES)} file")
                waves.append(_load_audio(file, cfg.sample_rate, length))
            except Exception as exc:  # noqa: BLE001 - any decoder failure means "skip this file"
                log.debug("skipping %s: %s", file, exc)
                skipped.append(str(file))
                continue
            labels.append(label)
    if skipped:
        log.warning("audio-folder: skipped %d unreadable file(s) under %s; first: %s", len(skipped), root, skipped[0])
    names = [f.name for f in folders]
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=len(names))
    if counts.min() < 2:
        worst = names[int(counts.argmin())]
        bad = [s for s in skipped if Path(s).is_relative_to(root / worst)]
        raise JepakitError(f'data.path: class folder "{worst}" has {int(counts.min())} readable recording(s)'
                           + (f"; unreadable: {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
                              if bad else ""),
                           "every class needs at least 2 readable .wav/.flac/.ogg files (one for train, one for test)")
    n, k = len(labels), len(names)
    n_test = max(int(np.ceil(cfg.test_fraction * n)), k)
    if n - n_test < k:
        raise JepakitError(f"data.path: {n} recordings are too few to split {k} classes with test_fraction "
                           f"{cfg.test_fraction}", "add recordings or change data.test_fraction")
    x = torch.from_numpy(np.stack(waves))[:, None]  # [N, 1, S]
    y = np.asarray(labels)
    train, test = stratified_split(y, n_test, int(cfg.split_seed))
    return _splits(root.name or "audio", cfg, x, y, train, test, names, skipped)
