"""End to end: 3djepa-tiny-shapes at toy sizes (masks resolved by centre proximity in the step), and the
plugins.toml composition of Point-JEPA's sequencer masker with 3D-JEPA's decoder, both trained a few steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jepakit.testing.runs import QUICK, train_tiny

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
def test_tiny_train_resolves_proximity_masks_and_evaluates(tmp_path):
    out = tmp_path / "run"
    summary = train_tiny("3djepa/3djepa-tiny-shapes", SMALL, out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev["primary"] == "svm" and set(ev["metrics"]) == {"svm", "knn"}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss/pred"] for r in rows if "loss/pred" in r]
    assert losses and all(-1.0 <= v <= 1.0 for v in losses)  # the negative cosine
    assert (out / "plots" / "masks_encoder.png").stat().st_size > 5000
    assert summary is not None


@pytest.mark.slow
def test_plugins_toml_composition_trains(tmp_path):
    """Point-JEPA's sequencer masks with 3D-JEPA's decoder (the repository's plugins.toml), a few steps."""
    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.plugins import load_plugins

    state = load_plugins(Path(__file__).parents[3] / "plugins.toml")
    name = "local/pointjepa-sequencer-3djepa-decoder"
    toy = [s for s in SMALL if not s.startswith(("predictor.", "data."))] + ["data.train_per_class=6"]
    run = resolve_run({"variant": name}, state, [*toy, *QUICK, f'run.out="{tmp_path / "run"}"'])
    assert run.parts["masker"].spec.name == "pointjepa/sequence-blocks"
    assert run.parts["predictor"].spec.name == "3djepa/context-decoder"
    ev = train(run)["eval"]
    assert ev["variant"] == name and ev["primary"] == "svm" and ev["random_init"] is not None
