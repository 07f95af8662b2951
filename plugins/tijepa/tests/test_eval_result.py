"""TI-JEPA's evaluation returns an EvalResult (retrieval recall@5 primary, chance as the third row) and core's
writer puts the collapse warnings into its eval.json, as for every method."""

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


def test_a_collapse_warning_reaches_eval_json(tmp_path):
    ev = check_collapse_warnings("tijepa/tijepa-tiny", SMALL, tmp_path / "run")
    assert ev["metric"] == "recall@5" and ev["baseline_label"] == "chance" and ev["retrieval_pool"] == 12
    assert set(ev["definitions"]) == set(ev["metrics"])
