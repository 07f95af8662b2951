"""The encoder a run evaluates, read from its directory without rebuilding the run.

Core's JEPA checkpoints name their tensors `model/encoder.*` (the context encoder), `model/target.encoder.*` (the
EMA teacher; a stop-gradient target has none: its teacher is the encoder) and `model/predictor.*`. For those runs
only the encoder part is built, for an input shape read from the dataset's settings (`size`, `channels`, `frames`;
the channel count also from the patch embedding's weights), so no dataset is generated or read. Anything else (a
method with its own model, a dataset whose settings do not give its shape) falls back to rebuilding what is
needed, with a note on the log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from jepakit.errors import JepakitError

log = logging.getLogger("jepakit")

#: checkpoint prefixes of core's JEPA module, per `eval.encoder` (the first one present wins)
PREFIXES = {"target": ("model/target.encoder.", "model/encoder."), "context": ("model/encoder.",)}
CORE_METHOD = "core/jepa"


def _normalisation(modality: str) -> dict[str, Any]:
    from jepakit.engine.export import MINUS_ONE_ONE

    if modality in ("image", "video"):
        return dict(MINUS_ONE_ONE)
    return {"range": f"as the {modality or 'dataset'} dataset produces it (no pixel normalisation)"}


def _shape_from_settings(resolved: Any, tensors: dict[str, torch.Tensor], prefix: str) -> tuple[int, ...] | None:
    """(C, H, W) or (C, T, H, W) from the data part's settings, or None when they do not say."""
    data = resolved.parts["data"]
    cfg, modality = data.cfg, data.spec.modality
    size = getattr(cfg, "size", None)
    if not isinstance(size, int) or modality not in ("image", "video"):
        return None
    chans = getattr(cfg, "channels", None)
    if not isinstance(chans, int):
        conv = [v for k, v in tensors.items() if k.startswith(prefix + "patch_embed") and v.dim() in (4, 5)]
        if len(conv) != 1:
            return None
        chans = int(conv[0].shape[1])
    if modality == "video":
        frames = getattr(cfg, "frames", None)
        return (chans, frames, size, size) if isinstance(frames, int) else None
    return (chans, size, size)


def run_encoder(path: Path, state: Any, predictor: bool = False) -> tuple[nn.Module, Any, dict[str, Any]]:
    """(the evaluated encoder, its EncoderInfo, extras) of a run directory; extras hold the predictor if asked."""
    from jepakit.engine.ckpt import latest_checkpoint
    from jepakit.engine.export import EncoderInfo, build_encoder_part, load_weights
    from jepakit.engine.runs import existing_run
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.config import load_toml, to_plain

    run_dir = existing_run(path)
    resolved = resolve_run(load_toml(run_dir.config), state)
    found = latest_checkpoint(run_dir.checkpoints)
    if found is None:
        raise JepakitError(f"{run_dir.path} has no readable checkpoint", "train it first (or resume it with --resume)")
    tensors, meta = found
    which = resolved.eval.encoder
    enc = resolved.parts["encoder"]
    data = resolved.parts["data"]
    info = EncoderInfo(
        part=enc.spec.name,
        settings=to_plain(enc.cfg) if enc.cfg is not None else {},
        input_shape=(),
        normalisation=_normalisation(data.spec.modality),
        readout=resolved.eval.readout,
        variant=resolved.variant,
        encoder=which,
        source={
            "run": str(run_dir.path),
            "step": meta.get("step"),
            "data": data.spec.name,
            "data_settings": to_plain(data.cfg) if data.cfg is not None else {},
        },
    )
    prefix = next((p for p in PREFIXES[which] if any(k.startswith(p) for k in tensors)), None)
    extra: dict[str, Any] = {}
    if resolved.parts["method"].spec.name == CORE_METHOD and prefix is not None:
        shape = _shape_from_settings(resolved, tensors, prefix)
        meta_data: dict[str, Any] = {}
        if shape is None:
            log.info(
                "%s: the dataset's settings do not give its input shape; building the dataset to read it",
                data.spec.name,
            )
            from jepakit.framework.compose import build_part

            splits = build_part(data, seed=resolved.run.seed)
            shape, meta_data = tuple(int(s) for s in splits.input_shape), dict(splits.meta)
        module = build_encoder_part(enc.spec.name, info.settings, shape, state, meta=meta_data)
        own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        load_weights(module, own, f"{run_dir.path.name}'s checkpoint ({prefix}*)")
        if predictor:
            extra["predictor"] = _predictor(resolved, tensors, module)
    else:
        module, shape = _rebuilt(path, state, resolved, which, predictor, extra)
    info.input_shape = tuple(int(s) for s in shape)
    return module.eval(), info, extra


def _rebuilt(
    path: Path, state: Any, resolved: Any, which: str, predictor: bool, extra: dict[str, Any]
) -> tuple[nn.Module, tuple[int, ...]]:
    """Another method's model: rebuild the run (data included) and take its evaluated encoder, if it is the
    [encoder] part alone (an export is rebuilt from the registry by that part's name)."""
    from jepakit.engine.export import build_encoder_part, check_tensors
    from jepakit.engine.run_eval import load_run

    log.info("%s trains its own model: rebuilding the run to read its encoder", resolved.parts["method"].spec.name)
    resolved, built, _ = load_run(path, state)
    model = built.model
    # the training contract (interfaces.Method): a model's `teacher` and `encoder` are modules
    module = cast("nn.Module | None", model.teacher if which == "target" else getattr(model, "encoder", None))
    shape = tuple(int(s) for s in built.splits.input_shape)
    enc = resolved.parts["encoder"]
    twin = build_encoder_part(enc.spec.name, _settings(enc), shape, state, meta=built.splits.meta)
    if module is None:
        raise JepakitError(
            f"{resolved.parts['method'].spec.name}'s model has no `{which}` encoder",
            "export reads the encoder a run's evaluation uses ([eval] encoder)",
        )
    try:
        check_tensors(twin, module.state_dict(), "the run's evaluated encoder")
    except JepakitError:
        raise JepakitError(
            f"the encoder {resolved.parts['method'].spec.name} evaluates is not the [encoder] part "
            f"{enc.spec.name} alone",
            "export covers runs whose evaluation reads the [encoder] part (core/jepa and methods built on it)",
        ) from None
    if predictor:
        pred = getattr(model, "predictor", None)
        if pred is None or "predictor" not in resolved.parts:
            raise JepakitError("this run's model has no predictor part", "export it without --with-predictor")
        extra["predictor"] = _predictor_config(resolved, pred.state_dict(), module)
    return module, shape


def _settings(part: Any) -> dict[str, Any]:
    from jepakit.framework.config import to_plain

    return to_plain(part.cfg) if part.cfg is not None else {}


def _predictor(resolved: Any, tensors: dict[str, torch.Tensor], encoder: nn.Module) -> Any:
    """(predictor tensors, its config.json entry) from core's checkpoint keys `model/predictor.*`."""
    own = {k[len("model/predictor.") :]: v for k, v in tensors.items() if k.startswith("model/predictor.")}
    if not own or "predictor" not in resolved.parts:
        raise JepakitError("this run's checkpoint holds no predictor", "export it without --with-predictor")
    return _predictor_config(resolved, own, encoder)


def _predictor_config(resolved: Any, own: dict[str, torch.Tensor], encoder: Any) -> Any:
    """(tensors, config.json's `predictor` entry): part, settings, and the encoder width and grid it is built for."""
    part = resolved.parts["predictor"]
    config = {
        "part": part.spec.name,
        "settings": _settings(part),
        "embed_dim": int(encoder.embed_dim),
        "grid": [int(g) for g in encoder.grid],
    }
    return {k: v.detach().cpu().contiguous() for k, v in own.items()}, config
