"""`jepakit sweep | runs | compare | report`: experiments, not single runs.

A sweep runs each combination as its own `jepakit train` process (so one crash or kill costs one run), at most
`--jobs` at a time with the cores split between them, skipping finished runs and resuming interrupted ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from jepakit.cli import output
from jepakit.cli.run_cmd import JsonOpt, SetOpt
from jepakit.errors import Interrupted, JepakitError


def sweep(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="RUN.toml|VARIANT", help="Run file or variant to sweep.")],
    grid: Annotated[list[str] | None, typer.Option("--grid", metavar="KEY=V1,V2,...",
                                                   help="A setting and its values (repeatable: the grid is their product).")] = None,
    seeds: Annotated[str | None, typer.Option("--seeds", metavar="S1,S2,...", help="Seeds per setting (default 0).")] = None,
    out: Annotated[Path | None, typer.Option("--out", metavar="DIR", help="Sweep folder (default: sweeps/<name>).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Runs at once; the cores are split between them.")] = 1,
    overrides: SetOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every combination of --grid values over --seeds; resumable; a failing run never stops the others."""
    from jepakit.cli.context import load_state
    from jepakit.framework.compose import resolve_run
    from jepakit.cli.run_cmd import run_source
    from jepakit.experiments.sweep import expand, parse_grid, parse_seeds, run_status

    plan = expand(parse_grid(grid or []), parse_seeds(seeds))
    state = load_state(ctx)
    for run in plan:  # every combination is checked before the first one starts
        resolve_run(run_source(source), state, [*(overrides or []), *run.overrides()])
    root = out or Path("sweeps") / source.stem.replace("/", "-")
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweep.json").write_text(json.dumps({"source": str(source), "grid": grid or [], "seeds": seeds,
                                                 "set": overrides or [], "runs": [r.name for r in plan]}, indent=1))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    todo, results, t0 = [], {}, time.perf_counter()
    for run in plan:
        path = root / run.name
        st = run_status(path) if (path / "config.toml").is_file() else None
        if st and st["status"] == "finished":
            results[run.name] = "skipped (finished)"
            continue
        resume = bool(st) and any((path / "checkpoints").glob("step-*.json"))
        cmd = [sys.executable, "-m", "jepakit.cli", *_global_args(ctx), "train", str(source), "--out",
               str(path), *[a for s in [*(overrides or []), *run.overrides(), f"run.threads={threads}"]
                            for a in ("--set", s)], *(["--resume"] if resume else [])]
        todo.append((run.name, cmd, path))
    running: dict[str, tuple[subprocess.Popen, Any]] = {}
    try:
        while todo or running:
            while todo and len(running) < jobs:
                name, cmd, path = todo.pop(0)
                path.mkdir(parents=True, exist_ok=True)
                log = open(path / "sweep.log", "w", encoding="utf-8")  # noqa: SIM115 - closed when the run ends
                running[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                                  env={**os.environ, "OMP_NUM_THREADS": str(threads)}), log)
                output.note(f"started {name}")
            for name, (proc, log) in list(running.items()):
                if proc.poll() is not None:
                    log.close()
                    del running[name]
                    results[name] = "finished" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
                    output.note(f"{results[name]}: {name}", style="green" if proc.returncode == 0 else "red")
            time.sleep(0.2)
    except KeyboardInterrupt:
        for proc, log in running.values():
            proc.terminate()  # jepakit train checkpoints on SIGTERM
            proc.wait()
            log.close()
        raise Interrupted(f"sweep interrupted; finished runs are kept in {root}",
                          "rerun the same command to resume the rest") from None
    statuses = [run_status(root / r.name) for r in plan if (root / r.name / "config.toml").is_file()]
    summary = {"sweep": str(root), "seconds": round(time.perf_counter() - t0, 1), "results": results}
    if as_json:
        output.print_json({**summary, "runs": [{k: v for k, v in s.items() if k != "config"} for s in statuses]})
    else:
        _print_runs(statuses)
        failed = sum(v.startswith("failed") for v in results.values())
        output.note(f"{len(plan)} runs, {failed} failed, {summary['seconds']} s; see `jepakit compare {root}`",
                    style="red" if failed else "green")


def _global_args(ctx: typer.Context) -> list[str]:
    from jepakit.cli.context import cli_context

    path = cli_context(ctx).plugins_toml
    return ["--plugins-toml", str(path)] if path else []


def _print_runs(statuses: list[dict[str, Any]]) -> None:
    from jepakit.experiments.sweep import differing, flatten

    keys = differing([s["config"] for s in statuses])
    rows = []
    for s in statuses:
        flat = flatten(s["config"])
        secs = s.get("seconds")
        rows.append([s["name"], s["status"],
                     s["variant"], *[str(flat.get(k)) for k in keys],
                     output.fmt(s["trained"]) if s["trained"] is not None else "-",
                     f"{secs:.0f} s" if isinstance(secs, (int, float)) else "-"])
    metric = next((s["metric"] for s in statuses if s.get("metric")), "metric")
    output.out().print(output.table("runs", ["run", "status", "variant", *keys, str(metric), "time"], rows))


def runs(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="A run directory or a folder of runs.")] = Path("runs"),
    as_json: JsonOpt = False,
) -> None:
    """Table of runs: status, variant, the settings that differ, the primary metric, duration."""
    from jepakit.experiments.sweep import find_runs, run_status

    found = find_runs(directory)
    if not found:
        raise JepakitError(f"no run directories under {directory}", "pass the --out folder of `jepakit train` or a sweep")
    statuses = [run_status(p) for p in found]
    if as_json:
        output.print_json([{k: v for k, v in s.items() if k != "config"} for s in statuses])
    else:
        _print_runs(statuses)


def compare(
    directories: Annotated[list[Path], typer.Argument(metavar="RUN_DIR...", help="Runs, or folders of runs.")],
    as_json: JsonOpt = False,
    plot: Annotated[Path | None, typer.Option("--plot", metavar="FILE.png", help="Loss curves and metric per setting.")] = None,
) -> None:
    """Side-by-side metrics, grouped over seeds as mean +- std, with the random-init and raw baselines."""
    from jepakit.experiments.compare import fmt, group_runs, label, plot_comparison
    from jepakit.experiments.sweep import find_runs, run_status

    paths = [p for d in directories for p in find_runs(d)]
    if not paths:
        raise JepakitError("no run directories among the arguments", "pass run directories or a sweep folder")
    statuses = [run_status(p) for p in paths]
    groups = group_runs(statuses)
    if plot is not None:
        plot_comparison(groups, statuses, plot)
    if as_json:
        output.print_json(groups)
        return
    metric = next((g["metric"] for g in groups if g["metric"]), "metric")
    rows = [[label(g["settings"]), ", ".join(map(str, g["seeds"])), fmt(g["trained"]), fmt(g["random_init"]),
             fmt(g["baseline_raw"])] for g in groups]
    output.out().print(output.table(f"compare ({metric})", ["setting", "seeds", "trained", "random init", "raw input"], rows))
    if plot is not None:
        output.note(f"wrote {plot}", style="green")


def report(
    target: Annotated[Path, typer.Argument(metavar="RUN_DIR|SWEEP_DIR", help="A run directory or a folder of runs.")],
    out: Annotated[Path | None, typer.Option("--out", metavar="FILE.html", help="Default: <target>/report.html.")] = None,
) -> None:
    """One self-contained HTML file: config, curves, masks, PCA, probe table, collapse monitors, metadata."""
    from jepakit.experiments.report import build_report
    from jepakit.experiments.sweep import find_runs

    if not find_runs(target):
        raise JepakitError(f"no run directories at {target}", "pass a run directory or a sweep folder")
    path = out or target / "report.html"
    path.write_text(build_report(target), encoding="utf-8")
    output.note(f"wrote {path}", style="green")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("runs")(runs)
    app.command("compare")(compare)
    app.command("report")(report)
