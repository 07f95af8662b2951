"""The human-digits evaluation set: recordings 0.wav..9.wav as the test split, probes fitted on eSpeak's digits
(or on other variations of the same recordings); a missing folder names the Debian package."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
from jepakit_ajepa.config import HumanDigitsConfig
from jepakit_ajepa.data import _digit_clips, human_digits

from jepakit.errors import JepakitError

SMALL = {
    "sample_rate": 8000,
    "n_mels": 32,
    "frames": 32,
    "win_ms": 25.0,
    "hop_ms": 16.0,
    "voices": ["en"],
    "variants": [""],
    "rates": [160],
    "pitches": [40, 55, 70, 85],
    "test_fraction": 0.25,
}


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory):
    """One eSpeak cache for the module: the synthesis is the slow part, and it is tested in test_data.py."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture()
def recordings(tmp_path, monkeypatch, synth_cache):
    """A folder like asterisk's digits/: 0.wav..9.wav, each a tone of its own pitch (8 kHz, 16-bit), plus a
    number that must be ignored."""
    monkeypatch.setenv("JEPAKIT_CACHE", str(synth_cache))
    _digit_clips.cache_clear()
    root = tmp_path / "digits"
    root.mkdir()
    t = np.arange(3200) / 8000
    for d in range(10):
        sf.write(root / f"{d}.wav", 0.4 * np.sin(2 * math.pi * (200 + 100 * d) * t), 8000, subtype="PCM_16")
    sf.write(root / "20.wav", np.zeros(800), 8000, subtype="PCM_16")
    yield root
    _digit_clips.cache_clear()


def test_the_human_recordings_are_the_test_split_and_espeak_the_train_split(recordings):
    s = human_digits(HumanDigitsConfig(path=str(recordings), variations=3, **SMALL))
    assert s.name == "human-digits-8k-from-espeak" and s.num_classes == 10 and s.class_names[3] == "three"
    assert len(s.train) == 40 and len(s.test) == 30 and s.input_shape == (1, 31 * 128 + 200)
    assert np.bincount(s.test.y.numpy()).tolist() == [3] * 10
    for i in (0, 13, 29):  # every test clip holds its digit's tone
        x, y = s.test[i]
        peak = np.abs(np.fft.rfft(x[0].numpy())).argmax() * 8000 / x.shape[-1]
        assert abs(peak - (200 + 100 * y)) < 10
    assert s.meta["frontend"]["n_mels"] == 32 and s.raw_features is not None


def test_probes_may_fit_on_other_variations_of_the_human_recordings(recordings):
    s = human_digits(HumanDigitsConfig(path=str(recordings), variations=8, probe_train="human", **SMALL))
    assert s.name == "human-digits-8k" and len(s.train) + len(s.test) == 80 and len(s.test) == 20
    assert set(s.train.y.tolist()) == set(s.test.y.tolist()) == set(range(10))


def test_a_missing_folder_names_the_package(tmp_path):
    with pytest.raises(JepakitError, match="0.wav") as err:
        human_digits(HumanDigitsConfig(path=str(tmp_path), **SMALL))
    assert "asterisk-core-sounds-en-wav" in err.value.hint
    with pytest.raises(ValueError, match="probe_train"):
        HumanDigitsConfig(probe_train="both")  # type: ignore[arg-type]
