"""End to end: a few steps of vjepa/vjepa-tiny at toy sizes write the run directory contract."""

from __future__ import annotations

import json

import pytest

from jepakit.testing.runs import train_tiny


@pytest.mark.slow
def test_tiny_train_and_eval_write_the_run_directory(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(
        "vjepa/vjepa-tiny",
        [
            "optim.steps=4",
            "optim.batch_size=16",
            "encoder.embed_dim=32",
            "encoder.depth=2",
            "encoder.num_heads=2",
            "predictor.embed_dim=16",
            "predictor.depth=1",
            "predictor.num_heads=2",
            "data.limit=300",
            "data.test_size=100",
        ],
        out,
    )
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert {
        "dataset",
        "metric",
        "readout",
        "trained",
        "random_init",
        "baseline_raw",
        "metrics",
        "collapse",
        "protocol",
        "n_train",
        "n_test",
    } <= set(ev)
    assert ev["dataset"] == "moving-digits16x8-digit" and ev["n_test"] == 100
    assert {"effective_rank", "feature_std", "random_init"} <= set(ev["collapse"])
    assert (out / "config.toml").is_file() and (out / "metrics.jsonl").is_file()
    assert any((out / "checkpoints").iterdir())
    assert (out / "plots" / "masks.png").stat().st_size > 1000  # frames with the context and target tubes
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)
