"""A real `jepakit train` subprocess at toy size (seconds per run), for kill and fault tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import TOY_MODEL

STEPS, CKPT_EVERY = 32, 4
SETS = [
    "data.use=core/digits",
    *TOY_MODEL,
    "optim.batch_size=32",
    f"optim.steps={STEPS}",
    f"run.ckpt_every={CKPT_EVERY}",
    "run.log_every=1",
    "run.monitor_every=8",
    "run.workers=0",
    "run.threads=1",
    'eval.heads=["core/linear-probe"]',
]


def command(out: Path, *extra: str, resume: bool = False, sets: list[str] | None = None) -> list[str]:
    args = [a for s in (sets or SETS) for a in ("--set", s)]
    return [
        sys.executable,
        "-m",
        "jepakit.cli",
        "train",
        "ijepa/ijepa-tiny",
        *args,
        "--out",
        str(out),
        *(["--resume"] if resume else []),
        *extra,
    ]


def env(tmp: Path, fault: str = "") -> dict[str, str]:
    (tmp / "empty-plugins.toml").write_text("")
    e = {**os.environ, "JEPAKIT_PLUGINS_TOML": str(tmp / "empty-plugins.toml"), "OMP_NUM_THREADS": "1"}
    e.pop("JEPAKIT_FAULT", None)
    if fault:
        e["JEPAKIT_FAULT"] = fault
    return e


def run(
    tmp: Path, out: Path, *extra: str, resume: bool = False, fault: str = "", sets: list[str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(out, *extra, resume=resume, sets=sets), env=env(tmp, fault), capture_output=True, text=True, timeout=600
    )
