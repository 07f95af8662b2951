"""Evaluate a run: the trained encoder next to the same architecture at random init and a raw-input baseline.

The random-init encoder is rebuilt with the run's seed, so it is exactly the trained encoder's starting point.
The run's method evaluates once per evaluation set (`[eval.sets.NAME]`, or the pretraining dataset's own split
when there are none), each time on a `Built` whose `splits` are that set's; the first set fills eval.json's top
level and every set gets a block in its `sets`. `jepakit eval RUN --data X` probes a finished run on another
set and adds its block to eval.json's `sets` without touching the run's own result.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch

from jepakit.engine import faults
from jepakit.engine.ckpt import latest_checkpoint, unpack_state
from jepakit.engine.eval_data import cap_splits, eval_stage
from jepakit.engine.jepa import Built, build, build_encoder
from jepakit.engine.results import as_result, read_eval, write_eval
from jepakit.engine.runs import RunDir, existing_run
from jepakit.errors import JepakitError
from jepakit.framework.compose import Part, ResolvedRun, build_part, resolve_run
from jepakit.framework.config import load_toml
from jepakit.framework.eval_sets import EvalSet, probe_set, unlabelled_error
from jepakit.framework.plugins import PluginState
from jepakit.interfaces import DEFAULT_EVAL_SET, DataSplits, EvalResult

log = logging.getLogger("jepakit")


def evaluate_built(
    resolved: ResolvedRun, built: Built, run_dir: RunDir, random_init: torch.nn.Module | None = None
) -> EvalResult:
    """Probe the trained model's encoder next to the same encoder at random init and the raw input; writes the
    embedding plot (never eval.json: `evaluate_and_write` does, through `write_eval`).

    `random_init` lets a method that scores more than core's heads (sjepa) build that encoder once and pass it;
    by default it is rebuilt under the run's seed, exactly the trained encoder's starting point.
    """
    from jepakit.engine.evaluate import evaluate_encoders
    from jepakit.library import plots

    model = built.model
    # the training contract (interfaces.Method): any method's model has `encoder` and `teacher` modules
    trained = cast(torch.nn.Module, model.teacher if resolved.eval.encoder == "target" else model.encoder)
    if random_init is None:
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, built.splits)
    heads = {name: head_factory(part) for name, part in resolved.heads.items()}
    extracted: dict[str, Any] = {}  # the rows' features, filled by evaluate_encoders
    result = evaluate_encoders(
        trained,
        random_init,
        built.splits,
        readout=resolved.eval.readout,
        heads=heads,
        primary=resolved.eval.primary or None,
        workers=resolved.run.workers,
        features=extracted,
    )
    faults.point("eval")  # features extracted, nothing written yet
    result = dataclasses.replace(result, variant=resolved.variant, encoder=resolved.eval.encoder)
    try:
        feats, labels = extracted["trained"][1]  # the test split's features, as the probes read them
        plots.plot_embedding_pca(
            feats,
            labels,
            run_dir.plots / "embedding_pca.png",
            class_names=built.splits.class_names,
            title=f"{resolved.eval.encoder} encoder ({resolved.eval.readout}), test split",
        )
    except (ValueError, RuntimeError) as exc:  # a plot must never lose an evaluation
        log.warning("embedding plot skipped: %s", exc)
    return result


def evaluate_and_write(resolved: ResolvedRun, built: Built, run_dir: RunDir) -> EvalResult:
    """The run's method evaluates on every set, core writes eval.json (training summary, collapse warnings,
    schema). A method written before `EvalResult` may still return eval.json's dict; it is read into the type.
    """
    return write_eval(evaluate_sets(resolved, built, run_dir), resolved, run_dir)


def evaluate_sets(resolved: ResolvedRun, built: Built, run_dir: RunDir) -> EvalResult:
    """The method's result on each evaluation set: the first set's at the top level, one block per set in
    `sets`; without `[eval.sets]`, exactly today's single result on the pretraining dataset's own split."""
    if not getattr(resolved, "sets", None):
        splits = getattr(built, "splits", None)  # a stand-in `built` may carry no splits
        if splits is not None and (splits.train is None or splits.test is None):
            raise unlabelled_error(splits.name)
        return as_result(built.method.evaluate(resolved, built, run_dir))
    blocks = {
        name: evaluate_on(resolved, built, run_dir, name, build_set(resolved, built, es), primary=i == 0)
        for i, (name, es) in enumerate(resolved.sets.items())
    }
    return dataclasses.replace(next(iter(blocks.values())), sets=blocks)


def build_set(resolved: ResolvedRun, built: Built, es: EvalSet) -> DataSplits:
    """An evaluation set's splits, checked against the encoder's input shape and capped to `max_samples`."""
    splits = build_part(es.part, seed=resolved.run.seed)
    want, got = tuple(built.splits.input_shape), tuple(splits.input_shape)
    if got != want:
        raise JepakitError(
            f"{es.part.key}: {splits.name} gives inputs of shape {list(got)} but the encoder was "
            f"built for {built.splits.name}'s {list(want)}",
            f"give [{es.part.key}] the settings that make {list(want)} (size, channels, ...)"
            if es.part.key.startswith("eval.")
            else f"pass the settings that make {list(want)}: --set data.size=..., data.channels=...",
        )
    if splits.train is None or splits.test is None:
        raise JepakitError(
            f"{es.part.key}: {splits.name} has no labelled train/test split",
            f"give [{es.part.key}] a labelled dataset (class folders, a labelled split)",
        )
    return cap_splits(splits, es.max_samples, workers=resolved.run.workers)


class _SetDir(RunDir):
    """The run directory as a second set's evaluation sees it: its plots go to plots/sets/NAME/, so they never
    replace the primary set's."""

    def __init__(self, run_dir: RunDir, name: str) -> None:
        super().__init__(run_dir.path)
        self._plots = run_dir.plots / "sets" / name

    plots = property(lambda self: self._plots)


def evaluate_on(
    resolved: ResolvedRun, built: Built, run_dir: RunDir, name: str, splits: DataSplits, *, primary: bool
) -> EvalResult:
    """The run's method on one set: the same trained model, `built.splits` swapped for the set's."""
    target = run_dir if primary else _SetDir(run_dir, name)
    target.plots.mkdir(parents=True, exist_ok=True)
    with eval_stage(f"set {name}"):
        on_set = copy.copy(built)  # the same model and method; only the data differ
        on_set.splits = splits
        result = as_result(built.method.evaluate(resolved, on_set, target))
    return dataclasses.replace(result, sets={})


def with_block(result: EvalResult, name: str, block: EvalResult) -> EvalResult:
    """`result` with one more set block (a result without sets first gets its own as the set "data")."""
    sets = dict(result.sets) or {DEFAULT_EVAL_SET: dataclasses.replace(result, sets={}, train={})}
    sets[name] = dataclasses.replace(block, sets={}, train={})
    return dataclasses.replace(result, sets=sets)


def head_factory(part: Any) -> Any:
    """A zero-argument factory of a resolved head (`resolved.heads[name]`) built with its settings from the run
    (`[eval.heads.NAME]`); a bare registry entry (`PartSpec`) gets its config's defaults."""
    spec, cfg = (part.spec, part.cfg) if isinstance(part, Part) else (part, part.config() if part.config else None)
    cls = spec.load()
    return (lambda: cls(cfg)) if cfg is not None else cls


def load_run(path: str | Path, state: PluginState) -> tuple[ResolvedRun, Built, RunDir]:
    """Rebuild a run from RUN_DIR/config.toml and load its newest good checkpoint."""
    run_dir = existing_run(path)
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
    """`jepakit eval`: rebuild a run from its directory, evaluate its newest checkpoint and rewrite eval.json.

    Blocks that `jepakit eval RUN --data` added are kept (the run's own sets are evaluated afresh)."""
    resolved, built, run_dir = load_run(path, state)
    run_dir.plots.mkdir(exist_ok=True)
    result = evaluate_sets(resolved, built, run_dir)
    for name, block in _old_sets(run_dir).items():
        if name not in result.blocks():
            result = with_block(result, name, block)
    return write_eval(result, resolved, run_dir)


def probe_run(
    path: str | Path,
    state: PluginState,
    data: str,
    overrides: Sequence[str] = (),
    max_samples: int | None = None,
    name: str | None = None,
) -> tuple[str, EvalResult]:
    """`jepakit eval RUN --data X`: score a finished run on another labelled set without retraining; its
    result becomes the block `name` in eval.json's `sets` (the run's own result, at the top level, stays).
    A run without eval.json (trained with --no-eval) gets the probe's result at the top level too, until
    `jepakit eval RUN` evaluates its own sets. Returns (the block's name, its result)."""
    given, es = probe_set(state.registry, data, list(overrides), max_samples)
    name = name or given
    resolved, built, run_dir = load_run(path, state)
    if name in resolved.sets or (not resolved.sets and name == DEFAULT_EVAL_SET):
        raise JepakitError(
            f'--name: "{name}" is one of the run\'s own evaluation sets',
            "give the probe's block another name: --name NAME",
        )
    block = evaluate_on(resolved, built, run_dir, name, build_set(resolved, built, es), primary=False)
    if run_dir.eval_json.is_file():
        run_dir.write_eval(with_block(read_eval(run_dir), name, block).to_dict())
    else:
        write_eval(dataclasses.replace(block, sets={name: block}), resolved, run_dir)
    return name, block


def _old_sets(run_dir: RunDir) -> dict[str, EvalResult]:
    """The set blocks of the run's eval.json ({} when there is none or it is unreadable)."""
    try:
        return read_eval(run_dir).sets if run_dir.eval_json.is_file() else {}
    except (OSError, ValueError):
        return {}
