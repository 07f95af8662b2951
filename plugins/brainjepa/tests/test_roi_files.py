"""Users' ROI series: .npy/.csv/.mat read per subject; bad files are errors naming them or counted skips, and the
CLI turns bad input into exit code 2 with Error: and Hint: (no traceback)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from jepakit_brainjepa.config import ROIFilesConfig
from jepakit_brainjepa.roi_files import roi_files
from scipy.io import savemat

from jepakit.errors import JepakitError

R, T = 8, 120


def _series(seed: int) -> np.ndarray:
    """[R, T]: a subject = its own mixing of 3 shared sources (a connectivity fingerprint) plus noise."""
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(100 + seed % 3).standard_normal((R, 3))
    return 100 + mix @ rng.standard_normal((3, T)) + 0.3 * rng.standard_normal((R, T))


def _cfg(path: Path, **kw) -> ROIFilesConfig:
    return ROIFilesConfig(path=str(path), frames=24, stride=12, pretrain_stride=6, n_gradients=3, **kw)


def test_reads_npy_and_mat_one_subject_per_file(tmp_path):
    np.save(tmp_path / "s1.npy", _series(0))
    np.save(tmp_path / "s2b.npy", _series(1))
    savemat(tmp_path / "s3.mat", {"tc": _series(2)})
    s = roi_files(_cfg(tmp_path))
    assert s.class_names == ["s1", "s2b", "s3"] and s.input_shape == (R, 24) and s.num_classes == 3
    assert len(s.train) == len(s.test) == 3 * 4  # halves of 60 frames: windows at 0, 12, 24, 36
    assert np.asarray(s.meta["gradients"]).shape == (R, 3)
    assert s.raw_features(s.train.x[:2]).shape == (2, R * (R - 1) // 2)


def test_csv_with_a_header_and_time_first(tmp_path):
    for i in range(2):
        np.savetxt(
            tmp_path / f"sub{i}_run1.csv",
            _series(i).T,
            delimiter=",",
            header=",".join(f"roi{k}" for k in range(R)),
            comments="",
        )
    s = roi_files(_cfg(tmp_path, time_first=True, subject_from="prefix"))
    assert s.class_names == ["sub0", "sub1"] and s.input_shape == (R, 24)


def test_a_csv_with_a_missing_column_is_an_error_naming_it(tmp_path):
    np.save(tmp_path / "a.npy", _series(0))
    lines = [",".join(f"{v:.3f}" for v in row) for row in _series(1).T]
    lines[5] = ",".join(lines[5].split(",")[:-1])  # one value short
    (tmp_path / "b.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(JepakitError, match="b.csv") as info:
        roi_files(_cfg(tmp_path, time_first=True))
    assert "row" in info.value.hint


def test_a_mat_with_the_wrong_shape_is_an_error_naming_it(tmp_path):
    np.save(tmp_path / "a.npy", _series(0))
    savemat(tmp_path / "b.mat", {"tc": np.zeros((R, T, 2))})
    with pytest.raises(JepakitError, match=r"b.mat holds an array of shape \(8, 120, 2\)"):
        roi_files(_cfg(tmp_path))
    savemat(tmp_path / "b.mat", {"tc": np.zeros((R + 1, T))})
    with pytest.raises(JepakitError, match="9 ROIs"):
        roi_files(_cfg(tmp_path))


def test_nan_filled_and_short_series_are_skipped_and_counted(tmp_path, caplog):
    for i in range(3):
        np.save(tmp_path / f"s{i}.npy", _series(i))
    bad = _series(3)
    bad[2, 40:] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    np.save(tmp_path / "short.npy", _series(4)[:, :40])
    with caplog.at_level(logging.WARNING, logger="jepakit"):
        s = roi_files(_cfg(tmp_path))
    assert s.class_names == ["s0", "s1", "s2"]
    assert "skipped 2 of 5 file(s)" in caplog.text and "nan.npy (NaN/inf values)" in caplog.text
    assert "short.npy" in caplog.text and len(s.meta["skipped"]) == 2
    for f in tmp_path.glob("s[0-9].npy"):
        f.unlink()
    with pytest.raises(JepakitError, match="none of the 2 file"):
        roi_files(_cfg(tmp_path))


def test_bad_input_exits_2_with_error_and_hint(tmp_path):
    np.save(tmp_path / "a.npy", _series(0))
    savemat(tmp_path / "b.mat", {"tc": np.zeros((3,))})
    jepakit = Path(sys.executable).with_name("jepakit")
    out = subprocess.run(
        [
            str(jepakit),
            "train",
            "brainjepa/brainjepa-tiny",
            "--out",
            str(tmp_path / "run"),
            "--no-eval",
            "--set",
            'data.use="brainjepa/roi-files"',
            "--set",
            f'data.path="{tmp_path}"',
            "--set",
            "data.frames=24",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "Error:" in out.stderr and "b.mat" in out.stderr and "Hint:" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
