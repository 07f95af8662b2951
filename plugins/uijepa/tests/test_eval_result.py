"""UI-JEPA's evaluation returns an EvalResult (intent accuracy primary, generated examples in its details) and
core's writer puts the collapse warnings into its eval.json, as for every method."""

from __future__ import annotations

from jepakit.testing.runs import check_collapse_warnings

SMALL = [
    "optim.batch_size=16",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "data.train_per_intent=1",
    "data.test_per_seen_intent=1",
    "data.test_per_unseen_intent=1",
    "method.width=16",
    "method.depth=1",
    "method.heads=2",
    "method.epochs=1",
    "method.examples=2",
]


def test_a_collapse_warning_reaches_eval_json(tmp_path):
    ev = check_collapse_warnings("uijepa/uijepa-tiny", SMALL, tmp_path / "run")
    assert ev["metric"] == "intent_accuracy" and ev["baseline_label"] == "raw pixel tubelets"
    assert len(ev["examples"]) == 2 and ev["n_test_unseen_intents"] == 14
