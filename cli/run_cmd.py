"""`jepakit validate | train | eval | demo`: check a run file, train it, evaluate a run directory.

`validate` stays torch-free (composition only); `train`, `eval` and `demo` import core's torch modules inside
their bodies, so the rest of the CLI never pays for torch.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from jepakit.cli import output
from jepakit.cli.context import load_state
from jepakit.cli.parts_cmd import warn_broken
from jepakit.errors import JepakitError

DEMO_VARIANT = "ijepa/ijepa-tiny"
RunFile = Annotated[
    Path,
    typer.Argument(
        metavar="RUN.toml|VARIANT|RUN_DIR",
        help="Run file naming a variant and its overrides, a variant name, or a run directory (its config.toml).",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a setting, e.g. --set optim.lr=5e-4 (repeatable)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def run_source(arg: Path) -> Path | dict[str, Any]:
    """A run file if it exists (or is named *.toml), a run directory's config.toml (the run as it was trained),
    else a variant name: `jepakit train ijepa/ijepa-tiny`."""
    if arg.is_dir():
        if (arg / "config.toml").is_file():
            return arg / "config.toml"
        raise JepakitError(
            f"{arg} is a folder, not a run file, a variant or a run directory (it has no config.toml)",
            "pass a run file (`jepakit new run`), a variant (`jepakit list variants`) or a run's --out folder",
        )
    if arg.is_file() or arg.suffix == ".toml":
        return arg
    return {"variant": arg.as_posix()}


def resolve_arg(
    arg: Path, state: Any, overrides: list[str] | None = None, source: Path | dict[str, Any] | None = None
) -> Any:
    """`resolve_run` of a command's RUN.toml|VARIANT|RUN_DIR argument (or of `source`, what it stands for): a
    name that is no file, no run directory and no variant is "not found", not only an unknown variant."""
    from jepakit.framework.compose import resolve_run

    source = run_source(arg) if source is None else source
    try:
        return resolve_run(source, state, overrides or [])
    except JepakitError as exc:
        if not (isinstance(source, dict) and exc.message.startswith("variant: unknown variant")):
            raise
        why = exc.message.removeprefix("variant: ").rstrip(".")
        raise JepakitError(f"{arg}: not found (no such run file or run directory, and {why})", exc.hint) from None


#: What jepakit itself leaves in a run directory before its config.toml exists (a sweep's log, the lock).
RUN_LEFTOVERS = {"sweep.log", ".lock", ".write-test", "run.json", "failure.json", "metrics.jsonl"}


def foreign_folder(path: Path) -> bool:
    """True for a folder with files in it that is not a jepakit run directory: a run would be written among
    someone's files (and a later clean-up would take them), so `train` and `demo` refuse it."""
    if not path.is_dir():
        return path.exists()
    if (path / "checkpoints").is_dir():
        return False
    if (path / "config.toml").is_file():
        from jepakit.framework.config import load_toml

        try:
            return "variant" not in load_toml(path / "config.toml")  # someone else's config.toml
        except JepakitError:
            return True
    return any(p.name not in RUN_LEFTOVERS for p in path.iterdir())


def train_target(run_file: Path, out: Path | None, resume: bool) -> tuple[Path | dict[str, Any], Path | None]:
    """What `jepakit train` trains, and where: a run file or variant into --out; with --resume, a run directory
    into itself from its own config.toml, so `jepakit train --resume RUN_DIR` needs nothing else."""
    source = run_source(run_file)
    if not run_file.is_dir():
        return source, out
    if not resume:
        raise JepakitError(
            f"{run_file} is a run directory",
            f"continue it with: jepakit train --resume {run_file}; or train its settings into a new folder: "
            f"jepakit train {run_file / 'config.toml'} --out NEW_DIR",
        )
    if out is not None and out.resolve() != run_file.resolve():
        raise JepakitError(
            f"--resume {run_file} continues that run directory, and --out names another ({out})",
            f"drop --out; or train its settings into a new folder: jepakit train {run_file / 'config.toml'} "
            f"--out {out}",
        )
    return source, run_file


def validate(ctx: typer.Context, run_file: RunFile, overrides: SetOpt = None) -> None:
    """Check a run file without building anything.

    Every key is checked against its part's settings and every part name against the installed plugins; then
    what the parts' constructors would refuse without a tensor (data paths, the patch grid, the masker's fit).
    """
    from jepakit.framework.checks import check_run
    from jepakit.framework.eval_sets import check_evaluable

    state = load_state(ctx)
    warn_broken(state)
    resolved = resolve_arg(run_file, state, overrides)
    check_evaluable(resolved)
    check_run(resolved)
    n = len(resolved.parts) + len(resolved.losses)
    output.out().print(f"OK: {resolved.variant} ({n} parts)", markup=False, highlight=False)


def _train(resolved: Any, out: Path | None, resume: bool, do_eval: bool) -> dict[str, Any]:
    """Run core's trainer with a progress reporter; INFO logs (e.g. 'resuming ...') reach stderr meanwhile.

    Ranks other than 0 of a distributed launch train silently: rank 0 speaks for the run."""
    from jepakit.cli.progress import EvalProgress, ProgressReporter
    from jepakit.engine.eval_data import evaluation_progress
    from jepakit.engine.launch import rank_env
    from jepakit.engine.train import train

    if rank_env().rank != 0:
        return train(resolved, out=out, resume=resume, do_eval=do_eval)
    output.setup_logging(logging.INFO)
    try:
        after = "evaluating: trained vs random init vs raw input ..." if do_eval else ""
        with (
            ProgressReporter(resolved.run.log_every, description=resolved.variant, when_done=after) as progress,
            EvalProgress() as features,
            evaluation_progress(features),
        ):
            return train(resolved, out=out, resume=resume, do_eval=do_eval, progress=progress)
    finally:
        output.setup_logging(logging.WARNING)


def _report(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        output.print_json(summary)
        return
    output.note(
        f"run directory: {summary.get('run_dir')} ({summary.get('steps')} steps, {summary.get('train_seconds')} s)",
        style="green",
    )
    if isinstance(summary.get("eval"), dict):
        output.print_eval(summary["eval"])


def train_cmd(
    ctx: typer.Context,
    run_file: RunFile,
    overrides: SetOpt = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Run directory (default: run.out).")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the run directory's last checkpoint.")
    ] = False,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip the evaluation after training.")] = False,
    nproc: Annotated[
        int,
        typer.Option(
            "--nproc",
            min=1,
            metavar="N",
            help="Data-parallel processes on this machine (one per GPU, or CPU "
            "processes); optim.batch_size is the global batch.",
        ),
    ] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Train a run file (or a variant as registered), then evaluate it.

    The evaluation compares the trained encoder with the same encoder at random init and with raw input.
    With --nproc N (or under torchrun) each process trains on 1/N of every batch; docs/distributed.md.
    """
    from jepakit.engine.launch import rank_env
    from jepakit.framework.eval_sets import check_evaluable

    state = load_state(ctx)
    warn_broken(state)
    source, out = train_target(run_file, out, resume)
    resolved = resolve_arg(run_file, state, overrides, source)
    if not no_eval:
        check_evaluable(resolved)  # before hours of training: where would the probes get their labels?
    target = out or Path(resolved.run.out)
    if rank_env().rank == 0 and foreign_folder(target):
        raise JepakitError(
            f"--out {target} is a folder with other files in it, not a jepakit run directory",
            "train into a new or empty folder (--out DIR); a run directory is continued with: "
            "jepakit train --resume DIR",
        )
    if nproc > 1:
        _launch(
            ctx, run_file, overrides or [], out or Path(resolved.run.out), resume, no_eval, as_json, nproc, resolved
        )
        return
    summary = _train(resolved, out, resume, not no_eval)
    if rank_env().rank == 0:
        _report(summary, as_json)


def _launch(
    ctx: typer.Context,
    run_file: Path,
    overrides: list[str],
    out: Path,
    resume: bool,
    no_eval: bool,
    as_json: bool,
    nproc: int,
    resolved: Any,
) -> None:
    """`--nproc N`: check what can be checked here, then run this same command as N ranks and wait for them."""
    from jepakit.cli.context import cli_context
    from jepakit.engine.launch import check_shardable, launch, rank_env
    from jepakit.engine.resume import resume_command
    from jepakit.errors import EXIT_RUNTIME, RunFailed

    if rank_env().world > 1:
        raise JepakitError(
            f"--nproc {nproc} inside a distributed launch (WORLD_SIZE={rank_env().world})",
            "let torchrun start the processes (drop --nproc), or run without torchrun",
        )
    check_shardable(resolved.optim.batch_size, nproc)
    plugins_toml = cli_context(ctx).plugins_toml
    args = ["--plugins-toml", str(plugins_toml)] if plugins_toml else []
    args += ["train", str(run_file), "--out", str(out)]
    for item in overrides:
        args += ["--set", item]
    args += [flag for flag, on in (("--resume", resume), ("--no-eval", no_eval), ("--json", as_json)) if on]
    result = launch(args, nproc)
    if result.failed_rank is None:
        return
    if result.failed_rank == 0:  # rank 0 printed its own Error/Hint on this terminal
        raise typer.Exit(result.code)
    if result.stderr_tail.strip():
        output.note(f"--- rank {result.failed_rank} stderr (last lines) ---\n{result.stderr_tail.rstrip()}")
    how = (
        f"was killed by signal {-result.rank_code}"
        if result.rank_code < 0
        else f"failed (exit code {result.rank_code})"
    )
    failure = RunFailed(
        f"rank {result.failed_rank} of {nproc} {how}; the other ranks were stopped",
        f"its own error, if any, is above; continue from the last checkpoint with: "
        f"{resume_command(out)} --nproc {nproc}",
    )
    if result.code != EXIT_RUNTIME:
        failure.exit_code = result.code
    raise failure


def eval_cmd(
    ctx: typer.Context,
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR",
            help="A directory written by `jepakit train` (or by `jepakit export` / `import`, with --data).",
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="DATASET|FOLDER",
            help="Probe on another labelled set: a dataset part (core/digits) or "
            "a folder of class sub-folders. Adds a block to eval.json's sets.",
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="data.KEY=VALUE", help="A setting of the --data set, e.g. --set data.size=16 (repeatable)."
        ),
    ] = None,
    max_samples: Annotated[
        int | None,
        typer.Option(
            "--max-samples",
            min=0,
            metavar="N",
            help="At most N train and N test samples of the --data set (a fixed stratified subset); 0 = all.",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            metavar="NAME",
            help="The --data block's name in eval.json (default: the dataset's short name or the folder's).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Evaluate a run: trained vs random init vs raw input, on each of its evaluation sets.

    Prints each set's head scores and collapse monitors (feature std, effective rank). With --data, probes the
    finished run on another set without retraining and adds that set's block to eval.json (the run's own result
    stays), e.g. jepakit eval runs/x --data core/image-folder --set data.path=photos --max-samples 2000.
    """
    from jepakit.cli.progress import EvalProgress
    from jepakit.engine.eval_data import evaluation_progress
    from jepakit.engine.run_eval import evaluate_run, probe_run

    if data is None and (overrides or max_samples is not None or name):
        raise JepakitError("--set, --max-samples and --name describe a --data set", "add --data DATASET|FOLDER")
    from jepakit.engine.probe_export import is_export, probe_export

    exported = is_export(run_dir)
    if exported and data is None:
        raise JepakitError(
            f"{run_dir} is an exported encoder, not a run: it has no evaluation set of its own",
            f"name one: jepakit eval {run_dir} --data core/digits (a dataset part or a folder of class folders)",
        )
    state = load_state(ctx)
    with EvalProgress() as features, evaluation_progress(None if as_json else features):
        if data is None:
            result = evaluate_run(run_dir, state)
        elif exported:
            block_name, block = probe_export(run_dir, state, data, overrides or [], max_samples, name)
        else:
            block_name, block = probe_run(run_dir, state, data, overrides or [], max_samples, name)
    if data is not None:
        if as_json:
            output.print_json({"set": block_name, **block.to_dict()})
        else:
            output.print_eval(block, set_name=block_name)
            where = run_dir / (f"eval-{block_name}.json" if exported else "eval.json")
            output.note(f"wrote the set {block_name!r} to {where}", style="green")
    elif as_json:
        output.print_json(result.to_dict())
    else:
        output.print_eval(result)


def prepare_demo_dir(path: Path, resolved: Any) -> bool:
    """Decide how the demo uses `path`: True to resume an unfinished identical run, else start fresh.

    A finished (or differently configured) demo run is deleted after a note; a non-empty folder that is not a
    run directory is never deleted.
    """
    from jepakit.engine.ckpt import list_checkpoints
    from jepakit.engine.runs import RunDir
    from jepakit.framework.config import load_toml

    if not path.exists():
        return False
    run = RunDir(path)
    if foreign_folder(path):
        raise JepakitError(f"{path} exists and is not a jepakit run directory", "choose another --out")
    rows = run.read_metrics()
    finished = run.eval_json.is_file() or (bool(rows) and rows[-1].get("step", 0) >= resolved.optim.steps)
    same = False
    if run.config.is_file():
        try:
            saved, now = load_toml(run.config), resolved.to_dict()
            for d in (saved, now):
                d.get("run", {}).pop("out", None)
            same = saved == now
        except JepakitError:
            same = False
    if list_checkpoints(run.checkpoints) and same and not finished:
        output.note(f"resuming the unfinished demo run in {path}")
        return True
    if any(path.iterdir()):
        why = "a finished demo run" if finished else "a demo run with other settings"
        output.note(f"{path} holds {why}: deleting it and starting fresh")
        shutil.rmtree(path)
    return False


def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Run directory.")] = Path("runs/demo"),
    steps: Annotated[
        int | None, typer.Option("--steps", min=1, metavar="N", help="Training steps (default: the variant's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Train and evaluate the bundled tiny I-JEPA.

    Trains ijepa/ijepa-tiny on embedded data, evaluates it and says whether it learned anything.
    """
    from jepakit.framework.compose import resolve_run

    state = load_state(ctx)
    warn_broken(state)
    overrides = [f"optim.steps={steps}"] if steps else []
    resolved = resolve_run({"variant": DEMO_VARIANT}, state, overrides)
    resolved.run.out = str(out)
    resume = prepare_demo_dir(out, resolved)
    data = resolved.parts["data"].spec.name if "data" in resolved.parts else "?"
    output.note(f"demo: {resolved.variant} on {data}, {resolved.optim.steps} steps, into {out}")
    _report(_train(resolved, out, resume, True), as_json)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    app.command("demo")(demo)
