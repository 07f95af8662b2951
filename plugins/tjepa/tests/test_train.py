"""End to end: a few steps of tjepa-tiny on a stratified slice of UCI Adult write eval.json with every probe at
full labels and in the low-label regime; the plugins.toml composition (T-JEPA's tokens and masks, no EMA,
SIGReg) trains and evaluates; bad tables through the CLI exit 2 with `Error:` + `Hint:` and no traceback."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.testing.runs import QUICK, train_tiny

needs_adult = pytest.mark.skipif(
    importlib.util.find_spec("mglearn") is None,
    reason="UCI Adult needs the mglearn wheel: pip install --no-deps mglearn",
)
PLUGINS_TOML = Path(__file__).resolve().parents[3] / "plugins.toml"
SMALL = [
    "optim.steps=3",
    "optim.batch_size=32",
    "encoder.embed_dim=16",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "data.max_rows=300",
    "method.label_budgets=[40]",
    "method.budget_draws=1",
    "eval.online_every=0",
]


def _check_eval(ev: dict) -> None:
    assert ev["primary"] == "linear-probe" and ev["n_train"] == 240 and ev["n_test"] == 60
    assert set(ev["metrics"]) == {"linear-probe", "mlp-probe", "linear-probe @40", "mlp-probe @40"}
    for scores in ev["metrics"].values():
        assert all(0.0 <= scores[row] <= 100.0 for row in ("trained", "random_init", "raw"))
    assert {"feature_std", "effective_rank", "random_init"} <= set(ev["collapse"])
    assert set(ev["readout_collapse"]["trained"]) == {"columns", "reg"}
    assert ev["readout"] == "reg_mean" and "one-hot" in ev["baseline_label"]


@needs_adult
@pytest.mark.slow
def test_tiny_train_and_eval_write_every_probe(tmp_path):
    out = tmp_path / "run"
    train_tiny("tjepa/tjepa-tiny", SMALL, out)
    _check_eval(json.loads((out / "eval.json").read_text()))
    assert (out / "plots" / "masks.png").stat().st_size > 2000
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("effective_rank" in r for r in rows)  # the training-time collapse monitor ran


@needs_adult
@pytest.mark.slow
def test_the_sigreg_composition_trains_and_evaluates(tmp_path):
    from jepakit.engine.train import train
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.plugins import load_plugins

    assert PLUGINS_TOML.is_file(), f"the repository's plugins.toml, which ships this composition: {PLUGINS_TOML}"
    state = load_plugins(PLUGINS_TOML)
    out = tmp_path / "sigreg"
    run = resolve_run({"variant": "local/tjepa-sigreg"}, state, [*SMALL, f'run.out="{out}"', *QUICK])
    assert run.parts["target"].spec.name == "core/stopgrad" and "sigreg" in run.losses
    train(run)
    ev = json.loads((out / "eval.json").read_text())
    _check_eval(ev)
    assert ev["encoder"] == "context"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("loss/sigreg" in r for r in rows)


def run_cli(tmp_path: Path, *sets: str):
    args = ["train", "tjepa/tjepa-tiny", "--out", str(tmp_path / "r"), "--set", "optim.steps=1"]
    for s in ("data.use=tjepa/table", *sets):
        args += ["--set", s]
    return CliRunner().invoke(app, args)


def test_a_csv_without_the_named_column_is_exit_2(tmp_path, table_csv):
    res = run_cli(tmp_path, f"data.path={table_csv}", "data.label=salary")
    assert res.exit_code == 2 and "Error:" in res.output and "Hint:" in res.output, res.output
    assert "salary" in res.output and "Traceback" not in res.output


def test_a_nan_filled_table_is_exit_2(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("a,b,y\n" + "nan,nan,\n" * 30)
    res = run_cli(tmp_path, f"data.path={path}", "data.label=y")
    assert res.exit_code == 2 and "usable row" in res.output and "Hint:" in res.output, res.output
    assert "Traceback" not in res.output


def test_bad_shares_are_exit_2(tmp_path, table_csv):
    res = run_cli(tmp_path, f"data.path={table_csv}", "data.label=income", "masker.context_share=[0.9, 1.0]")
    assert res.exit_code == 2 and "context_share" in res.output and "Hint:" in res.output, res.output
