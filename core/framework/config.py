"""TOML config: load, validate against dataclasses, override with `--set`, write back. No torch, no Hydra.

Every error names the key path, the bad value, what was expected and the closest valid key, because a user
fixing a config file needs exactly those four things.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from jepakit.errors import JepakitError, did_you_mean

T = TypeVar("T")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a syntax error is a JepakitError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise JepakitError(f"config file not found: {path}", "check the path, or create one with `jepakit new run`")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise JepakitError(f"{path} is not valid TOML: {exc}", "fix the syntax at the line shown") from exc


def fields_of(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def defaults_of(cls: type) -> dict[str, Any]:
    """A config dataclass's defaults as a TOML-ready dict (tuples become lists)."""
    return to_plain(dataclasses.asdict(cls()))


def to_plain(value: Any) -> Any:
    """Dataclasses, tuples and dicts to plain TOML-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def build_dataclass(cls: type[T], data: dict[str, Any], key: str) -> T:
    """Validate `data` against dataclass `cls` and build it; unset fields keep their defaults.

    `key` is the dotted path of this table in the config, used in every message.
    """
    if not isinstance(data, dict):
        raise JepakitError(f"{key}: expected a table, got {_show(data)}", f"write it as [{key}] with key = value lines")
    known = fields_of(cls)
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in known:
            raise JepakitError(
                f'{key}.{name}: unknown key "{name}".{did_you_mean(name, known)}',
                f"valid keys of [{key}]: {', '.join(known)}",
            )
        values[name] = coerce(raw, hints[name], f"{key}.{name}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:  # __post_init__ checks raise ValueError with their own message
        show = f"`jepakit show {key}`" if key in ("optim", "run", "eval") else "`jepakit show`"  # run-level tables
        raise JepakitError(f"{key}: {exc}", f"see {show} for the valid settings of [{key}]") from exc


def coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`, converting TOML forms (int->float, list->tuple)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, key)
            except JepakitError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        if value in args:
            return value
        meant = LIKELY.get(str(value).strip().lower())
        hint = f' Did you mean "{meant}"?' if meant in args else did_you_mean(value, map(str, args))
        raise _type_error(key, value, " or ".join(repr(a) for a in args), hint)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(key, value, "true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _type_error(key, value, "an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise _type_error(key, value, "a finite number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(key, value, "a string")
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise _type_error(key, value, "a list")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise _type_error(key, value, f"a list of {len(args)} values")
            return tuple(coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
        item = args[0] if args else Any
        out = [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(key, value, "a table")
        return dict(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, key)
    return value


#: What people write for a choice, and the choice they mean when it is offered: `run.device = "gpu"` is "cuda",
#: never the "cpu" that spelling alone would suggest.
LIKELY = {
    "gpu": "cuda",
    "cuda:0": "cuda",
    "nvidia": "cuda",
    "float32": "fp32",
    "fp16": "bf16",
    "float16": "bf16",
    "half": "bf16",
    "bfloat16": "bf16",
    "ctrl-c": "SIGINT",
    "term": "SIGTERM",
    "usr1": "SIGUSR1",
}


def _show(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _type_error(key: str, value: Any, expected: str, extra: str = "") -> JepakitError:
    return JepakitError(
        f"{key}: expected {expected}, got {_show(value)}.{extra}".rstrip("."), f"set {key} to {expected}"
    )


# --- `--set a.b=value` overrides ---------------------------------------------------------------------------------


def parse_override(expr: str) -> tuple[list[str], Any]:
    """Split "a.b=value" into (["a", "b"], value); the value is read as TOML, falling back to a bare string."""
    path, sep, raw = expr.partition("=")
    path = path.strip()
    if not sep or not path or any(not part for part in path.split(".")):
        raise JepakitError(
            f'bad override "{expr}"', "write overrides as --set section.key=value, e.g. --set optim.lr=5e-4"
        )
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path.split("."), value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of `data` with each `--set` override applied (creating tables as needed)."""
    import copy

    out = copy.deepcopy(data)
    for expr in overrides:
        keys, value = parse_override(expr)
        table = out
        for i, k in enumerate(keys[:-1]):
            nxt = table.setdefault(k, {})
            if not isinstance(nxt, dict):
                raise JepakitError(
                    f"--set {expr}: {'.'.join(keys[: i + 1])} is a value, not a table", "check the key path"
                )
            table = nxt
        if keys[-1] == "use" and table.get("use") not in (None, value):
            table.clear()  # switching a part to another one drops the old part's settings
        table[keys[-1]] = value
    return out


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge `over` into a copy of `base`; a table whose `use` changes is replaced, not merged."""
    out = dict(base)
    for k, v in over.items():
        b = out.get(k)
        if isinstance(b, dict) and isinstance(v, dict) and ("use" not in v or v.get("use") == b.get("use")):
            out[k] = deep_merge(b, v)
        else:
            out[k] = v
    return out


# --- writing TOML (tomllib only reads) ----------------------------------------------------------------------------


def dumps_toml(data: dict[str, Any]) -> str:
    """Serialise plain dicts/lists/scalars to TOML: scalars first, then sub-tables, recursively."""
    lines: list[str] = []
    _emit_table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _emit_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables.items():
        _emit_table(v, [*path, k], lines)


def _key(k: str) -> str:
    bare = k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k)
    return k if bare else _string(k)


def _string(v: str) -> str:
    """A TOML basic string. JSON's escapes are valid TOML; DEL must be escaped too."""
    return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return (
            repr(v)
            if not isinstance(v, float) or math.isfinite(v)
            else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
        )
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML (TOML has no null: leave the key out instead)")


__all__ = [
    "apply_overrides",
    "build_dataclass",
    "coerce",
    "deep_merge",
    "defaults_of",
    "dumps_toml",
    "load_toml",
    "parse_override",
    "to_plain",
]
