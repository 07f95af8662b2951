"""The registry: every part any plugin registered, by kind and qualified name (timm's registry, made strict).

After plugins load, lookup is a plain dict: fast, picklable, no pluggy. Targets stay lazy "module:attr"
strings until a part is built, so filling the registry imports nothing heavy.
"""

from __future__ import annotations

import builtins
import fnmatch
import importlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jepakit.errors import JepakitError, did_you_mean
from jepakit.hookspecs import KINDS

ALL_KINDS: tuple[str, ...] = tuple(KINDS.values())


def singular(kind: str) -> str:
    """ "losses" -> "loss", "encoders" -> "encoder": for messages."""
    return kind[:-2] if kind.endswith("sses") else kind[:-1]


@dataclass(frozen=True)
class PartSpec:
    """One registered part. `target` is "module:attr"; variants carry their composition in `spec` instead."""

    kind: str
    name: str  # qualified: "<plugin>/<short>"
    plugin: str
    target: str = ""
    config: type | None = None
    summary: str = ""
    modality: str = ""
    layout: str = ""
    aliases: tuple[str, ...] = ()
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def short(self) -> str:
        return self.name.split("/", 1)[-1]

    def load(self) -> Any:
        """Import and return the target object. Import failures become a JepakitError naming the part."""
        module_name, _, attr = self.target.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split(".") if attr else []:
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise JepakitError(
                f'{singular(self.kind)} "{self.name}" (plugin "{self.plugin}") cannot be loaded '
                f'from "{self.target}": {exc}',
                "the plugin is broken or a dependency is missing: run `jepakit plugins doctor`",
            ) from exc
        except (Exception, SystemExit) as exc:  # a module of the plugin raised while it was imported (lazily)
            raise JepakitError(
                f'{singular(self.kind)} "{self.name}" (plugin "{self.plugin}"): importing "{module_name}" failed '
                f"at {raised_at(exc)}: {type(exc).__name__}: {exc}",
                f"a bug in plugin {self.plugin} (or in a package it imports): report it to its authors, or pick "
                f"another {singular(self.kind)} (`jepakit plugins info {self.plugin}`)",
            ) from exc
        return obj


def raised_at(exc: BaseException) -> str:
    """file:line where `exc` was raised (the deepest frame outside the import machinery): what to open."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<frozen")]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


class Registry:
    """Parts by kind. Names are unique across plugins; a clash is an error that names both owners."""

    def __init__(self) -> None:
        self._parts: dict[str, dict[str, PartSpec]] = {kind: {} for kind in ALL_KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in ALL_KINDS}
        #: plugins whose parts are missing, and why ('is broken (import: ...)', 'is disabled in plugins.toml'):
        #: an unknown part named after one of them says so instead of suggesting another plugin's part
        self.unavailable: dict[str, str] = {}

    def add(self, spec: PartSpec) -> None:
        """Add one part. Re-adding the identical spec is a no-op (editable installs can list a plugin twice)."""
        if spec.kind not in self._parts:
            raise JepakitError(f'unknown part kind "{spec.kind}"', f"kinds are: {', '.join(ALL_KINDS)}")
        table, aliases = self._parts[spec.kind], self._aliases[spec.kind]
        for key in (spec.name, *spec.aliases):
            owner = table.get(key) or table.get(aliases.get(key, ""))
            if owner is not None and owner != spec:
                raise JepakitError(
                    f'{singular(spec.kind)} name "{key}" is registered by both "{owner.plugin}" and "{spec.plugin}"',
                    f'disable one of them in plugins.toml ([plugins] disable = ["{spec.plugin}"]) or rename the part',
                )
        table[spec.name] = spec
        for alias in spec.aliases:
            aliases[alias] = spec.name

    def remove_plugin(self, plugin: str) -> None:
        """Drop everything a plugin registered (used when its hook fails half-way)."""
        for kind in ALL_KINDS:
            for name in [n for n, s in self._parts[kind].items() if s.plugin == plugin]:
                del self._parts[kind][name]
            for alias in [a for a, n in self._aliases[kind].items() if n not in self._parts[kind]]:
                del self._aliases[kind][alias]

    def resolve(self, kind: str, name: str) -> str | None:
        """Qualified name for `name` (qualified, alias, or a short name that is unique), or None."""
        table = self._parts[kind]
        if name in table:
            return name
        if name in self._aliases[kind]:
            return self._aliases[kind][name]
        matches = [q for q, spec in table.items() if spec.short == name]
        return matches[0] if len(matches) == 1 else None

    def get(self, kind: str, name: str, *, key: str = "") -> PartSpec:
        """The part called `name`, or a JepakitError naming the config key and the closest registered name."""
        if kind not in self._parts:
            raise JepakitError(f'unknown part kind "{kind}"', f"kinds are: {', '.join(ALL_KINDS)}")
        qualified = self.resolve(kind, str(name))
        if qualified is None:
            known = [*self._parts[kind], *self._aliases[kind]]
            raise self.unknown(kind, str(name), known, key)
        return self._parts[kind][qualified]

    def unknown(self, kind: str, name: str, known: Iterable[str], key: str = "") -> JepakitError:
        """The error for a part name nothing registered: when its plugin is broken or disabled, that plugin and
        why (a close name of another plugin would mislead); else the closest registered name."""
        where = f"{key}: " if key else ""
        plugin = name.split("/", 1)[0] if "/" in name else ""
        if plugin in self.unavailable:
            why = self.unavailable[plugin]
            return JepakitError(
                f'{where}unknown {singular(kind)} "{name}": plugin "{plugin}" {why}',
                f'remove "{plugin}" from [plugins] disable to load it again'
                if why.startswith("is disabled")
                else f"fix or reinstall plugin {plugin}; `jepakit plugins doctor` shows what is wrong",
            )
        hint = f"`jepakit list {kind}` shows the {kind} installed plugins provide"
        if self.unavailable:  # a short name may belong to one of them
            hint += f" (not loaded: {', '.join(f'{p} {w.split()[1]}' for p, w in self.unavailable.items())})"
        return JepakitError(f'{where}unknown {singular(kind)} "{name}".{did_you_mean(name, known)}', hint)

    def list(self, kind: str | None = None, pattern: str = "*") -> list[PartSpec]:
        """Parts of one kind (or all), whose qualified name or alias matches the fnmatch `pattern`."""
        kinds = [kind] if kind else list(ALL_KINDS)
        out = []
        for k in kinds:
            for spec in self._parts[k].values():
                if any(fnmatch.fnmatchcase(n, pattern) for n in (spec.name, spec.short, *spec.aliases)):
                    out.append(spec)
        return sorted(out, key=lambda s: (ALL_KINDS.index(s.kind), s.name))

    def by_plugin(self, plugin: str) -> builtins.list[PartSpec]:  # builtins: `list` here is the method above
        return [s for s in self.list() if s.plugin == plugin]

    def __contains__(self, item: tuple[str, str]) -> bool:
        kind, name = item
        return self.resolve(kind, name) is not None
