"""The log-mel front end in plain torch: STFT power -> HTK mel filterbank -> log with a floor -> dataset norm.

torchaudio is not needed (its PyPI wheels for x86_64 are CUDA builds that do not load next to a CPU torch), so
the filterbank is computed here with torchaudio's `melscale_fbanks` defaults: HTK mel scale, triangles between
neighbouring mel points, no area normalisation. `torchaudio_fbanks` gives torchaudio's matrix where torchaudio
does import, so the two can be compared; nothing depends on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

#: Log floor on mel energies (waveforms in [-1, 1]): digital silence maps to log(1e-6) = -13.8, not -inf.
LOG_FLOOR = 1e-6


def hz_to_mel(hz: torch.Tensor | float) -> torch.Tensor:
    """HTK mel scale: 2595 log10(1 + f / 700)."""
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def mel_to_hz(mel: torch.Tensor | float) -> torch.Tensor:
    return 700.0 * (10.0 ** (torch.as_tensor(mel, dtype=torch.float64) / 2595.0) - 1.0)


def mel_centres(f_min: float, f_max: float, n_mels: int) -> torch.Tensor:
    """[n_mels + 2] band edges in Hz, equally spaced on the mel scale; band k peaks at edge k + 1."""
    return mel_to_hz(torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)), n_mels + 2, dtype=torch.float64))


def mel_filterbank(freqs: torch.Tensor, f_min: float, f_max: float, n_mels: int) -> torch.Tensor:
    """Triangular filters evaluated at `freqs` [F] (Hz) -> [F, n_mels] (float32).

    Filter k rises linearly from edge k to 1 at edge k + 1 and falls to 0 at edge k + 2 (no normalisation).
    """
    edges = mel_centres(f_min, f_max, n_mels)  # [n_mels + 2]
    width = edges[1:] - edges[:-1]  # [n_mels + 1]
    rel = edges[None, :] - freqs.double()[:, None]  # [F, n_mels + 2]
    rising = -rel[:, :-2] / width[:-1]  # [F, n_mels]
    falling = rel[:, 2:] / width[1:]  # [F, n_mels]
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def melscale_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int) -> torch.Tensor:
    """The STFT-bin filterbank [n_freqs, n_mels]: bins at linspace(0, sample_rate // 2, n_freqs) as torchaudio."""
    return mel_filterbank(torch.linspace(0, sample_rate // 2, n_freqs, dtype=torch.float64), f_min, f_max, n_mels)


def torchaudio_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sample_rate: int) -> torch.Tensor | None:
    """torchaudio's filterbank for the same settings, or None where torchaudio cannot be imported.

    Any exception counts as "not available": a CUDA-only wheel next to a CPU torch raises OSError, not ImportError.
    """
    try:
        import torchaudio.functional as AF

        return AF.melscale_fbanks(n_freqs, f_min, f_max, n_mels, sample_rate, norm=None, mel_scale="htk")
    except Exception:  # import failures of native extensions come in many types
        return None


def frontend_numbers(settings: Mapping[str, Any]) -> dict[str, int]:
    """Window, hop and FFT sizes in samples, and the clip length that gives exactly `frames` centred frames."""
    sr = int(settings["sample_rate"])
    win = int(round(sr * float(settings["win_ms"]) / 1000.0))
    hop = int(round(sr * float(settings["hop_ms"]) / 1000.0))
    n_fft = 1 << max(4, math.ceil(math.log2(win)))
    return {"win": win, "hop": hop, "n_fft": n_fft, "samples": (int(settings["frames"]) - 1) * hop}


class LogMel(nn.Module):
    """Waveforms [B, 1, S] (or [B, S]) -> normalised log-mel spectrograms [B, 1, frames, n_mels] (time rows).

    Clips are zero-padded or cut to `samples` first, so any length works. The normalisation is AudioSet-style
    fbank normalisation: (logmel - mean) / (2 std) with the train split's statistics (AST, AudioMAE).
    Buffers are not persistent: checkpoints hold learned weights only, and the front end is rebuilt from meta.
    """

    def __init__(self, settings: Mapping[str, Any], mean: float = 0.0, std: float = 0.5) -> None:
        super().__init__()
        self.settings = dict(settings)
        nums = frontend_numbers(settings)
        self.win, self.hop, self.n_fft, self.samples = nums["win"], nums["hop"], nums["n_fft"], nums["samples"]
        self.frames, self.n_mels = int(settings["frames"]), int(settings["n_mels"])
        sr = int(settings["sample_rate"])
        f_max = float(settings.get("f_max") or sr / 2)
        fb = melscale_fbanks(self.n_fft // 2 + 1, float(settings.get("f_min", 0.0)), f_max, self.n_mels, sr)
        self.register_buffer("fbank", fb, persistent=False)  # [n_fft/2 + 1, n_mels]
        self.register_buffer("window", torch.hann_window(self.win), persistent=False)
        self.mean, self.std = float(mean), float(std)

    def fit(self, waves: torch.Tensor, batch_size: int = 256) -> tuple[float, float]:
        """Mean and std of the un-normalised log-mel over a set of waveforms [N, 1, S]."""
        total, sq, count = 0.0, 0.0, 0
        for i in range(0, len(waves), batch_size):
            z = self.logmel(waves[i : i + batch_size]).double()
            total, sq, count = total + float(z.sum()), sq + float((z * z).sum()), count + z.numel()
        mean = total / count
        return mean, math.sqrt(max(sq / count - mean * mean, 1e-12))

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """Un-normalised log-mel [B, 1, frames, n_mels]."""
        wave = wave.reshape(wave.shape[0], -1).float()  # [B, S]
        if wave.shape[1] < self.samples:
            wave = torch.nn.functional.pad(wave, (0, self.samples - wave.shape[1]))
        wave = wave[:, : self.samples]
        spec = torch.stft(
            wave,
            self.n_fft,
            self.hop,
            self.win,
            window=self.window,
            center=True,
            pad_mode="constant",
            return_complex=True,
        )  # [B, n_fft/2 + 1, frames]
        power = spec.real.square() + spec.imag.square()
        mel = torch.einsum("bft,fm->btm", power, self.fbank)  # [B, frames, n_mels]
        return torch.log(mel.clamp_min(LOG_FLOOR))[:, None]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return (self.logmel(wave) - self.mean) / (2.0 * self.std)


class RawLogMel:
    """DataSplits.raw_features for audio: waveforms [B, 1, S] -> flattened normalised log-mel [B, frames*n_mels].

    A plain picklable object (the evaluation's raw baseline runs it on CPU), holding only settings and statistics.
    """

    def __init__(self, settings: Mapping[str, Any], mean: float, std: float) -> None:
        self.settings, self.mean, self.std = dict(settings), float(mean), float(std)
        self._frontend: LogMel | None = None

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        if self._frontend is None:
            self._frontend = LogMel(self.settings, self.mean, self.std)
        with torch.no_grad():
            return self._frontend(wave).flatten(1)

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings, "mean": self.mean, "std": self.std, "_frontend": None}


def frontend_from_meta(meta: Mapping[str, Any] | None, default: Mapping[str, Any]) -> LogMel:
    """The dataset's front end (meta["frontend"], meta["logmel_mean"], meta["logmel_std"]) or the default."""
    meta = meta or {}
    settings = meta.get("frontend") or default
    return LogMel(settings, float(meta.get("logmel_mean", 0.0)), float(meta.get("logmel_std", 0.5)))
