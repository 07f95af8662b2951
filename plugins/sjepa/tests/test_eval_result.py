"""S-JEPA's evaluation returns one EvalResult (core's probes, its spatial heads, fine-tuning and the transfer
check, all on one random-init encoder) and core's writer puts the collapse warnings into its eval.json."""

from __future__ import annotations

from jepakit.testing.runs import check_collapse_warnings

SMALL = [
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "encoder.channel_dims=12",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "predictor.channel_dims=6",
    "data.n_train=48",
    "data.n_test=24",
    "method.head.epochs=1",
    "method.finetune.epochs=1",
]


def test_a_collapse_warning_reaches_eval_json(tmp_path):
    ev = check_collapse_warnings("sjepa/sjepa-tiny", SMALL, tmp_path / "run")
    assert ev["metric"] == "accuracy" and ev["primary"] == "linear-probe"
    assert {"contextual", "post_local", "pre_local", "contextual_finetuned", "transfer_linear"} <= set(ev["metrics"])
    assert ev["transfer"]["pretrained_on"] == "1020-19"
