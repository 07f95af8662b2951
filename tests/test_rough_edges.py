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


# --- 2. a run directory stands on its own -------------------------------------------------------------------------

#: A plugins.toml composition (local/mix) across two plugins, toy-sized.
LOCAL = """
[variants.mix]
summary = "I-JEPA's masker on core's ViT, stop-gradient targets"
modality = "image"
encoder = { use = "core/vit", patch_size = 4, embed_dim = 32, depth = 1, num_heads = 2 }
masker = { use = "ijepa/multiblock", min_keep = 1 }
predictor = { use = "core/vit-predictor", embed_dim = 32, depth = 1, num_heads = 2 }
target = { use = "core/stopgrad" }
data = { use = "core/digits", size = 16, digit_size = 12 }
optim = { steps = 2, batch_size = 16 }
run = { workers = 0 }
eval = { online_every = 0, heads = ["core/knn"] }

[variants.mix.loss]
pred = { use = "core/l2" }
"""


def local_state(folder: Path):
    from jepakit.framework.plugins import load_plugins

    folder.mkdir(parents=True, exist_ok=True)
    return load_plugins(write_plugins_toml(folder, LOCAL))


def test_the_config_of_a_local_composition_resolves_without_its_plugins_toml(tmp_path, plugin_state):
    from jepakit.framework.compose import resolve_run

    saved = resolve_run({"variant": "local/mix"}, local_state(tmp_path / "a")).to_dict()  # what config.toml holds
    again = resolve_run(saved, plugin_state)  # another folder: no [variants.mix] there
    assert again.variant == "local/mix" and again.to_dict() == saved
    exact = resolve_run({**saved, "eval": {**saved["eval"], "heads": ["core/knn"]}}, plugin_state)
    heads = exact.to_dict()["eval"]["heads"]
    assert isinstance(heads, list) and [h["use"] for h in heads] == ["core/knn"]  # an exact set stays one


def test_a_run_file_naming_an_unknown_variant_is_still_an_error(plugin_state):
    from jepakit.errors import JepakitError
    from jepakit.framework.compose import resolve_run

    try:
        resolve_run({"variant": "local/mix", "optim": {"lr": 1e-3}}, plugin_state)
    except JepakitError as exc:
        assert 'unknown variant "local/mix"' in exc.message
    else:
        raise AssertionError("an incomplete run file naming an unknown variant resolved")


def test_eval_of_a_local_composition_run_from_another_folder(tmp_path, monkeypatch):
    a = tmp_path / "a"
    local_state(a)
    monkeypatch.chdir(a)
    result = cli("train", "local/mix", "--out", str(tmp_path / "run"), "--no-eval")
    assert result.exit_code == 0, result.output
    elsewhere = tmp_path / "b"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = cli("eval", str(tmp_path / "run"), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["variant"] == "local/mix"
    run_file = str(tmp_path / "run" / "config.toml")  # the run's own config: resumable from here too
    result = cli("train", run_file, "--out", str(tmp_path / "run"), "--resume", "--no-eval", "--set", "optim.steps=3")
    assert result.exit_code == 0, result.output
