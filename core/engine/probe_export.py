"""`jepakit eval DIR --data X` where DIR is an encoder without a training run: an export or an import of published
weights. The protocol is the run's: every default head on the encoder's features, on the same part at random
init (seed 0) and on the raw input, from one fixed split. The result is written as DIR/eval-NAME.json."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from jepakit.engine.ckpt import atomic_write_text
from jepakit.engine.eval_data import cap_splits, eval_stage
from jepakit.engine.evaluate import evaluate_encoders
from jepakit.engine.export import build_encoder_part, load_encoder
from jepakit.errors import JepakitError
from jepakit.framework.compose import build_part
from jepakit.framework.eval_sets import probe_set
from jepakit.framework.plugins import PluginState
from jepakit.interfaces import EvalResult


def is_export(path: str | Path) -> bool:
    """An export directory (`jepakit export` / `jepakit import`), not a run directory."""
    p = Path(path)
    return (p / "config.json").is_file() and (p / "model.safetensors").is_file() and not (p / "config.toml").is_file()


def probe_export(
    path: str | Path,
    state: PluginState,
    data: str,
    overrides: Sequence[str] = (),
    max_samples: int | None = None,
    name: str | None = None,
) -> tuple[str, EvalResult]:
    """Probe an exported encoder on a labelled set; returns (the result's name, the result)."""
    encoder, info = load_encoder(path, state=state)
    given, es = probe_set(state.registry, data, list(overrides), max_samples)
    name = name or given
    splits = build_part(es.part, seed=0)
    want, got = tuple(info.input_shape), tuple(splits.input_shape)
    if got != want:
        raise JepakitError(
            f"--data: {splits.name} gives inputs of shape {list(got)} but the encoder takes {list(want)}",
            f"pass the settings that make {list(want)}: --set data.size=..., data.channels=...",
        )
    if splits.train is None or splits.test is None:
        raise JepakitError(f"--data: {splits.name} has no labelled train/test split", "probe on a labelled dataset")
    splits = cap_splits(splits, es.max_samples)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        random_init = build_encoder_part(info.part, info.settings, info.input_shape, state)
    with eval_stage(f"set {name}"):
        result = evaluate_encoders(encoder, random_init, splits, readout=info.readout)
    result = dataclasses.replace(result, variant=info.variant or info.part, encoder=info.encoder)
    atomic_write_text(Path(path) / f"eval-{name}.json", json.dumps(result.to_dict(), indent=1) + "\n")
    return name, result
