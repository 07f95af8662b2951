"""The log-mel front end: filterbank properties, torchaudio agreement where it imports, tones, normalisation."""

from __future__ import annotations

import math

import pytest
import torch
from jepakit_ajepa.audio import (
    LogMel,
    RawLogMel,
    frontend_numbers,
    hz_to_mel,
    mel_centres,
    mel_filterbank,
    mel_to_hz,
    melscale_fbanks,
    torchaudio_fbanks,
)
from jepakit_ajepa.synth import resample

from jepakit.testing.contracts import worker_copy

TINY = {"sample_rate": 8000, "n_mels": 64, "frames": 64, "win_ms": 25.0, "hop_ms": 16.0, "f_min": 0.0, "f_max": 0.0}
PAPER = {
    "sample_rate": 16000,
    "n_mels": 128,
    "frames": 1024,
    "win_ms": 25.0,
    "hop_ms": 10.0,
    "f_min": 0.0,
    "f_max": 0.0,
}


def test_htk_mel_scale_round_trips_and_has_its_anchor():
    assert float(hz_to_mel(700.0)) == pytest.approx(2595.0 * math.log10(2.0))
    hz = torch.tensor([0.0, 100.0, 1000.0, 7999.0])
    torch.testing.assert_close(mel_to_hz(hz_to_mel(hz)), hz.double(), atol=1e-6, rtol=0)


def test_triangles_peak_at_one_on_their_centres_and_centres_are_mel_uniform():
    edges = mel_centres(0.0, 4000.0, 64)  # [66]
    centres = edges[1:-1]
    fb = mel_filterbank(centres, 0.0, 4000.0, 64)  # filters evaluated at their own centres
    torch.testing.assert_close(fb, torch.eye(64), atol=1e-5, rtol=0)
    assert bool((centres[1:] > centres[:-1]).all()), "centre frequencies must increase"
    steps = hz_to_mel(edges).diff()
    torch.testing.assert_close(steps, torch.full_like(steps, float(steps[0])), rtol=1e-9, atol=1e-9)
    dense = mel_filterbank(torch.linspace(0, 4000, 40001, dtype=torch.float64), 0.0, 4000.0, 64)
    assert float(dense.max()) <= 1.0 + 1e-6 and bool((dense.max(0).values > 0.99).all())


def test_each_filter_is_a_triangle_between_its_neighbouring_centres():
    edges = mel_centres(0.0, 8000.0, 128)
    f = torch.linspace(0, 8000, 20001, dtype=torch.float64)
    fb = mel_filterbank(f, 0.0, 8000.0, 128)
    for k in (0, 40, 127):
        support = f[fb[:, k] > 0]
        assert float(support.min()) >= float(edges[k]) - 1e-6 and float(support.max()) <= float(edges[k + 2]) + 1e-6
    assert bool((fb >= 0).all())


@pytest.mark.parametrize("settings, empty", [(TINY, 0), (PAPER, 1)])
def test_stft_filterbank_covers_the_bins(settings, empty):
    """At the paper's 16 kHz / 512-point FFT the lowest of 128 filters is narrower than one bin and falls between
    bins (torchaudio's matrix has the same zero column); it reads the log floor, a constant. No other is empty."""
    nums = frontend_numbers(settings)
    fb = melscale_fbanks(
        nums["n_fft"] // 2 + 1, 0.0, settings["sample_rate"] / 2, settings["n_mels"], settings["sample_rate"]
    )
    assert fb.shape == (nums["n_fft"] // 2 + 1, settings["n_mels"])
    assert int((fb.sum(0) == 0).sum()) == empty and bool((fb.sum(0)[empty:] > 0).all())


def _textbook_fbanks(n_freqs: int, f_min: float, f_max: float, n_mels: int, sr: int) -> torch.Tensor:
    """Triangular HTK-mel filters written from the definition, one bin and one filter at a time (float64)."""

    def mel(f: float) -> float:
        return 2595.0 * math.log10(1.0 + f / 700.0)

    edges = [
        700.0 * (10 ** ((mel(f_min) + (mel(f_max) - mel(f_min)) * i / (n_mels + 1)) / 2595.0) - 1.0)
        for i in range(n_mels + 2)
    ]
    fb = torch.zeros(n_freqs, n_mels, dtype=torch.float64)
    for b in range(n_freqs):
        f = (sr // 2) * b / (n_freqs - 1)
        for m in range(n_mels):
            lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
            fb[b, m] = max(0.0, min((f - lo) / (mid - lo), (hi - f) / (hi - mid)))
    return fb


def test_filterbank_matches_the_definition():
    ours = melscale_fbanks(129, 0.0, 4000.0, 64, 8000)
    torch.testing.assert_close(ours.double(), _textbook_fbanks(129, 0.0, 4000.0, 64, 8000), atol=1e-6, rtol=1e-6)


def test_filterbank_matches_torchaudio():
    theirs = torchaudio_fbanks(129, 0.0, 4000.0, 64, 8000)
    if theirs is None:
        pytest.skip(
            "torchaudio does not import here (its PyPI wheels are CUDA builds); "
            "test_filterbank_matches_the_definition checks the same matrix from the definition"
        )
    torch.testing.assert_close(melscale_fbanks(129, 0.0, 4000.0, 64, 8000), theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_lights_up_the_mel_bin_of_its_frequency(freq):
    fe = LogMel(TINY)
    t = torch.arange(fe.samples) / TINY["sample_rate"]
    spec = fe(torch.sin(2 * math.pi * freq * t)[None, None])  # [1, 1, frames, n_mels]
    assert spec.shape == (1, 1, 64, 64)
    loudest = int(spec[0, 0, 5:-5].mean(0).argmax())
    nearest = int((mel_centres(0.0, 4000.0, 64)[1:-1] - freq).abs().argmin())
    assert abs(loudest - nearest) <= 1, (loudest, nearest)


def test_frames_and_lengths_are_exact_for_any_input_length():
    fe = LogMel(TINY)
    assert frontend_numbers(TINY) == {"win": 200, "hop": 128, "n_fft": 256, "samples": 63 * 128}
    for n in (100, fe.samples, fe.samples + 999):
        assert fe(torch.randn(2, 1, n)).shape == (2, 1, 64, 64)
    silence = fe.logmel(torch.zeros(1, 1, fe.samples))
    assert torch.isfinite(silence).all() and float(silence.max()) == pytest.approx(math.log(1e-6))


def test_normalisation_uses_the_fitted_statistics_and_raw_features_pickle():
    waves = 0.1 * torch.randn(16, 1, LogMel(TINY).samples, generator=torch.Generator().manual_seed(0))
    mean, std = LogMel(TINY).fit(waves)
    z = LogMel(TINY, mean, std)(waves)
    assert abs(float(z.mean())) < 1e-3 and float(z.std()) == pytest.approx(0.5, rel=1e-2)  # (x - m) / (2 s)
    raw = worker_copy(RawLogMel(TINY, mean, std))
    torch.testing.assert_close(raw(waves), z.flatten(1))


def test_resample_changes_rate_and_keeps_a_tone():
    t = torch.arange(22050) / 22050
    tone = torch.sin(2 * math.pi * 440 * t).numpy()
    out = resample(tone, 22050, 8000)
    assert out.shape == (8000,) and out.dtype.name == "float32"
    peak_hz = float(abs(torch.fft.rfft(torch.as_tensor(out))).argmax())  # 1 s -> 1 Hz bins
    assert abs(peak_hz - 440) <= 1
