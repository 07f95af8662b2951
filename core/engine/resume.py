"""`--resume`: what may change between the processes that train one run, and what a resume says.

A run directory's config.toml is the run. A resume must train the same config (a mismatch is named key by key,
before any tensor is built), except where the run lives and how it is run or watched (`RESUME_FREE`) and
`optim.steps`: a finished run can be extended, and the schedules then follow the new horizon (`new_horizon`).
Torch-free: the checks read only TOML and JSON files.
"""

from __future__ import annotations

import json
import logging
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jepakit.engine.ckpt import atomic_write_text, list_checkpoints
from jepakit.errors import JepakitError
from jepakit.framework.config import dumps_toml, load_toml

if TYPE_CHECKING:  # pragma: no cover
    from jepakit.engine.runs import RunDir
    from jepakit.framework.compose import ResolvedRun

log = logging.getLogger("jepakit")

#: Settings a resume may change: where the run lives, how fast and how it is stopped or watched, not what it learns.
RESUME_FREE = {
    "run": ("out", "threads", "workers", "device", "stop_signal"),
    "eval": ("online_every", "online_samples", "online_linear"),
}


def resume_command(path: str | Path) -> str:
    """The command that continues a run directory (it reads the run's own config.toml): what a stop prints."""
    return f"jepakit train --resume {shlex.quote(str(path))}"


def flat_keys(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optim": {"lr": 1}} -> {"optim.lr": 1}: a difference is named by its dotted key."""
    flat: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            flat.update(flat_keys(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def config_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """`optim.lr = 0.0005 in the run, 0.001 now` for every setting a resume may not change (`RESUME_FREE` and
    optim.steps aside, which `check_resume` allows)."""
    a, b = flat_keys(saved), flat_keys(now)
    free = {f"{s}.{k}" for s, keys in RESUME_FREE.items() for k in keys} | {"optim.steps"}
    unset = "(not set)"
    return [
        f"{k} = {json.dumps(a.get(k, unset))} in the run, {json.dumps(b.get(k, unset))} now"
        for k in sorted(set(a) | set(b))
        if k not in free and a.get(k, unset) != b.get(k, unset)
    ]


def complete_checkpoints(directory: Path) -> list[int]:
    """Steps whose checkpoint has both files and a JSON that reads as its step: what a resume can continue from.

    A stray JSON (a half-pruned checkpoint, a file someone dropped there) does not count; the tensors' hash is
    verified when the checkpoint is loaded, which falls back to the previous one if it does not match.
    """
    steps = []
    for step in list_checkpoints(directory):
        stem = directory / f"step-{step:07d}"
        try:
            meta = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get("step") == step and stem.with_suffix(".safetensors").is_file():
            steps.append(step)
    return steps


def check_resume(run_dir: RunDir, resolved: ResolvedRun) -> int | None:
    """Before any tensor is built: the step `--resume` would continue from (None when the directory holds no
    checkpoint), after checking that the run's config.toml is this config. optim.steps may differ (a finished
    run extended, an unfinished one shortened) but not fall below the newest checkpoint."""
    if not list_checkpoints(run_dir.checkpoints):
        return None
    if run_dir.config.is_file():
        changes = config_changes(load_toml(run_dir.config), resolved.to_dict())
        if changes:
            shown = "; ".join(changes[:8]) + (f"; and {len(changes) - 8} more" if len(changes) > 8 else "")
            raise JepakitError(
                f"--resume: the config differs from the one {run_dir.path} was started with: {shown}",
                f"continue it as it was with: {resume_command(run_dir.path)} (it reads the run's own config.toml), "
                "or train these settings into a new --out",
            )
    steps = complete_checkpoints(run_dir.checkpoints)  # a stray JSON is no step to continue from
    if not steps:
        return None
    if resolved.optim.steps < steps[-1]:
        raise JepakitError(
            f"--resume: optim.steps = {resolved.optim.steps} is below the step of {run_dir.path}'s newest "
            f"checkpoint ({steps[-1]})",
            f"resume with optim.steps >= {steps[-1]}, or train into a new --out",
        )
    return steps[-1]


def new_horizon(run_dir: RunDir, resolved: ResolvedRun, step: int) -> None:
    """A resume with another optim.steps (a finished run extended): say what changes and record the new horizon
    in config.toml, so the next resume, `jepakit runs` and `jepakit eval` read it."""
    try:
        before = int(load_toml(run_dir.config)["optim"]["steps"])
    except (JepakitError, KeyError, TypeError, ValueError):
        return
    if before == resolved.optim.steps:
        return
    log.info(
        "optim.steps %d -> %d, resuming at step %d: the lr, weight-decay and EMA-momentum schedules (and a masking "
        "curriculum) follow the new horizon from here on; steps 1-%d keep the old one's values",
        before,
        resolved.optim.steps,
        step,
        step,
    )
    atomic_write_text(run_dir.config, dumps_toml(resolved.to_dict()))


def elapsed_before(meta: dict[str, Any], run_dir: RunDir) -> float:
    """The elapsed seconds a checkpoint was taken at, so a resumed run's `elapsed_s` goes on counting; for a
    checkpoint written before they were recorded, the last logged row's (metrics.jsonl is already cut there)."""
    if isinstance(meta.get("elapsed_s"), (int, float)):
        return float(meta["elapsed_s"])
    rows = [r for r in run_dir.read_metrics() if isinstance(r.get("elapsed_s"), (int, float))]
    return float(rows[-1]["elapsed_s"]) if rows else 0.0
