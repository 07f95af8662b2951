"""Spoken digits (eSpeak NG through ctypes, cached) and the audio-folder loader on good and corrupted folders."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import soundfile as sf
import torch
from jepakit_ajepa import synth
from jepakit_ajepa.audio import LogMel
from jepakit_ajepa.config import AudioFolderConfig, SpokenDigitsConfig
from jepakit_ajepa.data import _digit_clips, _load_audio, audio_folder, spoken_digits

from jepakit.errors import JepakitError
from jepakit.testing.contracts import worker_copy

FRONT = {"sample_rate": 8000, "n_mels": 32, "frames": 32, "win_ms": 25.0, "hop_ms": 16.0}  # 31 * 128 + 200 samples
SMALL = {
    **FRONT,
    "voices": ["en", "en-us"],
    "variants": ["", "f2"],
    "rates": [160],
    "pitches": [50],
    "test_fraction": 0.25,
}  # 4 clips per digit


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    _digit_clips.cache_clear()
    yield tmp_path / "cache"
    _digit_clips.cache_clear()


def test_espeak_speaks_each_digit_in_the_chosen_voice():
    engine = synth.Espeak.get()
    a = engine.say("seven", "en-us", 160, 50)
    assert a.dtype == np.int16 and 0.2 * engine.rate_hz < len(a) < 1.5 * engine.rate_hz and np.abs(a).max() > 1000
    again = engine.say("seven", "en-us", 160, 50)
    assert abs(len(again) - len(a)) < 0.01 * len(a), "the same call gives the same word (not bit-identical)"
    with pytest.raises(JepakitError, match="no voice"):
        engine.say("one", "xx-not-a-voice", 160, 50)
    items = synth.grid_of(["en-us"], ["", "f2"], [160], [50])[:4]  # zero, zero in f2, one, one in f2
    samples, offsets, labels = synth.synthesize(items, 8000)
    lengths = np.diff(offsets)
    assert labels.tolist() == [0, 0, 1, 1] and samples.dtype == np.int16 and bool((lengths > 1600).all())
    low_f2 = [np.abs(np.fft.rfft(samples[offsets[i] : offsets[i + 1]].astype(float)))[:1000].argmax() for i in (0, 1)]
    assert low_f2[0] != low_f2[1], "the f2 variant must change the voice's spectrum"


def test_synthesis_is_cached_on_disk_under_a_key_of_every_setting(cache, monkeypatch):
    items = synth.grid_of(["en"], [""], [160], [50])
    assert len(items) == 10 and [it[0] for it in items] == list(range(10))
    first = synth.load_or_synthesize(items, 8000)
    files = list(cache.glob("spoken-digits-*.npz"))
    assert len(files) == 1
    monkeypatch.setattr(synth, "synthesize", lambda *a: pytest.fail("the cache was not used"))
    again = synth.load_or_synthesize(items, 8000)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))
    keys = {
        synth.cache_key(items, 8000),
        synth.cache_key(items, 16000),
        synth.cache_key(synth.grid_of(["en"], [""], [161], [50]), 8000),
    }
    assert len(keys) == 3, "rate, sample rate and synthesis settings must all change the key"
    files[0].write_bytes(b"not an npz")  # a corrupt cache is rebuilt, not fatal
    monkeypatch.undo()
    monkeypatch.setenv("JEPAKIT_CACHE", str(cache))
    rebuilt = synth.load_or_synthesize(items, 8000)
    assert np.array_equal(rebuilt[2], first[2]) and abs(len(rebuilt[0]) - len(first[0])) < 0.01 * len(first[0])
    with np.load(files[0]) as z:  # rewritten whole
        assert np.array_equal(z["samples"], rebuilt[0])


def test_spoken_digits_splits_meta_and_raw_log_mel(cache):
    s = spoken_digits(SpokenDigitsConfig(**SMALL))
    assert s.modality == "audio" and s.num_classes == 10 and s.class_names[7] == "seven"
    assert s.input_shape == (1, 31 * 128 + 200) and len(s.train) == 30 and len(s.test) == 10
    assert sorted(s.test.y.tolist()) == list(range(10)), "stratified: one test clip per digit"
    assert float(s.train.x.abs().max()) <= 1.0 and float(s.train.x.std()) > 0.01
    assert s.meta["frontend"]["n_mels"] == 32 and s.meta["logmel_std"] > 0
    raw = s.raw_features(s.test.x[:3])
    fe = LogMel(s.meta["frontend"], s.meta["logmel_mean"], s.meta["logmel_std"])
    torch.testing.assert_close(raw, fe(s.test.x[:3]).flatten(1))
    assert raw.shape == (3, 32 * 32)
    again = spoken_digits(SpokenDigitsConfig(**SMALL), seed=7)
    assert torch.equal(again.test.x, s.test.x), "the run's seed does not change data or split"
    other = spoken_digits(SpokenDigitsConfig(**{**SMALL, "seed": 1}))
    assert not torch.equal(other.train.x, s.train.x), "cfg.seed draws other onsets, gains and noise"


def test_onsets_vary_unless_shift_is_off(cache):
    def centroids(shift: bool) -> np.ndarray:
        cfg = SpokenDigitsConfig(**{**SMALL, "frames": 96, "shift": shift, "snr_db": (60.0, 60.0)})  # 1.5 s clips
        energy = spoken_digits(cfg).train.x[:, 0].double() ** 2  # [N, S]
        return ((energy * torch.arange(energy.shape[1])).sum(1) / energy.sum(1)).numpy()

    fixed, shifted = centroids(False), centroids(True)
    assert fixed.max() < 0.4 * 95 * 128, "without shift every word sits at the start of its clip"
    assert shifted.std() > 2.5 * fixed.std(), (shifted.std(), fixed.std())


def write_wav(path, seconds: float = 0.3, rate: int = 16000, freq: float = 440.0, fmt: str = "WAV") -> None:
    t = np.arange(int(seconds * rate)) / rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), 0.5 * np.sin(2 * np.pi * freq * t), rate, format=fmt)


def test_audio_folder_reads_resamples_and_skips_bad_files(tmp_path, caplog):
    root = tmp_path / "sounds"
    for i in range(3):
        write_wav(root / "low" / f"{i}.wav", freq=300.0 + 10 * i)
        write_wav(root / "high" / f"{i}.flac", freq=2000.0 + 10 * i, rate=44100, fmt="FLAC")
    write_wav(root / "high" / "3.ogg", freq=2100.0, fmt="OGG")
    good = (root / "low" / "0.wav").read_bytes()
    (root / "low" / "truncated.wav").write_bytes(good[:30])  # cut inside the header
    (root / "high" / "noise.wav").write_bytes(np.random.default_rng(0).bytes(2000))  # random bytes
    (root / "high" / "notes.txt").write_text("not audio")
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = audio_folder(AudioFolderConfig(path=str(root), test_fraction=0.3, **FRONT))
    assert "skipped 3 unreadable file(s)" in caplog.text
    assert len(s.train) + len(s.test) == 7 and s.class_names == ["high", "low"] and len(s.train.skipped) == 3
    assert s.input_shape == (1, 31 * 128 + 200) and s.modality == "audio"
    # the folder streams (no .x/.y tensors since it decodes per item): read the clips one by one
    x = torch.stack([s.train[i][0] for i in range(len(s.train))])
    spec = LogMel(s.meta["frontend"]).logmel(x)[:, 0].mean(1)  # [N, n_mels]
    # the resampled tones sit in the right half of the mels
    for x_spec, y in zip(spec, [s.train[i][1] for i in range(len(s.train))], strict=True):
        assert (int(x_spec.argmax()) > 16) == (y == 0), "high class tones must sit in upper mel bins"


def test_audio_folder_streams_small_pickles_and_eager_samples(tmp_path, caplog):
    """A worker receives paths, not audio; a clip read on demand equals the old eager decode of the same file, the
    statistics equal the eager ones while the train split is under STATS_CLIPS, and a file that breaks after
    listing is replaced by the next one and counted."""
    root = tmp_path / "sounds"
    for i in range(40):
        write_wav(root / "low" / f"{i}.wav", seconds=1.0, freq=300.0 + i)
        write_wav(root / "high" / f"{i}.flac", seconds=1.0, freq=2000.0 + i, rate=44100, fmt="FLAC")
    cfg = AudioFolderConfig(path=str(root), test_fraction=0.25, **FRONT)
    s = audio_folder(cfg)
    blob = pickle.dumps(s.train)
    assert len(blob) < 20_000, len(blob)  # 60 clips of 4168 float32 samples would be ~1 MB
    worker = worker_copy(s.train)  # what a worker holds, rebuilt in memory (no bytes unpickled)
    length = s.input_shape[1]
    for i in (0, 7, len(worker) - 1):
        x, y = worker[i]
        eager = _load_audio(worker.path(i), cfg.sample_rate, length)  # what the eager loader stacked
        assert x.shape == (1, length) and torch.equal(x[0], torch.from_numpy(eager))
        assert s.class_names[y] == worker.path(i).parent.name
    every = torch.stack([torch.from_numpy(_load_audio(s.train.path(i), 8000, length))[None] for i in range(60)])
    mean, std = LogMel(s.meta["frontend"]).fit(every)
    assert s.meta["logmel_mean"] == pytest.approx(mean, rel=1e-5) and s.meta["logmel_std"] == pytest.approx(std)
    worker.path(3).write_bytes(b"RIFF0000WAVEfmt ")  # broken after listing: the next clip stands in
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        assert torch.equal(worker[3][0], worker[4][0])
    assert "using the next sample instead (1 file(s)" in caplog.text


def test_audio_folder_names_the_bad_file_when_nothing_usable_remains(tmp_path):
    root = tmp_path / "sounds"
    for i in range(2):
        write_wav(root / "a" / f"{i}.wav")
    (root / "b").mkdir()
    (root / "b" / "broken.wav").write_bytes(b"RIFF0000WAVEfmt ")
    with pytest.raises(JepakitError, match="broken.wav") as info:
        audio_folder(AudioFolderConfig(path=str(root), **FRONT))
    assert '"b" has 0 readable' in info.value.message
    with pytest.raises(JepakitError, match="not found"):
        audio_folder(AudioFolderConfig(path=str(tmp_path / "missing"), **FRONT))
    with pytest.raises(JepakitError, match="data.path is empty"):
        audio_folder(AudioFolderConfig(**FRONT))


def test_bad_configs():
    with pytest.raises(ValueError):
        SpokenDigitsConfig(rates=[10])
    with pytest.raises(ValueError):
        SpokenDigitsConfig(hop_ms=30.0, win_ms=25.0)
    with pytest.raises(ValueError):
        AudioFolderConfig(f_max=9000.0, sample_rate=16000)
