"""From a resolved part to its object: import the part's target and call it with the context it asks for.

The one place composition touches a part's code (and so torch, for most parts); `jepakit.framework.compose`
re-exports `build_part` next to the resolution that produces the parts.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from jepakit.errors import JepakitError

if TYPE_CHECKING:  # pragma: no cover
    from jepakit.framework.compose import Part


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
        raise JepakitError(
            f"{part.key}: {part.spec.name} could not be built: {exc}", f"check the settings in [{part.key}]"
        ) from exc
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:  # a plugin's constructor may raise anything
        raise JepakitError(
            f'{part.key}: {part.spec.name} (plugin "{part.spec.plugin}") failed to build: {type(exc).__name__}: {exc}',
            f"a bug in plugin {part.spec.plugin}: report it to its authors, or pick another part "
            f"(`jepakit plugins info {part.spec.plugin}`)",
        ) from exc


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
