"""End to end: a few steps of vjepa/vjepa-tiny at toy sizes write the run directory contract."""

from __future__ import annotations

import json

import pytest
import torch

from jepakit.compose import resolve_run
from jepakit.plugins import load_plugins
from jepakit.train import train


@pytest.mark.slow
def test_tiny_train_and_eval_write_the_run_directory(tmp_path):
    (tmp_path / "plugins.toml").write_text("")
    state = load_plugins(tmp_path / "plugins.toml")
    out = tmp_path / "run"
    run = resolve_run({"variant": "vjepa/vjepa-tiny"}, state, [
        "optim.steps=4", "optim.batch_size=16", "encoder.embed_dim=32", "encoder.depth=2", "encoder.num_heads=2",
        "predictor.embed_dim=16", "predictor.depth=1", "predictor.num_heads=2", "data.limit=300",
        "data.test_size=100", f'run.out="{out}"', "run.workers=0", "run.threads=1",
        "run.ckpt_every=2", "run.monitor_every=2",
        "run.log_every=1"])
    threads = torch.get_num_threads()
    try:
        result = train(run)
    finally:
        torch.set_num_threads(threads)  # run.threads=1 must not slow the rest of the session
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert {"dataset", "metric", "readout", "trained", "random_init", "baseline_raw", "metrics", "collapse",
            "protocol", "n_train", "n_test"} <= set(ev)
    assert ev["dataset"] == "moving-digits16x8-digit" and ev["n_test"] == 100
    assert {"effective_rank", "feature_std", "random_init"} <= set(ev["collapse"])
    assert (out / "config.toml").is_file() and (out / "metrics.jsonl").is_file()
    assert any((out / "checkpoints").iterdir())
    assert (out / "plots" / "masks.png").stat().st_size > 1000  # frames with the context and target tubes
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)
