"""End to end: a few steps of pointjepa-tiny-shapes at toy sizes, the SVM / k-NN evaluation and mask pictures,
bad input through the CLI (exit 2, `Error:` + `Hint:`, no traceback), and the plugins.toml composition."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.testing.runs import train_tiny

SMALL = [
    "optim.steps=3",
    "optim.batch_size=16",
    "encoder.num_groups=16",
    "encoder.group_size=8",
    "encoder.pointnet_dims=[8, 16, 16]",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "data.points=64",
    "data.stored=64",
    "data.classes=3",
    "data.train_per_class=8",
    "data.test_per_class=4",
    "method.repeats=1",
    "method.folds=3",
]


@pytest.mark.slow
def test_tiny_train_writes_svm_and_knn_rows_and_mask_pictures(tmp_path):
    out = tmp_path / "run"
    train_tiny("pointjepa/pointjepa-tiny-shapes", SMALL, out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev["primary"] == "svm" and set(ev["metrics"]) == {"svm", "knn"}
    for scores in ev["metrics"].values():
        assert all(0.0 <= scores[row] <= 100.0 for row in ("trained", "random_init", "raw"))
    assert ev["readout"] == "max+mean" and ev["baseline_label"] == "D2 shape distribution + extents"
    assert ev["majority_class"] == pytest.approx(100 / 3, abs=0.01) and "feature_std" in ev["collapse"]
    for png in ("masks.png", "masks_encoder.png"):
        assert (out / "plots" / png).stat().st_size > 5000


def run_cli(tmp_path, *sets: str):
    args = ["train", "pointjepa/pointjepa-tiny-shapes", "--out", str(tmp_path / "r"), "--set", "optim.steps=1"]
    for s in sets:
        args += ["--set", s]
    return CliRunner().invoke(app, args)


def test_fewer_points_than_the_group_size_is_a_config_error(tmp_path):
    res = run_cli(tmp_path, "data.points=16", "data.stored=16", "data.train_per_class=2", "data.test_per_class=1")
    assert res.exit_code == 2 and "Error:" in res.output and "Hint:" in res.output, res.output
    assert "fewer than the group size" in res.output and "Traceback" not in res.output


def test_missing_furniture_package_names_it(tmp_path):
    res = CliRunner().invoke(
        app, ["train", "pointjepa/pointjepa-tiny", "--out", str(tmp_path / "r"), "--set", f"data.path={tmp_path}"]
    )
    assert res.exit_code == 2 and "Error:" in res.output and "sweethome3d-furniture" in res.output, res.output
    assert "Traceback" not in res.output


def test_a_folder_of_unreadable_meshes_is_an_error(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "empty.obj").write_text("")
    (tmp_path / "data" / "nan.xyz").write_text("nan 0 0\n1 nan 0\n")
    res = run_cli(tmp_path, "data.use=pointjepa/point-folder", f"data.path={tmp_path / 'data'}")
    assert res.exit_code == 2 and "no readable cloud" in res.output and "Hint:" in res.output, res.output
