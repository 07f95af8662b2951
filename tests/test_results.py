"""eval.json through one type: round trips (incl. the first layout), the one writer's additions, the verdict's
words, and core/jepa's result reaching eval.json with its collapse warnings."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from jepakit.engine.results import Verdict, read_eval, verdict, write_eval
from jepakit.engine.runs import RunDir
from jepakit.interfaces import EVAL_SCHEMA, EvalResult, Scores

#: an eval.json as core wrote it before EvalResult (schema 1): no `primary`, no per-score metric
OLD = {
    "variant": "ijepa/ijepa-tiny",
    "dataset": "glyphs32",
    "metric": "accuracy",
    "higher_is_better": True,
    "readout": "mean",
    "trained": 62.5,
    "random_init": 20.0,
    "baseline_raw": 40.0,
    "metrics": {
        "linear-probe": {"trained": 62.5, "random_init": 20.0, "raw": 40.0},
        "knn": {"trained": 55.0, "random_init": 18.0, "raw": 41.0},
    },
    "collapse": {"feature_std": 0.31, "effective_rank": 40.2, "random_init": {"feature_std": 0.05}},
    "protocol": "fixed split",
    "n_train": 3900,
    "n_test": 1300,
    "warnings": ["w"],
    "train": {"steps": 12, "final_loss": 0.4},
    "encoder": "target",
}


def _result(
    trained: float | None = 62.5,
    rand: float | None = 20.0,
    raw: float | None = 40.0,
    *,
    metric: str = "accuracy",
    higher: bool = True,
    n_test: int = 1300,
    label: str = "raw input",
) -> EvalResult:
    return EvalResult(
        variant="v",
        dataset="d",
        primary="linear",
        n_test=n_test,
        baseline_label=label,
        scores={"linear": Scores(metric, trained, rand, raw, higher)},
    )


def _resolved(collapse_std: float = 1e-3) -> SimpleNamespace:
    return SimpleNamespace(variant="core/x", run=SimpleNamespace(collapse_std=collapse_std))


def test_round_trip_of_the_new_layout_keeps_everything():
    result = EvalResult(
        variant="v",
        dataset="d",
        primary="flow_epe",
        baseline_label="zero flow",
        scores={
            "flow_epe": Scores("flow_epe", 1.5, 2.0, 2.5, higher_is_better=False),
            "content_linear": Scores("accuracy", 80.0, 30.0, None),
        },
        collapse={"feature_std": 0.2},
        encoder="target",
        readout="mean",
        protocol="p",
        n_train=4,
        n_test=2,
        details={"flow": {"trained": {"all": 1.5}}, "examples": [{"a": "b"}]},
        warnings=["x"],
        train={"steps": 3, "final_loss": 0.1},
    )
    d = json.loads(json.dumps(result.to_dict()))
    assert EvalResult.from_dict(d) == result
    # the first layout's keys stay readable at the top level, repeating the primary score
    assert (d["metric"], d["higher_is_better"], d["trained"], d["random_init"], d["baseline_raw"]) == (
        "flow_epe",
        False,
        1.5,
        2.0,
        2.5,
    )
    assert d["metrics"]["content_linear"]["raw"] is None and d["flow"] == {"trained": {"all": 1.5}}
    assert d["schema"] == EVAL_SCHEMA


def test_a_details_key_never_overwrites_eval_json_keys():
    result = _result()
    result.details = {"metric": "oops", "extra": 1}
    d = result.to_dict()
    assert d["metric"] == "accuracy" and d["extra"] == 1


def test_the_first_layout_reads_into_the_type(tmp_path):
    (tmp_path / "eval.json").write_text(json.dumps(OLD))
    ev = read_eval(tmp_path)
    assert ev.schema == 1 and ev.primary == "linear-probe" and ev.main == Scores("accuracy", 62.5, 20.0, 40.0, True)
    assert ev.scores["knn"].raw == 41.0 and ev.n_test == 1300 and ev.warnings == ["w"] and ev.train["steps"] == 12
    assert read_eval(tmp_path / "eval.json") == read_eval(RunDir(tmp_path)) == RunDir(tmp_path).read_eval() == ev
    again = ev.to_dict()  # rewritten in the new layout, every old key keeps its value
    assert all(again[k] == v for k, v in OLD.items() if k != "metrics")
    assert {h: {r: again["metrics"][h][r] for r in ("trained", "random_init", "raw")} for h in OLD["metrics"]} == OLD[
        "metrics"
    ]
    # a top-level score without a `metrics` table, and another metric's score (MC-JEPA's content accuracy beside
    # the flow error) read as higher-is-better
    bare = EvalResult.from_dict({"metric": "feature_std", "trained": 0.3})
    assert bare.primary == "feature_std" and bare.main.trained == 0.3
    mc = EvalResult.from_dict(
        {
            "metric": "flow_epe",
            "higher_is_better": False,
            "trained": 1.0,
            "random_init": 2.0,
            "metrics": {
                "flow_epe": {"trained": 1.0, "random_init": 2.0, "raw": 3.0},
                "content_linear": {"metric": "accuracy", "trained": 9.0, "random_init": 8.0},
            },
        }
    )
    assert mc.primary == "flow_epe" and not mc.main.higher_is_better and mc.scores["content_linear"].higher_is_better


def test_read_eval_refuses_what_is_not_an_object(tmp_path):
    (tmp_path / "eval.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        read_eval(tmp_path)


def test_write_eval_adds_training_summary_warnings_and_schema(tmp_path):
    run_dir = RunDir(tmp_path)
    run_dir.log({"step": 4, "loss": 0.9, "feature_std": 1e-5, "collapse_warning": 1e-3})
    run_dir.log({"step": 8, "loss": 0.7})
    result = _result()
    result.collapse = {"feature_std": 1e-4, "effective_rank": 1.0}
    result.warnings = ["the method's own note"]
    written = write_eval(result, _resolved(1e-3), run_dir)
    ev = json.loads((tmp_path / "eval.json").read_text())
    assert ev["warnings"][0].startswith("representation collapse at step 4")
    assert "evaluated encoder's feature std 0.0001 is below 0.001" in ev["warnings"][1]
    assert ev["warnings"][2] == "the method's own note" and len(ev["warnings"]) == 3
    assert ev["train"] == {"steps": 8, "final_loss": 0.7} and ev["schema"] == EVAL_SCHEMA
    assert read_eval(tmp_path) == written and result.warnings == ["the method's own note"]  # input untouched
    again = write_eval(written, _resolved(1e-3), run_dir)  # rewriting never repeats a warning
    assert again.warnings == written.warnings
    healthy = _result()
    healthy.collapse = {"feature_std": 0.5}
    assert write_eval(healthy, _resolved(1e-3), RunDir(tmp_path / "b")).warnings == []
    assert write_eval(healthy, _resolved(1e-3), RunDir(tmp_path / "b")).variant == "v"


def test_a_method_that_still_returns_a_dict_is_read_into_the_type(tmp_path):
    from jepakit.engine.run_eval import evaluate_and_write

    class OldMethod:  # a third-party method written before EvalResult
        def evaluate(self, resolved, built, run_dir):
            return {"variant": "old/v", "metric": "feature_std", "trained": 0.3, "collapse": {"feature_std": 1e-6}}

    written = evaluate_and_write(_resolved(1e-3), SimpleNamespace(method=OldMethod()), RunDir(tmp_path))
    assert isinstance(written, EvalResult) and written.main.trained == 0.3 and written.primary == "feature_std"
    assert "feature std 1e-06 is below 0.001" in read_eval(tmp_path).warnings[0]


@pytest.mark.parametrize(
    ("trained", "outcome", "words"),
    [
        (62.5, "useful", "learned useful features (beats random init and raw input)"),
        (30.0, "beats_random_init", "learned features (beats random init) but not yet better than raw input"),
        (20.5, "no_gain", "no clear gain over random init yet"),  # within two standard errors of 1300 test samples
        (10.0, "worse", "WORSE than random init"),
    ],
)
def test_verdict_words(trained, outcome, words):
    v = verdict(_result(trained))
    assert isinstance(v, Verdict) and v.outcome == outcome and words in v.words and v.text.startswith("Verdict: ")
    assert v.text == f"Verdict: {v.comparison}: {v.words}" and str(v) == v.text
    assert v.comparison.startswith(f"trained {trained:.4g} vs random init 20 (")


def test_verdict_of_a_tie_without_a_raw_row_and_without_scores():
    tie = verdict(_result(5.0, 5.0, 5.0, metric="recall@5", n_test=0, label="chance"))
    assert tie.outcome == "no_gain" and "vs chance 5" in tie.comparison and tie.margin == 0.0
    assert verdict(_result(4.0, 5.0, 5.0, metric="recall@5", label="chance")).outcome == "worse"
    no_raw = verdict(_result(80.0, 20.0, None))
    assert no_raw.outcome == "useful" and no_raw.words == "learned useful features (beats random init)"
    assert "raw input" not in no_raw.comparison
    lower = verdict(_result(1.0, 2.0, 3.0, metric="flow_epe", higher=False, label="zero flow"))
    assert lower.outcome == "useful" and "beats random init and zero flow" in lower.words
    none = verdict(_result(None, None, None))
    assert none.outcome == "no_scores" and none.text == "Verdict: no comparable scores in the evaluation"
    # an empty primary (no ground-truth flow) falls back to the first score that has both rows
    fallback = EvalResult("v", "d", "flow_epe", {"content": Scores("accuracy", 90.0, 10.0, 50.0)}, n_test=100)
    assert verdict(fallback).outcome == "useful" and verdict(fallback.to_dict()).text == verdict(fallback).text


def test_cli_and_report_say_the_same_words(tmp_path):
    from jepakit.cli import output
    from jepakit.experiments.report import run_section

    assert output.verdict(OLD) == verdict(EvalResult.from_dict(OLD)).text
    (tmp_path / "config.toml").write_text('variant = "ijepa/ijepa-tiny"\n[optim]\nsteps = 2\n')
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.5}\n')
    (tmp_path / "eval.json").write_text(json.dumps(OLD))
    html = run_section(tmp_path)
    assert "learned useful features (beats random init and raw input)" in html and "warning: w" in html


def test_a_collapse_warning_reaches_eval_json_for_core_jepa(tmp_path):
    from jepakit.testing.runs import check_collapse_warnings

    ev = check_collapse_warnings(
        "ijepa/ijepa-tiny",
        [
            "data.use=core/digits",
            "data.size=16",
            "encoder.patch_size=2",
            "encoder.embed_dim=16",
            "encoder.depth=1",
            "encoder.num_heads=2",
            "predictor.embed_dim=16",
            "predictor.depth=1",
            "predictor.num_heads=2",
            'eval.heads=["core/knn"]',
        ],
        tmp_path / "r",
    )  # k-NN alone: the linear probe on 1,400 digits costs seconds
    assert ev["metric"] == "accuracy" and ev["variant"] == "ijepa/ijepa-tiny" and ev["primary"] == "knn"
