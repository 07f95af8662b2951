"""The log-mel front end: torchaudio's Kaldi-compatible filterbank (AudioMAE / A-JEPA recipe) -> dataset norm.

A-JEPA inherits AudioMAE's input: `torchaudio.compliance.kaldi.fbank` with `htk_compat=True`, `use_energy=False`,
a Hanning window, no dither, 128 mel bins, 25 ms window and 10 ms shift, on the clip minus its mean; then
(x - mean) / (2 std) with the dataset's statistics. Kaldi's fbank takes one waveform at a time; because every
step of it (DC removal, pre-emphasis, window, FFT, mel, log) acts on one frame, a batch is computed in one call
by laying the clips end to end with a stride that is a whole number of hops, and keeping each clip's own frames:
identical to one call per clip (tests/test_audio.py checks it) and about a batch's worth of calls faster.
Waveforms are read with soundfile elsewhere: torchaudio's `load` needs torchcodec, which is not used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from jepakit import JepakitError

#: The fbank settings of AudioMAE's and A-JEPA's data pipeline that are not in the dataset config.
KALDI_FIXED: dict[str, Any] = {
    "htk_compat": True,
    "use_energy": False,
    "window_type": "hanning",
    "dither": 0.0,
}


def kaldi() -> Any:
    """torchaudio.compliance.kaldi, or a JepakitError (Error: + Hint:) naming the package to install."""
    try:
        from torchaudio.compliance import kaldi as k
    except Exception as exc:  # a wheel that does not load raises OSError or RuntimeError, not only ImportError
        raise JepakitError(
            f"the A-JEPA front end needs torchaudio (torchaudio.compliance.kaldi.fbank), which does not import: {exc}",
            "install it next to torch without touching torch: pip install --no-deps 'torchaudio==2.11.*'",
        ) from None
    return k


def frontend_numbers(settings: Mapping[str, Any]) -> dict[str, int]:
    """Window, hop and FFT sizes in samples (Kaldi's own arithmetic), and the clip length giving `frames` frames.

    Kaldi frames are snipped at the edges: a clip of (frames - 1) * hop + win samples holds exactly `frames`.
    """
    sr = float(settings["sample_rate"])
    win = int(sr * float(settings["win_ms"]) * 0.001)  # Kaldi truncates, as here
    hop = int(sr * float(settings["hop_ms"]) * 0.001)
    n_fft = 1 << max(0, math.ceil(math.log2(win)))  # round_to_power_of_two
    return {"win": win, "hop": hop, "n_fft": n_fft, "samples": (int(settings["frames"]) - 1) * hop + win}


def fbank_args(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of kaldi.fbank for these settings (f_max = 0 means Nyquist, as in Kaldi)."""
    return {
        **KALDI_FIXED,
        "num_mel_bins": int(settings["n_mels"]),
        "frame_length": float(settings["win_ms"]),
        "frame_shift": float(settings["hop_ms"]),
        "sample_frequency": float(settings["sample_rate"]),
        "low_freq": float(settings.get("f_min", 20.0)),
        "high_freq": float(settings.get("f_max") or 0.0),
    }


class LogMel(nn.Module):
    """Waveforms [B, 1, S] (or [B, S]) -> normalised Kaldi log-mel fbank [B, 1, frames, n_mels] (time rows).

    Clips are zero-padded or cut to `samples` first, so any length works. The normalisation is AudioSet-style
    fbank normalisation: (fbank - mean) / (2 std) with the train split's statistics (AST, AudioMAE).
    Holds no tensors: checkpoints hold learned weights only, and the front end is rebuilt from meta.
    """

    def __init__(self, settings: Mapping[str, Any], mean: float = 0.0, std: float = 0.5) -> None:
        super().__init__()
        self.settings = dict(settings)
        nums = frontend_numbers(settings)
        self.win, self.hop, self.n_fft, self.samples = nums["win"], nums["hop"], nums["n_fft"], nums["samples"]
        self.frames, self.n_mels = int(settings["frames"]), int(settings["n_mels"])
        self.args = fbank_args(settings)
        kaldi()  # fail here, at build time, with Error: + Hint: (a module is not kept: the EMA deep-copies)
        self.mean, self.std = float(mean), float(std)

    def fit(self, waves: torch.Tensor, batch_size: int = 256) -> tuple[float, float]:
        """Mean and std of the un-normalised log-mel over a set of waveforms [N, 1, S] (the dataset statistics)."""
        total, sq, count = 0.0, 0.0, 0
        for i in range(0, len(waves), batch_size):
            z = self.logmel(waves[i : i + batch_size]).double()
            total, sq, count = total + float(z.sum()), sq + float((z * z).sum()), count + z.numel()
        mean = total / count
        return mean, math.sqrt(max(sq / count - mean * mean, 1e-12))

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """Un-normalised Kaldi log-mel [B, 1, frames, n_mels], one fbank call for the whole batch."""
        wave = wave.reshape(wave.shape[0], -1).float()  # [B, S]
        if wave.shape[1] < self.samples:
            wave = torch.nn.functional.pad(wave, (0, self.samples - wave.shape[1]))
        wave = wave[:, : self.samples]
        wave = wave - wave.mean(dim=1, keepdim=True)  # AudioMAE: waveform - waveform.mean()
        b = wave.shape[0]
        stride = -(-self.samples // self.hop) * self.hop  # clip slot: a whole number of hops
        joined = torch.nn.functional.pad(wave, (0, stride - self.samples)).reshape(1, b * stride)  # [1, B*stride]
        feats = kaldi().fbank(joined, **self.args)  # [M, n_mels], frame m starts at sample m * hop
        per_clip = stride // self.hop
        feats = torch.nn.functional.pad(feats, (0, 0, 0, b * per_clip - feats.shape[0]))  # last slot's spare frames
        return feats.reshape(b, per_clip, self.n_mels)[:, None, : self.frames]  # [B, 1, frames, n_mels]

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
