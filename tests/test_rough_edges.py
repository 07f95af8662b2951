"""What a new user hit first: refused commands that still wrote, run directories that needed the folder they were
made in, unreadable tables, a `validate` that passed what `train` refused, and errors that named the wrong thing.

Every test is fast: no test here trains (run directories are written by hand where one is needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FIXTURES, write_plugins_toml
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


def fake_run(
    path: Path, state, variant: str = "ijepa/ijepa-tiny", *overrides: str, step: int = 2, score: float | None = None
) -> Path:
    """A run directory as `train` leaves it (config.toml, run.json, metrics, a checkpoint's JSON file, eval.json
    when `score` is given), without training: enough for every command that reads a run but loads no weights."""
    from jepakit.framework.compose import resolve_run
    from jepakit.interfaces import EvalResult, Scores

    resolved = resolve_run({"variant": variant}, state, [f"optim.steps={step}", *overrides])
    resolved.run.out = str(path)
    (path / "checkpoints").mkdir(parents=True)
    (path / "config.toml").write_text(dumps_toml(resolved.to_dict()), encoding="utf-8")
    (path / "run.json").write_text(json.dumps({"variant": variant, "command": ["jepakit", "train", variant]}))
    (path / "metrics.jsonl").write_text(json.dumps({"step": step, "loss": 1.0, "elapsed_s": 3.0}) + "\n")
    (path / "checkpoints" / f"step-{step:07d}.json").write_text("{}")
    if score is not None:
        scores = {"linear": Scores("accuracy", score, score / 2, score / 3)}
        result = EvalResult(variant, "digits", "linear", scores)
        (path / "eval.json").write_text(json.dumps(result.to_dict()))
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
    result = cli("train", "--resume", str(tmp_path / "run"), "--no-eval", "--set", "optim.steps=4")  # the run dir
    assert result.exit_code == 0, result.output


# --- 3. tables over runs of several variants ----------------------------------------------------------------------


def mixed_folder(root: Path, state) -> Path:
    for lr in ("1e-3", "5e-4"):
        for seed in (0, 1):
            fake_run(
                root / f"ijepa-lr{lr}-s{seed}",
                state,
                "ijepa/ijepa-tiny",
                f"optim.lr={lr}",
                f"run.seed={seed}",
                score=0.8 + seed / 100,
            )
    for seed in (0, 1):
        fake_run(root / f"vjepa-s{seed}", state, "vjepa/vjepa-tiny", f"run.seed={seed}", score=0.5)
    return root


def test_runs_of_several_variants_are_grouped_and_fit_100_columns(tmp_path, plugin_state):
    root = mixed_folder(tmp_path / "runs", plugin_state)
    result = runner.invoke(app, ["runs", str(root)], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= 100
    assert any("ijepa/ijepa-tiny" in line for line in lines) and any("vjepa/vjepa-tiny" in line for line in lines)
    # within ijepa's group only lr and seed differ; the settings that differ between the variants are not columns
    assert any("optim.lr" in line for line in lines) and not any("encoder.depth" in line for line in lines)
    for name in ("ijepa-lr1e-3-s0", "vjepa-s1"):
        assert any(name in line for line in lines), name  # every run's name printed whole


def test_runs_differing_in_many_settings_list_them_in_one_column(tmp_path, plugin_state):
    many = [
        "optim.lr=1e-4",
        "optim.warmup=0.2",
        "optim.weight_decay=0.1",
        "optim.batch_size=64",
        "encoder.depth=2",
        "predictor.depth=2",
        "masker.num_targets=2",
        "run.log_every=5",
        "run.seed=7",
    ]
    fake_run(tmp_path / "runs" / "a", plugin_state)
    fake_run(tmp_path / "runs" / "b", plugin_state, "ijepa/ijepa-tiny", *many)
    result = runner.invoke(app, ["runs", str(tmp_path / "runs")], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert max(map(len, result.stdout.splitlines())) <= 100 and "settings" in result.stdout
    for item in many:
        assert item.replace("1e-4", "0.0001") in result.stdout, item


def test_compare_across_variants_groups_each_variant_by_its_own_settings(tmp_path, plugin_state):
    root = mixed_folder(tmp_path / "runs", plugin_state)
    result = cli("compare", str(root), "--json")
    assert result.exit_code == 0, result.output
    groups = json.loads(result.stdout)
    assert [(g["variant"], g["settings"], len(g["runs"])) for g in groups] == [
        ("ijepa/ijepa-tiny", {"optim.lr": 0.0005}, 2),  # within a variant, settings by value
        ("ijepa/ijepa-tiny", {"optim.lr": 0.001}, 2),
        ("vjepa/vjepa-tiny", {}, 2),
    ]
    table = runner.invoke(app, ["compare", str(root)], env={"COLUMNS": "100"})
    assert table.exit_code == 0, table.output
    assert max(map(len, table.stdout.splitlines())) <= 100
    assert "encoder.depth" not in table.stdout and "optim.lr=0.001" in table.stdout


# --- 4. validate refuses what train would refuse ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "needles"),
    [
        (["data.use=core/image-folder"], ["data.path is empty"]),
        (["data.use=core/image-folder", "data.path=no/such/folder"], ["data.path", "not found"]),
        (["data.size=33"], ["encoder.patch_size", "33x33"]),
        (["data.size=4", "data.digit_size=4"], ["masker.min_keep = 4 cannot be met", "2x2"]),
        (["optim.lr=-1"], ["optim: lr must not be negative"]),
        (["optim.start_lr=-0.1"], ["optim: start_lr must not be negative"]),
    ],
)
def test_validate_refuses_what_train_would_refuse(overrides, needles):
    result = cli("validate", "ijepa/ijepa-tiny", *[a for o in overrides for a in ("--set", o)])
    assert_error(result, 2, "Hint:", *needles)


def test_validate_refuses_an_evaluation_set_of_another_input_shape(tmp_path):
    run = tmp_path / "run.toml"
    run.write_text('variant = "ijepa/ijepa-tiny"\n[eval.sets.big]\nuse = "core/digits"\nsize = 32\n')
    assert_error(cli("validate", str(run)), 2, "eval.sets.big", "[1, 32, 32]", "[1, 16, 16]")


def test_validate_still_passes_the_tiny_variants_and_a_real_image_folder(tmp_path):
    for variant in ("ijepa/ijepa-tiny", "ajepa/ajepa-tiny", "vjepa/vjepa-tiny", "tijepa/tijepa-tiny"):
        result = cli("validate", variant)
        assert result.exit_code == 0, (variant, result.output)
    (tmp_path / "photos" / "cat").mkdir(parents=True)
    result = cli(
        "validate",
        "ijepa/ijepa-tiny",
        "--set",
        "data.use=core/image-folder",
        "--set",
        "data.size=16",
        "--set",
        f"data.path={tmp_path / 'photos'}",
    )
    assert result.exit_code == 0, result.output


def test_declared_input_shapes_are_the_built_ones(plugin_state):
    from jepakit.framework.checks import check_part
    from jepakit.framework.compose import build_part, resolve_run

    for overrides in ([], ["data.channels=3", "data.size=24"], ["data.use=core/glyphs"]):
        part = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state, overrides).parts["data"]
        declared = check_part(part, {})["input_shape"]
        assert tuple(build_part(part, seed=0).input_shape) == tuple(declared), overrides


# --- 5. one unreadable run does not hide the others ---------------------------------------------------------------


def test_an_unreadable_config_shows_that_run_as_broken_and_goes_on(tmp_path, plugin_state):
    root = tmp_path / "runs"
    fake_run(root / "good", plugin_state, score=0.9)
    bad = fake_run(root / "bad", plugin_state, score=0.9)
    (bad / "config.toml").write_text("variant = \n[optim\n", encoding="utf-8")
    worse = fake_run(root / "worse", plugin_state)
    (worse / "config.toml").write_bytes(b"\xff\xfe not utf-8")

    result = cli("runs", str(root), "--json")
    assert result.exit_code == 0, result.output
    by_name = {r["name"]: r for r in json.loads(result.stdout)}
    assert by_name["good"]["status"] == "finished"
    assert by_name["bad"]["status"] == by_name["worse"]["status"] == "broken"
    assert "config.toml" in by_name["bad"]["error"]
    table = cli("runs", str(root))
    assert table.exit_code == 0 and "broken" in table.stdout, table.output

    result = cli("compare", str(root), "--json")
    assert result.exit_code == 0, result.output
    assert [g["runs"] for g in json.loads(result.stdout)] == [["good"]]
    assert "bad" in result.stderr  # said, not silently dropped

    result = cli("report", str(root))
    assert result.exit_code == 0, result.output
    html = (root / "report.html").read_text(encoding="utf-8")
    assert "good" in html and "bad" in html and "broken" in html


# --- 6. a part of a broken or disabled plugin: name the plugin and why ------------------------------------------


def error_text(result) -> str:
    """The Error: and Hint: lines (not the warnings before them)."""
    return result.stderr[result.stderr.index("Error:") :]


def test_a_variant_of_a_broken_plugin_names_the_plugin_and_its_error(tmp_path):
    toml = write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{FIXTURES / "plugins" / "broken_variant.py"}"]\n')
    result = cli("--plugins-toml", str(toml), "train", "broken_variant/tiny", "--no-eval")
    assert_error(result, 2)
    assert 'plugin "broken_variant" is broken' in error_text(result)
    assert "jepakit_this_dependency_is_missing" in error_text(result) and "Did you mean" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_part_of_a_disabled_plugin_says_it_is_disabled(tmp_path):
    toml = write_plugins_toml(tmp_path, '[plugins]\ndisable = ["ijepa"]\n')
    result = cli("--plugins-toml", str(toml), "validate", "tijepa/tijepa-tiny")
    assert_error(result, 2, '"ijepa/multiblock"', 'plugin "ijepa" is disabled', "disable")


def test_show_warns_about_a_broken_plugin_and_names_it(tmp_path):
    toml = write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{FIXTURES / "plugins" / "broken_variant.py"}"]\n')
    result = cli("--plugins-toml", str(toml), "show", "broken_variant/tiny")
    assert_error(result, 2)
    assert 'plugin "broken_variant" is broken' in error_text(result) and "Warning:" in result.stderr
    result = cli("--plugins-toml", str(toml), "show", "core/vit")
    assert result.exit_code == 0 and 'plugin "broken_variant" is broken' in result.stderr, result.output


# --- 7. a plugin module that raises at import -------------------------------------------------------------------


def test_a_part_whose_module_raises_at_import_is_attributed_and_recorded(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES / "plugins" / "lazy"))
    toml = write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{FIXTURES / "plugins" / "lazy_boom.py"}"]\n')
    run_file = tmp_path / "run.toml"
    run_file.write_text('variant = "ijepa/ijepa-tiny"\n[masker]\nuse = "lazy_boom/boom"\n', encoding="utf-8")
    out = tmp_path / "run"
    result = cli("--plugins-toml", str(toml), "train", str(run_file), "--out", str(out), "--no-eval")
    assert_error(result, 2, 'plugin "lazy_boom"', "lazy_boom/boom", "lazy_boom_masks.py", "RuntimeError")
    assert "internal error" not in result.stderr
    failure = json.loads((out / "failure.json").read_text())
    assert "lazy_boom/boom" in failure["error"] and "masks.py is broken at import" in failure["error"]


# --- 8. `new plugin` refuses the name of an installed or bundled plugin ----------------------------------------


@pytest.mark.parametrize("name", ["ijepa", "core", "jepakit", "local", "vjepa"])
def test_new_plugin_refuses_an_installed_or_reserved_name(tmp_path, name):
    result = cli("new", "plugin", name, "-o", str(tmp_path / "p"))
    assert_error(result, 2, name)
    assert "Hint:" in result.stderr and not (tmp_path / "p").exists()


def test_new_plugin_still_writes_a_free_name(tmp_path):
    result = cli("new", "plugin", "myjepa", "-o", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output


def test_validate_wires_shapes_for_a_method_that_declares_core_wiring():
    from dataclasses import dataclass
    from typing import ClassVar

    from jepakit.framework.checks import wired_like_core
    from jepakit.framework.compose import Part
    from jepakit.framework.registry import PartSpec

    @dataclass
    class Wired:
        wiring: ClassVar[str] = "core/jepa"

    @dataclass
    class Own:
        pass

    def method(name: str, cfg: type | None) -> Part:
        return Part(
            spec=PartSpec(kind="methods", name=name, plugin=name.split("/")[0], config=cfg), cfg=None, key="method"
        )

    assert wired_like_core(method("core/jepa", None))
    assert wired_like_core(method("mine/jepa", Wired))
    assert not wired_like_core(method("mine/flow", Own))  # its own wiring: parts checked without shapes
    assert not wired_like_core(method("mine/flow", None))
