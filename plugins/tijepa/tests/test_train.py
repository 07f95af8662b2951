"""End to end: a few steps of tijepa/tijepa-tiny at toy sizes, then the energy and probe evaluation."""

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
    "data.n_train=48",
    "data.n_test=24",
    "method.text_width=16",
    "method.text_layers=1",
    "method.text_heads=2",
    "method.fusion_width=32",
    "method.fusion_depth=1",
    "method.fusion_heads=2",
    "method.retrieval_pool=12",
    "method.energy_masks=1",
    "method.probe_pairs=48",
]


@pytest.mark.slow
def test_tiny_train_and_eval(tmp_path):
    out = tmp_path / "run"
    result = train_tiny("tijepa/tijepa-tiny", SMALL, out)
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert ev["metric"] == "recall@5" and ev["higher_is_better"] is True and ev["retrieval_pool"] == 12
    assert ev["baseline_raw"] == round(500 / 12, 2) and ev["baseline_label"] == "chance"
    expected = {
        "recall@5",
        "t2i_recall@1",
        "t2i_recall@5",
        "i2t_recall@1",
        "i2t_recall@5",
        "energy_auc",
        "energy_prefers_true_caption",
        "match_probe",
        "match_probe_linear",
        "relation_probe",
    }
    assert expected <= set(ev["metrics"]) and set(ev["definitions"]) == set(ev["metrics"])
    for scores in ev["metrics"].values():
        assert all(0.0 <= scores[row] <= 100.0 for row in ("trained", "random_init", "raw"))
    assert ev["collapse"]["effective_rank"] > 0 and "random_init" in ev["collapse"]
    assert (out / "plots" / "masks.png").stat().st_size > 1000  # I-JEPA's blocks drawn over the images
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("effective_rank" in r for r in rows)  # the collapse monitor ran on the fused (dict) inputs


def test_data_without_captions_is_a_config_error(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "train",
            "tijepa/tijepa-tiny",
            "--set",
            'data.use="core/digits"',
            "--set",
            "optim.steps=1",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "Error:" in res.output and "has no captions" in res.output


def test_core_jepa_on_multimodal_samples_is_a_config_error(tmp_path):
    res = CliRunner().invoke(
        app,
        [
            "train",
            "tijepa/tijepa-tiny",
            "--set",
            'method.use="core/jepa"',
            "--set",
            "optim.steps=1",
            "--set",
            "data.n_train=8",
            "--set",
            "data.n_test=8",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert res.exit_code == 2 and "multimodal samples" in res.output, res.output
