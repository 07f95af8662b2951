"""The Kaldi fbank front end: against the definition on a known signal, batch = one call per clip, tones,
frame counts, normalisation, and the Error: + Hint: when torchaudio does not import."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch
from jepakit_ajepa.audio import LogMel, RawLogMel, frontend_numbers
from jepakit_ajepa.synth import resample

from jepakit.errors import JepakitError
from jepakit.testing.contracts import worker_copy

pytest.importorskip("torchaudio", reason="the A-JEPA front end is torchaudio's kaldi.fbank")

TINY = {"sample_rate": 8000, "n_mels": 32, "frames": 64, "win_ms": 25.0, "hop_ms": 16.0, "f_min": 20.0, "f_max": 0.0}


def _kaldi_mel(f: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _definition_fbank(x: np.ndarray, s: dict) -> np.ndarray:
    """Kaldi's compute-fbank-feats written out frame by frame (float64) for AudioMAE's options: snipped edges,
    per-frame DC removal, pre-emphasis 0.97 (first sample against itself), Hanning window, zero-pad to a power
    of two, power spectrum, triangles on Kaldi's mel scale 1127 ln(1 + f/700) between low and high freq (the
    Nyquist bin unused), log with float32 epsilon as the floor. [frames, n_mels]."""
    sr = s["sample_rate"]
    win, hop = int(sr * s["win_ms"] * 0.001), int(sr * s["hop_ms"] * 0.001)
    n_fft = 1 << math.ceil(math.log2(win))
    n = np.arange(win)
    window = 0.5 - 0.5 * np.cos(2 * math.pi * n / (win - 1))
    high = s["f_max"] or sr / 2
    lo, hi = _kaldi_mel(s["f_min"]), _kaldi_mel(high)
    delta = (hi - lo) / (s["n_mels"] + 1)
    bins = _kaldi_mel(np.arange(n_fft // 2) * sr / n_fft)
    banks = np.zeros((s["n_mels"], n_fft // 2 + 1))
    for m in range(s["n_mels"]):
        left, centre, right = lo + m * delta, lo + (m + 1) * delta, lo + (m + 2) * delta
        for i, mel in enumerate(bins):
            if left < mel < right:
                banks[m, i] = (mel - left) / (centre - left) if mel <= centre else (right - mel) / (right - centre)
    out = []
    for t in range(1 + (len(x) - win) // hop):
        frame = x[t * hop : t * hop + win].astype(np.float64)
        frame = frame - frame.mean()
        frame = frame - 0.97 * np.concatenate([frame[:1], frame[:-1]])
        spec = np.abs(np.fft.rfft(frame * window, n=n_fft)) ** 2
        out.append(np.log(np.maximum(banks @ spec, np.finfo(np.float32).eps)))
    return np.stack(out)


def _known_signal(samples: int, sr: int) -> np.ndarray:
    """A 440 Hz tone, a 1.9 kHz tone from half-way, a DC offset and a fixed low noise floor."""
    t = np.arange(samples) / sr
    rng = np.random.default_rng(0)
    x = 0.5 * np.sin(2 * math.pi * 440 * t) + 0.25 * np.sin(2 * math.pi * 1900 * t) * (t > t[-1] / 2) + 0.1
    return (x + 1e-3 * rng.standard_normal(samples)).astype(np.float32)


def test_features_match_the_definition_on_a_known_signal():
    fe = LogMel(TINY)
    x = _known_signal(fe.samples, TINY["sample_rate"])
    ours = fe.logmel(torch.from_numpy(x)[None, None])[0, 0].double().numpy()  # [frames, n_mels]
    ref = _definition_fbank(x - x.mean(), TINY)  # AudioMAE subtracts the clip mean first
    assert ours.shape == ref.shape == (64, 32)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=1e-3)


def test_a_batch_equals_one_kaldi_call_per_clip():
    from torchaudio.compliance import kaldi

    fe = LogMel(TINY)
    waves = 0.1 * torch.randn(5, 1, fe.samples + 37, generator=torch.Generator().manual_seed(1))
    batch = fe.logmel(waves)  # [5, 1, frames, n_mels]
    for i in range(5):
        clip = waves[i, :, : fe.samples]
        torch.testing.assert_close(batch[i, 0], kaldi.fbank(clip - clip.mean(), **fe.args), rtol=0, atol=1e-5)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_lights_up_the_mel_band_of_its_frequency(freq):
    fe = LogMel(TINY)
    t = torch.arange(fe.samples) / TINY["sample_rate"]
    spec = fe(torch.sin(2 * math.pi * freq * t)[None, None])  # [1, 1, frames, n_mels]
    loudest = int(spec[0, 0].mean(0).argmax())
    lo, hi = _kaldi_mel(20.0), _kaldi_mel(4000.0)
    centres = lo + (np.arange(32) + 1) * (hi - lo) / 33
    assert abs(loudest - int(np.abs(centres - _kaldi_mel(freq)).argmin())) <= 1


def test_frames_and_lengths_are_exact_for_any_input_length():
    fe = LogMel(TINY)
    assert frontend_numbers(TINY) == {"win": 200, "hop": 128, "n_fft": 256, "samples": 63 * 128 + 200}
    paper = {"sample_rate": 16000, "n_mels": 128, "frames": 1024, "win_ms": 25.0, "hop_ms": 10.0}
    assert frontend_numbers(paper) == {"win": 400, "hop": 160, "n_fft": 512, "samples": 1023 * 160 + 400}
    for n in (100, fe.samples, fe.samples + 999):
        assert fe(torch.randn(2, 1, n)).shape == (2, 1, 64, 32)
    silence = fe.logmel(torch.zeros(1, 1, fe.samples))
    assert float(silence.max()) == pytest.approx(math.log(np.finfo(np.float32).eps))


def test_normalisation_uses_the_fitted_statistics_and_raw_features_pickle():
    waves = 0.1 * torch.randn(16, 1, LogMel(TINY).samples, generator=torch.Generator().manual_seed(0))
    mean, std = LogMel(TINY).fit(waves)
    z = LogMel(TINY, mean, std)(waves)
    assert abs(float(z.mean())) < 1e-3 and float(z.std()) == pytest.approx(0.5, rel=1e-2)  # (x - m) / (2 s)
    raw = worker_copy(RawLogMel(TINY, mean, std))
    torch.testing.assert_close(raw(waves), z.flatten(1))


def test_a_missing_torchaudio_is_an_error_with_a_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchaudio.compliance", None)  # import of it now raises ImportError
    with pytest.raises(JepakitError, match="torchaudio") as err:
        LogMel(TINY)
    assert "pip install" in err.value.hint


def test_resample_changes_rate_and_keeps_a_tone():
    t = torch.arange(22050) / 22050
    tone = torch.sin(2 * math.pi * 440 * t).numpy()
    out = resample(tone, 22050, 8000)
    assert out.shape == (8000,) and out.dtype.name == "float32"
    peak_hz = float(abs(torch.fft.rfft(torch.as_tensor(out))).argmax())  # 1 s -> 1 Hz bins
    assert abs(peak_hz - 440) <= 1
