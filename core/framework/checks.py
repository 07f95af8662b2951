"""Checks without tensors: what a part's constructor would refuse, found by `jepakit validate` before any build.

A part's config dataclass may define `check(self, **context)`: the arithmetic and file-system checks of its
constructor that need no tensor and no data read (a masker whose `min_keep` cannot be met on the token grid, a
patch size that does not divide the image, a data path that is empty or absent). Like a constructor, it names
the context keywords it takes and is offered these:

    key          the part's key path ("data", "eval.sets.NAME"), for messages
    input_shape  (encoder) one sample's shape, as the dataset's check declared it
    grid         (masker, predictor) the encoder's token grid, as the encoder's check declared it
    embed_dim    (predictor) the encoder's width, as the encoder's check declared it

A check raises `JepakitError` (or ValueError, named after the part's key here) and may return a mapping of
what it found out for the parts built after it: a dataset's `{"input_shape": (C, H, W)}`, an encoder's
`{"grid": (gh, gw), "embed_dim": D}`. A check that needs a keyword nobody declared is skipped: the build will
check it. Shapes are passed from data to encoder to masker and predictor under core's method (`core/jepa`) and
under any method that builds its model the same way and says so on its config class, `wiring = "core/jepa"` (a
`ClassVar`: T-JEPA's, Brain-JEPA's, Point-JEPA's, S-JEPA's methods subclass core's); another method's parts are
checked without them, since only it knows how it wires them.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from jepakit.errors import JepakitError

if TYPE_CHECKING:  # pragma: no cover
    from jepakit.framework.compose import Part, ResolvedRun

#: The roles in build order: each may declare context for the ones after it.
ORDER = ("data", "encoder", "masker", "predictor", "target", "method")


def check_run(resolved: ResolvedRun) -> None:
    """Every part's `check`, in build order, with what the parts before it declared; then each evaluation set's
    declared input shape against the pretraining data's (what `jepakit eval` would refuse after training)."""
    wired = wired_like_core(resolved.parts["method"])  # data -> encoder -> masker, predictor
    context: dict[str, Any] = {}
    for role in ORDER:
        part = resolved.parts.get(role)
        if part is not None:
            found = check_part(part, context if wired else {})
            if wired:
                context.update(found)
    for part in [*resolved.losses.values(), *resolved.heads.values(), *resolved.loggers.values()]:
        check_part(part, {})
    want = context.get("input_shape")
    for es in getattr(resolved, "sets", {}).values():
        got = check_part(es.part, {}).get("input_shape")
        if want is not None and got is not None and tuple(got) != tuple(want):
            raise JepakitError(
                f"{es.part.key}: {es.part.spec.name} gives inputs of shape {list(got)} but the encoder is built "
                f"for the pretraining data's {list(want)}",
                f"give [{es.part.key}] the settings that make {list(want)} (size, channels, ...)",
            )


def wired_like_core(method: Part) -> bool:
    """Whether `method` builds data -> encoder -> masker, predictor as `core/jepa` does: core's own, or one whose
    config class declares `wiring = "core/jepa"`."""
    from jepakit.framework.compose import DEFAULT_METHOD

    if method.spec.name == DEFAULT_METHOD:
        return True
    cfg_cls = method.spec.config
    return cfg_cls is not None and getattr(cfg_cls, "wiring", None) == DEFAULT_METHOD


def check_part(part: Part, context: Mapping[str, Any]) -> dict[str, Any]:
    """Run one part's `check` with the context it names ({} when it has none or needs what nobody declared);
    returns what it declared."""
    fn = getattr(part.cfg, "check", None) if part.cfg is not None else None
    if not callable(fn):
        return {}
    offered = {"key": part.key, **context}
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    named = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if any(p.default is p.empty and p.name not in offered for p in params if p.name in named):
        return {}  # it needs what only the build knows
    takes_all = any(p.kind is p.VAR_KEYWORD for p in params)
    try:
        found = fn(**{k: v for k, v in offered.items() if takes_all or k in named})
    except JepakitError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise JepakitError(f"{part.key}: {exc}", f"check the settings in [{part.key}]") from exc
    except Exception as exc:  # a plugin's check may raise anything: a bug of the plugin's, not a bad setting
        raise JepakitError(
            f'{part.key}: the check of {part.spec.name} (plugin "{part.spec.plugin}") failed: '
            f"{type(exc).__name__}: {exc}",
            f"a bug in plugin {part.spec.plugin}: report it to its authors (`jepakit plugins info {part.spec.plugin}`)",
        ) from exc
    return dict(found) if isinstance(found, Mapping) else {}
