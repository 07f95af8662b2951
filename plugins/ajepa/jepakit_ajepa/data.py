"""A-JEPA's datasets: spoken digits synthesised offline with eSpeak NG, and a loader for the user's recordings.

They return mono waveforms [1, S] (S = the front end's clip length; the user's folder streams them from disk,
decoded in the DataLoader's workers) with a fixed stratified split that ignores the run's seed, and put the front
end's settings and the train split's log-mel statistics in `meta`, so the encoder, the masker's pictures and the
raw baseline (`raw_features`, the flattened log-mel) all use one front end.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import struct
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from jepakit import JepakitError
from jepakit.api import DecodedSamples, ImageSplit, cache_dir, read_class_folders, stratified_split
from jepakit.interfaces import DataSplits
from jepakit_ajepa.audio import LogMel, RawLogMel, frontend_numbers
from jepakit_ajepa.config import (
    AudioFolderConfig,
    HumanDigitsConfig,
    LogMelFields,
    SoundFontConfig,
    SpokenDigitsConfig,
)
from jepakit_ajepa.soundfont import GM_FAMILIES, SoundFontError, read_soundfont, recordings, render
from jepakit_ajepa.synth import DIGIT_WORDS, grid_of, load_or_synthesize, resample

log = logging.getLogger("jepakit")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
STATS_CLIPS = 256  # training clips (seeded subset) decoded for the audio folder's log-mel mean/std


def _splits(
    name: str,
    cfg: LogMelFields,
    x: torch.Tensor,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    classes: list[str],
    skipped: list[str] | None = None,
) -> DataSplits:
    """DataSplits with the front end in meta and the raw log-mel baseline; statistics from the train split."""
    tr, te = torch.as_tensor(train), torch.as_tensor(test)
    mean, std = LogMel(cfg.frontend()).fit(x[tr])
    yt = torch.as_tensor(y, dtype=torch.long)
    train_ds, test_ds = ImageSplit(x[tr], yt[tr], skipped), ImageSplit(x[te], yt[te], skipped)
    return _package(name, cfg, train_ds, test_ds, tuple(int(s) for s in x.shape[1:]), classes, mean, std)


def _package(
    name: str,
    cfg: LogMelFields,
    train: Dataset,
    test: Dataset,
    input_shape: tuple[int, ...],
    classes: list[str],
    mean: float,
    std: float,
) -> DataSplits:
    settings = cfg.frontend()
    meta = {
        "frontend": settings,
        "logmel_mean": mean,
        "logmel_std": std,
        "sample_rate": cfg.sample_rate,
        "class_names": list(classes),
    }
    return DataSplits(
        name=name,
        train=train,
        test=test,
        input_shape=input_shape,
        num_classes=len(classes),
        modality="audio",
        class_names=list(classes),
        meta=meta,
        raw_features=RawLogMel(settings, mean, std),
    )


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
        out[i, start : start + len(w)] = w
        speech_rms[i] = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) if len(w) else 0.0
    noise = _pink(rng, n, length) * (speech_rms / 10.0 ** (snr / 20.0))[:, None]
    return np.clip(out + noise, -1.0, 1.0).astype(np.float32)


@functools.lru_cache(maxsize=2)
def _digit_clips(cfg_items: tuple) -> tuple[torch.Tensor, np.ndarray]:
    """(waveforms [N, 1, S], digit labels [N]) for one config; memory cache over the disk cache."""
    cfg = SpokenDigitsConfig(**dict(cfg_items))
    items = grid_of(cfg.voices, cfg.variants, cfg.rates, cfg.pitches)
    samples, offsets, labels = load_or_synthesize(items, cfg.sample_rate)
    words = [samples[offsets[i] : offsets[i + 1]].astype(np.float32) / 32768.0 for i in range(len(labels))]
    length = frontend_numbers(cfg.frontend())["samples"]
    x = torch.from_numpy(_record(words, length, cfg))[:, None]  # [N, 1, S]
    return x, labels


def spoken_digits(cfg: SpokenDigitsConfig, seed: int = 0) -> DataSplits:
    """ "zero".."nine" in many eSpeak voices, recorded with onset, gain and noise variation; labels = digits.

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


def human_digits(cfg: HumanDigitsConfig, seed: int = 0) -> DataSplits:
    """One human speaker's recorded digits as the test split; the probes' train split is the synthesised digits
    (probe_train = "espeak") or other variations of the same recordings ("human"). The run's seed is ignored."""
    root = Path(cfg.path).expanduser()
    files = [root / f"{d}.wav" for d in range(10)]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise JepakitError(
            f"data.path: {root} lacks {', '.join(missing)} (the recorded digits 0.wav..9.wav)",
            "install Debian's asterisk-core-sounds-en-wav (`apt-get install asterisk-core-sounds-en-wav`, "
            "CC-BY-SA), or set data.path to a folder holding 0.wav..9.wav",
        )
    length = frontend_numbers(cfg.frontend())["samples"]
    try:
        words = [_load_audio(f, cfg.sample_rate, None) for f in files]
    except Exception as exc:  # soundfile raises its own error types
        raise JepakitError(
            f"data.path: a recording under {root} is unreadable: {exc}", "reinstall the package"
        ) from None
    words = [w[: int(np.flatnonzero(np.abs(w) > 1e-4).max(initial=0)) + 1] for w in words]  # drop the zero padding
    n = cfg.variations
    human = torch.from_numpy(_record([words[d] for d in range(10) for _ in range(n)], length, cfg))[:, None]
    y_human = np.repeat(np.arange(10), n)
    if cfg.probe_train == "human":
        train, test = stratified_split(y_human, float(cfg.test_fraction), int(cfg.seed))
        return _splits(f"human-digits-{cfg.sample_rate // 1000}k", cfg, human, y_human, train, test, list(DIGIT_WORDS))
    synth_cfg = SpokenDigitsConfig(
        **{k: v for k, v in asdict(cfg).items() if k in SpokenDigitsConfig.__dataclass_fields__}
    )
    synth = spoken_digits(synth_cfg)
    x = torch.cat([synth.train.x, synth.test.x, human])
    y = np.concatenate([synth.train.y.numpy(), synth.test.y.numpy(), y_human])
    n_synth = len(synth.train) + len(synth.test)
    train, test = np.arange(n_synth), np.arange(n_synth, len(y))
    return _splits(f"human-digits-{cfg.sample_rate // 1000}k-from-espeak", cfg, x, y, train, test, list(DIGIT_WORDS))


# ------------------------------------------------------------------------------------------------ audio folder


def _load_audio(path: Path, sample_rate: int, length: int | None) -> np.ndarray:
    """float32 [length] mono at sample_rate, cut or zero-padded (None: the whole recording); raises on unreadable
    or empty files."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)  # [S, C]
    if data.size == 0:
        raise ValueError("no audio samples")
    wave = resample(data.mean(axis=1), int(rate), sample_rate)[:length]
    if not np.isfinite(wave).all():
        raise ValueError("non-finite samples")
    return wave if length is None else np.pad(wave, (0, length - len(wave)))


def _check_audio(path: Path) -> Path:
    """The listing-time check: soundfile reads the header (format, frames) without decoding samples."""
    import soundfile as sf

    if sf.info(str(path)).frames <= 0:
        raise ValueError("no audio samples")
    return path


class AudioFiles(DecodedSamples):
    """Recordings decoded on demand: x float32 [1, S] (mono, resampled, cut or zero-padded), y the class.

    Holds only root-relative paths in one numpy bytes array and the labels, so a pickled split (what each
    DataLoader worker receives) does not grow with the audio. A file that fails to decode is replaced by the
    next index (deterministically) and counted in a warning: core's `DecodedSamples`, as its image folder.
    """

    source = "ajepa/audio-folder"
    hint = "check the recordings (e.g. soundfile.read(path))"

    def __init__(
        self, root: Path, files: list[Path], labels: np.ndarray, sample_rate: int, length: int, skipped: list[str]
    ) -> None:
        super().__init__(labels)
        self.root = str(root)
        self.paths = np.array([os.fsencode(os.path.relpath(f, root)) for f in files], dtype=np.bytes_)  # [N]
        self.sample_rate, self.length = int(sample_rate), int(length)
        self.skipped: list[str] = list(skipped)  # left out at listing time

    def path(self, i: int) -> Path:
        return Path(self.root) / os.fsdecode(bytes(self.paths[i]))

    def subset(self, keep: np.ndarray) -> AudioFiles:
        out = AudioFiles.__new__(AudioFiles)
        out.__dict__.update(self.__dict__, paths=self.paths[keep], labels=self.labels[keep], failed={})
        return out

    def _name(self, i: int) -> str:
        return str(self.path(i))

    def _decode(self, i: int, key: int | None) -> torch.Tensor:
        return torch.from_numpy(_load_audio(self.path(i), self.sample_rate, self.length))[None]  # [1, S]


def audio_folder(cfg: AudioFolderConfig, seed: int = 0) -> DataSplits:
    """The user's recordings, `path/<class>/*.wav|flac|ogg`, streamed as mono clips at cfg.sample_rate.

    Listing reads each file's header only (soundfile.info); clips are decoded in the DataLoader's workers.
    Unreadable files (truncated, not audio, empty) are skipped with one warning that counts them and names the
    first; if a class keeps fewer than 2 clips, a JepakitError names the class and its first bad file. The
    log-mel mean/std in meta come from a seeded subset of at most STATS_CLIPS (256) training clips.
    """
    length = frontend_numbers(cfg.frontend())["samples"]
    data = read_class_folders(cfg, AUDIO_SUFFIXES, _check_audio, source="audio-folder", noun="recording")
    files = AudioFiles(data.root, data.items, data.labels, cfg.sample_rate, length, data.skipped)
    train, test = files.subset(data.train), files.subset(data.test)
    pick = np.arange(len(train))
    if len(pick) > STATS_CLIPS:  # a bounded, seeded subset: the statistics cost no more for a large folder
        pick = np.sort(np.random.default_rng(int(cfg.split_seed)).choice(len(pick), STATS_CLIPS, replace=False))
    mean, std = LogMel(cfg.frontend()).fit(torch.stack([train[int(i)][0] for i in pick]))
    name = data.root.name or "audio"
    return _package(name, cfg, train, test, (1, length), data.names, mean, std)


# ------------------------------------------------------------------------------------------ SoundFont instruments


def _rendered(cfg: SoundFontConfig, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clips int16 [N, length], family labels [N], recording ids [N]); cached on disk by file and settings."""
    path = Path(cfg.path).expanduser()
    if not path.is_file():
        raise JepakitError(
            f"data.path: the SoundFont {path} does not exist",
            "install Debian's fluid-soundfont-gm (`apt-get install fluid-soundfont-gm`, MIT licence), "
            "or set data.path to another General MIDI .sf2 file",
        )
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{cfg.semitones}|{cfg.sample_rate}|{length}|v1"
    cache = cache_dir()
    file = cache / f"soundfont-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz" if cache is not None else None
    if file is not None and file.is_file():
        with np.load(file) as z:
            return z["clips"], z["labels"], z["recording"]
    try:
        sf = read_soundfont(path)
        recs = recordings(sf)
    except (SoundFontError, OSError, struct.error) as exc:
        raise JepakitError(
            f"data.path: {path} is not a SoundFont 2 file this reader understands: {exc}",
            "point data.path at a General MIDI .sf2 file (Debian: fluid-soundfont-gm)",
        ) from None
    if not recs:
        raise JepakitError(f"data.path: {path} has no melodic General MIDI presets", "use a General MIDI SoundFont")
    clips = np.stack(
        [render(sf, r, s, cfg.sample_rate, length, resample) for r in recs for s in cfg.semitones]
    )  # [R * P, length]
    clips = np.round(clips * 32767.0).astype(np.int16)
    labels = np.repeat([r.family for r in recs], len(cfg.semitones)).astype(np.int64)
    recording = np.repeat(np.arange(len(recs)), len(cfg.semitones))
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp.npz")
        np.savez(tmp, clips=clips, labels=labels, recording=recording)
        tmp.replace(file)
    return clips, labels, recording


def soundfont_instruments(cfg: SoundFontConfig, seed: int = 0) -> DataSplits:
    """Notes rendered from a SoundFont's recordings, labelled by GM instrument family; split by recording.

    The split is stratified over recordings (each recording's family), then every pitch of a recording follows
    it, so the probes never see a test recording at another pitch. The run's `seed` is ignored.
    """
    length = frontend_numbers(cfg.frontend())["samples"]
    clips, labels, recording = _rendered(cfg, length)
    n_rec = int(recording.max()) + 1
    if cfg.max_recordings:
        n_rec = min(n_rec, cfg.max_recordings)
        keep = recording < n_rec
        clips, labels, recording = clips[keep], labels[keep], recording[keep]
    rec_label = np.zeros(n_rec, dtype=np.int64)
    rec_label[recording] = labels
    counts = np.bincount(rec_label, minlength=len(GM_FAMILIES))
    strat = np.where(counts[rec_label] >= 2, rec_label, -1)  # a family with one recording cannot be stratified
    rec_train, rec_test = stratified_split(strat, float(cfg.test_fraction), int(cfg.seed))
    train = np.flatnonzero(np.isin(recording, rec_train))
    test = np.flatnonzero(np.isin(recording, rec_test))
    x = torch.from_numpy(clips.astype(np.float32) / 32767.0)[:, None]  # [N, 1, S]
    return _splits(f"soundfont-{Path(cfg.path).stem}", cfg, x, labels, train, test, list(GM_FAMILIES))
