"""Evaluation sets apart from the pretraining data: `[eval.sets.NAME]`, `max_samples`, `jepakit eval RUN --data`,
and the per-set blocks of eval.json, `jepakit eval`, `compare` and the HTML report."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest
from helpers import write_plugins_toml
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.errors import JepakitError
from jepakit.framework.compose import resolve_run
from jepakit.interfaces import DataSplits, EvalResult, Scores

TINY = [
    "data.use=core/digits",
    "data.size=16",
    "data.digit_size=0",
    "encoder.patch_size=2",
    "encoder.embed_dim=16",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "optim.steps=2",
    "optim.batch_size=16",
    "run.workers=0",
    'eval.heads=["core/knn"]',
]  # k-NN alone: the linear probe on 1,400 digits costs seconds
SAME = {"use": "core/digits", "size": 16, "digit_size": 0}  # the pretraining data's own settings


def _run(state, out, sets=None):
    extra = {"eval": {"sets": sets}} if sets is not None else {}
    return resolve_run({"variant": "ijepa/ijepa-tiny", **extra}, state, [*TINY, f"run.out={json.dumps(str(out))}"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 2-step run, evaluated on its pretraining data (no sets): (plugin state, run directory)."""
    from jepakit.engine.train import train
    from jepakit.framework.plugins import load_plugins

    root = tmp_path_factory.mktemp("evalsets")
    state = load_plugins(write_plugins_toml(root, ""))
    train(_run(state, root / "run"))
    return state, root / "run"


def test_an_eval_result_with_sets_round_trips_and_keeps_its_top_level():
    block = EvalResult("v", "digits16", "knn", {"knn": Scores("accuracy", 50.0, 40.0, 60.0)}, n_train=10, n_test=5)
    other = dataclasses.replace(block, dataset="glyphs16", scores={"knn": Scores("accuracy", 30.0, 20.0, 25.0)})
    result = dataclasses.replace(block, sets={"digits": block, "glyphs": other})
    d = json.loads(json.dumps(result.to_dict()))
    assert d["trained"] == 50.0 and list(d["sets"]) == ["digits", "glyphs"] and d["sets"]["glyphs"]["trained"] == 30.0
    assert EvalResult.from_dict(d) == result and "sets" not in EvalResult.from_dict(d).details
    assert list(result.blocks()) == ["digits", "glyphs"] and list(block.blocks()) == ["data"]
    assert "sets" not in block.to_dict()


def test_sets_are_validated_like_parts_and_recorded_in_config_toml(plugin_state):
    def error(sets):
        with pytest.raises(JepakitError) as info:
            resolve_run({"variant": "ijepa/ijepa-tiny", "eval": {"sets": sets}}, plugin_state)
        return str(info.value)

    digits = {"use": "core/digits"}
    assert 'eval.sets.d.sise: unknown key "sise". Did you mean "size"?' in error({"d": {**digits, "sise": 8}})
    assert 'Did you mean "max_samples"?' in error({"d": {**digits, "max_sample": 8}})
    assert "eval.sets.d.max_samples: expected a whole number >= 0" in error({"d": {**digits, "max_samples": -1}})
    assert 'eval.sets.d.use: unknown dataset "core/digts". Did you mean "core/digits"?' in error(
        {"d": {"use": "core/digts"}}
    )
    plain = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state)
    assert plain.sets == {} and "sets" not in plain.to_dict()["eval"]  # config.toml of a run without sets unchanged
    r = resolve_run(
        {"variant": "ijepa/ijepa-tiny", "eval": {"sets": {"digits": {"size": 8, "max_samples": 50}}}}, plugin_state
    )  # `use` defaults to the table's name, like [eval.heads.knn]
    table = r.to_dict()["eval"]["sets"]["digits"]
    assert table["use"] == "core/digits" and table["size"] == 8 and table["max_samples"] == 50
    assert resolve_run(r.to_dict(), plugin_state).to_dict() == r.to_dict()
    exact = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, ['eval.sets=["core/glyphs"]'])
    assert list(exact.sets) == ["glyphs"] and resolve_run(exact.to_dict(), plugin_state).to_dict() == exact.to_dict()


def test_max_samples_is_a_fixed_stratified_subset_of_each_split():
    from jepakit.builtin.config import DigitsConfig
    from jepakit.builtin.data import digits
    from jepakit.engine.eval_data import cap_splits

    splits = digits(DigitsConfig(size=8))
    parity = (splits.train.y.numpy() % 2, splits.test.y.numpy() % 2)
    splits = dataclasses.replace(splits, extra_labels={"parity": parity})
    capped = cap_splits(splits, 100)
    assert len(capped.train) == 100 and len(capped.test) == 100 and capped.input_shape == splits.input_shape
    counts = np.bincount(capped.train.y.numpy(), minlength=10)
    assert counts.min() >= 9 and counts.max() <= 11  # each class within a sample of its share
    again = cap_splits(splits, 100)
    assert (again.train.x == capped.train.x).all() and (again.test.y == capped.test.y).all()
    parity_train, parity_test = capped.extra_labels["parity"]
    assert (parity_train == capped.train.y.numpy() % 2).all() and (parity_test == capped.test.y.numpy() % 2).all()
    assert cap_splits(splits, 0) is splits and len(cap_splits(splits, 5000).train) == len(splits.train)


def test_without_sets_the_numbers_are_the_old_path_and_a_set_of_the_same_data_gives_them_too(trained, tmp_path):
    from jepakit.engine.results import as_result
    from jepakit.engine.run_eval import evaluate_sets, load_run

    state, run = trained
    ev = json.loads((run / "eval.json").read_text())
    assert "sets" not in ev  # eval.json of a run without sets keeps its layout
    resolved, built, run_dir = load_run(run, state)
    old_path = as_result(built.method.evaluate(resolved, built, run_dir))  # what evaluation was before sets
    assert {n: s.to_dict() for n, s in old_path.scores.items()} == ev["metrics"]  # train wrote it through the sets
    assert {k: v for k, v in old_path.to_dict().items() if k not in ("train", "warnings")} == {
        k: v for k, v in ev.items() if k not in ("train", "warnings")
    }
    with_sets = _run(state, tmp_path / "r", {"same": SAME, "shifted": {**SAME, "digit_size": 12, "max_samples": 60}})
    result = evaluate_sets(with_sets, built, run_dir)
    assert list(result.sets) == ["same", "shifted"] and result.scores == old_path.scores  # same data, same numbers
    assert result.sets["same"].scores == old_path.scores and result.sets["shifted"].dataset == "digits16-shifted12"
    assert (result.sets["shifted"].n_train, result.sets["shifted"].n_test) == (60, 60)
    assert (run / "plots" / "sets" / "shifted" / "embedding_pca.png").is_file()  # the primary set's stays in plots/
    bad = _run(state, tmp_path / "b", {"small": {"use": "core/digits", "size": 8}})
    with pytest.raises(
        JepakitError,
        match=r"digits8 gives inputs of shape \[1, 8, 8\] but the encoder was built for "
        r"digits16's \[1, 16, 16\]",
    ):
        evaluate_sets(bad, built, run_dir)


def test_jepakit_eval_data_adds_a_block_and_a_later_eval_keeps_it(trained, tmp_path):
    state, src = trained
    run = tmp_path / "run"
    shutil.copytree(src, run)
    before = json.loads((run / "eval.json").read_text())
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "eval",
            str(run),
            "--data",
            "core/digits",
            "--set",
            "data.size=16",
            "--set",
            "digit_size=12",
            "--max-samples",
            "50",
            "--name",
            "probe",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "set probe: ijepa/ijepa-tiny on digits16-shifted12" in res.output
    after = json.loads((run / "eval.json").read_text())
    assert {k: v for k, v in after.items() if k != "sets"} == before  # the run's own result stays
    assert list(after["sets"]) == ["data", "probe"] and after["sets"]["data"]["metrics"] == before["metrics"]
    assert after["sets"]["probe"]["n_train"] == 50 and after["sets"]["probe"]["dataset"] == "digits16-shifted12"
    res = runner.invoke(app, ["eval", str(run)])
    assert res.exit_code == 0, res.output
    assert "set probe" in res.output and "Verdict (set data):" in res.output
    assert list(json.loads((run / "eval.json").read_text())["sets"]) == ["data", "probe"]
    res = runner.invoke(app, ["eval", str(run), "--data", "core/digits", "--set", "data.size=8", "--name", "small"])
    assert res.exit_code != 0 and "[1, 8, 8]" in res.output and "[1, 16, 16]" in res.output
    res = runner.invoke(app, ["eval", str(run), "--data", "core/digits", "--name", "data"])
    assert res.exit_code != 0 and "one of the run's own evaluation sets" in res.output


def test_compare_and_report_show_one_block_per_set(tmp_path):
    from jepakit.experiments.report import build_report

    for i, trained_digits in enumerate((50.0, 52.0)):
        run = tmp_path / f"s{i}"
        run.mkdir()
        (run / "config.toml").write_text(f'variant = "ijepa/ijepa-tiny"\n[optim]\nsteps = 2\n[run]\nseed = {i}\n')
        (run / "metrics.jsonl").write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "loss": 0.5}\n')
        digits = EvalResult(
            "ijepa/ijepa-tiny",
            "digits16",
            "knn",
            {"knn": Scores("accuracy", trained_digits, 40.0, 60.0)},
            n_train=100,
            n_test=50,
        )
        glyphs = dataclasses.replace(digits, dataset="glyphs16", scores={"knn": Scores("accuracy", 30.0, 20.0, 25.0)})
        (run / "eval.json").write_text(
            json.dumps(dataclasses.replace(digits, sets={"digits": digits, "glyphs": glyphs}).to_dict())
        )
    res = CliRunner().invoke(app, ["compare", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "set digits (accuracy)" in res.output and "set glyphs (accuracy)" in res.output and "30.00" in res.output
    html = build_report(tmp_path)
    assert "<h3>set glyphs (accuracy)</h3>" in html and html.count("<h4>set glyphs: glyphs16</h4>") == 2


@dataclass
class _UnlabelledConfig:
    size: int = 16

    @property
    def labelled(self) -> bool:
        return False


def test_unlabelled_pretraining_without_sets_is_an_error_that_says_to_add_one(plugin_state, tmp_path):
    from jepakit.engine.run_eval import evaluate_sets
    from jepakit.framework.eval_sets import check_evaluable
    from jepakit.framework.registry import PartSpec

    plugin_state.registry.add(
        PartSpec(
            "datasets",
            "test/unlabelled",
            "test",
            target="jepakit.builtin.data:digits",
            config=_UnlabelledConfig,
            modality="image",
        )
    )
    resolved = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, ["data.use=test/unlabelled"])
    with pytest.raises(JepakitError) as info:
        check_evaluable(resolved)
    assert "has no labels" in str(info.value) and "[eval.sets." in info.value.hint
    from jepakit.engine.train import train

    with pytest.raises(JepakitError, match="has no labels"):  # before any training, not after it
        train(resolved, out=tmp_path / "never")
    assert not (tmp_path / "never").exists()
    check_evaluable(_run(plugin_state, tmp_path, {"digits": SAME}))
    with pytest.raises(JepakitError, match=r"\[eval.sets"):
        evaluate_sets(resolved, SimpleNamespace(splits=DataSplits("u", None, None, (1, 16, 16), 0)), tmp_path)
    with pytest.raises(JepakitError, match="set up without labels"):
        resolve_run({"variant": "ijepa/ijepa-tiny", "eval": {"sets": {"u": {"use": "test/unlabelled"}}}}, plugin_state)
