"""Evaluate a run: the trained encoder next to the same architecture at random init and a raw-input baseline.

The random-init encoder is rebuilt with the run's seed, so it is exactly the trained encoder's starting point.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch

from jepakit.engine.ckpt import latest_checkpoint, unpack_state
from jepakit.framework.compose import Part, ResolvedRun, resolve_run
from jepakit.framework.config import load_toml
from jepakit.errors import JepakitError
from jepakit.engine.jepa import Built, build, build_encoder
from jepakit.framework.plugins import PluginState
from jepakit.engine import faults
from jepakit.engine.results import as_result, write_eval
from jepakit.engine.runs import RunDir
from jepakit.interfaces import EvalResult

log = logging.getLogger("jepakit")


def evaluate_built(resolved: ResolvedRun, built: Built, run_dir: RunDir,
                   random_init: torch.nn.Module | None = None) -> EvalResult:
    """Probe the trained model's encoder next to the same encoder at random init and the raw input; writes the
    embedding plot (never eval.json: `evaluate_and_write` does, through `write_eval`).

    `random_init` lets a method that scores more than core's heads (sjepa) build that encoder once and pass it;
    by default it is rebuilt under the run's seed, exactly the trained encoder's starting point.
    """
    from jepakit.library import plots
    from jepakit.engine.evaluate import evaluate_encoders, extract_features

    model = built.model
    trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
    if random_init is None:
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, built.splits)
    heads = {name: head_factory(part) for name, part in resolved.heads.items()}
    result = evaluate_encoders(trained, random_init, built.splits, readout=resolved.eval.readout, heads=heads,
                               primary=resolved.eval.primary or None)
    faults.point("eval")  # features extracted, nothing written yet
    result = dataclasses.replace(result, variant=resolved.variant, encoder=resolved.eval.encoder)
    try:
        feats, labels = extract_features(trained, built.splits.test, readout=resolved.eval.readout)
        plots.plot_embedding_pca(feats, labels, run_dir.plots / "embedding_pca.png")
    except (ValueError, RuntimeError) as exc:  # a plot must never lose an evaluation
        log.warning("embedding plot skipped: %s", exc)
    return result


def evaluate_and_write(resolved: ResolvedRun, built: Built, run_dir: RunDir) -> EvalResult:
    """The run's method evaluates, core writes eval.json (training summary, collapse warnings, schema).

    A method written before `EvalResult` may still return eval.json's dict; it is read into the type.
    """
    return write_eval(as_result(built.method.evaluate(resolved, built, run_dir)), resolved, run_dir)


def head_factory(part: Any) -> Any:
    """A zero-argument factory of a resolved head (`resolved.heads[name]`) built with its settings from the run
    (`[eval.heads.NAME]`); a bare registry entry (`PartSpec`) gets its config's defaults."""
    spec, cfg = (part.spec, part.cfg) if isinstance(part, Part) else (part, part.config() if part.config else None)
    cls = spec.load()
    return (lambda: cls(cfg)) if cfg is not None else cls


def load_run(path: str | Path, state: PluginState) -> tuple[ResolvedRun, Built, RunDir]:
    """Rebuild a run from RUN_DIR/config.toml and load its newest good checkpoint."""
    run_dir = RunDir(path)
    if not run_dir.config.is_file():
        raise JepakitError(f"{run_dir.path} is not a run directory (no config.toml)",
                           "pass the --out directory of a `jepakit train` run")
    resolved = resolve_run(load_toml(run_dir.config), state)
    resolved.run.out = str(run_dir.path)
    built = build(resolved)
    found = latest_checkpoint(run_dir.checkpoints)
    if found is None:
        raise JepakitError(f"{run_dir.path} has no readable checkpoint", "train it first (or resume it with --resume)")
    tensors, meta = found
    unpack_state(built.model, None, tensors, meta)
    return resolved, built, run_dir


def evaluate_run(path: str | Path, state: PluginState) -> EvalResult:
    """`jepakit eval`: rebuild a run from its directory, evaluate its newest checkpoint and rewrite eval.json."""
    resolved, built, run_dir = load_run(path, state)
    run_dir.plots.mkdir(exist_ok=True)
    return evaluate_and_write(resolved, built, run_dir)
