"""The CLI contract: exit codes, `Error:`/`Hint:` on stderr, JSON shapes on stdout, pip never run unsafely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, write_plugins_toml
from typer.testing import CliRunner

from jepakit import __version__
from jepakit.cli import output
from jepakit.cli.app import app
from jepakit.errors import Interrupted, JepakitError, RunFailed

runner = CliRunner()
TINY = "ijepa/ijepa-tiny"


def cli(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def assert_error(result, code: int, *needles: str) -> None:
    """A clean user-facing failure: the exit code, Error:/Hint: lines, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Error:" in result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- basics ------------------------------------------------------------------------------------------------------


def test_version():
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"jepakit {__version__}"


def test_help_lists_the_commands():
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("plugins", "list", "show", "new", "validate", "train", "eval", "demo"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error():
    result = cli("frobnicate")
    assert result.exit_code == 2
    assert "frobnicate" in result.output


# --- plugins -----------------------------------------------------------------------------------------------------


def test_plugins_list_json_contract():
    result = cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert isinstance(records, list) and records
    for rec in records:
        assert {"name", "distribution", "version", "status", "provides", "error"} <= set(rec)
    by_name = {r["name"]: r for r in records}
    assert by_name["core"]["status"] == "ok"
    assert by_name["ijepa"]["distribution"] == "jepakit-ijepa"


def test_plugins_list_table_shows_a_broken_plugin_and_keeps_going(tmp_path):
    toml = write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{FIXTURES / "plugins" / "broken_hook.py"}"]\n')
    result = cli("--plugins-toml", str(toml), "plugins", "list")
    assert result.exit_code == 0, result.output
    assert "broken_hook" in result.stdout and "broken" in result.stdout and "boom in hook" in result.stdout


def test_plugins_info_lists_parts_and_api():
    result = cli("plugins", "info", "ijepa", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["api"] and info["status"] == "ok"
    parts = {(p["kind"], p["name"]) for p in info["parts"]}
    assert ("variants", TINY) in parts and ("maskers", "ijepa/multiblock") in parts
    assert all({"kind", "name", "summary", "layout"} <= set(p) for p in info["parts"])


def test_plugins_info_unknown_name_suggests():
    assert_error(cli("plugins", "info", "ijpa"), 2, 'Did you mean "ijepa"', "Hint:")


def test_global_plugins_toml_option_and_env(tmp_path):
    toml = write_plugins_toml(tmp_path, '[plugins]\ndisable = ["ijepa"]\n')
    for result in (
        cli("--plugins-toml", str(toml), "list", "variants", "--json"),
        cli("list", "variants", "--json", env={"JEPAKIT_PLUGINS_TOML": str(toml)}),
    ):
        assert result.exit_code == 0, result.output
        assert TINY not in [v["name"] for v in json.loads(result.stdout)]


@pytest.fixture
def no_pip(monkeypatch):
    """Fail the test if pip (or anything) is run."""

    def forbidden(*args, **kwargs):
        pytest.fail(f"subprocess.run must not be called: {args}")

    monkeypatch.setattr(subprocess, "run", forbidden)


@pytest.fixture
def fake_pip(monkeypatch):
    calls: list[tuple[list[str], dict]] = []

    def fake(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake)
    return calls


@pytest.mark.parametrize(
    "name",
    [
        "foo; rm -rf /",
        "foo && curl evil",
        "$(whoami)",
        "--index-url=http://evil",
        "pkg @ https://evil/x.whl",
        "-rrequirements.txt",
        "foo|bar",
        "",
    ],
)
def test_install_refuses_injection_without_running_pip(no_pip, name):
    assert_error(cli("plugins", "install", "--", name), 2, "neither an existing path nor a package requirement")


def test_install_runs_pip_with_an_argument_list(fake_pip, tmp_path):
    folder = tmp_path / "myplugin"
    folder.mkdir()
    result = cli("plugins", "install", "jepakit-foo>=0.1,<2", "-e", str(folder))
    assert result.exit_code == 0, result.output
    ((cmd, kwargs),) = fake_pip
    assert cmd == [sys.executable, "-m", "pip", "install", "jepakit-foo>=0.1,<2", "-e", str(folder.resolve())]
    assert not kwargs.get("shell")


def test_install_editable_needs_a_folder(no_pip):
    assert_error(cli("plugins", "install", "-e", "jepakit-foo"), 2, "--editable needs a local folder")


def test_install_from_plugins_toml_requires(fake_pip, tmp_path):
    toml = write_plugins_toml(tmp_path, '[plugins]\nrequire = ["jepakit-ijepa>=0.1", "jepakit-ajepa"]\n')
    result = cli("plugins", "install", "-r", str(toml))
    assert result.exit_code == 0, result.output
    assert fake_pip[0][0][3:] == ["install", "jepakit-ijepa>=0.1", "jepakit-ajepa"]


def test_install_reports_a_pip_failure_as_exit_1(monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 3))
    assert_error(cli("plugins", "install", "jepakit-nope"), 1, "pip install failed (exit 3)")


@pytest.mark.parametrize("name", ["jepakit", "Jepakit", "core"])
def test_uninstall_refuses_jepakit_itself(no_pip, name):
    assert_error(cli("plugins", "uninstall", name, "-y"), 2, "refusing to uninstall")


def test_uninstall_maps_a_plugin_name_to_its_distribution(fake_pip):
    result = cli("plugins", "uninstall", "ijepa", "-y")
    assert result.exit_code == 0, result.output
    assert fake_pip[0][0][3:] == ["uninstall", "-y", "jepakit-ijepa"]


def test_uninstall_refuses_a_bad_name(no_pip):
    assert_error(cli("plugins", "uninstall", "x; rm -rf ~", "-y"), 2, "not a distribution name")


def test_doctor_reports_a_broken_plugin_with_exit_2(tmp_path):
    toml = write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{FIXTURES / "plugins" / "broken_import.py"}"]\n')
    result = cli("--plugins-toml", str(toml), "plugins", "doctor", "--json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert not report["healthy"]
    assert any("broken_import" in p for p in report["problems"])
    assert report["torch"]["available"] and "sdpa" in report["torch"] and "bf16_autocast" in report["torch"]


def test_doctor_healthy_exits_0(tmp_path):
    toml = write_plugins_toml(tmp_path, "")
    result = cli("--plugins-toml", str(toml), "plugins", "doctor", "--json")
    report = json.loads(result.stdout)
    assert report["problems"] == [] and report["healthy"]
    assert result.exit_code == 0


def test_doctor_finds_stale_entry_points(tmp_path):
    folder = tmp_path / "plugins" / "ijepa"
    folder.mkdir(parents=True)
    write(
        folder / "pyproject.toml",
        '[project]\nname = "jepakit-ijepa"\nversion = "0.1.0"\n'
        '[project.entry-points.jepakit]\nijepa2 = "jepakit_ijepa.plugin"\n',
    )
    result = cli("--plugins-toml", str(write_plugins_toml(tmp_path, "")), "plugins", "doctor", "--json")
    assert result.exit_code == 2
    assert any("stale entry points for jepakit-ijepa" in p for p in json.loads(result.stdout)["problems"])


# --- list / show -------------------------------------------------------------------------------------------------


def test_list_variants_json_contract():
    result = cli("list", "variants", "--json")
    assert result.exit_code == 0, result.output
    variants = json.loads(result.stdout)
    assert all({"name", "plugin", "modality", "summary"} <= set(v) for v in variants)
    tiny = next(v for v in variants if v["name"] == TINY)
    assert tiny["plugin"] == "ijepa" and tiny["modality"] == "image"


def test_list_all_kinds_singular_kind_and_pattern():
    everything = json.loads(cli("list", "--json").stdout)
    assert {"encoders", "maskers", "variants"} <= {p["kind"] for p in everything}
    assert all({"name", "kind", "plugin", "modality", "layout", "summary", "aliases"} <= set(p) for p in everything)
    maskers = json.loads(cli("list", "masker", "--json").stdout)
    assert maskers and {p["kind"] for p in maskers} == {"maskers"}
    ijepa = json.loads(cli("list", "ijepa/*", "--json").stdout)
    assert ijepa and all(p["name"].startswith("ijepa/") for p in ijepa)
    assert json.loads(cli("list", "variants", "nomatch*", "--json").stdout) == []


def test_list_unknown_kind_suggests():
    assert_error(cli("list", "encodrs"), 2, 'Did you mean "encoders"')


def test_list_table_names_every_part_in_full():
    result = cli("list", "variants")
    assert result.exit_code == 0
    assert "ijepa/ijepa-tiny-plain" in result.stdout


def test_show_part_lists_settings_with_types_and_defaults():
    result = cli("show", "core/vit", "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["kind"] == "encoders" and info["plugin"] == "core" and info["layout"] == "grid2d"
    fields = {f["name"]: f for f in info["fields"]}
    assert fields["depth"]["type"] == "int" and isinstance(fields["depth"]["default"], int)
    text = cli("show", "multiblock").stdout
    assert "ijepa/multiblock" in text and "target_scale" in text and "tuple[float, float]" in text


def test_show_variant_prints_the_resolved_config():
    info = json.loads(cli("show", TINY, "--json").stdout)
    assert info["error"] is None
    assert info["resolved"]["variant"] == TINY and info["resolved"]["encoder"]["use"] == "core/vit"
    text = cli("show", TINY).stdout
    assert "[encoder]" in text and 'use = "core/vit"' in text
    assert "[eval.heads.knn]" in text and "k = 20" in text and 'primary = "linear-probe"' in text  # heads' settings


def test_show_unknown_suggests():
    assert_error(cli("show", "ijepa-tiyn"), 2, 'Did you mean "ijepa-tiny"')


# --- validate / new run -------------------------------------------------------------------------------------------


def test_new_run_writes_a_file_that_validates(tmp_path):
    target = tmp_path / "my-run.toml"
    result = cli("new", "run", "--from", TINY, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert target.is_file() and f'variant = "{TINY}"' in target.read_text()
    target.write_text(target.read_text().replace("k = 20", "k = 10"))  # a head's setting, edited in place
    result = cli("validate", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"OK: {TINY} (")
    assert_error(cli("new", "run", "--from", TINY, "-o", str(target)), 2, "already exists", "--force")
    assert cli("new", "run", "--from", TINY, "-o", str(target), "--force").exit_code == 0


def test_new_run_default_file_name():
    assert cli("new", "run", "--from", TINY).exit_code == 0
    assert Path("ijepa-tiny.toml").is_file()


def test_validate_accepts_set_overrides(tmp_path):
    run = write(tmp_path / "run.toml", f'variant = "{TINY}"\n')
    result = cli("validate", str(run), "--set", "optim.lr=5e-4", "--set", "masker.min_keep=2")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("body", "overrides", "needles"),
    [
        (None, [], ["config file not found"]),
        ("variant = \n", [], ["not valid TOML"]),
        (f'variant = "{TINY}"\n[encoder]\ndepht = 3\n', [], ["encoder.depht", 'Did you mean "depth"']),
        (f'variant = "{TINY}"\n[optim]\nlr = "fast"\n', [], ["optim.lr", "expected a finite number"]),
        (f'variant = "{TINY}"\n[masker]\nuse = "ijepa/multiblok"\n', [], ['Did you mean "ijepa/multiblock"']),
        ('variant = "ijepa/ijepa-tiyn"\n', [], ['unknown variant "ijepa/ijepa-tiyn"', "Did you mean"]),
        (f'variant = "{TINY}"\n', ["optim.lr"], ['bad override "optim.lr"']),
        (f'variant = "{TINY}"\n', ["=1"], ["bad override"]),
        (f'variant = "{TINY}"\n', ["optim.lrr=1"], ["optim.lrr", 'Did you mean "lr"']),
        (f'variant = "{TINY}"\n', ["optim.steps=many"], ["optim.steps", "expected an integer"]),
    ],
)
def test_validate_errors_exit_2_with_error_and_hint(tmp_path, body, overrides, needles):
    run = tmp_path / "run.toml"
    if body is not None:
        write(run, body)
    args = ["validate", str(run)] + [a for o in overrides for a in ("--set", o)]
    result = cli(*args)
    assert_error(result, 2, "Hint:", *needles)
    assert result.stdout == ""


# --- error handling ------------------------------------------------------------------------------------------------


def _raise(exc: BaseException):
    def boom(*args, **kwargs):
        raise exc

    return boom


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (JepakitError("bad", "fix it"), 2),
        (RunFailed("nan", "lower lr"), 1),
        (Interrupted("stopped", "resume"), 130),
        (KeyboardInterrupt(), 130),
    ],
)
def test_exit_codes_follow_the_error_type(monkeypatch, exc, code):
    monkeypatch.setattr("jepakit.cli.parts_cmd.load_state", _raise(exc))
    result = cli("list")
    assert result.exit_code == code
    assert "Error:" in result.stderr and "Traceback" not in result.output
    if isinstance(exc, JepakitError):
        assert f"Error: {exc.message}" in result.stderr and f"Hint: {exc.hint}" in result.stderr


def test_unexpected_exception_is_an_internal_error(monkeypatch):
    monkeypatch.setattr("jepakit.cli.parts_cmd.load_state", _raise(ZeroDivisionError("oops")))
    result = cli("list")
    assert result.exit_code == 1
    assert "Error: internal error: ZeroDivisionError: oops" in result.stderr
    assert "JEPAKIT_DEBUG=1" in result.stderr and "Traceback" not in result.output
    debug = cli("list", env={"JEPAKIT_DEBUG": "1"})
    assert isinstance(debug.exception, ZeroDivisionError)


# --- rendering -----------------------------------------------------------------------------------------------------

EVAL = {
    "variant": TINY,
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
    "collapse": {
        "feature_std": 0.31,
        "effective_rank": 40.2,
        "random_init": {"feature_std": 0.05, "effective_rank": 3.1},
    },
    "protocol": "fixed split",
    "n_train": 3900,
    "n_test": 1300,
}


def test_eval_table_has_a_row_per_encoder_and_a_column_per_head(capsys):
    output.print_eval(EVAL)
    text = capsys.readouterr().out
    for needle in ("trained", "random init", "raw input", "linear-probe", "knn", "62.5", "41", "40.2", "3.1"):
        assert needle in text
    assert "beats random init and raw input" in text


@pytest.mark.parametrize(
    ("trained", "expected"),
    [
        (62.5, "beats random init and raw input"),
        (30.0, "not yet better than raw input"),
        (20.5, "no clear gain over random init"),
        (10.0, "WORSE than random init"),
    ],
)
def test_verdict(trained, expected):
    assert expected in output.verdict({**EVAL, "trained": trained})


def test_a_tie_on_a_metric_without_noise_margin_is_no_gain_not_worse():
    tie = {"metric": "recall@5", "trained": 5.0, "random_init": 5.0, "baseline_raw": 5.0, "baseline_label": "chance"}
    text = output.verdict(tie)
    assert "no clear gain over random init" in text and "vs chance 5" in text
    assert "WORSE" in output.verdict({**tie, "trained": 4.0})


def test_eval_rendering_survives_missing_keys(capsys):
    output.print_eval({"variant": "x", "trained": 0.5})
    assert "Verdict: no comparable scores" in capsys.readouterr().out


def test_plain_progress_lines_when_not_a_terminal(capsys):
    from jepakit.cli.progress import ProgressReporter

    with ProgressReporter(every=5, terminal=False) as progress:
        for step in range(1, 13):
            progress(step, 12, {"loss": 1.0 / step, "lr": 0.1})
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in lines] == ["5/12", "10/12", "12/12"]
    assert "loss=" in lines[0]


# --- demo directory handling ----------------------------------------------------------------------------------------


def test_demo_never_deletes_a_folder_that_is_not_a_run(tmp_path, plugin_state):
    from jepakit.cli.run_cmd import prepare_demo_dir
    from jepakit.framework.compose import resolve_run

    resolved = resolve_run({"variant": TINY}, plugin_state)
    folder = tmp_path / "mine"
    folder.mkdir()
    write(folder / "thesis.tex", "precious")
    with pytest.raises(JepakitError, match="not a jepakit run directory"):
        prepare_demo_dir(folder, resolved)
    assert (folder / "thesis.tex").is_file()
    finished = tmp_path / "done"
    (finished / "checkpoints").mkdir(parents=True)
    write(finished / "config.toml", 'variant = "x"\n')
    write(finished / "eval.json", "{}")
    assert prepare_demo_dir(finished, resolved) is False
    assert not finished.exists()


# --- end to end (slow) -----------------------------------------------------------------------------------------------

SMALL = [
    "data.use=core/digits",
    "data.size=16",
    "encoder.patch_size=2",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "optim.batch_size=32",
    "optim.steps=4",
    "run.ckpt_every=2",
    "run.log_every=2",
    "run.workers=0",
]


@pytest.mark.slow
def test_train_then_eval_through_the_cli(tmp_path):
    run = write(tmp_path / "run.toml", f'variant = "{TINY}"\n')
    out = tmp_path / "out"
    args = ["train", str(run), "--out", str(out), "--json"] + [a for s in SMALL for a in ("--set", s)]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Path(summary["run_dir"]) == out and "trained" in summary["eval"]
    assert "step 4/4" in result.stderr
    again = cli(*args)
    assert_error(again, 2, "already holds a run", "--resume")
    result = cli("eval", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert {"trained", "random_init", "metrics", "collapse"} <= set(json.loads(result.stdout))
