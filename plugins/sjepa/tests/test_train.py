"""End to end: a few steps of sjepa/sjepa-tiny at toy sizes write the run directory contract, with S-JEPA's
heads and the cross-montage transfer figure in eval.json."""

from __future__ import annotations

import json

import pytest

from jepakit.testing.runs import train_tiny


@pytest.mark.slow
def test_tiny_train_and_eval_write_the_run_directory(tmp_path):
    out = tmp_path / "run"
    result = train_tiny(
        "sjepa/sjepa-tiny",
        [
            "optim.steps=3",
            "optim.batch_size=16",
            "encoder.embed_dim=32",
            "encoder.depth=1",
            "encoder.num_heads=2",
            "encoder.channel_dims=12",
            "predictor.embed_dim=16",
            "predictor.depth=1",
            "predictor.num_heads=2",
            "predictor.channel_dims=6",
            "data.n_train=64",
            "data.n_test=32",
            "method.head.epochs=2",
            "method.finetune.epochs=1",
        ],
        out,
    )
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert {"trained", "random_init", "baseline_raw", "metrics", "collapse", "transfer"} <= set(ev)
    assert ev["dataset"] == "sim-eeg-1020-19-both" and ev["n_test"] == 32
    assert "dataset raw features" in ev["protocol"]
    rows = {"metric", "trained", "random_init", "raw", "higher_is_better"}  # every score has every row (None: n/a)
    for head in ("contextual", "post_local", "pre_local", "contextual_finetuned"):
        assert set(ev["metrics"][head]) == rows and ev["metrics"][head]["raw"] is None
        assert ev["metrics"][head]["trained"] is not None and ev["metrics"][head]["random_init"] is not None
    assert set(ev["metrics"]["transfer_linear"]) == rows and ev["metrics"]["transfer_linear"]["raw"] is not None
    for paradigm in ("motor imagery", "oddball"):  # the paper's per-paradigm scores, next to the 4-class one
        assert set(ev["metrics"][f"linear-probe ({paradigm})"]) == rows
        assert ev["metrics"][f"linear-probe ({paradigm})"]["metric"] == "accuracy"
    assert ev["transfer"]["pretrained_on"] == "1020-19" and len(ev["transfer"]["channels"]) == 20
    assert (out / "plots" / "masks.png").stat().st_size > 5000  # the scalp map
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)
