"""`jepakit sweep` end to end: a 2 x 2 grid, one setting failing at build time, an interrupted run resumed, a
finished run skipped on the second call; then `runs`, `compare --plot` and `report` over the folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TOY_MODEL

from jepakit.engine.runs import RunDir

TOY = [
    *TOY_MODEL,
    "optim.batch_size=32",
    "optim.steps=6",
    "run.ckpt_every=2",
    "run.log_every=1",
    "run.monitor_every=3",
    "run.workers=0",
    'eval.heads=["core/linear-probe"]',
]


def _jepakit(tmp: Path, *args: str, fault: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "JEPAKIT_PLUGINS_TOML": str(tmp / "plugins.toml"), "OMP_NUM_THREADS": "1"}
    env.pop("JEPAKIT_FAULT", None)
    if fault:
        env["JEPAKIT_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "jepakit.cli", *args], cwd=tmp, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_a_small_sweep_survives_failures_and_kills_and_reports(tmp_path):
    (tmp_path / "plugins.toml").write_text("")
    sets = [a for s in TOY for a in ("--set", s)]
    sweep = ["sweep", "ijepa/ijepa-tiny", "--grid", "masker.min_keep=4,60", "--seeds", "0,1", "--out", "sw", *sets]
    # one run is killed before the sweep reaches it: the sweep must resume it, not restart it
    victim = tmp_path / "sw" / "masker.min_keep=4__seed=1"
    killed = _jepakit(
        tmp_path,
        "train",
        "ijepa/ijepa-tiny",
        "--out",
        str(victim),
        *sets,
        "--set",
        "masker.min_keep=4",
        "--set",
        "run.seed=1",
        "--set",
        "run.threads=2",
        fault="step@3",
    )
    assert killed.returncode < 0

    first = _jepakit(tmp_path, *sweep, "--json")
    assert first.returncode == 0, first.stderr[-3000:]
    result = json.loads(first.stdout)["results"]
    assert result["masker.min_keep=4__seed=0"] == "finished" and result["masker.min_keep=4__seed=1"] == "finished"
    assert result["masker.min_keep=60__seed=0"].startswith("failed (exit 2)")  # the grid is too small for it
    steps = [r["step"] for r in RunDir(victim).read_metrics() if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6]  # resumed from its step-2 checkpoint, nothing doubled or lost
    assert "resuming" in (victim / "sweep.log").read_text()

    second = _jepakit(tmp_path, *sweep, "--json")
    again = json.loads(second.stdout)["results"]
    assert again["masker.min_keep=4__seed=0"] == "skipped (finished)"
    assert again["masker.min_keep=60__seed=1"].startswith("failed")

    runs = json.loads(_jepakit(tmp_path, "runs", "sw", "--json").stdout)
    assert sorted(r["status"] for r in runs) == ["failed", "failed", "finished", "finished"]
    compare = _jepakit(tmp_path, "compare", "sw", "--json", "--plot", "cmp.png")
    groups = json.loads(compare.stdout)
    ok = next(g for g in groups if g["settings"] == {"masker.min_keep": 4})
    assert ok["trained"]["n"] == 2 and ok["seeds"] == [0, 1] and (tmp_path / "cmp.png").stat().st_size > 1000
    report = _jepakit(tmp_path, "report", "sw", "--out", "r.html")
    assert report.returncode == 0
    html = (tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") >= 1 + 4 + 2  # comparison, a loss plot per run, masks of finished
    assert "embedding (PCA, coloured by label)" in html
    # what a reader sees: the sweep's grid, seeds and command; statuses and lists in words, not JSON or reprs
    assert "<td>grid</td><td>masker.min_keep=4,60</td>" in html and "<td>seeds</td><td>0,1</td>" in html
    assert "<td>command</td><td>jepakit sweep ijepa/ijepa-tiny --grid" in html
    assert "<td>command</td><td>jepakit train " in html  # each run's own command, not the interpreter's path
    assert "2 finished" in html and "{&quot;" not in html and "[&#x27;" not in html
