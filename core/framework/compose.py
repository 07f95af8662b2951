"""Composition: a run file + a variant -> validated parts (torch-free), then built modules (imports torch).

A run file names a variant and overrides any part of it:

    variant = "ijepa/ijepa-tiny"
    [masker]  target_scale = [0.15, 0.2]
    [optim]   lr = 5e-4
    [run]     out = "runs/ijepa-digits"

`resolve_run` checks everything that can be checked without tensors: every key against its part's config
dataclass, every part name against the registry, and token layouts and modalities across parts. `jepakit
validate` runs only this; `train` then calls `build`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jepakit.framework.config import apply_overrides, build_dataclass, deep_merge, load_toml, to_plain
from jepakit.errors import JepakitError, did_you_mean
from jepakit.framework.plugins import PluginState
from jepakit.framework.registry import PartSpec, singular

#: Part tables of a run and the registry kind each one names.
ROLES: dict[str, str] = {
    "encoder": "encoders",
    "masker": "maskers",
    "predictor": "predictors",
    "target": "targets",
    "data": "datasets",
    "method": "methods",
}
SECTIONS = ("variant", *ROLES, "loss", "optim", "run", "eval")
#: The default method, and the roles it needs. Other methods need encoder and data, and build what else they use.
DEFAULT_METHOD = "core/jepa"
JEPA_ROLES = ("encoder", "masker", "predictor", "target", "data")


@dataclass
class OptimConfig:
    """AdamW with I-JEPA's schedules: linear warm-up start_lr -> lr, cosine to final_lr; weight decay cosine
    from weight_decay to final_weight_decay (biases and norms excluded)."""

    steps: int = 500
    batch_size: int = 128
    lr: float = 1e-3
    start_lr: float = 2e-4
    final_lr: float = 1e-6
    warmup: float = 0.1  # fraction of steps
    weight_decay: float = 0.04
    final_weight_decay: float = 0.4
    betas: tuple[float, float] = (0.9, 0.999)
    clip_grad: float = 0.0  # max grad norm; 0 = off (the paper clips nothing)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be at least 1")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup is a fraction of steps in [0, 1), got {self.warmup}")


@dataclass
class RunConfig:
    """Where and how a run executes."""

    out: str = ""  # run directory; default runs/<variant name>
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = autocast on the run's device (CPU or CUDA)
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when torch sees a GPU, else CPU
    compile: bool = False  # torch.compile the encoder, predictor and teacher (opt-in: minutes of compile first)
    threads: int = 0  # torch threads; 0 = all cores
    workers: int = 1  # DataLoader workers sampling masks; 0 = in the main process
    log_every: int = 10
    ckpt_every: int = 100
    keep_checkpoints: int = 2
    monitor_every: int = 100  # collapse monitors (feature std, effective rank) every this many steps
    on_nan: Literal["stop", "skip"] = "stop"  # a non-finite loss or gradient: stop (exit 1) or skip the step
    collapse_std: float = 1e-3  # feature std below this at `collapse_patience` monitors in a row = collapse
    collapse_patience: int = 3
    on_collapse: Literal["warn", "stop"] = "warn"  # warn in the log and eval.json, or also stop (exit 1)
    loggers: list[str] = field(default_factory=list)  # registered loggers besides metrics.jsonl, e.g. "core/tensorboard"


@dataclass
class EvalConfig:
    """Frozen-feature evaluation: each head fits on the train split and scores on the test split."""

    readout: Literal["mean", "last4_mean", "rows_mean"] = "mean"
    heads: list[str] = field(default_factory=lambda: ["core/linear-probe", "core/knn"])
    encoder: Literal["target", "context"] = "target"  # I-JEPA probes the EMA target encoder


@dataclass
class Part:
    """A resolved part: the registry entry, its validated config, and the key path it came from."""

    spec: PartSpec
    cfg: Any
    key: str
    weight: float = 1.0  # loss terms only


@dataclass
class ResolvedRun:
    variant: str
    modality: str
    parts: dict[str, Part]
    losses: dict[str, Part]
    optim: OptimConfig
    run: RunConfig
    eval: EvalConfig
    heads: list[PartSpec]
    loggers: list[PartSpec] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config (every default filled in), as written to RUN_DIR/config.toml."""
        out: dict[str, Any] = {"variant": self.variant}
        for role, part in self.parts.items():
            out[role] = {"use": part.spec.name, **_settings(part)}
        out["loss"] = {n: {"use": p.spec.name, "weight": p.weight, **_settings(p)} for n, p in self.losses.items()}
        out["optim"], out["run"], out["eval"] = to_plain(self.optim), to_plain(self.run), to_plain(self.eval)
        return out


def _settings(part: Part) -> dict[str, Any]:
    return to_plain(part.cfg) if part.cfg is not None else {}


def read_run(source: str | Path | dict[str, Any], overrides: list[str] = ()) -> dict[str, Any]:
    """A run file (or dict) with `--set` overrides applied."""
    data = load_toml(source) if not isinstance(source, dict) else source
    return apply_overrides(data, list(overrides))


def resolve_run(source: str | Path | dict[str, Any], state: PluginState, overrides: list[str] = ()) -> ResolvedRun:
    """Validate a run against the variant it names and the installed parts. Raises JepakitError naming the key."""
    data = read_run(source, overrides)
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        k = unknown[0]
        raise JepakitError(f'{k}: unknown section "{k}".{did_you_mean(k, SECTIONS)}', f"run files hold: {', '.join(SECTIONS)}")
    if "variant" not in data:
        raise JepakitError("variant: missing", 'name the variant to run, e.g. variant = "ijepa/ijepa-tiny" (`jepakit list variants`)')
    if not isinstance(data["variant"], str):
        raise JepakitError(f"variant: expected a string, got {data['variant']!r}", 'e.g. variant = "ijepa/ijepa-tiny"')
    vspec = state.registry.get("variants", data["variant"], key="variant")
    merged = deep_merge(vspec.spec, {k: v for k, v in data.items() if k != "variant"})
    return resolve_spec(vspec.name, vspec.modality, merged, state)


def resolve_spec(name: str, modality: str, spec: dict[str, Any], state: PluginState) -> ResolvedRun:
    """Validate a merged variant spec (part tables + loss + optim/run/eval)."""
    reg = state.registry
    parts = {"method": _part(reg, "methods", spec.get("method", {"use": DEFAULT_METHOD}), "method")}
    generic = parts["method"].spec.name == DEFAULT_METHOD
    for role, kind in ROLES.items():
        table = spec.get(role)
        if role == "method":
            continue
        if table is None:
            if generic or role in ("encoder", "data"):
                raise JepakitError(f"{role}: missing", f'add a [{role}] table with use = "<a registered {singular(kind)}>"')
            continue
        parts[role] = _part(reg, kind, table, role)
    parts = {role: parts[role] for role in ROLES if role in parts}  # method last: it reads best after its parts
    loss_table = spec.get("loss", {})
    if not isinstance(loss_table, dict) or (generic and not loss_table):
        raise JepakitError("loss: missing or empty", 'add e.g. [loss.pred] use = "core/smooth-l1"')
    losses = {}
    for term, table in loss_table.items():
        if not isinstance(table, dict):
            raise JepakitError(f"loss.{term}: expected a table, got {table!r}", f'write [loss.{term}] use = "core/smooth-l1"')
        table = dict(table)
        weight = table.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise JepakitError(f"loss.{term}.weight: expected a number, got {weight!r}", "e.g. weight = 1.0")
        part = _part(reg, "losses", table, f"loss.{term}")
        part.weight = float(weight)
        losses[term] = part
    optim = build_dataclass(OptimConfig, spec.get("optim", {}), "optim")
    run = build_dataclass(RunConfig, spec.get("run", {}), "run")
    ev = build_dataclass(EvalConfig, spec.get("eval", {}), "eval")
    heads = [reg.get("heads", h, key=f"eval.heads[{i}]") for i, h in enumerate(ev.heads)]
    loggers = [reg.get("loggers", name, key=f"run.loggers[{i}]") for i, name in enumerate(run.loggers)]
    check_compatible(parts)
    if not run.out:
        run.out = str(Path("runs") / name.replace("/", "-"))
    return ResolvedRun(name, modality or parts["encoder"].spec.modality, parts, losses, optim, run, ev, heads, loggers)


def _part(reg, kind: str, table: Any, key: str) -> Part:
    if not isinstance(table, dict):
        raise JepakitError(f"{key}: expected a table, got {table!r}", f'write [{key}] with use = "<name>"')
    if "use" not in table:
        raise JepakitError(f"{key}.use: missing", f"name a registered {singular(kind)} (`jepakit list {kind}`)")
    spec = reg.get(kind, table["use"], key=f"{key}.use")
    settings = {k: v for k, v in table.items() if k != "use"}
    cfg = build_dataclass(spec.config, settings, key) if spec.config else None
    if cfg is None and settings:
        raise JepakitError(f"{key}.{next(iter(settings))}: {spec.name} takes no settings", f"remove it from [{key}]")
    return Part(spec, cfg, key)


#: Layouts that are special cases of another: a time-frequency grid is a 2-D grid, so a part written for any
#: `grid2d` (I-JEPA's multi-block masker) works on spectrogram tokens; the converse does not hold.
LAYOUT_PARENT: dict[str, str] = {"tf2d": "grid2d"}


def layout_fits(consumer: str, produced: str) -> bool:
    """True when a part that consumes `consumer` tokens can work on `produced` tokens (empty = any/unknown)."""
    if not consumer or not produced:
        return True
    while produced:
        if consumer == produced:
            return True
        produced = LAYOUT_PARENT.get(produced, "")
    return False


def check_compatible(parts: dict[str, Part]) -> None:
    """Reject mismatched token layouts and modalities before any tensor exists, naming both parts."""
    enc = parts["encoder"]
    for role in ("masker", "predictor"):
        if role not in parts:
            continue
        other = parts[role]
        if enc.spec.layout and not layout_fits(other.spec.layout, enc.spec.layout):
            raise JepakitError(
                f'{role}.use: {role} "{other.spec.name}" works on {other.spec.layout} tokens but encoder '
                f'"{enc.spec.name}" produces {enc.spec.layout} tokens',
                f"pick a {role} for {enc.spec.layout} (`jepakit list {ROLES[role]}`) or another encoder",
            )
    data = parts["data"]
    # a multimodal dataset ("text-image") feeds an encoder of any one of its modalities (TI-JEPA's image tower)
    if data.spec.modality and enc.spec.modality and enc.spec.modality not in data.spec.modality.split("-"):
        raise JepakitError(
            f'data.use: dataset "{data.spec.name}" is {data.spec.modality} data but encoder "{enc.spec.name}" '
            f"encodes {enc.spec.modality}",
            f"pick a {enc.spec.modality} dataset (`jepakit list datasets`) or an encoder for {data.spec.modality}",
        )


def build_part(part: Part, **context: Any) -> Any:
    """Import a part's target and construct it; config errors raised while building name the part's key.

    Like pluggy with hook arguments, composition *offers* context keywords (`input_shape`, `grid`, `meta`, ...)
    and the constructor takes the ones it names, so adding an offer never breaks an existing part.
    """
    factory = part.spec.load()
    context = _accepted(factory, context)
    try:
        return factory(part.cfg, **context) if part.cfg is not None else factory(**context)
    except JepakitError:
        raise
    except (ValueError, TypeError) as exc:
        raise JepakitError(f"{part.key}: {part.spec.name} could not be built: {exc}", f"check the settings in [{part.key}]") from exc
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's constructor may raise anything
        raise JepakitError(f'{part.key}: {part.spec.name} (plugin "{part.spec.plugin}") failed to build: '
                           f"{type(exc).__name__}: {exc}",
                           f"a bug in plugin {part.spec.plugin}: report it to its authors, or pick another part "
                           f"(`jepakit plugins info {part.spec.plugin}`)") from exc


def _accepted(factory: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The context keywords `factory` names (all of them if it takes **kwargs or has no readable signature)."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return context
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return context
    names = {p.name for p in params if p.kind is not inspect.Parameter.POSITIONAL_ONLY}
    return {k: v for k, v in context.items() if k in names}
