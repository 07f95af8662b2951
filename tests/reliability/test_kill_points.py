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
from jepakit.ckpt import list_checkpoints, read_checkpoint
from jepakit.runs import RunDir

#: (fault point, arrival): each entry runs one `train --resume` that kills itself there. The order walks a run
#: through every phase: before the first checkpoint, mid tensor file, between tensors and JSON, mid prune, mid
#: metrics line, mid metrics truncation on resume, in evaluation. "random" kills at a random moment instead.
SCHEDULE = [
    "step@2", "atomic-write@1", "ckpt-tensors@1", "metrics-log@3", "step@5", "random", "atomic-write@2",
    "ckpt-prune@1", "metrics-log@6", "ckpt-tensors@1", "random", "step@3", "atomic-write@3", "ckpt-prune@2",
    "step@1", "metrics-log@1", "random", "atomic-write@1", "ckpt-tensors@2", "step@6", "random", "atomic-write@4",
    "eval@1", "atomic-write@1",
]


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

    out, rng = tmp_path / "killed", random.Random(0)
    fired, lost_max, verified, cleaned = 0, 0, 0, 0
    for i, fault in enumerate(SCHEDULE):
        resume = i > 0
        if fault == "random":
            proc = subprocess.Popen(toyrun.command(out, resume=resume), env=toyrun.env(tmp_path),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(2.0, 7.0))
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=600)
            rc = proc.returncode
        else:
            result = toyrun.run(tmp_path, out, resume=resume, fault=fault)
            rc, err = result.returncode, result.stderr
        assert rc in (0, -signal.SIGKILL), f"{fault}: exit {rc}\n{err[-2000:]}"
        cleaned += "partial checkpoint file" in err
        n, latest, reached = _check_invariants(out)
        verified += n
        if rc == -signal.SIGKILL:
            fired += 1
            lost_max = max(lost_max, reached - latest)
            assert reached - latest <= toyrun.CKPT_EVERY, f"{fault}: reached step {reached}, last checkpoint {latest}"

    final = toyrun.run(tmp_path, out, "--json", resume=True)
    assert final.returncode == 0, final.stderr[-2000:]
    assert _losses(out) == _losses(clean)  # resumed 20+ times, same loss sequence as the clean run
    ev = json.loads(final.stdout)["eval"]
    assert (ev["trained"], ev["random_init"]) == (reference["trained"], reference["random_init"])
    assert fired >= 20, f"only {fired} of {len(SCHEDULE)} kill points fired"
    figures["kill points tried"] += len(SCHEDULE)
    figures["kill points fired (SIGKILL)"] += fired
    figures["resumes after a kill that succeeded"] += fired
    figures["most steps lost to one kill (interval 4)"] = max(figures["most steps lost to one kill (interval 4)"],
                                                             lost_max)
    figures["checkpoint verifications after kills (all good)"] += verified
    figures["restarts that cleaned a killed writer's files"] += cleaned
