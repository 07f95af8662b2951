"""Every command's `--help` ends with examples, and shows metavars, never Python type names.

The examples live here, one table for the whole CLI, so a new command without any is caught by one test
(tests/test_workflow.py walks every command's help) and they read alike. They are attached as click epilogs
when the app is assembled (`attach_examples`). `-h` is `--help` everywhere (the root's context settings are
inherited by every subcommand).
"""

from __future__ import annotations

from typing import Any

import typer

#: `-h` and `--help`, for the root Typer and inherited by every subcommand.
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

#: command path -> example command lines (each runs as written from a checkout with the bundled plugins); export,
#: embed and import give theirs in their own docstrings, next to the options they explain.
EXAMPLES: dict[str, list[str]] = {
    "": [
        "jepakit demo",
        "jepakit list variants",
        "jepakit train ijepa/ijepa-tiny --out runs/first",
        "jepakit train --resume runs/first",
    ],
    "list": ["jepakit list variants", "jepakit list maskers 'ijepa/*'", "jepakit list --json"],
    "show": ["jepakit show ijepa/ijepa-tiny", "jepakit show core/vit", "jepakit show optim", "jepakit show run.toml"],
    "validate": ["jepakit validate run.toml", "jepakit validate ijepa/ijepa-tiny --set optim.steps=2000"],
    "train": [
        "jepakit train ijepa/ijepa-tiny --out runs/first",
        "jepakit train run.toml --set optim.lr=5e-4 --out runs/lr5e-4",
        "jepakit train --resume runs/first",
        "jepakit train --resume runs/first --set optim.steps=2000   # extend a finished run",
        "jepakit train run.toml --nproc 2",
    ],
    "eval": ["jepakit eval runs/first", "jepakit eval runs/first --data core/image-folder --set data.path=photos"],
    "demo": ["jepakit demo", "jepakit demo --steps 100 --out runs/quick"],
    "sweep": [
        "jepakit sweep ijepa/ijepa-tiny --grid optim.lr=1e-3,5e-4 --seeds 0,1",
        "jepakit sweep run.toml --grid masker.min_keep=4,10 --jobs 2 --no-eval",
    ],
    "runs": ["jepakit runs", "jepakit runs sweeps/ijepa-tiny --json"],
    "compare": ["jepakit compare sweeps/ijepa-tiny", "jepakit compare runs/a runs/b --plot compare.png"],
    "report": ["jepakit report runs/first", "jepakit report sweeps/ijepa-tiny --out sweep.html"],
    "bench": ["jepakit bench", "jepakit bench ijepa/ijepa-tiny --steps 10 --precision bf16"],
    "plugins": ["jepakit plugins list", "jepakit plugins doctor"],
    "plugins list": ["jepakit plugins list", "jepakit plugins list --json"],
    "plugins info": ["jepakit plugins info ijepa"],
    "plugins doctor": ["jepakit plugins doctor", "jepakit plugins doctor --json"],
    "plugins install": [
        "jepakit plugins install jepakit-ijepa",
        "jepakit plugins install -e plugins/myjepa",
        "jepakit plugins install -r plugins.toml",
    ],
    "plugins uninstall": ["jepakit plugins uninstall myjepa -y"],
    "new": ["jepakit new run --from ijepa/ijepa-tiny", "jepakit new plugin myjepa"],
    "new run": ["jepakit new run --from ijepa/ijepa-tiny", "jepakit new run --from ijepa/ijepa-tiny -o my-run.toml"],
    "new plugin": ["jepakit new plugin myjepa", "jepakit new plugin myjepa --out plugins/myjepa"],
}


def epilog(lines: list[str]) -> str:
    """An `Examples:` block click prints line by line (the \\b paragraph mark stops it re-wrapping them)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def attach_examples(app: typer.Typer, prefix: str = "") -> None:
    """Give every registered command (and group) of `app` its examples as the help's epilog."""
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        path = f"{prefix} {name}".strip()
        if path in EXAMPLES:
            info.epilog = epilog(EXAMPLES[path])
    for group in app.registered_groups:
        path = f"{prefix} {group.name}".strip()
        if group.typer_instance is not None:
            if path in EXAMPLES:
                group.typer_instance.info.epilog = epilog(EXAMPLES[path])
            attach_examples(group.typer_instance, path)
    if not prefix and "" in EXAMPLES:
        app.info.epilog = epilog(EXAMPLES[""])


def metavars_only() -> None:
    """Typer prints an argument's Python type after its metavar (`RUN_DIR <path>`, `<list[Path]>`): noise to a
    user, who reads the metavar and the help. Where a metavar is given it is shown alone (options already do)."""
    from typer import core

    if getattr(core.TyperArgument, "_jepakit_metavars_only", False):
        return
    shown = core.TyperArgument.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.metavar is not None else shown(self, ctx)

    core.TyperArgument.display_type_rich = display_type_rich  # type: ignore[method-assign]
    core.TyperArgument._jepakit_metavars_only = True  # type: ignore[attr-defined]
