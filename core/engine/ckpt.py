"""Checkpoints: tensors in safetensors, everything else in JSON. Never pickle: loading a checkpoint runs no code.

A checkpoint is two files, `step-0000100.safetensors` and `step-0000100.json`. Both are written atomically
(temp file, fsync, rename), the JSON last and holding the SHA-256 of the tensor file, so a checkpoint whose JSON
exists and whose hash matches is complete. A truncated or corrupted one is reported and skipped, and resume
falls back to the previous good one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from jepakit.engine import faults
from jepakit.errors import JepakitError, RunFailed

log = logging.getLogger("jepakit")


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data[: len(data) // 2])
            faults.point("atomic-write")  # a kill here leaves only a temp file: readers never see half a file
            f.write(data[len(data) // 2 :])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise RunFailed(
            f"cannot write {path}: {exc.strerror or exc}",
            "free disk space or choose a writable --out; the previous checkpoint is intact",
        ) from exc
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
    except OSError:
        pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def _stem(step: int) -> str:
    return f"step-{step:07d}"


def save_checkpoint(
    directory: Path, step: int, tensors: dict[str, torch.Tensor], meta: dict[str, Any], keep: int = 2
) -> Path:
    """Write one checkpoint and prune all but the newest `keep` complete ones."""
    blob = st_save({k: v.detach().contiguous().cpu().clone() for k, v in tensors.items()})
    meta = {**meta, "step": step, "sha256": hashlib.sha256(blob).hexdigest(), "format": "jepakit-ckpt-1"}
    atomic_write(directory / f"{_stem(step)}.safetensors", blob)
    faults.point("ckpt-tensors")  # tensors without JSON: an incomplete checkpoint, never read
    atomic_write_text(directory / f"{_stem(step)}.json", json.dumps(meta, indent=1))
    for old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        for suffix in (".json", ".safetensors"):  # JSON first: a half-pruned checkpoint reads as incomplete
            (directory / f"{_stem(old)}{suffix}").unlink(missing_ok=True)
            faults.point("ckpt-prune")
    return directory / f"{_stem(step)}.json"


def remove_partial(directory: Path) -> list[str]:
    """Delete what a killed writer left behind: temp files and tensor files without their JSON.

    Only called by the run's lock holder, so no other writer can be mid-write."""
    removed: list[str] = []
    if not directory.is_dir():
        return removed
    steps = set(list_checkpoints(directory))
    for p in directory.iterdir():
        orphan = (
            p.suffix == ".safetensors"
            and p.stem.startswith("step-")
            and p.stem[5:].isdigit()
            and int(p.stem[5:]) not in steps
        )
        if (p.name.startswith(".") and p.name.endswith(".tmp")) or orphan:
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return removed


def list_checkpoints(directory: Path) -> list[int]:
    """Steps that have a JSON file (complete or not yet verified), oldest first."""
    if not directory.is_dir():
        return []
    steps = []
    for p in directory.glob("step-*.json"):
        try:
            steps.append(int(p.stem.split("-")[1]))
        except (IndexError, ValueError):
            continue
    return sorted(steps)


def read_checkpoint(directory: Path, step: int) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load and verify one checkpoint; a JepakitError says what is wrong with it."""
    stem = directory / _stem(step)
    try:
        meta = json.loads((stem.with_suffix(".json")).read_text(encoding="utf-8"))
        blob = stem.with_suffix(".safetensors").read_bytes()
    except (OSError, ValueError) as exc:
        raise JepakitError(f"checkpoint {stem.name} is unreadable: {exc}", "it will be skipped") from exc
    if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
        raise JepakitError(f"checkpoint {stem.name} is corrupt (content hash mismatch)", "it will be skipped")
    try:
        return st_load(blob), meta
    except Exception as exc:  # safetensors raises its own error types
        raise JepakitError(f"checkpoint {stem.name} is corrupt: {exc}", "it will be skipped") from exc


def latest_checkpoint(directory: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
    """The newest checkpoint that verifies; corrupt ones are reported and skipped."""
    for step in reversed(list_checkpoints(directory)):
        try:
            return read_checkpoint(directory, step)
        except JepakitError as exc:
            log.warning("%s; falling back to an older checkpoint", exc.message)
    return None


# --- model + optimizer state <-> flat tensors and JSON ------------------------------------------------------------


def pack_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    tensors = {f"model/{k}": v for k, v in model.state_dict().items()}
    osd = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, state in osd["state"].items():
        for k, v in state.items():
            if torch.is_tensor(v):
                tensors[f"optim/{idx}/{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = v
    tensors["rng/torch"] = torch.get_rng_state()
    return tensors, {"optim_groups": osd["param_groups"], "optim_scalars": scalars}


def unpack_state(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> None:
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model/")})
    if optimizer is not None:
        state: dict[int, dict[str, Any]] = {}
        for key, v in tensors.items():
            if key.startswith("optim/"):
                _, idx, name = key.split("/", 2)
                state.setdefault(int(idx), {})[name] = v
        for idx, extra in meta.get("optim_scalars", {}).items():
            state.setdefault(int(idx), {}).update(extra)
        optimizer.load_state_dict({"state": state, "param_groups": meta["optim_groups"]})
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
