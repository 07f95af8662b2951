"""End to end: a few steps of uijepa/uijepa-tiny at toy sizes, then the intent decoder's evaluation."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.testing.runs import train_tiny

SMALL = [
    "optim.steps=3",
    "optim.batch_size=16",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "data.train_per_intent=2",
    "data.test_per_seen_intent=1",
    "data.test_per_unseen_intent=1",
    "method.width=32",
    "method.depth=1",
    "method.heads=2",
    "method.epochs=2",
    "method.examples=3",
]


@pytest.mark.slow
def test_tiny_train_eval_and_cli_examples(tmp_path, monkeypatch):
    out = tmp_path / "run"
    result = train_tiny("uijepa/uijepa-tiny", SMALL, out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert ev["metric"] == "intent_accuracy" and ev["higher_is_better"] is True
    assert {"intent_accuracy", "intent_similarity", "unseen_intent_accuracy", "seen_intent_accuracy"} == set(
        ev["metrics"]
    )
    for scores in ev["metrics"].values():
        assert {"trained", "random_init", "raw"} <= set(scores)
        assert all(0.0 <= scores[row] <= 100.0 for row in ("trained", "random_init", "raw"))
    assert ev["n_test"] == 42 + 14 and ev["n_test_unseen_intents"] == 14
    assert len(ev["examples"]) == 3 and set(ev["examples"][0]) == {"reference", "trained", "random_init"}
    assert (out / "plots" / "masks.png").stat().st_size > 1000  # frames with the temporal masks

    monkeypatch.setenv("COLUMNS", "200")
    shown = CliRunner().invoke(app, ["eval", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "examples from the test split" in shown.output and ev["examples"][0]["reference"] in shown.output


def test_a_dataset_without_intent_texts_is_a_config_error(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "train",
            "uijepa/uijepa-tiny",
            "--set",
            "data.use=vjepa/moving-digits",
            "--set",
            "optim.steps=1",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "Error:" in res.output and "has no intent texts" in res.output
