"""Loading users' recordings with MNE: good FIF files, a damaged EDF and a file with a NaN channel."""

from __future__ import annotations

import logging

import mne
import numpy as np
import pytest
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
    assert len(splits.train) + len(splits.test) == 2 * 12
    assert len(splits.meta["ch_pos"]) == 7 and splits.meta["ch_names"][1] == "C3"
    assert np.isfinite(splits.train.x.numpy()).all()
    assert "skipped 2 of 4 file(s)" in caplog.text and "broken.edf" in caplog.text and "NaN" in caplog.text
    assert splits.raw_features(splits.train.x[:2]).shape == (2, 7 * 5)


def test_nothing_usable_is_a_clear_error_naming_the_file(tmp_path):
    (tmp_path / "broken.edf").write_bytes(b"garbage" * 40)
    with pytest.raises(JepakitError, match="broken.edf"):
        eeg_files(EEGFilesConfig(path=str(tmp_path)))
    with pytest.raises(JepakitError, match="does not exist"):
        eeg_files(EEGFilesConfig(path=str(tmp_path / "nope")))
