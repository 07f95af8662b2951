"""Plugin loading: core built-ins, then entry points one at a time, then local paths; each isolated.

pluggy's own `load_setuptools_entrypoints` stops at the first broken plugin (llm#1280 took `--help` down that
way), so we load each entry point inside a guard, call each plugin's hook on its own, and record what failed.
A broken plugin is listed with its error; every other plugin keeps working. `strict = true` makes it fatal.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.metadata as md
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from jepakit import JEPAKIT_PLUGIN_API, hookspecs
from jepakit.errors import JepakitError
from jepakit.framework.config import build_dataclass, load_toml
from jepakit.framework.registry import PartSpec, Registry, singular

ENTRY_POINT_GROUP = "jepakit"
CORE = "core"


@dataclass
class PluginSettings:
    """The `[plugins]` table of plugins.toml (pytest's required_plugins, `-p no:`, datasette's plugins-dir)."""

    require: list[str] = field(default_factory=list)  # "jepakit-ijepa>=0.1": checked against installed versions
    disable: list[str] = field(default_factory=list)  # plugin (entry-point) names never loaded
    paths: list[str] = field(default_factory=list)  # local plugin projects, packages, .py files or folders of them
    strict: bool = False  # any plugin error is fatal (exit 2) instead of a `broken` row


@dataclass
class PluginRecord:
    """One plugin as `jepakit plugins list` shows it."""

    name: str
    distribution: str = ""
    version: str = ""
    status: str = "ok"  # ok | broken | disabled
    provides: list[str] = field(default_factory=list)
    error: str | None = None
    api: str = JEPAKIT_PLUGIN_API
    source: str = ""  # entry point value or file path
    import_ms: float = 0.0  # time to import its module: `plugins doctor` flags slow ones (they slow every command)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PluginState:
    """Everything loading produced: the filled registry, one record per plugin, and plugins.toml."""

    registry: Registry
    records: list[PluginRecord]
    settings: PluginSettings
    user_variants: dict[str, dict[str, Any]]
    settings_path: Path | None
    problems: list[str] = field(default_factory=list)  # unmet `require` lines

    def record(self, name: str) -> PluginRecord:
        for rec in self.records:
            if rec.name == name or rec.distribution == name:
                return rec
        names = [r.name for r in self.records]
        from jepakit.errors import did_you_mean

        raise JepakitError(
            f'no plugin called "{name}".{did_you_mean(name, names)}', "`jepakit plugins list` shows them"
        )


def find_settings(path: str | Path | None = None) -> Path | None:
    """plugins.toml to use: the explicit path, $JEPAKIT_PLUGINS_TOML, or ./plugins.toml if present."""
    if path is not None:
        return Path(path)
    env = os.environ.get("JEPAKIT_PLUGINS_TOML")
    if env:
        return Path(env)
    local = Path.cwd() / "plugins.toml"
    return local if local.is_file() else None


def read_settings(path: Path | None) -> tuple[PluginSettings, dict[str, dict[str, Any]]]:
    """Parse plugins.toml into its `[plugins]` settings and `[variants.NAME]` compositions."""
    if path is None:
        return PluginSettings(), {}
    if not path.is_file():
        raise JepakitError(
            f"plugins file not found: {path}",
            "check --plugins-toml / JEPAKIT_PLUGINS_TOML, or create plugins.toml with a [plugins] table",
        )
    data = load_toml(path)
    unknown = set(data) - {"plugins", "variants"}
    if unknown:
        key = sorted(unknown)[0]
        raise JepakitError(
            f"{path}: unknown table [{key}]", "plugins.toml holds only [plugins] and [variants.NAME] tables"
        )
    settings = build_dataclass(PluginSettings, data.get("plugins", {}), "plugins")
    variants = data.get("variants", {})
    if not isinstance(variants, dict) or any(not isinstance(v, dict) for v in variants.values()):
        raise JepakitError(f"{path}: [variants] must hold tables", "write each composition as [variants.NAME]")
    base = path.parent
    settings.paths = [str((base / p).resolve()) if not Path(p).is_absolute() else p for p in settings.paths]
    return settings, variants


def load_plugins(
    settings_path: str | Path | None = None,
    *,
    entry_points: bool = True,
    extra: list[tuple[str, Any]] | None = None,
    strict: bool | None = None,
) -> PluginState:
    """Load every plugin and fill a fresh registry. Never raises for a broken plugin unless `strict`.

    `extra` registers (name, module-or-object) pairs directly: tests use it for fixture plugins.
    `strict` overrides plugins.toml's setting (`plugins doctor` loads non-strictly to list every problem).
    """
    path = find_settings(settings_path)
    settings, user_variants = read_settings(path)
    pm = pluggy.PluginManager("jepakit")
    pm.add_hookspecs(hookspecs)
    records: list[PluginRecord] = []
    loaded: list[tuple[PluginRecord, object]] = []

    from jepakit.builtin import plugin as core_plugin

    loaded.append((PluginRecord(CORE, "jepakit", _version("jepakit"), source="jepakit.builtin.plugin"), core_plugin))
    if entry_points:
        loaded += _load_entry_points(settings, records)
    for p in settings.paths:
        loaded += _load_path(Path(p), settings, records)
    for name, obj in extra or []:
        loaded.append((PluginRecord(name, source=getattr(obj, "__name__", repr(obj))), obj))

    registry = Registry()
    for rec, obj in loaded:
        records.append(rec)
        _register_plugin(pm, rec, obj, registry)
    _add_user_variants(registry, user_variants, path)
    registry.unavailable = {r.name: _why_unavailable(r, path) for r in records if r.status != "ok"}
    state = PluginState(registry, records, settings, user_variants, path, _check_requires(settings.require))
    if settings.strict if strict is None else strict:
        broken = [r for r in records if r.status == "broken"]
        if broken:
            r = broken[0]
            raise JepakitError(f'plugin "{r.name}" is broken: {r.error}', "fix or uninstall it, or set strict = false")
        if state.problems:
            raise JepakitError(state.problems[0], "run `jepakit plugins install -r plugins.toml`")
    return state


def _why_unavailable(rec: PluginRecord, settings_path: Path | None) -> str:
    """'is broken (import: ModuleNotFoundError: ...)' or 'is disabled in plugins.toml ([plugins] disable)'."""
    if rec.status == "disabled":
        return f"is disabled in {settings_path or 'plugins.toml'} ([plugins] disable)"
    return f"is broken ({rec.error})"


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return ""


def _load_entry_points(settings: PluginSettings, records: list[PluginRecord]) -> list[tuple[PluginRecord, object]]:
    out: list[tuple[PluginRecord, object]] = []
    seen: set[tuple[str, str]] = set()
    for ep in md.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else ""
        if (dist, ep.value) in seen or ep.name == CORE:  # a lib64->lib symlink lists a dist twice (instawow#188)
            continue
        seen.add((dist, ep.value))
        rec = PluginRecord(ep.name, dist, ep.dist.version if ep.dist else "", source=ep.value)
        if ep.name in settings.disable or dist in settings.disable:
            rec.status = "disabled"
            records.append(rec)
            continue
        _import_timed(rec, ep.load, records, out)
    return out


def _load_path(path: Path, settings: PluginSettings, records: list[PluginRecord]) -> list[tuple[PluginRecord, object]]:
    """A local plugin without installing it: a project folder (with pyproject.toml, as `jepakit new plugin` makes),
    a package folder (with __init__.py), a single .py file, or a folder of loose .py files (each one plugin)."""
    if not path.exists():
        rec = PluginRecord(
            path.stem, str(path), status="broken", error=f"plugin path not found: {path}", source=str(path)
        )
        records.append(rec)
        return []
    out: list[tuple[PluginRecord, object]] = []
    package = _local_package(path) if path.is_dir() else _module_in_package(path)
    if package is not None:
        name, root, module = package
        rec = PluginRecord(name, str(path), source=module)
        if name in settings.disable:
            rec.status = "disabled"
            records.append(rec)
        else:
            _import_timed(rec, functools.partial(_import_from, root, module), records, out)
        return out
    files = sorted(path.glob("*.py")) if path.is_dir() else [path]
    if not files:
        rec = PluginRecord(path.name, str(path), status="broken", source=str(path))
        rec.error = f"{path} holds no plugin: no pyproject.toml, no __init__.py and no .py files"
        records.append(rec)
    for file in files:
        rec = PluginRecord(file.stem, str(file), source=str(file))
        if file.stem in settings.disable:
            rec.status = "disabled"
            records.append(rec)
            continue
        _import_timed(rec, functools.partial(_exec_file, file), records, out)
    return out


def _local_package(path: Path) -> tuple[str, Path, str] | None:
    """(plugin name, folder to put on sys.path, module to import) for a project or package folder, else None.

    A project folder names its plugin module in `[project.entry-points.jepakit]`; a package folder is loaded
    through its `plugin.py` when it has one. Parts are registered as "module:attr" strings imported later, so
    the package must be importable by name: its parent folder goes on sys.path (here, and in every process
    that loads plugins, since each reads the same plugins.toml).
    """
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        try:
            entries = load_toml(pyproject).get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        except Exception:  # an unreadable pyproject: fall through to the package search below
            entries = {}
        if entries:
            name, module = next(iter(entries.items()))
            return str(name), path, str(module)
        inner = sorted(p for p in path.iterdir() if (p / "__init__.py").is_file() and p.name.startswith("jepakit_"))
        if inner:
            path = inner[0]
    if (path / "__init__.py").is_file():
        module = f"{path.name}.plugin" if (path / "plugin.py").is_file() else path.name
        return path.name.removeprefix("jepakit_"), path.parent, module
    return None


def _module_in_package(file: Path) -> tuple[str, Path, str] | None:
    """A .py file inside a package (e.g. a scaffold's plugin.py) is imported as `package.module`, so that its
    absolute imports of sibling modules work; a loose file returns None and is executed on its own."""
    if file.suffix != ".py" or not (file.parent / "__init__.py").is_file():
        return None
    pkg = file.parent
    return pkg.name.removeprefix("jepakit_"), pkg.parent, f"{pkg.name}.{file.stem}"


def _import_from(root: Path, module: str) -> ModuleType:
    """Import `module` with `root` on sys.path (first, so the local copy wins over nothing else installed)."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module(module)


def _exec_file(file: Path) -> ModuleType:
    """Import one .py file as the module `jepakit_local_<stem>`."""
    spec = importlib.util.spec_from_file_location(f"jepakit_local_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _import_timed(
    rec: PluginRecord, load: Callable[[], object], records: list[PluginRecord], out: list[tuple[PluginRecord, object]]
) -> None:
    """Import a plugin with `load`, timing it into `rec.import_ms`: loaded, it joins `out`; failed, `rec` is
    marked broken and joins `records` (a plugin may raise anything, even SystemExit; Ctrl-C still stops)."""
    t0 = time.perf_counter()
    try:
        module = load()
    except BaseException as exc:  # a plugin's import may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        _fail(rec, "import", exc)
        records.append(rec)
        return
    rec.import_ms = round(1000 * (time.perf_counter() - t0), 1)
    out.append((rec, module))


def _fail(rec: PluginRecord, stage: str, exc: BaseException) -> None:
    rec.status = "broken"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    rec.error = f"{stage}: {type(exc).__name__}: {text}".rstrip(": ")


def _register_plugin(pm: pluggy.PluginManager, rec: PluginRecord, obj: object, registry: Registry) -> None:
    """Validate a plugin's hooks, then call each of its registration hooks on its own, inside a guard."""
    if rec.status != "ok":
        return
    api = str(getattr(obj, "JEPAKIT_PLUGIN_API", JEPAKIT_PLUGIN_API))
    rec.api = api
    if api.split(".")[0] != JEPAKIT_PLUGIN_API.split(".")[0]:
        rec.status, rec.error = "broken", f"built for plugin API {api}, this jepakit provides API {JEPAKIT_PLUGIN_API}"
        return
    unknown = [n for n in dir(obj) if n.startswith("jepa_") and n not in hookspecs.KINDS and _is_impl(obj, n)]
    if unknown:  # check_pending: a misspelled hook would otherwise never be called (pluggy#48)
        rec.status, rec.error = "broken", f'unknown hook "{unknown[0]}" (misspelled?); hooks are in jepakit.hookspecs'
        return
    try:
        pm.register(obj, name=rec.name)
    except BaseException as exc:  # bad hook signature, duplicate name
        if isinstance(exc, KeyboardInterrupt):
            raise
        _fail(rec, "register", exc)
        return
    for hook_name, kind in hookspecs.KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name != rec.name:
                continue
            try:
                impl.function(**{a: _register_fn(registry, rec.name, kind) for a in impl.argnames})
            except BaseException as exc:  # a plugin's register hook may raise anything
                if isinstance(exc, KeyboardInterrupt):
                    raise
                _fail(rec, hook_name, exc)
                registry.remove_plugin(rec.name)  # no half-registered plugin
                rec.provides = []
                pm.unregister(name=rec.name)
                return
    rec.provides = sorted({s.kind for s in registry.by_plugin(rec.name)}, key=list(hookspecs.KINDS.values()).index)


def _is_impl(obj: object, name: str) -> bool:
    return hasattr(getattr(obj, name, None), "jepakit_impl")


def _register_fn(registry: Registry, plugin: str, kind: str):
    """The `register` closure a hook receives, bound to its plugin so every part records its owner."""

    def register(
        name: str,
        target: Any,
        *,
        config: type | None = None,
        summary: str = "",
        modality: str = "",
        layout: str = "",
        aliases: tuple[str, ...] = (),
    ) -> None:
        if not isinstance(name, str) or not name or "/" in name:
            raise JepakitError(f"{kind}: part name must be a non-empty string without '/', got {name!r}")
        if kind == "variants":
            if not isinstance(target, dict):
                raise JepakitError(f'variant "{name}": spec must be a dict of part tables, got {type(target).__name__}')
            spec = PartSpec(kind, f"{plugin}/{name}", plugin, "", None, summary, modality, "", tuple(aliases), target)
        else:
            if not isinstance(target, str) or ":" not in target:
                raise JepakitError(f'{singular(kind)} "{name}": target must be a "module:attr" string, got {target!r}')
            if config is not None and not dataclasses.is_dataclass(config):
                raise JepakitError(f'{singular(kind)} "{name}": config must be a dataclass, got {config!r}')
            spec = PartSpec(kind, f"{plugin}/{name}", plugin, target, config, summary, modality, layout, tuple(aliases))
        registry.add(spec)

    return register


def _add_user_variants(registry: Registry, variants: dict[str, dict[str, Any]], path: Path | None) -> None:
    for name, table in variants.items():
        table = dict(table)
        summary, modality = str(table.pop("summary", "")), str(table.pop("modality", ""))
        qualified = name if "/" in name else f"local/{name}"
        registry.add(PartSpec("variants", qualified, "local", str(path or ""), None, summary, modality, spec=table))


def _check_requires(require: list[str]) -> list[str]:
    """Unmet `require` lines, each as a message ("jepakit-ajepa>=0.2 is required, 0.1.0 is installed")."""
    from packaging.requirements import InvalidRequirement, Requirement

    problems = []
    for line in require:
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            problems.append(f'plugins.require: "{line}" is not a valid requirement ({exc})')
            continue
        have = _version(req.name)
        if not have:
            problems.append(f"plugins.require: {req.name} is required but not installed")
        elif req.specifier and have not in req.specifier:
            problems.append(f"plugins.require: {line} is required, {have} is installed")
    return problems
