"""Composition: a run file + a variant -> validated parts (torch-free), then built modules (imports torch).

A run file names a variant and overrides any part of it:

    variant = "ijepa/ijepa-tiny"
    [masker]  target_scale = [0.15, 0.2]
    [optim]   lr = 5e-4
    [run]     out = "runs/ijepa-digits"
    [eval.heads.knn]  k = 10

`resolve_run` checks every key against its part's config dataclass, every part name against the registry, and
token layouts and modalities across parts; `jepakit validate` adds the parts' own checks without tensors
(`jepakit.framework.checks`: data paths, the patch grid, a masker's fit on it); `train` then calls `build`.
A run that spells out every section (a run directory's config.toml) resolves even where its variant is
unknown: a run directory needs only the plugins its parts come from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jepakit.errors import JepakitError, did_you_mean
from jepakit.framework.build import build_part as build_part  # re-exported: composition's entry points in one place
from jepakit.framework.config import apply_overrides, build_dataclass, deep_merge, load_toml, to_plain
from jepakit.framework.plugins import PluginState
from jepakit.framework.registry import PartSpec, singular
from jepakit.framework.settings import EvalConfig, OptimConfig, RunConfig

if TYPE_CHECKING:  # pragma: no cover
    from jepakit.framework.eval_sets import EvalSet

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
ANY_METHOD_ROLES = ("encoder", "data")


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
    #: the heads by the name their scores carry in eval.json ("knn", or the table key of `[eval.heads.NAME]`)
    heads: dict[str, Part] = field(default_factory=dict)
    loggers: dict[str, Part] = field(default_factory=dict)
    #: named-part settings ("eval.heads", "run.loggers") the run gave as a list: the exact set, not merged
    exact: frozenset[str] = frozenset()
    #: the labelled evaluation sets by name (`[eval.sets.NAME]`), the primary first; empty = the pretraining
    #: dataset's own split
    sets: dict[str, EvalSet] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fully resolved config (every default filled in), as written to RUN_DIR/config.toml."""
        out: dict[str, Any] = {"variant": self.variant}
        for role, part in self.parts.items():
            out[role] = {"use": part.spec.name, **_settings(part)}
        out["loss"] = {n: {"use": p.spec.name, "weight": p.weight, **_settings(p)} for n, p in self.losses.items()}
        out["optim"], out["run"], out["eval"] = to_plain(self.optim), to_plain(self.run), to_plain(self.eval)
        out["run"]["loggers"] = _named_plain(self.loggers, "run.loggers" in self.exact)
        out["eval"]["heads"] = _named_plain(self.heads, "eval.heads" in self.exact)
        out["eval"].pop("sets", None)
        if self.sets or "eval.sets" in self.exact:  # absent when empty: config.toml of a run without sets is unchanged
            from jepakit.framework.eval_sets import sets_plain

            out["eval"]["sets"] = sets_plain(self.sets, "eval.sets" in self.exact)
        return out


def _settings(part: Part) -> dict[str, Any]:
    return to_plain(part.cfg) if part.cfg is not None else {}


def _named_plain(parts: dict[str, Part], exact: bool) -> list[Any] | dict[str, Any]:
    """Heads or loggers as config.toml writes them: a table per part, so re-resolving against the variant
    rebuilds the same set; a list of inline tables when the run gave the exact set (a table would merge back
    the variant's others)."""
    if not parts:
        return []
    tables = {
        name: {"use": p.spec.name, **{k: v for k, v in _settings(p).items() if v is not None}}
        for name, p in parts.items()
    }
    return list(tables.values()) if exact else tables


def read_run(source: str | Path | dict[str, Any], overrides: Sequence[str] = ()) -> dict[str, Any]:
    """A run file (or dict) with `--set` overrides applied."""
    data = load_toml(source) if not isinstance(source, dict) else source
    return apply_overrides(data, list(overrides))


def resolve_run(source: str | Path | dict[str, Any], state: PluginState, overrides: Sequence[str] = ()) -> ResolvedRun:
    """Validate a run against the variant it names and the installed parts. Raises JepakitError naming the key."""
    data = read_run(source, overrides)
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        k = unknown[0]
        raise JepakitError(
            f'{k}: unknown section "{k}".{did_you_mean(k, SECTIONS)}', f"run files hold: {', '.join(SECTIONS)}"
        )
    if "variant" not in data:
        raise JepakitError(
            "variant: missing", 'name the variant to run, e.g. variant = "ijepa/ijepa-tiny" (`jepakit list variants`)'
        )
    if not isinstance(data["variant"], str):
        raise JepakitError(f"variant: expected a string, got {data['variant']!r}", 'e.g. variant = "ijepa/ijepa-tiny"')
    if state.registry.resolve("variants", data["variant"]) is None and stands_alone(data):
        return _resolve_alone(data, state)
    vspec = state.registry.get("variants", data["variant"], key="variant")
    over = {k: v for k, v in data.items() if k != "variant"}
    merged = deep_merge(vspec.spec, over)
    exact = set()
    for (section, name), kind in NAMED_PARTS.items():  # heads and loggers: tables merge, a list is the exact set
        given = over.get(section, {}).get(name) if isinstance(over.get(section), dict) else None
        base = vspec.spec.get(section, {}) if isinstance(vspec.spec.get(section), dict) else {}
        base = base.get(name, _DEFAULTS[section][name])
        if isinstance(given, list):
            exact.add(f"{section}.{name}")
        elif isinstance(given, dict):
            merged[section] = {
                **merged[section],
                name: _merge_named(state.registry, kind, base, given, f"{section}.{name}"),
            }
    resolved = resolve_spec(vspec.name, vspec.modality, merged, state)
    resolved.exact = frozenset(exact)
    return resolved


#: The sections of a run that spells out everything (`ResolvedRun.to_dict`: a run directory's config.toml).
SAVED_SECTIONS = ("variant", "method", "encoder", "data", "loss", "optim", "run", "eval")


def stands_alone(data: dict[str, Any]) -> bool:
    """True for a run that spells out every section, as a run directory's config.toml does: its variant is then
    only a name, so the run resolves where that variant is unknown (a plugins.toml composition `local/NAME` run
    from another folder, a variant renamed since), given the plugins its parts come from."""
    return all(isinstance(data.get(k), dict) for k in SAVED_SECTIONS if k != "variant")


def _resolve_alone(data: dict[str, Any], state: PluginState) -> ResolvedRun:
    """A run that stands alone, resolved from its own tables: a list of heads, loggers or sets is the exact set
    (as `resolve_run` reads a run's list), so `to_dict` writes back what was read."""
    spec = {k: v for k, v in data.items() if k != "variant"}
    exact = {
        f"{section}.{name}"
        for section, name in NAMED_PARTS
        if isinstance(spec.get(section), dict) and isinstance(spec[section].get(name), list)
    }
    resolved = resolve_spec(data["variant"], "", spec, state)
    resolved.exact = frozenset(exact)
    return resolved


def resolve_spec(name: str, modality: str, spec: dict[str, Any], state: PluginState) -> ResolvedRun:
    """Validate a merged variant spec (part tables + loss + optim/run/eval)."""
    reg = state.registry
    parts = {"method": _part(reg, "methods", spec.get("method", {"use": DEFAULT_METHOD}), "method")}
    generic = parts["method"].spec.name == DEFAULT_METHOD
    needed = JEPA_ROLES if generic else ANY_METHOD_ROLES
    for role, kind in ROLES.items():
        table = spec.get(role)
        if role == "method":
            continue
        if table is None:
            if role in needed:
                raise JepakitError(
                    f"{role}: missing", f'add a [{role}] table with use = "<a registered {singular(kind)}>"'
                )
            continue
        parts[role] = _part(reg, kind, table, role)
    parts = {role: parts[role] for role in ROLES if role in parts}  # method last: it reads best after its parts
    loss_table = spec.get("loss", {})
    if not isinstance(loss_table, dict) or (generic and not loss_table):
        raise JepakitError("loss: missing or empty", 'add e.g. [loss.pred] use = "core/smooth-l1"')
    losses = {}
    for term, table in loss_table.items():
        if not isinstance(table, dict):
            raise JepakitError(
                f"loss.{term}: expected a table, got {table!r}", f'write [loss.{term}] use = "core/smooth-l1"'
            )
        table = dict(table)
        weight = table.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise JepakitError(f"loss.{term}.weight: expected a number, got {weight!r}", "e.g. weight = 1.0")
        part = _part(reg, "losses", table, f"loss.{term}")
        part.weight = float(weight)
        losses[term] = part
    optim = build_dataclass(OptimConfig, spec.get("optim", {}), "optim")
    from jepakit.framework.eval_sets import check_sets, resolve_sets

    named: dict[tuple[str, str], Any] = {}
    for (section, key), kind in NAMED_PARTS.items():
        table = spec.get(section, {})
        if not isinstance(table, dict):
            raise JepakitError(
                f"{section}: expected a table, got {table!r}", f"write it as [{section}] with key = value lines"
            )
        value = table.get(key, _DEFAULTS[section][key])
        named[section, key] = (
            resolve_sets(reg, value, f"{section}.{key}")
            if kind == "datasets"
            else _named_parts(reg, kind, value, f"{section}.{key}")
        )
        spec = {**spec, section: {k: v for k, v in table.items() if k != key}}
    run = build_dataclass(RunConfig, spec.get("run", {}), "run")
    ev = build_dataclass(EvalConfig, spec.get("eval", {}), "eval")
    heads, loggers, sets = named["eval", "heads"], named["run", "loggers"], named["eval", "sets"]
    run.loggers, ev.heads, ev.sets = list(loggers), list(heads), list(sets)
    ev.primary = primary_head(ev.primary, heads, reg)
    check_compatible(parts)
    check_sets(sets, parts)
    if not run.out:
        run.out = str(Path("runs") / name.replace("/", "-"))
    return ResolvedRun(
        name, modality or parts["encoder"].spec.modality, parts, losses, optim, run, ev, heads, loggers, sets=sets
    )


def _part(reg, kind: str, table: Any, key: str, use_key: str | None = None) -> Part:
    """A part from its table (`use` + settings); `use_key` is where the name came from (default `key.use`)."""
    if not isinstance(table, dict):
        raise JepakitError(f"{key}: expected a table, got {table!r}", f'write [{key}] with use = "<name>"')
    if "use" not in table:
        raise JepakitError(f"{key}.use: missing", f"name a registered {singular(kind)} (`jepakit list {kind}`)")
    spec = reg.get(kind, table["use"], key=use_key or f"{key}.use")
    settings = {k: v for k, v in table.items() if k != "use"}
    cfg = build_dataclass(spec.config, settings, key) if spec.config else None
    if cfg is None and settings:
        raise JepakitError(f"{key}.{next(iter(settings))}: {spec.name} takes no settings", f"remove it from [{key}]")
    return Part(spec, cfg, key)


# --- named parts: a run's heads and loggers -----------------------------------------------------------------------
#: Settings that hold a set of named parts, and the registry kind they name. Each is written as a list of names
#: (`heads = ["core/linear-probe", "core/knn"]`: the exact set; an entry may be an inline table with `use`) or
#: as a table per part keyed by its name, short or qualified, with its settings (`[eval.heads.knn] k = 10`;
#: `use` defaults to the key). A run's tables merge into the variant's set, like `[loss.NAME]` terms do.
NAMED_PARTS: dict[tuple[str, str], str] = {
    ("eval", "heads"): "heads",
    ("run", "loggers"): "loggers",
    ("eval", "sets"): "datasets",
}
_DEFAULTS = {"eval": {"heads": EvalConfig().heads, "sets": EvalConfig().sets}, "run": {"loggers": RunConfig().loggers}}


def _named_entries(value: Any, kind: str, key: str) -> dict[str, tuple[dict[str, Any], str, str]]:
    """name -> (table, settings key, key of the part's name) for a list or table of named parts."""
    entries: dict[str, tuple[dict[str, Any], str, str]] = {}
    if isinstance(value, list):
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if isinstance(item, str):
                table, use_key = {"use": item}, where
            elif isinstance(item, dict) and isinstance(item.get("use"), str):
                table, use_key = dict(item), f"{where}.use"
            else:
                raise JepakitError(
                    f"{where}: expected a {singular(kind)} name or a table with use, got {item!r}",
                    f'write e.g. {key} = ["{"core/knn" if kind == "heads" else "core/tensorboard"}"]',
                )
            name = table["use"].split("/")[-1]
            if name in entries:
                raise JepakitError(
                    f'{where}: a second {singular(kind)} named "{name}"',
                    f'give each its own name: [{key}.{name}2] use = "{table["use"]}"',
                )
            entries[name] = (table, where, use_key)
        return entries
    if not isinstance(value, dict):
        raise JepakitError(
            f"{key}: expected a list of names or a table per {singular(kind)}, got {value!r}",
            f'write {key} = ["<name>", ...] or [{key}.<name>] tables (`jepakit list {kind}`)',
        )
    for raw, table in value.items():
        where = f"{key}.{raw}"
        if not isinstance(table, dict):
            raise JepakitError(
                f"{where}: expected a table of settings, got {table!r}",
                f"write [{where}] with setting = value lines (`jepakit show {raw}`)",
            )
        table = dict(table)
        name = raw.split("/")[-1]
        if "/" in raw:  # a qualified key names the part itself
            table.setdefault("use", raw)
        if name in entries:
            raise JepakitError(f'{where}: a second {singular(kind)} named "{name}"', f"keep one [{key}.{name}] table")
        entries[name] = (table, where, f"{where}.use" if "use" in value[raw] else where)
    return entries


def _merge_named(reg, kind: str, base: Any, over: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    """The variant's named parts with a run's tables merged in: settings add up, a changed `use` replaces."""
    out = {name: table for name, (table, _, _) in _named_entries(base, kind, key).items()}
    for name, (table, _, _) in _named_entries(over, kind, key).items():
        old = out.get(name)
        if old is not None and (
            "use" not in table or reg.resolve(kind, str(table["use"])) == reg.resolve(kind, str(old.get("use", name)))
        ):
            out[name] = {**old, **table}  # the same part: settings add up
        else:
            out[name] = table
    return out


def _named_parts(reg, kind: str, value: Any, key: str) -> dict[str, Part]:
    """Validate a list or table of named parts: every name registered, every setting a field of its config."""
    parts = {}
    for name, (table, where, use_key) in _named_entries(value, kind, key).items():
        use = str(table.get("use", name))
        if reg.resolve(kind, use) is None:  # a short name is the usual spelling here: suggest among those too
            raise reg.unknown(kind, use, [n for s in reg.list(kind) for n in (s.name, s.short)], use_key)
        parts[name] = _part(reg, kind, {"use": use, **table}, where, use_key)
    return parts


def primary_head(primary: str, heads: dict[str, Part], reg: Any = None) -> str:
    """The head whose score is the run's verdict: `[eval] primary` (a head's name in eval.json, or its registered
    name), else the first linear-probe head, else the first head ("" without heads)."""
    if not primary:
        linear = [n for n, p in heads.items() if p.spec.short == "linear-probe"]
        return (linear or list(heads) or [""])[0]
    if primary in heads:
        return primary
    qualified = reg.resolve("heads", primary) if reg is not None else None
    named = [n for n, p in heads.items() if p.spec.name == qualified]
    if len(named) == 1:
        return named[0]
    if not heads:
        raise JepakitError(
            f'eval.primary: "{primary}" names a head, but the run evaluates none',
            "add the head to eval.heads, or remove eval.primary",
        )
    raise JepakitError(
        f'eval.primary: no head named "{primary}" in eval.heads.{did_you_mean(primary, heads)}',
        f"name one of: {', '.join(heads)}",
    )


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
