"""ACT-JEPA's evaluation returns an EvalResult and core's writer puts the collapse warnings into its eval.json,
as for every method (no rollouts here: the probe alone, which is the primary score without a simulator)."""

from __future__ import annotations

import pytest

from jepakit.testing.runs import check_collapse_warnings

TOY = [
    "encoder.embed_dim=16",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "method.decoder_dim=16",
    "method.decoder_depth=1",
    "method.predictor_dim=16",
    "method.predictor_depth=1",
    "method.num_heads=2",
    'data.tasks=["reach-v3"]',
    "data.demos_per_task=2",
    "data.test_per_task=1",
    "data.chunk=4",
]


def test_a_collapse_warning_reaches_eval_json(tmp_path, monkeypatch):
    pytest.importorskip("metaworld", reason="Meta-World is not installed")
    monkeypatch.setenv("JEPAKIT_CACHE", str(tmp_path / "cache"))
    ev = check_collapse_warnings("actjepa/actjepa-tiny", [*TOY, "method.rollouts_per_task=0"], tmp_path / "run")
    assert ev["primary"] == "hand k10 r2" and ev["success"] == {} and ev["baseline_label"] == "BC only (ACT)"
    assert {"trained", "random_init", "bc", "raw_state"} == set(ev["world_model_probe"]["object"]["k1"])
