"""End to end: a few steps of ajepa/ajepa-tiny at toy sizes write the run directory contract, with the log-mel
raw baseline and the curriculum's mask pictures."""

from __future__ import annotations

import json

import pytest

from jepakit.testing.runs import train_tiny


@pytest.mark.slow
def test_tiny_train_and_eval_write_the_run_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    result = train_tiny(
        "ajepa/ajepa-tiny",
        [
            "optim.steps=4",
            "optim.batch_size=16",
            "encoder.embed_dim=32",
            "encoder.depth=2",
            "encoder.num_heads=2",
            "predictor.embed_dim=16",
            "predictor.depth=1",
            "predictor.num_heads=2",
            'data.voices=["en", "en-us"]',
            'data.variants=["", "f2"]',
            "data.rates=[160]",
            "data.pitches=[50, 70]",
            "data.test_fraction=0.25",
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
    assert ev["dataset"] == "spoken-digits-8k" and ev["n_test"] == 20 and ev["readout"] == "last4_mean"
    assert "raw: dataset raw features" in ev["protocol"], "the raw baseline must be the log-mel, not samples"
    assert (out / "config.toml").is_file() and any((out / "checkpoints").iterdir())
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)
    for name in ("masks_early.png", "masks_late.png", "loss.png"):
        assert (out / "plots" / name).stat().st_size > 1000, name
