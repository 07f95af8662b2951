"""Running a sweep's planned runs: each its own `jepakit train` process, at most `jobs` at a time.

A process per run, so that one crash or kill costs one run and never the sweep. The machine's cores are split
between the runs that share it (`run.threads` and OMP_NUM_THREADS), a finished run is skipped and an
interrupted one resumed from its checkpoint, so rerunning the same sweep finishes what is left. On Ctrl-C the
running trainers get SIGTERM (they checkpoint and exit) and the sweep raises `Interrupted`.

Torch-free, like the planning in sweep.py: the scheduler only starts and watches processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jepakit.errors import Interrupted
from jepakit.experiments.sweep import PlannedRun, run_status
from jepakit.framework.settings import typed_command

#: Called as notify(run name, event) with event "started", "finished", "failed (exit N)" or "skipped (finished)".
Notify = Callable[[str, str], None]


@dataclass
class SweepJob:
    """One run still to train: its directory under the sweep folder and the `jepakit train` command line."""

    name: str
    path: Path
    cmd: list[str]


def cpu_threads(jobs: int) -> int:
    """Threads per run when `jobs` runs share this machine's cores (at least 1)."""
    return max(1, (os.cpu_count() or 1) // jobs)


def write_manifest(
    root: Path, source: str, grid: list[str], seeds: str | None, overrides: list[str], plan: list[PlannedRun]
) -> None:
    """sweep.json: how the folder was made, so a reader (or a rerun) knows the grid behind the run names."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sweep.json").write_text(
        json.dumps(
            {
                "source": source,
                "grid": grid,
                "seeds": seeds,
                "set": overrides,
                "command": typed_command(sys.argv),
                "runs": [r.name for r in plan],
            },
            indent=1,
        )
    )


def plan_jobs(
    plan: list[PlannedRun],
    root: Path,
    source: str,
    *,
    overrides: Sequence[str] = (),
    threads: int = 1,
    cli_args: Sequence[str] = (),
    no_eval: bool = False,
) -> tuple[list[SweepJob], dict[str, str]]:
    """The runs still to train (resumed where a checkpoint exists) and the results of those skipped as finished.

    `cli_args` go before the `train` subcommand (e.g. `--plugins-toml FILE`), so the runs see the same plugins.
    With `no_eval` the runs train without evaluating (`--no-eval`), and a run that trained every step is finished
    without an eval.json."""
    todo, results = [], {}
    for run in plan:
        path = root / run.name
        st = run_status(path) if (path / "config.toml").is_file() else None
        trained = bool(st and st["status"] == "interrupted" and 0 < st["steps"] == st["step"])
        if st and (st["status"] == "finished" or (no_eval and trained)):
            results[run.name] = "skipped (finished)"
            continue
        resume = bool(st) and any((path / "checkpoints").glob("step-*.json"))
        sets = [*overrides, *run.overrides(), f"run.threads={threads}"]
        cmd = [
            sys.executable,
            "-m",
            "jepakit.cli",
            *cli_args,
            "train",
            source,
            "--out",
            str(path),
            *[a for s in sets for a in ("--set", s)],
            *(["--no-eval"] if no_eval else []),
            *(["--resume"] if resume else []),
        ]
        todo.append(SweepJob(run.name, path, cmd))
    return todo, results


def run_jobs(
    todo: list[SweepJob], *, jobs: int, threads: int, root: Path, notify: Notify | None = None, poll_s: float = 0.2
) -> dict[str, str]:
    """Train every job, at most `jobs` at once, each logging to RUN/sweep.log; returns name -> result.

    A failing run never stops the others. Ctrl-C stops the running ones cleanly and raises `Interrupted`."""
    say = notify or (lambda name, event: None)
    pending, results = list(todo), {}
    running: dict[str, tuple[subprocess.Popen, IO[str]]] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                job = pending.pop(0)
                job.path.mkdir(parents=True, exist_ok=True)
                log: IO[str] = open(job.path / "sweep.log", "w", encoding="utf-8")  # closed when the run ends
                running[job.name] = (
                    subprocess.Popen(
                        job.cmd,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                    ),
                    log,
                )
                say(job.name, "started")
            for name, (proc, log) in list(running.items()):
                if proc.poll() is not None:
                    log.close()
                    del running[name]
                    results[name] = "finished" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
                    say(name, results[name])
            time.sleep(poll_s)
    except KeyboardInterrupt:
        for proc, log in running.values():
            proc.terminate()  # jepakit train checkpoints on SIGTERM
            proc.wait()
            log.close()
        raise Interrupted(
            f"sweep interrupted; finished runs are kept in {root}", "rerun the same command to resume the rest"
        ) from None
    return results


def run_sweep(
    plan: list[PlannedRun],
    root: Path,
    source: str,
    *,
    overrides: Sequence[str] = (),
    jobs: int = 1,
    cli_args: Sequence[str] = (),
    notify: Notify | None = None,
    no_eval: bool = False,
) -> dict[str, Any]:
    """Plan, train and collect a sweep whose folder and manifest exist; returns its summary.

    Summary: `sweep` (the folder), `seconds`, `results` (name -> "finished" | "failed (exit N)" |
    "skipped (finished)") and `runs` (`run_status` of every planned run that has started, in plan order)."""
    t0 = time.perf_counter()
    threads = cpu_threads(jobs)
    todo, results = plan_jobs(
        plan, root, source, overrides=overrides, threads=threads, cli_args=cli_args, no_eval=no_eval
    )
    for name, result in results.items():  # every planned run is accounted for, the skipped ones first
        if notify is not None:
            notify(name, result)
    results.update(run_jobs(todo, jobs=jobs, threads=threads, root=root, notify=notify))
    statuses = [run_status(root / r.name) for r in plan if (root / r.name / "config.toml").is_file()]
    return {"sweep": str(root), "seconds": round(time.perf_counter() - t0, 1), "results": results, "runs": statuses}
