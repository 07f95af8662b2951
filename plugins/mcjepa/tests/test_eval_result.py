"""MC-JEPA's evaluation returns an EvalResult (flow EPE primary, content probes beside it) and core's writer puts
the collapse warnings into its eval.json, as for every method."""

from __future__ import annotations

from jepakit.testing.runs import check_collapse_warnings

TOY = [
    "encoder.dims=[8, 16, 24]",
    "encoder.depths=[1, 1, 1]",
    "encoder.kernel_size=3",
    "method.corr_radius=1",
    "method.head_dims=[16]",
    "method.expander_dims=[32, 32]",
    "data.limit=120",
    "data.test_size=40",
    "method.eval_pairs=20",
    "method.plot_pairs=0",
]


def test_a_collapse_warning_reaches_eval_json(tmp_path):
    ev = check_collapse_warnings("mcjepa/mcjepa-tiny", TOY, tmp_path / "run")
    assert ev["metric"] == "flow_epe" and ev["higher_is_better"] is False and ev["primary"] == "flow_epe"
    assert ev["metrics"]["content_linear"]["higher_is_better"] is True and "flow" in ev
    assert ev["baseline_raw"] == ev["baseline_zero_flow"] > 0
