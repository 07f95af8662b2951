"""`jepakit new run --from VARIANT`: write a variant's fully resolved config as an editable run file.

Every default is spelled out, so the file documents what the variant really does and any line can be edited;
`jepakit validate` accepts it as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jepakit.cli import output
from jepakit.cli.context import load_state
from jepakit.errors import JepakitError

app = typer.Typer(help="Scaffold new files.", no_args_is_help=True)


@app.command("run")
def new_run(
    ctx: typer.Context,
    variant: Annotated[
        str, typer.Option("--from", metavar="VARIANT", help="Variant to start from (`jepakit list variants`).")
    ],
    out: Annotated[
        Path | None, typer.Option("-o", "--out", metavar="FILE", help="File to write (default: <variant>.toml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a run file holding a variant's resolved configuration."""
    from jepakit.framework.compose import resolve_run
    from jepakit.framework.config import dumps_toml

    resolved = resolve_run({"variant": variant}, load_state(ctx))
    path = out or Path(f"{resolved.variant.split('/')[-1]}.toml")
    if path.exists() and not force:
        raise JepakitError(f"{path} already exists", "pass --force to overwrite it, or choose another file with -o")
    header = (
        f"# jepakit run file, resolved from variant {resolved.variant}.\n"
        f"# Edit any value; check with: jepakit validate {path}\n# Train with:  jepakit train {path}\n\n"
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + dumps_toml(resolved.to_dict()), encoding="utf-8")
    except OSError as exc:
        raise JepakitError(f"cannot write {path}: {exc.strerror or exc}", "choose a writable path with -o") from exc
    output.note(f"wrote {path}", style="green")


@app.command("plugin")
def new_plugin(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Plugin name: lower-case letters and digits, e.g. myjepa.")
    ],
    kinds: Annotated[
        str,
        typer.Option(
            "--kinds", metavar="KIND,...", help="Parts to scaffold: masker, loss, encoder, predictor, head, dataset."
        ),
    ] = "masker,loss",
    out: Annotated[
        Path | None, typer.Option("-o", "--out", metavar="DIR", help="Folder to create (default: ./NAME).")
    ] = None,
) -> None:
    """Scaffold an installable plugin: one working part per kind, a NAME/tiny variant, and its tests."""
    from jepakit.cli.new_plugin import parse_kinds, write

    refuse_taken(name)
    dest = out or Path(name)
    written = write(name, parse_kinds(kinds), dest)
    output.note(f"wrote {len(written)} files into {dest}/", style="green")
    output.note(  # the same lines as docs/writing-a-plugin.md and the plugin's README.md
        f"next:  cd {dest}\n"
        "       jepakit plugins install -e .\n"
        f"       jepakit plugins info {name}\n"
        "       python -m pytest tests -q\n"
        f"       jepakit train {name}/tiny"
    )


#: Names no plugin may take: core's own parts, jepakit itself, and plugins.toml compositions (`local/NAME`).
RESERVED = {"core": "jepakit's own parts", "jepakit": "jepakit itself", "local": "plugins.toml's [variants.NAME]"}


def refuse_taken(name: str) -> None:
    """Refuse a plugin name already taken: a reserved one, an installed plugin's (entry point), or an installed
    distribution's (jepakit-NAME). Installing the scaffold would replace that distribution, or register parts
    under another plugin's prefix."""
    import importlib.metadata as md

    from jepakit.framework.plugins import ENTRY_POINT_GROUP

    dist = "jepakit-" + name.replace("_", "-")
    owner = RESERVED.get(name.lower())
    if owner is None:
        for ep in md.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name.lower() == name.lower():
                owner = f"the installed plugin {ep.name} ({ep.dist.name if ep.dist else 'no distribution'})"
                break
    if owner is None:
        try:
            owner = f"the installed distribution {dist} {md.version(dist)}"
        except md.PackageNotFoundError:
            return
    raise JepakitError(
        f'"{name}" is taken: it names {owner}',
        f"choose another name (a scaffold called {name} would install as {dist} and replace it or clash with it)",
    )
