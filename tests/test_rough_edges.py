"""What a new user hit first: refused commands that still wrote, run directories that needed the folder they were
made in, unreadable tables, a `validate` that passed what `train` refused, and errors that named the wrong thing.

Every test is fast: no test here trains (run directories are written by hand where one is needed).
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers import write_plugins_toml
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.framework.config import dumps_toml

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def assert_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Error:" in result.stderr and "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def fake_run(path: Path, state, variant: str = "ijepa/ijepa-tiny", step: int = 2, **eval_json) -> Path:
    """A run directory as `train` leaves it (config.toml, run.json, metrics, a checkpoint's JSON file), without
    training: enough for every command that reads a run but loads no weights."""
    from jepakit.framework.compose import resolve_run

    resolved = resolve_run({"variant": variant}, state, [f"optim.steps={step}"])
    resolved.run.out = str(path)
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.toml").write_text(dumps_toml(resolved.to_dict()), encoding="utf-8")
    (path / "run.json").write_text(json.dumps({"variant": variant, "command": ["jepakit", "train", variant]}))
    (path / "metrics.jsonl").write_text(json.dumps({"step": step, "loss": 1.0, "elapsed_s": 3.0}) + "\n")
    (path / "checkpoints" / f"step-{step:07d}.json").write_text("{}")
    if eval_json:
        (path / "eval.json").write_text(json.dumps(eval_json))
    return path


def files(run: Path) -> dict[str, bytes]:
    """The run's files and contents (the lock file, which any command holding the run creates, aside)."""
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"}


# --- 1. a refused `train` writes nothing ---------------------------------------------------------------------------


def test_a_refused_train_leaves_the_run_it_refused_untouched(tmp_path, plugin_state):
    run = fake_run(tmp_path / "r", plugin_state)
    (run / "failure.json").write_text('{"error": "earlier"}')
    before = files(run)
    result = cli("train", "vjepa/vjepa-tiny", "--out", str(run), "--no-eval")
    assert_error(result, 2, "already holds a run")
    assert files(run) == before


def test_a_refused_resume_leaves_the_run_it_refused_untouched(tmp_path, plugin_state):
    run = fake_run(tmp_path / "r", plugin_state)
    before = files(run)
    result = cli("train", "ijepa/ijepa-tiny", "--out", str(run), "--resume", "--no-eval", "--set", "optim.lr=0.1")
    assert_error(result, 2, "optim.lr")
    assert files(run) == before
