"""SIGKILL at 20+ points across training steps, checkpoint writes, metric appends and evaluation; after each,
`jepakit train --resume` succeeds, no checkpoint is half-written or unreadable, at most one checkpoint interval
of steps is lost, and the finished run's losses and evaluation equal an uninterrupted run's."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import toyrun

from jepakit.engine.ckpt import list_checkpoints, read_checkpoint
from jepakit.engine.runs import RunDir

#: (fault point, arrival): each entry runs one `train --resume` that kills itself there. The order walks a run
#: through every phase: before the first checkpoint, mid tensor file, between tensors and JSON, mid prune, mid
#: metrics line, mid metrics truncation on resume, in evaluation. "random" kills at a random moment instead.
SCHEDULE = [
    "step@2",
    "atomic-write@1",
    "ckpt-tensors@1",
    "metrics-log@3",
    "step@5",
    "random",
    "atomic-write@2",
    "ckpt-prune@1",
    "metrics-log@6",
    "ckpt-tensors@1",
    "random",
    "step@3",
    "atomic-write@3",
    "ckpt-prune@2",
    "step@1",
    "metrics-log@1",
    "random",
    "atomic-write@1",
    "ckpt-tensors@2",
    "step@6",
    "random",
    "atomic-write@4",
    "eval@1",
    "atomic-write@1",
]
WANTED, MAX_TRIES = 22, 40


def _check_invariants(out: Path) -> tuple[int, int, int]:
    """(checkpoints verified, latest good step, steps reached) after a kill; fails on any broken checkpoint."""
    ckpts = list_checkpoints(out / "checkpoints")
    for step in ckpts:
        read_checkpoint(out / "checkpoints", step)  # raises on a half-written or corrupt checkpoint
    reached = max((r["step"] for r in RunDir(out).read_metrics() if "loss" in r), default=0)
    return len(ckpts), max(ckpts, default=0), reached


def _losses(out: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in RunDir(out).read_metrics() if "loss" in r]


@pytest.mark.slow
def test_random_kills_never_lose_more_than_a_checkpoint_interval(tmp_path, figures):
    clean = tmp_path / "clean"
    done = toyrun.run(tmp_path, clean, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    reference = json.loads(done.stdout)["eval"]

    def finished_like_clean(out: Path, stdout: str) -> None:
        assert _losses(out) == _losses(clean)  # resumed many times, same loss sequence as the clean run
        ev = json.loads(stdout)["eval"]
        assert (ev["trained"], ev["random_init"]) == (reference["trained"], reference["random_init"])

    rng, runs = random.Random(0), 0
    out, fresh = tmp_path / "killed-0", True
    tried, fired, lost_max, verified, cleaned, completed = 0, 0, 0, 0, 0, 0
    for fault in (SCHEDULE * 3)[:MAX_TRIES]:
        if fired >= WANTED:
            break
        tried += 1
        if fault == "random":
            proc = subprocess.Popen(
                toyrun.command(out, "--json", resume=not fresh),
                env=toyrun.env(tmp_path),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            time.sleep(rng.uniform(1.0, 5.0))
            proc.send_signal(signal.SIGKILL)
            stdout, err = proc.communicate(timeout=600)
            rc = proc.returncode
        else:
            result = toyrun.run(tmp_path, out, "--json", resume=not fresh, fault=fault)
            rc, stdout, err = result.returncode, result.stdout, result.stderr
        fresh = False
        assert rc in (0, -signal.SIGKILL), f"{fault}: exit {rc}\n{err[-2000:]}"
        cleaned += "partial checkpoint file" in err
        n, latest, reached = _check_invariants(out)
        verified += n
        if rc == 0:  # the run got through this point unharmed and finished: check it, start another
            finished_like_clean(out, stdout)
            completed += 1
            runs += 1
            out, fresh = tmp_path / f"killed-{runs}", True
            continue
        fired += 1
        lost_max = max(lost_max, reached - latest)
        assert reached - latest <= toyrun.CKPT_EVERY, f"{fault}: reached step {reached}, last checkpoint {latest}"
    if not fresh:
        final = toyrun.run(tmp_path, out, "--json", resume=True)
        assert final.returncode == 0, final.stderr[-2000:]
        finished_like_clean(out, final.stdout)
        completed += 1
    assert fired >= WANTED, f"only {fired} of {tried} kill points fired"
    figures["kill points tried"] += tried
    figures["kill points fired (SIGKILL)"] += fired
    figures["resumes after a kill that succeeded"] += fired
    figures["killed runs finished identical to a clean run"] += completed
    figures["most steps lost to one kill (interval 4)"] = max(
        figures["most steps lost to one kill (interval 4)"], lost_max
    )
    figures["checkpoint verifications after kills (all good)"] += verified
    figures["restarts that cleaned a killed writer's files"] += cleaned
