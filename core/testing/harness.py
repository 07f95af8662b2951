"""The contract suite's building blocks (`jepakit.testing.contracts` holds the checks per kind).

Tiny defaults and build context per layout, failures that name the part and the check, shape and gradient
checks, the worker copy (what a spawned DataLoader worker gets), and the config checks every part starts with.
`contracts` re-exports the public names (`worker_copy`, `check_config`, `TINY`, `CONTEXT`, `KEYS`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import pickle
import tomllib
from collections.abc import Iterator
from typing import Any, TypeVar

import torch
from torch import nn

from jepakit.framework.compose import Part, build_part
from jepakit.framework.config import build_dataclass, dumps_toml, to_plain
from jepakit.framework.registry import PartSpec

T = TypeVar("T")

#: Config fields that make each kind tiny; applied only where the config has the field.
TINY: dict[str, dict[str, Any]] = {
    "encoders": {"embed_dim": 32, "depth": 1, "num_heads": 2, "patch_size": 4},
    "predictors": {"embed_dim": 16, "depth": 1, "num_heads": 2},
}
#: Build context per layout ("" = a part that declares no layout).
CONTEXT: dict[str, dict[str, Any]] = {
    "grid2d": {"_input_shape": (3, 16, 16), "_grid": (14, 14)},
    "grid3d": {"_input_shape": (1, 4, 16, 16), "_grid": (4, 8, 8)},
    "": {"_grid": (4, 4), "_embed_dim": 32, "_input_shape": (3, 16, 16)},
}
#: Config key of each kind (as in a run file), also the kind's singular in messages.
KEYS = {
    "encoders": "encoder",
    "maskers": "masker",
    "predictors": "predictor",
    "targets": "target",
    "datasets": "data",
    "heads": "head",
    "losses": "loss",
    "methods": "method",
    "loggers": "logger",
    "variants": "variant",
}
BATCH = 4


class _Failed(AssertionError):  # already names the part and check
    pass


def worker_copy(obj: T) -> T:
    """The copy a spawned DataLoader worker would get, without ever unpickling bytes.

    Spawn start methods send maskers, collates and raw-feature transforms to workers with pickle, so the object
    must serialise (`pickle.dumps` raises on lambdas, local classes, open handles); its state is then rebuilt
    through the same reduce protocol by `copy.deepcopy`, in memory.
    """
    pickle.dumps(obj)
    return copy.deepcopy(obj)


def _fail(spec: PartSpec, check: str, why: str) -> None:
    raise _Failed(f'{KEYS.get(spec.kind, spec.kind)} "{spec.name}" failed the "{check}" check: {why}')


@contextlib.contextmanager
def _check(spec: PartSpec, check: str) -> Iterator[None]:
    """Any error inside becomes an AssertionError naming the part and the check."""
    try:
        yield
    except _Failed:
        raise
    except Exception as exc:  # an AssertionError or whatever the part raised
        why = str(exc) if type(exc) is AssertionError else f"{type(exc).__name__}: {exc}"
        raise _Failed(f'{KEYS.get(spec.kind, spec.kind)} "{spec.name}" failed the "{check}" check: {why}') from exc


def _split(spec: PartSpec, tiny: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config fields, build context) from a tiny dict, context defaulted by the part's layout."""
    tiny = dict(tiny or {})
    ctx = {**CONTEXT[""], **CONTEXT.get(spec.layout, {}), **{k: v for k, v in tiny.items() if k.startswith("_")}}
    return {k: v for k, v in tiny.items() if not k.startswith("_")}, ctx


def _shape(spec: PartSpec, check: str, t: Any, expected: tuple[int, ...], what: str) -> None:
    """A finite floating tensor of the expected shape."""
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        _fail(spec, check, f"{what} is {getattr(t, 'dtype', type(t).__name__)}, expected a floating tensor")
    if not bool(torch.isfinite(t).all()):
        _fail(spec, check, f"{what} holds NaN or inf")
    if tuple(t.shape) != tuple(expected):
        _fail(spec, check, f"{what} has shape {list(t.shape)}, expected {list(expected)}")


def _grads(spec: PartSpec, module: nn.Module, scalar: torch.Tensor) -> None:
    """Backward a scalar; every trainable parameter must receive a finite gradient."""
    module.zero_grad(set_to_none=True)
    scalar.backward()
    for name, p in ((n, p) for n, p in module.named_parameters() if p.requires_grad):
        if p.grad is None or not bool(torch.isfinite(p.grad).all()):
            _fail(spec, "gradients", f"parameter {name!r} got " + ("no gradient" if p.grad is None else "NaN or inf"))


def _probe(out: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """A scalar with random weights (a plain mean of layer-normed outputs has zero gradient)."""
    w = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    return (out.float() * w).sum()


def _subset(n: int, k: int, batch: int, seed: int = 0) -> torch.Tensor:
    """[batch, k] sorted distinct indices in [0, n)."""
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randperm(n, generator=g)[:k].sort().values for _ in range(batch)])


def _roundtrip(spec: PartSpec, cfg: Any, key: str) -> None:
    with _check(spec, "config TOML round-trip"):
        text = dumps_toml(to_plain(cfg))
        back = build_dataclass(type(cfg), tomllib.loads(text), key)
        assert back == cfg, f"{cfg!r} came back from TOML as {back!r}:\n{text}"
    with _check(spec, "config pickling"):
        back = worker_copy(cfg)
        assert back == cfg, f"{cfg!r} came back from pickle as {back!r}"


def check_config(spec: PartSpec, cfg_overrides: dict[str, Any] | None = None) -> Any:
    """The config builds from defaults (every field has one), and it and the tiny config round-trip through TOML
    and pickle. Returns the tiny config (None for a part without config)."""
    fields, _ = _split(spec, cfg_overrides)
    cls, key = spec.config, KEYS.get(spec.kind, spec.kind)
    if cls is None and fields:
        _fail(spec, "config", f"takes no settings, got {sorted(fields)}")
    if cls is None:
        return None
    if not (dataclasses.is_dataclass(cls) and isinstance(cls, type)):
        _fail(spec, "config", f"config must be a dataclass, got {cls!r}")
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        _fail(spec, "config defaults", f"field(s) {missing} of {cls.__name__} have no default")
    cfg: Any = None
    for check, data in (("config defaults", {}), ("tiny config", fields))[: 1 + bool(fields)]:
        with _check(spec, check):
            cfg = build_dataclass(cls, data, key)
        _roundtrip(spec, cfg, key)
    return cfg


def _build(spec: PartSpec, cfg: Any, **context: Any) -> Any:
    with _check(spec, "build"):
        return build_part(Part(spec, cfg, KEYS.get(spec.kind, spec.kind)), **context)
