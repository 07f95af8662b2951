"""Spoken digits from eSpeak NG, called through its C API with ctypes, cached on disk.

The `espeakng-loader` wheel bundles `libespeak-ng.so` and `espeak-ng-data`, so nothing is downloaded and no system
package is needed. eSpeak keeps global state, so one process-wide engine is initialised once and used under a
lock. eSpeak's output is the same word, length and voice every time, but not bit-identical: the same call gives
waveforms a few samples longer or shorter with different fine phase, even in a fresh process after
espeak_ng_SetRandSeed. So the disk cache is what makes the dataset exactly reproducible: the first build is
stored, and every later run (and every test) reads the same samples. The cache key holds every setting, the
target sample rate, the loader's version and SYNTH_VERSION, so a changed setting never reuses a stale file.
A corrupt cache is rebuilt; an unwritable cache folder only costs the cache (and exact reproducibility).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jepakit import JepakitError
from jepakit.api import cache_dir

log = logging.getLogger("jepakit")

SYNTH_VERSION = 1  # bump when synthesis or resampling changes
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# espeak_AUDIO_OUTPUT, espeak_PARAMETER, espeak_POSITION_TYPE and flag values from speak_lib.h
_SYNCHRONOUS, _RATE, _PITCH, _POS_CHARACTER, _CHARS_UTF8 = 2, 1, 3, 1, 1
_INSTALL = "pip install espeakng-loader==0.2.4 (it bundles libespeak-ng and its voice data)"
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class Espeak:
    """One eSpeak NG engine in synchronous mode: `say(text, voice, rate, pitch)` -> int16 samples at `rate_hz`."""

    _lock = threading.Lock()
    _instance: Espeak | None = None

    def __init__(self) -> None:
        try:
            import espeakng_loader

            lib_path, data_path = espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
            lib = ctypes.CDLL(lib_path)
        except Exception as exc:  # a missing wheel or an unloadable .so both mean "install it"
            raise JepakitError(
                f"data: the spoken-digits dataset needs eSpeak NG, which could not be loaded ({exc})", _INSTALL
            ) from exc
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        # the data path is the folder that *contains* espeak-ng-data
        self.rate_hz = lib.espeak_Initialize(_SYNCHRONOUS, 0, str(Path(data_path).parent).encode(), 0)
        if self.rate_hz <= 0:
            raise JepakitError(f"data: eSpeak NG failed to initialise with its data at {data_path}", _INSTALL)
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept referenced: eSpeak calls it from C
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    @classmethod
    def get(cls) -> Espeak:
        with cls._lock:
            if cls._instance is None:
                cls._instance = Espeak()
            return cls._instance

    def _collect(self, wav: ctypes.POINTER(ctypes.c_short), count: int, events: ctypes.c_void_p) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = keep synthesising

    def say(self, text: str, voice: str, rate: int, pitch: int) -> np.ndarray:
        """int16 samples [S] of `text` spoken by `voice` at `rate` words per minute and `pitch` (0-99)."""
        with self._lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise JepakitError(
                    f'data.voices: eSpeak NG has no voice "{voice}"',
                    'data.voices takes eSpeak NG voices such as "en", "en-us", "en-gb-x-rp"; '
                    'data.variants takes timbres such as "m3", "f2" (or "" for none)',
                )
            self.lib.espeak_SetParameter(_RATE, int(rate), 0)
            self.lib.espeak_SetParameter(_PITCH, int(pitch), 0)
            self._chunks = []
            blob = text.encode()
            err = self.lib.espeak_Synth(blob, len(blob) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err != 0:
                raise JepakitError(f"data: eSpeak NG failed to synthesise {text!r} (error {err})", _INSTALL)
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.int16)


def grid_of(
    voices: Sequence[str], variants: Sequence[str], rates: Sequence[int], pitches: Sequence[int]
) -> list[tuple[int, str, int, int]]:
    """Every (digit, voice, rate, pitch) to synthesise, in a fixed order; voice = name[+variant]."""
    named = [v if not var else f"{v}+{var}" for v in voices for var in variants]
    return [(d, v, r, p) for d in range(10) for v in named for r in rates for p in pitches]


def cache_key(items: list[tuple[int, str, int, int]], sample_rate: int) -> str:
    try:
        from importlib.metadata import version

        loader = version("espeakng-loader")
    except Exception:  # metadata missing: key on "unknown", synthesis will report the real problem
        loader = "unknown"
    blob = json.dumps(
        {"items": items, "sr": sample_rate, "v": SYNTH_VERSION, "loader": loader, "words": DIGIT_WORDS}, sort_keys=True
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def resample(wave: np.ndarray, orig: int, new: int) -> np.ndarray:
    """Polyphase resampling (scipy) along the last axis, float32; a no-op when the rates match."""
    if orig == new:
        return wave.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = math.gcd(int(orig), int(new))
    return resample_poly(wave, new // g, orig // g, axis=-1).astype(np.float32)


def synthesize(items: list[tuple[int, str, int, int]], sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(samples int16 [total], offsets [n + 1], labels [n]) at `sample_rate`: clip i is samples[o[i]:o[i+1]]."""
    engine = Espeak.get()
    clips = []
    for digit, voice, rate, pitch in items:
        raw = engine.say(DIGIT_WORDS[digit], voice, rate, pitch).astype(np.float32) / 32768.0
        clips.append(np.clip(np.rint(resample(raw, engine.rate_hz, sample_rate) * 32767.0), -32768, 32767))
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])]).astype(np.int64)
    samples = np.concatenate(clips).astype(np.int16) if clips else np.zeros(0, np.int16)
    return samples, offsets, np.asarray([it[0] for it in items], dtype=np.int64)


def load_or_synthesize(
    items: list[tuple[int, str, int, int]],
    sample_rate: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """synthesize(), through the disk cache."""
    cache = cache_dir()
    path = cache / f"spoken-digits-{cache_key(items, sample_rate)}.npz" if cache is not None else None
    if path is not None:
        try:
            with np.load(path) as z:
                hit = z["samples"], z["offsets"], z["labels"]
            if len(hit[2]) == len(items) and len(hit[1]) == len(items) + 1 and hit[1][-1] == len(hit[0]):
                return hit
        except (OSError, ValueError, KeyError) as exc:
            if path.exists():
                log.debug("ignoring unreadable spoken-digits cache %s: %s", path, exc)
    samples, offsets, labels = synthesize(items, sample_rate)
    if path is not None:
        _save(path, samples=samples, offsets=offsets, labels=labels)
    return samples, offsets, labels


def _save(path: Path, **arrays: np.ndarray) -> None:
    """Atomic write (temp file + rename in the same folder); a failure only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        log.debug("could not write spoken-digits cache %s: %s", path, exc)
