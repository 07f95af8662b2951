"""`jepakit plugins install|uninstall`: pip, run as `sys.executable -m pip` with an argument list.

Never through a shell, and every argument is either an existing path or a strict requirement specifier, so
a name like `foo; rm -rf /` or `--index-url=...` is refused before pip runs (exit 2).
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated

import typer

from jepakit.cli import output
from jepakit.errors import JepakitError, RunFailed

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"[A-Za-z0-9][A-Za-z0-9.*+!_-]*"
_CLAUSE = rf"(?:===|==|!=|~=|>=|<=|<|>)\s*{_VERSION}"
#: name, optional [extras], optional comma-separated version clauses. No URLs, markers, options or spaces inside.
REQUIREMENT = re.compile(rf"^{_NAME}(?:\[{_NAME}(?:,{_NAME})*\])?(?:\s*{_CLAUSE}(?:\s*,\s*{_CLAUSE})*)?$")
NAME = re.compile(rf"^{_NAME}$")
PROTECTED = {"jepakit"}


def canonical(name: str) -> str:
    """PEP 503 normalised name: `Jepakit_IJEPA` and `jepakit-ijepa` are the same distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def install_target(arg: str, editable: bool) -> list[str]:
    """pip arguments for one NAME|PATH, or a JepakitError when it is neither (checked before pip runs)."""
    text = arg.strip()
    if text and not text.startswith("-") and Path(text).exists():
        path = str(Path(text).resolve())
        return ["-e", path] if editable else [path]
    if not REQUIREMENT.fullmatch(text):
        raise JepakitError(
            f'"{arg}" is neither an existing path nor a package requirement',
            'give a distribution name with an optional version, e.g. "jepakit-ijepa>=0.1", or a plugin folder',
        )
    return [text]


def _requirements_of(plugins_toml: Path) -> list[str]:
    from jepakit.framework.plugins import read_settings

    settings, _ = read_settings(plugins_toml)
    if not settings.require:
        raise JepakitError(f"{plugins_toml}: [plugins] require is empty", 'list e.g. require = ["jepakit-ijepa>=0.1"]')
    return list(settings.require)


def _pip(args: list[str], verbose: bool = False) -> None:
    """Run pip; its output is shown with -v, else only when it fails (a successful install is one line)."""
    cmd = [sys.executable, "-m", "pip", *args]
    if verbose:
        output.note("running: " + " ".join(cmd))
    try:  # verbose: pip writes to this terminal; else its output is kept to show on failure
        proc = subprocess.run(cmd, check=False, capture_output=not verbose, text=True)
    except OSError as exc:
        raise RunFailed(f"could not run pip: {exc}", "is pip installed in this Python environment?") from exc
    if proc.returncode != 0:
        said = "\n".join(x for x in (proc.stdout, proc.stderr) if isinstance(x, str) and x.strip())
        if said:
            sys.stderr.write(said.rstrip() + "\n")
        raise RunFailed(f"pip {args[0]} failed (exit {proc.returncode})", "see pip's output above")


Verbose = Annotated[bool, typer.Option("-v", "--verbose", help="Show pip's command line and output.")]


def install(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="NAME|PATH", help="Distributions or plugin folders.")
    ] = None,
    requirements: Annotated[
        Path | None,
        typer.Option(
            "-r",
            "--requirements",
            metavar="PLUGINS_TOML",
            help="Install every [plugins] require line of this plugins.toml.",
        ),
    ] = None,
    editable: Annotated[
        bool, typer.Option("-e", "--editable", help="Install the given local folders in editable mode.")
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Install plugins with pip into the Python that runs jepakit.

    Examples: jepakit plugins install jepakit-ijepa; jepakit plugins install -e plugins/ijepa;
    jepakit plugins install -r plugins.toml
    """
    args: list[str] = []
    for name in names or []:
        args += install_target(name, editable)
    if requirements is not None:
        for line in _requirements_of(requirements):
            args += install_target(line, False)
    if not args:
        raise JepakitError("nothing to install", "name a plugin distribution or folder, or pass -r plugins.toml")
    if editable and "-e" not in args:
        raise JepakitError("--editable needs a local folder", "e.g. jepakit plugins install -e plugins/ijepa")
    if not verbose:
        output.note("installing with pip (-v shows its output) ...")
    _pip(["install", *args], verbose)
    output.note("installed; `jepakit plugins list` shows what is loaded", style="green")


def uninstall(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(metavar="NAME", help="Distribution or plugin names.")],
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask for confirmation.")] = False,
    verbose: Verbose = False,
) -> None:
    """Uninstall plugin distributions (never jepakit itself).

    Example: jepakit plugins uninstall ijepa -y
    """
    dists = [_distribution(ctx, n) for n in names]
    if not yes and not typer.confirm(f"Uninstall {', '.join(dists)}?"):
        output.note("nothing uninstalled")
        raise typer.Exit(1)
    _pip(["uninstall", "-y", *dists], verbose)
    output.note(f"uninstalled {', '.join(dists)}", style="green")


def _distribution(ctx: typer.Context, name: str) -> str:
    """A plugin name (`ijepa`) maps to its distribution (`jepakit-ijepa`); jepakit itself is refused."""
    if not NAME.fullmatch(name.strip()):
        raise JepakitError(f'"{name}" is not a distribution name', 'e.g. "jepakit-ijepa"')
    dist = name.strip()
    try:
        from jepakit.cli.context import load_state

        for rec in load_state(ctx).records:
            if rec.name == dist and rec.distribution and NAME.fullmatch(rec.distribution):
                dist = rec.distribution
    except JepakitError:  # a broken plugins.toml must not stop an uninstall
        pass
    if canonical(dist) in PROTECTED or canonical(name) == "core":
        raise JepakitError(
            f'refusing to uninstall "{dist}": it is jepakit itself',
            f"use `{Path(sys.executable).name} -m pip uninstall jepakit` if you really mean it",
        )
    try:  # pip would skip it with a warning and exit 0: a typo must not look like a success
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        raise JepakitError(
            f'"{name}" is not installed', "`jepakit plugins list` shows the installed plugins and distributions"
        ) from None
    return dist


def register(app: typer.Typer) -> None:
    app.command("install")(install)
    app.command("uninstall")(uninstall)
