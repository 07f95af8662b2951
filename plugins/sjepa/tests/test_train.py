"""End to end: a few steps of sjepa/sjepa-tiny at toy sizes write the run directory contract, with S-JEPA's
heads and the cross-montage transfer figure in eval.json."""

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
    run = resolve_run({"variant": "sjepa/sjepa-tiny"}, state, [
        "optim.steps=3", "optim.batch_size=16", "encoder.embed_dim=32", "encoder.depth=1", "encoder.num_heads=2",
        "encoder.channel_dims=12", "predictor.embed_dim=16", "predictor.depth=1", "predictor.num_heads=2",
        "predictor.channel_dims=6", "data.n_train=64", "data.n_test=32", "method.head.epochs=2",
        f'run.out="{out}"', "run.workers=0", "run.threads=1", "run.ckpt_every=2", "run.monitor_every=2",
        "run.log_every=1"])
    threads = torch.get_num_threads()
    try:
        result = train(run)
    finally:
        torch.set_num_threads(threads)
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert {"trained", "random_init", "baseline_raw", "metrics", "collapse", "transfer"} <= set(ev)
    assert ev["dataset"] == "sim-eeg-1020-19-both" and ev["n_test"] == 32
    assert "dataset raw features" in ev["protocol"]
    for head in ("contextual", "post_local", "pre_local"):
        assert set(ev["metrics"][head]) == {"trained", "random_init"}
    assert set(ev["metrics"]["transfer_linear"]) == {"trained", "random_init", "raw"}
    assert ev["transfer"]["pretrained_on"] == "1020-19" and len(ev["transfer"]["channels"]) == 20
    assert (out / "plots" / "masks.png").stat().st_size > 5000  # the scalp map
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)
