"""The `jepakit` Typer app and `main()`, the console-script entry point.

Error handling lives in `JepakitGroup.invoke`, so it applies equally to the installed script and to
`CliRunner` in tests: a JepakitError prints `Error:` + `Hint:` and exits with its code (2 bad input,
1 run failure, 130 interrupted, 75 stopped by `run.stop_signal`); anything unexpected is an internal error
(exit 1, traceback only with JEPAKIT_DEBUG=1). Only torch-free modules are imported here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from jepakit import __version__
from jepakit.cli import helptext, output
from jepakit.cli.context import CliContext
from jepakit.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, JepakitError


def debug_enabled() -> bool:
    return os.environ.get("JEPAKIT_DEBUG", "").strip() not in ("", "0", "false", "no")


class JepakitGroup(TyperGroup):
    """Root group that turns exceptions escaping any command (or the root callback) into exit codes."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except JepakitError as exc:
            output.error(exc.message, exc.hint)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            output.error("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _is_click_exception(exc) or debug_enabled():
                raise
            output.error(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in jepakit or a plugin; rerun with JEPAKIT_DEBUG=1 to see the traceback",
            )
            raise typer.Exit(EXIT_RUNTIME) from None


def _is_click_exception(exc: BaseException) -> bool:
    """Usage errors must reach typer's own handler (which prints usage and exits 2)."""
    try:  # typer >= 0.2x vendors click; older typer uses the click distribution
        from typer._click.exceptions import ClickException
    except ImportError:  # pragma: no cover
        # the same class, from the click distribution: mypy sees two distinct types
        from click.exceptions import ClickException  # type: ignore[assignment]
    return isinstance(exc, ClickException)


app = typer.Typer(
    name="jepakit",
    cls=JepakitGroup,
    help="Self-supervised learning with JEPAs, assembled from plugins.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=helptext.CONTEXT_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jepakit {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    plugins_toml: Annotated[
        Path | None,
        typer.Option(
            "--plugins-toml",
            metavar="PLUGINS_TOML",
            help="plugins.toml to use (default: $JEPAKIT_PLUGINS_TOML, else ./plugins.toml if present)",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Self-supervised learning with JEPAs, assembled from plugins."""
    output.setup_logging()
    ctx.obj = CliContext(plugins_toml)


def _register() -> None:
    """Attach the command modules (each torch-free at import time)."""
    from jepakit.cli import bench_cmd, experiments_cmd, new_cmd, parts_cmd, plugins_cmd, product_cmd, run_cmd

    app.add_typer(plugins_cmd.app, name="plugins")
    parts_cmd.register(app)
    app.add_typer(new_cmd.app, name="new")
    run_cmd.register(app)
    experiments_cmd.register(app)
    bench_cmd.register(app)
    product_cmd.register(app)
    helptext.attach_examples(app)
    helptext.metavars_only()


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point. Exits with 0 ok, 2 bad input, 1 runtime failure, 130 interrupted, 75 stopped by
    `run.stop_signal` (requeue)."""
    output.setup_logging()
    try:
        try:
            app(args=argv, prog_name="jepakit")
        except KeyboardInterrupt:  # raised before a command ran (e.g. while parsing)
            sys.exit(EXIT_INTERRUPTED)
    except SystemExit as exc:
        if _is_rank_of_a_launch():
            _exit_now(exc.code)
        raise


def _is_rank_of_a_launch() -> bool:
    """True in a process started by `--nproc N` or torchrun with N > 1 (WORLD_SIZE is set for every rank)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1") or 1) > 1
    except ValueError:
        return False


def _exit_now(code: Any) -> None:
    """SystemExit's code as an exit status, then `jepakit.engine.launch.exit_now` (no teardown: see there why)."""
    from jepakit.engine.launch import exit_now

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = EXIT_RUNTIME
    exit_now(code or 0)


if __name__ == "__main__":
    main()
