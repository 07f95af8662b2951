"""`jepakit show optim|run|eval` and `jepakit show RUN.toml|RUN_DIR`: what `show` says besides parts and variants.

Hints and errors point at the run-level tables ([optim], [run], [eval]) as often as at parts, so `show` describes
them the same way: every setting with its type, default and the comment the code gives it. A run file (or a run
directory's config.toml) is shown as the TOML it resolves to, as a variant is. Torch-free.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from rich.text import Text

from jepakit.cli import output
from jepakit.framework.config import dumps_toml

#: The run-level tables of a run file, by the name `jepakit show` takes.
SECTIONS = {
    "optim": "OptimConfig",
    "run": "RunConfig",
    "eval": "EvalConfig",
}


def is_run_file(name: str) -> bool:
    """A run file (an existing *.toml) or a run directory: `jepakit show` resolves it like `validate` does."""
    path = Path(name)
    return (path.suffix == ".toml" and path.is_file()) or (path / "config.toml").is_file()


def field_notes(cls: type) -> dict[str, str]:
    """Each field's comment in the dataclass source: a trailing `# ...` or the `#: ...` lines above it."""
    try:
        lines = inspect.getsource(cls).splitlines()
    except (OSError, TypeError):
        return {}
    notes: dict[str, str] = {}
    above: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("#:"):
            above.append(text[2:].strip())
            continue
        m = re.match(r"(\w+)\s*:[^#]*?(?:#\s*(.*))?$", text)
        if m and not text.startswith(("def ", "class ", "@", '"""')):
            notes[m.group(1)] = " ".join([*above, m.group(2) or ""]).strip()
        above = []
    return notes


def show_section(name: str, as_json: bool) -> None:
    """A run-level table: its purpose, then every setting with type, default and what it does."""
    from jepakit.cli.parts_cmd import _doc, config_fields
    from jepakit.framework import settings

    cls = getattr(settings, SECTIONS[name])
    notes = field_notes(cls)
    fields = [{**f, "about": notes.get(f["name"], "")} for f in config_fields(cls)]
    info = {"name": name, "kind": "section", "config": cls.__name__, "config_doc": _doc(cls), "fields": fields}
    if as_json:
        output.print_json(info)
        return
    console = output.out()
    console.print(Text.assemble((f"[{name}]", "bold"), "  (a table of every run file; `--set ", name, ".KEY=VALUE`)"))
    if info["config_doc"]:
        console.print(Text(f"  {info['config_doc']}"))
    rows = [[f["name"], f["type"], output.json_value(f["default"]), f["about"]] for f in fields]
    console.print(output.table(None, ["setting", "type", "default", "about"], rows))


def show_run_file(state: Any, name: str, as_json: bool) -> None:
    """A run file or run directory as the TOML it resolves to (every default filled in) and where its parts
    come from: what `jepakit train` would run."""
    from jepakit.cli.run_cmd import resolve_arg

    resolved = resolve_arg(Path(name), state)
    parts = {role: {"part": p.spec.name, "plugin": p.spec.plugin} for role, p in resolved.parts.items()}
    parts.update({f"loss.{t}": {"part": p.spec.name, "plugin": p.spec.plugin} for t, p in resolved.losses.items()})
    info = {"name": name, "kind": "run", "variant": resolved.variant, "parts_from": parts}
    info["resolved"] = resolved.to_dict()
    if as_json:
        output.print_json(info)
        return
    console = output.out()
    console.print(Text.assemble((name, "bold"), f"  (run of variant {resolved.variant})"))
    console.print(
        Text("  parts    " + ", ".join(f"{role} {v['part']} (plugin {v['plugin']})" for role, v in parts.items()))
    )
    console.print(Text("\n# resolved: every default filled in\n", style="dim"))
    console.print(Text(dumps_toml(info["resolved"])), soft_wrap=True)
