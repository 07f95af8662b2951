"""Loading users' recordings with MNE, streamed: good FIF files, a damaged EDF, a file with a NaN stretch, and
windows read on demand that match the whole-recording preprocessing."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest
import torch
from jepakit_sjepa.config import EEGFilesConfig
from jepakit_sjepa.eeg_files import eeg_files

from jepakit.errors import JepakitError

CHANS = ["Fz", "C3", "Cz", "C4", "Pz", "O1", "O2", "EOG"]


def _write_fif(path, seed: int, nan: bool = False) -> None:
    rng = np.random.default_rng(seed)
    sfreq, secs = 128.0, 40
    data = 20e-6 * rng.standard_normal((len(CHANS), int(sfreq * secs)))
    if nan:
        data[2, 100:110] = np.nan
    info = mne.create_info(CHANS, sfreq, ch_types=["eeg"] * 7 + ["eog"])
    raw = mne.io.RawArray(data, info, verbose="error")
    onsets = np.arange(1.0, secs - 5, 3.0)
    raw.set_annotations(mne.Annotations(onsets, 0.1, ["left" if i % 2 else "right" for i in range(len(onsets))]))
    raw.save(path, overwrite=True, verbose="error")


def test_reads_good_files_and_skips_bad_ones_with_a_counted_warning(tmp_path, caplog):
    _write_fif(tmp_path / "s01_raw.fif", 0)
    _write_fif(tmp_path / "s02_raw.fif", 1)
    _write_fif(tmp_path / "s03_raw.fif", 2, nan=True)
    (tmp_path / "broken.edf").write_bytes(b"0       this is not an EDF header" + bytes(300))
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        splits = eeg_files(EEGFilesConfig(path=str(tmp_path), window_s=2.0, sfreq=64.0))
    assert splits.input_shape == (7, 128)  # the EOG channel is dropped; 2 s at 64 Hz
    assert splits.class_names == ["left", "right"] and splits.num_classes == 2
    assert len(splits.train) + len(splits.test) == 3 * 12  # listing reads headers only: the NaN file is listed
    assert len(splits.meta["ch_pos"]) == 7 and splits.meta["ch_names"][1] == "C3"
    assert "skipped 1 of 4 file(s)" in caplog.text and "broken.edf" in caplog.text
    data = splits.train.subset(np.arange(len(splits.train)))
    xs = [data[i][0] for i in range(len(data))]  # every window, the NaN one replaced by the next
    assert all(x.shape == (7, 128) and torch.isfinite(x).all() for x in xs)
    # the windows whose filter margin reaches the NaN stretch (s03's first two), each named in a warning
    assert 1 <= len(data.failed) <= 2 and all("NaN" in why for why in data.failed.values())
    assert {data.files[data.index[j, 0]] for j in data.failed} == {str(tmp_path / "s03_raw.fif")}
    assert "s03_raw.fif" in caplog.text
    assert splits.raw_features(torch.stack(xs[:2])).shape == (2, 7 * 5)


def test_a_streamed_window_matches_the_whole_recording_preprocessed(tmp_path):
    """Reading a window with a filter margin gives what filtering and resampling the whole file gives (away from
    the recording's ends), and the dataset holds no samples: a pickled copy (a worker's) is small."""
    import pickle

    _write_fif(tmp_path / "s01_raw.fif", 0)
    cfg = EEGFilesConfig(path=str(tmp_path), window_s=2.0, sfreq=64.0)
    splits = eeg_files(cfg)
    data = splits.train
    raw = mne.io.read_raw(tmp_path / "s01_raw.fif", preload=True, verbose="error").pick("eeg")
    raw.filter(cfg.l_freq, cfg.h_freq, verbose="error").resample(cfg.sfreq, method="polyphase", verbose="error")
    whole = raw.get_data() * 1e6 / cfg.scale_uv  # [C, L at 64 Hz]
    checked = 0
    for i in range(len(data)):
        f, start = data.index[i]
        t0 = int(round(start * cfg.sfreq / 128.0))
        if t0 < 5 * cfg.sfreq or t0 + 128 > whole.shape[1] - 5 * cfg.sfreq:
            continue  # near the ends the whole-file filter itself sees an edge
        np.testing.assert_allclose(data[i][0].numpy(), whole[:, t0 : t0 + 128], atol=0.02)
        checked += 1
    assert checked >= 3
    assert len(pickle.dumps(data)) < 20_000


def test_nothing_usable_is_a_clear_error_naming_the_file(tmp_path):
    (tmp_path / "broken.edf").write_bytes(b"garbage" * 40)
    with pytest.raises(JepakitError, match="broken.edf"):
        eeg_files(EEGFilesConfig(path=str(tmp_path)))
    with pytest.raises(JepakitError, match="does not exist"):
        eeg_files(EEGFilesConfig(path=str(tmp_path / "nope")))
