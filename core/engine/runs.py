"""The run directory: resolved config, metrics log, checkpoints, evaluation and plots, and a lock.

RUN_DIR/config.toml         every setting, defaults filled in (what `eval` and `--resume` rebuild from)
RUN_DIR/metrics.jsonl       one JSON object per logged step
RUN_DIR/checkpoints/        step-NNNNNNN.safetensors + .json
RUN_DIR/eval.json           trained vs random init vs raw input, collapse monitors
RUN_DIR/plots/*.png         loss curve, masks drawn over inputs, embedding PCA
"""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Any

from jepakit.engine import faults, runlock
from jepakit.engine.ckpt import atomic_write_text
from jepakit.errors import JepakitError, RunFailed
from jepakit.framework.settings import typed_command
from jepakit.interfaces import EvalResult


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    config = property(lambda self: self.path / "config.toml")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    checkpoints = property(lambda self: self.path / "checkpoints")
    eval_json = property(lambda self: self.path / "eval.json")
    plots = property(lambda self: self.path / "plots")

    def create(self) -> None:
        try:
            self.checkpoints.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise JepakitError(
                f"cannot write to run directory {self.path}: {exc.strerror or exc}",
                "choose a writable directory with --out",
            ) from exc

    def lock(self) -> None:
        """Hold the run's lock for the run's lifetime: this process alone, dropped by the kernel when it dies
        (even by SIGKILL), never inherited by forked workers (`jepakit.engine.runlock`)."""
        self._lock_fd = runlock.acquire(self.path)

    def holder(self) -> int | None:
        """The pid of the live process holding the run's lock (this one's if it does), else None."""
        return runlock.holder(self.path)

    def unlock(self) -> None:
        if self._lock_fd is not None:
            runlock.release(self._lock_fd)
            self._lock_fd = None

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.is_file():
            return []
        rows = []
        for line in self.metrics.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue  # a line cut by a kill mid-write
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep only rows up to `step` (resume restarts there; later rows would be logged twice)."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        atomic_write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in rows))

    def log(self, row: dict[str, Any]) -> None:
        try:
            line = json.dumps(row) + "\n"
            with open(self.metrics, "a", encoding="utf-8") as f:
                f.write(line[: len(line) // 2])
                f.flush()
                faults.point("metrics-log")  # a cut line is skipped by read_metrics and dropped on resume
                f.write(line[len(line) // 2 :])
        except OSError as exc:
            raise RunFailed(f"cannot append to {self.metrics}: {exc.strerror or exc}", "free disk space") from exc

    def write_meta(self, resolved: Any) -> None:
        """run.json: what reproducing this run needs beyond config.toml (versions, command line, seed, precision)."""
        import platform
        import sys
        from importlib import metadata

        def version(dist: str) -> str:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return ""

        plugins = sorted({p.spec.plugin for p in [*resolved.parts.values(), *resolved.losses.values()]})
        dists = {
            d.metadata["Name"]: d.version
            for d in metadata.distributions()
            if (d.metadata["Name"] or "").lower().startswith("jepakit")
        }
        meta = {
            "variant": resolved.variant,
            "seed": resolved.run.seed,
            "precision": resolved.run.precision,
            "command": typed_command(sys.argv),  # what the user typed, e.g. "jepakit train ijepa/ijepa-tiny"
            "python": platform.python_version(),
            "platform": platform.platform(),
            "torch": version("torch"),
            "jepakit": version("jepakit"),
            "plugins_used": plugins,
            "jepakit_distributions": dists,
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
        }
        atomic_write_text(self.path / "run.json", json.dumps(meta, indent=1) + "\n")

    def read_eval(self) -> EvalResult:
        """eval.json as an `EvalResult` (`jepakit.engine.results.read_eval`)."""
        from jepakit.engine.results import read_eval

        return read_eval(self.path)

    def write_eval(self, result: dict[str, Any]) -> None:
        """Write eval.json's dict atomically; `jepakit.engine.results.write_eval` is its one caller (it completes
        a method's result first)."""
        atomic_write_text(self.eval_json, json.dumps(result, indent=1) + "\n")

    def retire_eval(self, step: int) -> Path | None:
        """Rename eval.json to eval.step-STEP.json once training went on past the step it evaluated (an
        extension with --no-eval): it no longer describes this encoder, but it is kept, not deleted."""
        if not self.eval_json.is_file():
            return None
        old = self.path / f"eval.step-{step}.json"
        self.eval_json.replace(old)
        logging.getLogger("jepakit").warning("eval.json described the run at step %d: kept as %s", step, old.name)
        return old


def existing_run(path: str | Path) -> RunDir:
    """A run directory to read (eval, export, embed): "not found" when nothing is there, "not a run directory"
    only for a folder without config.toml, so a typo and a wrong folder read differently."""
    run_dir = RunDir(path)
    if not run_dir.path.exists():
        raise JepakitError(
            f"{run_dir.path}: not found",
            "pass the --out directory of a `jepakit train` run (`jepakit runs` lists them)",
        )
    if not run_dir.config.is_file():
        raise JepakitError(
            f"{run_dir.path} is not a run directory (no config.toml)",
            "pass the --out directory of a `jepakit train` run",
        )
    return run_dir


def collapse_streak(rows: list[dict[str, Any]], threshold: float) -> int:
    """How many of the latest collapse monitors in a metrics log read a feature std below `threshold`."""
    streak = 0
    for row in rows:
        if "feature_std" in row:
            streak = streak + 1 if row["feature_std"] < threshold else 0
    return streak


def collapse_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """The collapse warnings a run logged (rows flagged by the training loop), for eval.json: low feature std,
    then the online probe's collapse signature (a k-NN accuracy falling back to random init as the loss falls)."""
    from jepakit.engine.online import signature_warnings

    return [
        f"representation collapse at step {r['step']}: feature std {r['feature_std']} stayed below "
        f"{r['collapse_warning']} for several monitors"
        for r in rows
        if r.get("collapse_warning")
    ] + signature_warnings(rows)
