"""The workflows a new user walks (issue 24): stop and resume, extend a finished run, train into a folder, follow
progress, sweep, read the messages and the help. Tiny 2-step runs without evaluation unless evaluation is the point."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jepakit.cli.app import app
from jepakit.engine.runs import RunDir

runner = CliRunner()
TINY = "ijepa/ijepa-tiny"
SMALL = [
    "data.use=core/digits",
    "data.size=16",
    "data.digit_size=0",
    "encoder.patch_size=2",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "predictor.embed_dim=16",
    "predictor.depth=1",
    "predictor.num_heads=2",
    "optim.batch_size=16",
    "optim.steps=2",
    "run.log_every=1",
    "run.workers=0",
    "eval.online_every=0",
]
SETS = [a for s in SMALL for a in ("--set", s)]


def cli(*args: str):
    return runner.invoke(app, list(args))


def assert_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Error:" in result.stderr and "Hint:" in result.stderr and "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished 2-step run (no evaluation), trained once per module; tests that change it take a copy."""
    out = tmp_path_factory.mktemp("runs") / "done"
    result = cli("train", TINY, "--out", str(out), "--no-eval", *SETS)
    assert result.exit_code == 0, result.output
    return out


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


# --- 1. resume ---------------------------------------------------------------------------------------------------


def test_the_stop_hint_is_the_command_that_resumes(tmp_path, monkeypatch):
    """Ctrl-C prints `jepakit train --resume RUN_DIR`, which resumes with nothing else (the --set options are
    the run's config.toml), and elapsed_s goes on counting across the two processes."""
    from jepakit.cli import progress

    report = progress.ProgressReporter.__call__

    def ctrl_c_at_1(self, done, total, metrics):
        report(self, done, total, metrics)
        if done == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(progress.ProgressReporter, "__call__", ctrl_c_at_1)
    out = tmp_path / "cut"
    stopped = cli("train", TINY, "--out", str(out), "--no-eval", *SETS)
    assert_error(stopped, 130, "interrupted at step 1")
    assert "<run file>" not in stopped.stderr
    command = stopped.stderr.split("continue with: ")[1].splitlines()[0].strip()
    assert command == f"jepakit train --resume {shlex.quote(str(out))}"
    monkeypatch.setattr(progress.ProgressReporter, "__call__", report)
    resumed = cli(*shlex.split(command)[1:], "--no-eval")
    assert resumed.exit_code == 0, resumed.output
    rows = RunDir(out).read_metrics()
    assert [r["step"] for r in rows] == [1, 2]
    assert rows[1]["elapsed_s"] >= rows[0]["elapsed_s"]  # not restarted from 0 by the second process


def test_a_resume_names_each_changed_setting_before_building_anything(finished, monkeypatch):
    import jepakit.engine.train as engine

    def no_build(*args, **kwargs):
        raise AssertionError("the model was built before the config check")

    monkeypatch.setattr(engine, "build", no_build)
    result = cli("train", "--resume", str(finished), "--set", "optim.lr=0.1", "--set", "encoder.depth=2")
    assert_error(result, 2, "optim.lr = 0.0005 in the run, 0.1 now", "encoder.depth = 1 in the run, 2 now")
    assert f"jepakit train --resume {finished}" in result.stderr


def test_a_resume_without_a_checkpoint_says_it_starts_from_scratch(tmp_path):
    result = cli("train", TINY, "--out", str(tmp_path / "new"), "--resume", "--no-eval", *SETS)
    assert result.exit_code == 0, result.output
    assert "no readable checkpoint" in result.stderr and "training from step 0" in result.stderr


def test_extending_a_finished_run(finished, tmp_path):
    """--resume with a larger optim.steps continues a finished run; the new horizon is said and recorded."""
    run = copy_of(finished, tmp_path)
    (run / "eval.json").write_text('{"step": 2}')  # what an evaluation at step 2 left
    result = cli("train", "--resume", str(run), "--set", "optim.steps=3", "--no-eval")
    assert result.exit_code == 0, result.output
    assert "optim.steps 2 -> 3" in result.stderr and "resuming" in result.stderr
    # the old evaluation no longer describes the encoder: kept under its step's name, not left as eval.json
    assert not (run / "eval.json").exists() and (run / "eval.step-2.json").read_text() == '{"step": 2}'
    assert "eval.step-2.json" in result.stderr
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2, 3]
    assert "steps = 3" in (run / "config.toml").read_text()
    shorter = cli("train", "--resume", str(run), "--set", "optim.steps=1", "--no-eval")
    assert_error(shorter, 2, "optim.steps = 1 is below", "newest checkpoint (3)")


def test_a_run_directory_without_resume_or_with_another_out(finished, tmp_path):
    assert_error(cli("train", str(finished)), 2, "is a run directory", f"jepakit train --resume {finished}")
    other = cli("train", "--resume", str(finished), "--out", str(tmp_path / "x"))
    assert_error(other, 2, "--out names another", "drop --out")


# --- 2. --out into someone's folder ---------------------------------------------------------------------------------


def test_train_refuses_a_folder_of_other_files(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    result = cli("train", TINY, "--out", str(folder), "--no-eval", *SETS)
    assert_error(result, 2, "not a jepakit run directory", "--out")
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_folders_a_run_may_use(tmp_path, finished):
    from jepakit.cli.run_cmd import foreign_folder

    sweep_run = tmp_path / "swept"
    sweep_run.mkdir()
    (sweep_run / "sweep.log").write_text("")  # the sweep opens its log before the run starts
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "config.toml").write_text("[model]\nsize = 3\n")
    assert not foreign_folder(tmp_path / "missing") and not foreign_folder(sweep_run)
    assert not foreign_folder(finished) and foreign_folder(theirs)


# --- 3. progress after a resume -----------------------------------------------------------------------------------


def test_progress_rate_counts_only_the_steps_this_process_ran(capsys, monkeypatch):
    from jepakit.cli import progress

    clock = iter([0.0, 10.0, 10.0, 10.5, 11.0])  # start; step 1001 (first seen, shown); 1002; 1003
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    with progress.ProgressReporter(every=1, terminal=False) as reporter:
        for done in (1001, 1002, 1003):  # resumed at step 1000; a step takes 0.5 s
            reporter(done, 2000, {"loss": 1.0})
    lines = capsys.readouterr().err.splitlines()
    assert "steps/s" not in lines[0]  # one step, no interval to measure yet
    assert lines[1].endswith("(2.0 steps/s)") and lines[2].endswith("(2.0 steps/s)")


# --- 4. sweep: --no-eval and `run k/N` ----------------------------------------------------------------------------


def _swept(root: Path, name: str, steps: int, done: int, trained: float | None = None) -> Path:
    path = root / name
    (path / "checkpoints").mkdir(parents=True)
    (path / "checkpoints" / f"step-{done:07d}.json").write_text("{}")
    (path / "config.toml").write_text(f'variant = "{TINY}"\n[optim]\nsteps = {steps}\n')
    rows = [{"step": s, "loss": 1.0 / s, "elapsed_s": 0.5 * s} for s in range(1, done + 1)]
    (path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if trained is not None:
        scores = {"trained": trained, "random_init": 50.0, "raw": 40.0}
        ev = {"metric": "accuracy", "higher_is_better": True, **scores, "baseline_raw": 40.0}
        (path / "eval.json").write_text(json.dumps({**ev, "metrics": {"linear-probe": scores}}))
    return path


def test_a_no_eval_sweep_trains_without_evaluating_and_skips_trained_runs(tmp_path):
    from jepakit.experiments.scheduler import plan_jobs
    from jepakit.experiments.sweep import expand, parse_grid

    plan = expand(parse_grid(["optim.lr=1e-3,5e-4"]), [0])
    _swept(tmp_path, plan[0].name, steps=4, done=4)  # trained every step, never evaluated
    _swept(tmp_path, plan[1].name, steps=4, done=2)  # interrupted
    todo, results = plan_jobs(plan, tmp_path, TINY, no_eval=True)
    assert results == {plan[0].name: "skipped (finished)"}
    assert todo[0].cmd[-2:] == ["--no-eval", "--resume"]
    todo, results = plan_jobs(plan, tmp_path, TINY)  # evaluating sweeps still evaluate it
    assert results == {} and all("--no-eval" not in j.cmd for j in todo)


def test_sweep_progress_numbers_the_runs_and_shows_each_result(tmp_path, capsys):
    from jepakit.cli.experiments_cmd import SweepProgress

    _swept(tmp_path, "a", steps=4, done=4, trained=87.25)
    _swept(tmp_path, "b", steps=4, done=4)
    failed = _swept(tmp_path, "c", steps=4, done=1)
    (failed / "failure.json").write_text(json.dumps({"error": "loss is nan at step 2"}))
    say = SweepProgress(["a", "b", "c"], tmp_path)
    say("a", "started")
    say("a", "finished")
    say("b", "skipped (finished)")
    say("c", "failed (exit 1)")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "run 1/3 a: started",
        "run 1/3 a: finished, accuracy 87.25 (random init 50)",
        "run 2/3 b: skipped (finished), final loss 0.25",
        "run 3/3 c: failed (exit 1): loss is nan at step 2",
    ]


@pytest.mark.slow
def test_a_sweep_without_evaluation_end_to_end(tmp_path):
    result = cli("sweep", TINY, "--seeds", "0", "--out", str(tmp_path / "sw"), "--no-eval", *SETS)
    assert result.exit_code == 0, result.output
    assert "run 1/1 seed=0: finished, final loss" in result.stderr
    assert not (tmp_path / "sw" / "seed=0" / "eval.json").exists()


# --- 5. messages -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("eval", "gone"),
        ("export", "gone", "--out", "x"),
        ("runs", "gone"),
        ("compare", "gone"),
        ("report", "gone"),
        ("validate", "runs/gone"),
        ("train", "--resume", "runs/gone"),
        ("bench", "./gone"),
    ],
)
def test_a_missing_directory_is_not_found(args):
    result = cli(*args)
    assert_error(result, 2, "gone: not found")
    assert "not a run directory" not in result.stderr


def test_validate_and_show_understand_a_run_directory_and_a_run_file(finished):
    assert "OK: ijepa/ijepa-tiny" in cli("validate", str(finished)).stdout
    for target in (finished, finished / "config.toml"):
        result = cli("show", str(target))
        assert result.exit_code == 0, result.output
        assert 'variant = "ijepa/ijepa-tiny"' in result.stdout and "patch_size = 2" in result.stdout
    shown = json.loads(cli("show", str(finished), "--json").stdout)
    assert shown["kind"] == "run" and shown["resolved"]["optim"]["steps"] == 2


def test_show_describes_the_run_level_tables():
    result = cli("show", "optim")
    assert result.exit_code == 0, result.output
    assert "warmup" in result.stdout and "fraction of steps" in result.stdout
    for section, key in (("run", "device"), ("eval", "online_every")):
        info = json.loads(cli("show", section, "--json").stdout)
        assert info["kind"] == "section" and key in [f["name"] for f in info["fields"]]
    assert "jepakit show optim" in cli("validate", TINY, "--set", "optim.steps=-1").stderr


@pytest.mark.parametrize(
    "setting,needle",
    [
        ("run.device=gpu", 'Did you mean "cuda"?'),
        ("optim.steps=-1", "optim: steps must be at least 1, got -1"),
        ("optim.batch_size=0", "optim: batch_size must be at least 1, got 0"),
    ],
)
def test_bad_settings_say_which_key_and_what_was_meant(setting, needle):
    assert_error(cli("validate", TINY, "--set", setting), 2, needle)


@pytest.fixture
def pip_calls(monkeypatch):
    import subprocess

    calls: list[tuple[list[str], dict]] = []

    def fake(cmd, **kwargs):
        calls.append((cmd, kwargs))
        return subprocess.CompletedProcess(cmd, 0, stdout="Successfully installed a lot\n", stderr="")

    monkeypatch.setattr(subprocess, "run", fake)
    return calls


def test_plugins_uninstall_of_what_is_not_installed_exits_2(pip_calls):
    assert_error(cli("plugins", "uninstall", "jepakit-not-there", "-y"), 2, "is not installed")
    assert pip_calls == []


def test_plugins_install_is_quiet_unless_verbose(pip_calls):
    quiet = cli("plugins", "install", "jepakit-foo")
    assert quiet.exit_code == 0, quiet.output
    assert "running:" not in quiet.output and "Successfully" not in quiet.output
    assert pip_calls[0][1].get("capture_output") is True
    loud = cli("plugins", "install", "jepakit-foo", "-v")
    assert loud.exit_code == 0 and "running:" in loud.stderr and not pip_calls[1][1].get("capture_output")


# --- 6. help ---------------------------------------------------------------------------------------------------------


def _command_paths() -> list[tuple[str, ...]]:
    from typer.main import get_command

    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, (*path, name))

    return list(walk(get_command(app), ()))


TYPE_NAMES = re.compile(r"<(?:str|int|float|bool|path|file|list\[[^\]]*\]|(?:int|float) range)>|\b(?:TEXT|INTEGER)\b")


@pytest.mark.parametrize("path", _command_paths(), ids=lambda p: " ".join(p) or "jepakit")
def test_every_command_has_help_with_examples_and_plain_metavars(path):
    long = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    short = runner.invoke(app, [*path, "-h"], env={"COLUMNS": "120"})
    assert long.exit_code == 0 and short.exit_code == 0, short.output
    assert short.stdout == long.stdout
    assert "Example" in long.stdout, long.stdout
    assert not TYPE_NAMES.search(long.stdout), TYPE_NAMES.search(long.stdout)


def test_the_help_examples_name_real_commands():
    from jepakit.cli.helptext import EXAMPLES

    paths = {" ".join(p) for p in _command_paths()}
    assert set(EXAMPLES) <= paths
    for lines in EXAMPLES.values():
        for line in lines:
            words = line.split()
            assert words[0] == "jepakit" and (words[1] in paths or f"{words[1]} {words[2]}" in paths), line


# --- 7. docs agree with the code --------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_hooks_md_spells_modalities_as_the_plugins_register_them(plugin_state):
    registered = {s.modality for s in plugin_state.registry.list()}
    documented = re.search(r"\| `modality` \|([^|]*)\|", (DOCS / "hooks.md").read_text(encoding="utf-8")).group(1)
    for modality in re.findall(r"`([^`]+)`", documented):
        assert modality in registered, f"docs/hooks.md names modality {modality!r}; plugins register {registered}"


def test_the_plugin_install_command_is_the_same_in_docs_scaffold_and_cli(tmp_path):
    from jepakit.cli.new_plugin import write

    def install_line(text: str) -> str:
        return re.search(r"jepakit plugins install -e \S+", text).group(0)

    written = write("myjepa", ["masker"], tmp_path / "myjepa")
    readme = next(p for p in written if p.name == "README.md").read_text(encoding="utf-8")
    docs = (DOCS / "writing-a-plugin.md").read_text(encoding="utf-8").split("## 2.")[1]
    printed = cli("new", "plugin", "yourjepa", "--out", str(tmp_path / "yourjepa")).stderr
    assert install_line(readme) == install_line(docs) == install_line(printed) == "jepakit plugins install -e ."
    assert "python -m pytest tests -q" in readme and "python -m pytest tests -q" in docs


# --- 8. the verdict names a probe that disagrees ------------------------------------------------------------------


def _two_probes(knn: dict) -> dict:
    linear = {"trained": 80.0, "random_init": 40.0, "raw": 70.0}
    return {
        "metric": "accuracy",
        **{k: linear[k] for k in ("trained", "random_init")},
        "baseline_raw": 70.0,
        "primary": "linear-probe",
        "n_test": 1000,
        "metrics": {"linear-probe": linear, "knn": knn},
    }


def test_the_verdict_says_when_another_probe_disagrees(capsys):
    from jepakit.cli import output
    from jepakit.engine.results import verdict

    split = verdict(_two_probes({"trained": 47.1, "random_init": 30.0, "raw": 76.3}))
    assert split.outcome == "useful" and "beats random init and raw input" in split.words  # the primary decides
    assert "Not every probe agrees: knn accuracy trained 47.1 vs random init 30 vs raw input 76.3" in split.text
    assert split.text.endswith("beats random init but not raw input")
    agreeing = verdict(_two_probes({"trained": 85.0, "random_init": 30.0, "raw": 70.0}))
    assert agreeing.disagree == () and "Not every probe" not in agreeing.text
    output.print_eval(_two_probes({"trained": 47.1, "random_init": 30.0, "raw": 76.3}))
    assert "Not every probe agrees" in capsys.readouterr().out


def test_the_report_shows_the_same_verdict(tmp_path):
    from jepakit.engine.results import verdict
    from jepakit.experiments.report import build_report

    ev = _two_probes({"trained": 47.1, "random_init": 30.0, "raw": 76.3})
    run = _swept(tmp_path, "run", steps=4, done=4)
    (run / "eval.json").write_text(json.dumps(ev))
    page = build_report(run)
    assert "Not every probe agrees: knn accuracy" in page and verdict(ev).words in page


def test_quickstart_documents_resume_and_extension():
    text = (DOCS / "quickstart.md").read_text(encoding="utf-8")
    assert "jepakit train --resume runs/second --set optim.steps=" in text and "horizon" in text
    assert "<run file>" not in text


def test_compare_plot_refuses_a_format_it_cannot_write(finished, tmp_path):
    result = cli("compare", str(finished), "--plot", str(tmp_path / "cmp.bmp"))
    assert_error(result, 2, "unknown figure format '.bmp'", ".svg")
    assert not (tmp_path / "cmp.bmp").exists()
