"""The registry: every part any plugin registered, by kind and qualified name (timm's registry, made strict).

After plugins load, lookup is a plain dict: fast, picklable, no pluggy. Targets stay lazy "module:attr"
strings until a part is built, so filling the registry imports nothing heavy.
"""

from __future__ import annotations

import fnmatch
import importlib
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
        return obj


class Registry:
    """Parts by kind. Names are unique across plugins; a clash is an error that names both owners."""

    def __init__(self) -> None:
        self._parts: dict[str, dict[str, PartSpec]] = {kind: {} for kind in ALL_KINDS}
        self._aliases: dict[str, dict[str, str]] = {kind: {} for kind in ALL_KINDS}

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
            where = f"{key}: " if key else ""
            known = [*self._parts[kind], *self._aliases[kind]]
            raise JepakitError(
                f'{where}unknown {singular(kind)} "{name}".{did_you_mean(name, known)}',
                f"`jepakit list {kind}` shows the {kind} installed plugins provide",
            )
        return self._parts[kind][qualified]

    def list(self, kind: str | None = None, pattern: str = "*") -> list[PartSpec]:
        """Parts of one kind (or all), whose qualified name or alias matches the fnmatch `pattern`."""
        kinds = [kind] if kind else list(ALL_KINDS)
        out = []
        for k in kinds:
            for spec in self._parts[k].values():
                if any(fnmatch.fnmatchcase(n, pattern) for n in (spec.name, spec.short, *spec.aliases)):
                    out.append(spec)
        return sorted(out, key=lambda s: (ALL_KINDS.index(s.kind), s.name))

    def by_plugin(self, plugin: str) -> list[PartSpec]:
        return [s for s in self.list() if s.plugin == plugin]

    def __contains__(self, item: tuple[str, str]) -> bool:
        kind, name = item
        return self.resolve(kind, name) is not None
