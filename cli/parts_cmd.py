"""`jepakit list [KIND] [PATTERN]` and `jepakit show NAME`: browse what the installed plugins provide.

Both read only the registry and the config dataclasses (torch-free), so they answer instantly.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, get_type_hints

import typer
from rich.text import Text

from jepakit.cli import output
from jepakit.cli.context import load_state
from jepakit.errors import JepakitError, did_you_mean
from jepakit.framework.config import dumps_toml, to_plain
from jepakit.framework.registry import ALL_KINDS, PartSpec, singular

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]


def normalize_kind(kind: str) -> str | None:
    """'encoders' or 'encoder' -> 'encoders'; None when `kind` is not a kind at all."""
    k = kind.strip().lower()
    for full in ALL_KINDS:
        if k in (full, singular(full)):
            return full
    return None


def part_dict(spec: PartSpec) -> dict[str, Any]:
    """The JSON contract of one listed part."""
    return {
        "name": spec.name,
        "kind": spec.kind,
        "plugin": spec.plugin,
        "modality": spec.modality,
        "layout": spec.layout,
        "summary": spec.summary,
        "aliases": list(spec.aliases),
        "target": spec.target,
    }


def warn_broken(state: Any) -> None:
    """Broken plugins and unmet requires go to stderr, so a missing part is never a mystery."""
    for rec in state.records:
        if rec.status == "broken":
            output.warn(f'plugin "{rec.name}" is broken ({rec.error}); run `jepakit plugins doctor`')
    for problem in state.problems:
        output.warn(problem)


def list_cmd(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Argument(metavar="KIND", help=f"One of: {', '.join(ALL_KINDS)} (default: all).")
    ] = None,
    pattern: Annotated[
        str | None, typer.Argument(metavar="PATTERN", help="fnmatch pattern on names, e.g. 'ijepa/*'.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List registered parts (encoders, maskers, ..., variants)."""
    full = normalize_kind(kind) if kind else None
    if kind and full is None:
        if pattern is None and re.search(r"[*?\[/]", kind):  # `jepakit list 'ijepa/*'`: a pattern, no kind
            pattern = kind
        else:
            raise JepakitError(
                f'unknown kind "{kind}".{did_you_mean(kind, ALL_KINDS)}', f"kinds are: {', '.join(ALL_KINDS)}"
            )
    state = load_state(ctx)
    warn_broken(state)
    specs = state.registry.list(full, pattern or "*")
    if as_json:
        output.print_json([part_dict(s) for s in specs])
        return
    if not specs:
        output.note(f"no {full or 'parts'} match {pattern or '*'}")
        return
    cols = ["name", "plugin", "modality", "layout", "summary"]
    rows = [[s.name, s.plugin, s.modality, s.layout, s.summary] for s in specs]
    if full == "variants":  # variants have no token layout of their own
        cols, rows = [c for c in cols if c != "layout"], [[r[0], r[1], r[2], r[4]] for r in rows]
    elif full is None:
        cols, rows = ["kind", *cols], [[singular(s.kind), *r] for s, r in zip(specs, rows, strict=True)]
    output.out().print(output.table(full, cols, rows))


def find_part(state: Any, name: str, kind: str | None = None) -> PartSpec:
    """The one part called `name` in any kind (or in `kind`); ambiguity and typos are errors with a way out."""
    reg = state.registry
    kinds = [kind] if kind else list(ALL_KINDS)
    found = [reg.get(k, q) for k in kinds if (q := reg.resolve(k, name)) is not None]
    if len(found) == 1:
        return found[0]
    if found:
        which = ", ".join(f"{singular(s.kind)} {s.name}" for s in found)
        raise JepakitError(f'"{name}" names several parts: {which}', "pass --kind to pick one")
    plugin = name.split("/", 1)[0] if "/" in name else ""
    if plugin in reg.unavailable:  # its plugin did not load: say which and why, suggest nothing else
        hint = reg.unknown(kinds[0], name, ()).hint
        raise JepakitError(f'no part called "{name}": plugin "{plugin}" {reg.unavailable[plugin]}', hint)
    known = [n for s in reg.list() if s.kind in kinds for n in (s.name, s.short, *s.aliases)]
    raise JepakitError(f'no part called "{name}".{did_you_mean(name, known)}', "`jepakit list` shows every part")


def type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return re.sub(r"<class '([\w.]+)'>", r"\1", str(tp)).replace("typing.", "")


def config_fields(cls: type | None) -> list[dict[str, Any]]:
    """Each setting of a config dataclass: name, type and default (what a run file may set)."""
    if cls is None or not dataclasses.is_dataclass(cls):
        return []
    try:
        hints = get_type_hints(cls)
    except Exception:  # an unresolvable annotation still shows as written
        hints = {}
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = "(required)"
        rows.append({"name": f.name, "type": type_name(hints.get(f.name, f.type)), "default": to_plain(default)})
    return rows


def _doc(cls: type | None) -> str:
    doc = (cls.__doc__ or "").strip() if cls else ""
    return "" if not cls or doc.startswith(f"{cls.__name__}(") else " ".join(doc.split())


def show_cmd(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="A part or variant name (qualified, short or alias), a run file or run directory, "
            "or a run-level table: optim, run, eval.",
        ),
    ],
    kind: Annotated[str | None, typer.Option("--kind", metavar="KIND", help="Only look in this kind.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a part's settings, a variant's or a run file's resolved config, or a run-level table.

    A part, or optim / run / eval: every setting with its type and default. A variant, a run file or a run
    directory: the TOML it resolves to.
    """
    from jepakit.cli.show_run import SECTIONS, is_run_file, show_run_file, show_section

    full = normalize_kind(kind) if kind else None
    if kind and full is None:
        raise JepakitError(
            f'unknown kind "{kind}".{did_you_mean(kind, ALL_KINDS)}', f"kinds are: {', '.join(ALL_KINDS)}"
        )
    if name in SECTIONS and full is None:
        show_section(name, as_json)
        return
    state = load_state(ctx)
    if full is None and is_run_file(name):
        show_run_file(state, name, as_json)
        return
    warn_broken(state)  # a part of a broken plugin is missing, or (a variant) does not resolve: say why first
    spec = find_part(state, name, full)
    info = part_dict(spec)
    if spec.kind == "variants":
        _show_variant(state, spec, info, as_json)
        return
    info["config"] = spec.config.__name__ if spec.config else None
    info["config_doc"] = _doc(spec.config)
    info["fields"] = config_fields(spec.config)
    if as_json:
        output.print_json(info)
        return
    console = output.out()
    console.print(Text.assemble((spec.name, "bold"), f"  ({singular(spec.kind)} from plugin {spec.plugin})"))
    for label in ("summary", "target", "layout", "modality"):
        if info[label]:
            console.print(Text(f"  {label:9s}{info[label]}"))
    if spec.aliases:
        console.print(Text(f"  aliases  {', '.join(spec.aliases)}"))
    if not info["fields"]:
        console.print(Text("  no settings"))
        return
    if info["config_doc"]:
        console.print(Text(f"\n{info['config']}: {info['config_doc']}"))
    rows = [[f["name"], f["type"], output.json_value(f["default"])] for f in info["fields"]]
    console.print(output.table(None, ["setting", "type", "default"], rows))


def _show_variant(state: Any, spec: PartSpec, info: dict[str, Any], as_json: bool) -> None:
    """A variant as the TOML a run file would resolve to (every default filled in)."""
    from jepakit.framework.compose import resolve_run

    try:
        resolved = resolve_run({"variant": spec.name}, state)
        info["resolved"], info["error"] = resolved.to_dict(), None
        # where each part comes from: a composed variant's parts may live in other plugins
        info["parts_from"] = {
            role: {"part": p.spec.name, "plugin": p.spec.plugin} for role, p in resolved.parts.items()
        }
        info["parts_from"].update(
            {f"loss.{t}": {"part": p.spec.name, "plugin": p.spec.plugin} for t, p in resolved.losses.items()}
        )
    except JepakitError as exc:  # still show what the variant asks for, and why it cannot be used
        info["resolved"], info["error"], info["parts_from"] = None, str(exc), {}
    info["spec"] = to_plain(spec.spec)
    if as_json:
        output.print_json(info)
        return
    console = output.out()
    console.print(Text.assemble((spec.name, "bold"), f"  (variant from plugin {spec.plugin})"))
    for label in ("summary", "modality"):
        if info[label]:
            console.print(Text(f"  {label:9s}{info[label]}"))
    if info["parts_from"]:
        console.print(
            Text(
                "  parts    "
                + ", ".join(f"{role} {v['part']} (plugin {v['plugin']})" for role, v in info["parts_from"].items())
            )
        )
    if info["error"]:
        output.warn(f"{spec.name} does not resolve: {info['error']}")
    console.print(
        Text(
            f"\n# {'resolved' if info['resolved'] else 'as registered'}; "
            f"start a run file with: jepakit new run --from {spec.name}\n",
            style="dim",
        )
    )
    console.print(Text(dumps_toml(info["resolved"] or info["spec"])), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)
