"""`jepakit plugins list|info|install|uninstall|doctor`: see, manage and diagnose plugins.

`list` and `info` read the records core made while loading (a broken plugin is a row with its error, never a
crash); `install`/`uninstall` live in pip_cmd.py and `doctor`'s checks in doctor.py.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from jepakit.cli import doctor, output, pip_cmd
from jepakit.cli.context import cli_context, load_state

app = typer.Typer(help="List, inspect, install and diagnose plugins.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")]


@app.command("list")
def list_plugins(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List plugins with their distribution, version, status and what they provide."""
    state = load_state(ctx)
    records = [r.as_dict() for r in state.records]
    if as_json:
        output.print_json(records)
        return
    rows = [
        [
            r["name"],
            r["distribution"],
            r["version"],
            output.status_text(r["status"]),
            ", ".join(r["provides"]),
            r["error"] or "",
        ]
        for r in records
    ]
    output.out().print(
        output.table("plugins", ["name", "distribution", "version", "status", "provides", "error"], rows)
    )
    for problem in state.problems:
        output.warn(problem)


@app.command("info")
def info(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Plugin (entry-point) name or distribution name.")],
    as_json: JsonOpt = False,
) -> None:
    """Show one plugin: its record, the plugin API it targets, and every part it registers."""
    state = load_state(ctx)
    rec = state.record(name)
    parts = [
        {"kind": s.kind, "name": s.name, "summary": s.summary, "layout": s.layout, "modality": s.modality}
        for s in state.registry.by_plugin(rec.name)
    ]
    data: dict[str, Any] = {**rec.as_dict(), "parts": parts}
    if as_json:
        output.print_json(data)
        return
    console = output.out()
    console.print(Text.assemble((rec.name, "bold"), "  ", output.status_text(rec.status)))
    for label, value in (
        ("distribution", rec.distribution),
        ("version", rec.version),
        ("plugin API", rec.api),
        ("source", rec.source),
        ("error", rec.error),
    ):
        if value:
            console.print(Text(f"  {label:13s}{value}"))
    if parts:
        rows = [[p["kind"], p["name"], p["layout"], p["summary"]] for p in parts]
        console.print(output.table(None, ["kind", "name", "layout", "summary"], rows))
    else:
        console.print(Text("  registers no parts"))


@app.command("doctor")
def doctor_cmd(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Check plugins, requirements, entry points and torch; exit 0 when healthy, 2 when not."""
    from jepakit.framework.plugins import load_plugins

    state = load_plugins(cli_context(ctx).plugins_toml, strict=False)  # list every problem, not the first
    report = doctor.diagnose(state)
    if as_json:
        output.print_json(report)
    else:
        doctor.render(report)
    if not report["healthy"]:
        raise typer.Exit(2)


pip_cmd.register(app)
