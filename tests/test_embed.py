"""`jepakit embed`: features written batch by batch with ids and labels beside them; a linear probe on the file
reproduces the run's own evaluation number, so the file holds exactly the features the run was scored on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from encoder_fixtures import tiny_run
from typer.testing import CliRunner

from jepakit.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory)


def embed(*args: str) -> dict:
    result = runner.invoke(app, ["embed", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_probe_on_embedded_features_equals_the_runs_evaluation(run_dir, tmp_path):
    from jepakit.api import LinearProbe

    evaluation = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    head = next(h for h in evaluation["metrics"] if h.startswith("linear"))
    files = {}
    for split in ("train", "test"):
        summary = embed(
            str(run_dir),
            "--data",
            "run",
            "--split",
            split,
            "--out",
            str(tmp_path / f"{split}.npy"),
            "--batch-size",
            "300",
        )
        assert summary["readout"] == evaluation["readout"] and summary["labels"] is True
        meta = json.loads((tmp_path / f"{split}.meta.json").read_text(encoding="utf-8"))
        files[split] = np.load(tmp_path / f"{split}.npy"), np.asarray(meta["labels"])
        assert len(files[split][0]) == len(meta["ids"]) == evaluation[f"n_{split}"]
        assert meta["ids"][0] == f"{split}/0" and set(meta["splits"]) == {split}
    probe = LinearProbe()
    probe.fit(*files["train"])
    score = round(float(probe.score(*files["test"])["accuracy"]), 2)
    assert score == evaluation["metrics"][head]["trained"]


def test_a_folder_of_images_keeps_paths_and_class_labels(run_dir, tmp_path):
    from PIL import Image

    from jepakit.api import load_encoder

    for cls in ("cats", "dogs"):
        (tmp_path / "pics" / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (24 + i, 24), 60 * i + (100 if cls == "dogs" else 0)).save(
                tmp_path / "pics" / cls / f"{i}.png"
            )
    (tmp_path / "pics" / "dogs" / "broken.png").write_bytes(b"not a png")
    summary = embed(
        str(run_dir),
        "--data",
        str(tmp_path / "pics"),
        "--out",
        str(tmp_path / "f.npy"),
        "--readout",
        "mean",
        "--batch-size",
        "4",
    )
    meta = json.loads((tmp_path / "f.meta.json").read_text(encoding="utf-8"))
    assert summary["rows"] == 6 and summary["skipped"] == 1 and meta["skipped"] == ["dogs/broken.png"]
    assert meta["class_names"] == ["cats", "dogs"] and meta["labels"] == [0, 0, 0, 1, 1, 1]
    assert meta["ids"][0] == "cats/0.png" and meta["readout"] == "mean"
    feats = np.load(tmp_path / "f.npy")
    encoder, info = load_encoder(run_dir)
    want = info.features(encoder, info.prepare([tmp_path / "pics" / i for i in meta["ids"]]), readout="mean")
    np.testing.assert_allclose(feats, want, atol=1e-6)
    assert feats.shape == (6, 32)


def test_a_dataset_part_with_settings_matches_the_runs_own_data(run_dir, tmp_path):
    embed(str(run_dir), "--data", "run", "--split", "test", "--out", str(tmp_path / "a.npy"))
    embed(str(run_dir), "--data", "core/digits", "--set", "size=8", "--split", "test", "--out", str(tmp_path / "b.npy"))
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_bad_input_is_exit_2_with_a_hint(run_dir, tmp_path):
    def refused(args, needle):
        result = runner.invoke(app, ["embed", *args])
        assert result.exit_code == 2, result.output
        assert "Error:" in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output
        assert needle in result.stderr, result.stderr

    run = str(run_dir)
    refused([run, "--data", "core/digits", "--set", "size=16", "--out", str(tmp_path / "x.npy")], "shape")
    refused([run, "--data", "core/digitz", "--out", str(tmp_path / "x.npy")], "Did you mean")
    refused([run, "--split", "val", "--out", str(tmp_path / "x.npy")], "unknown split")
    refused([run, "--out", str(tmp_path / "x.csv")], "unknown format")
    try:
        import pyarrow  # noqa: F401 - only asks whether it is installed
    except ImportError:
        refused([run, "--out", str(tmp_path / "x.parquet")], "pyarrow")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_an_export_embeds_without_its_run(run_dir, tmp_path):
    runner.invoke(app, ["export", str(run_dir), "--out", str(tmp_path / "exp")])
    result = runner.invoke(app, ["embed", str(tmp_path / "exp"), "--out", str(tmp_path / "x.npy")])
    assert result.exit_code == 2 and "needs a run directory" in result.stderr
    summary = embed(
        str(tmp_path / "exp"),
        "--data",
        "core/digits",
        "--set",
        "size=8",
        "--split",
        "test",
        "--out",
        str(tmp_path / "d.npy"),
    )
    assert summary["shape"] == [397, 64]
    assert torch.from_numpy(np.load(tmp_path / "d.npy")).isfinite().all()


def test_parquet_holds_ids_labels_and_features_as_columns(run_dir, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    embed(str(run_dir), "--data", "run", "--split", "test", "--out", str(tmp_path / "a.npy"))
    summary = embed(str(run_dir), "--data", "run", "--split", "test", "--out", str(tmp_path / "a.parquet"))
    table = pq.read_table(tmp_path / "a.parquet")
    meta = json.loads((tmp_path / "a.meta.json").read_text(encoding="utf-8"))
    assert summary["shape"] == list(np.load(tmp_path / "a.npy").shape)
    assert table.column("id").to_pylist() == meta["ids"] and table.column("label").to_pylist() == meta["labels"]
    feats = np.stack(table.column("features").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(feats, np.load(tmp_path / "a.npy"))
    assert json.loads(table.schema.metadata[b"jepakit"])["readout"] == meta["readout"]
