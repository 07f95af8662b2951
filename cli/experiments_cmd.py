"""`jepakit sweep | runs | compare | report`: experiments, not single runs.

Parse, call, render: the planning is `jepakit.experiments.sweep`, the running (each combination its own
`jepakit train` process, at most `--jobs` at a time, finished runs skipped, interrupted ones resumed) is
`jepakit.experiments.scheduler`, and the tables and JSON are drawn here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jepakit.cli import output
from jepakit.cli.run_cmd import JsonOpt, SetOpt
from jepakit.errors import JepakitError


def sweep(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="RUN.toml|VARIANT", help="Run file or variant to sweep.")],
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid", metavar="KEY=V1,V2,...", help="A setting and its values (repeatable: the grid is their product)."
        ),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option("--seeds", metavar="S1,S2,...", help="Seeds per setting (default 0).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Sweep folder (default: sweeps/<name>).")
    ] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", min=1, metavar="N", help="Runs at once; the cores are split between them.")
    ] = 1,
    overrides: SetOpt = None,
    no_eval: Annotated[
        bool, typer.Option("--no-eval", help="Train without evaluating (evaluate later: jepakit eval RUN_DIR).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run every combination of --grid values over --seeds; resumable; a failing run never stops the others."""
    from jepakit.cli.context import load_state
    from jepakit.cli.run_cmd import resolve_arg
    from jepakit.experiments.scheduler import run_sweep, write_manifest
    from jepakit.experiments.sweep import expand, parse_grid, parse_seeds

    plan = expand(parse_grid(grid or []), parse_seeds(seeds))
    state = load_state(ctx)
    for run in plan:  # every combination is checked before the first one starts
        resolve_arg(source, state, [*(overrides or []), *run.overrides()])
    root = out or Path("sweeps") / source.stem.replace("/", "-")
    write_manifest(root, str(source), grid or [], seeds, overrides or [], plan)
    summary = run_sweep(
        plan,
        root,
        str(source),
        overrides=overrides or [],
        jobs=jobs,
        cli_args=_global_args(ctx),
        notify=SweepProgress([r.name for r in plan], root),
        no_eval=no_eval,
    )
    statuses = summary.pop("runs")
    if as_json:
        output.print_json({**summary, "runs": [{k: v for k, v in s.items() if k != "config"} for s in statuses]})
    else:
        _print_runs(statuses)
        failed = sum(v.startswith("failed") for v in summary["results"].values())
        output.note(
            f"{len(plan)} runs, {failed} failed, {summary['seconds']} s; see `jepakit compare {root}`",
            style="red" if failed else "green",
        )


class SweepProgress:
    """The scheduler's progress, one stderr line per run started, ended or skipped, numbered in plan order:
    `run 2/4 NAME: finished, accuracy 87.2 (random init 61.3)` (a run trained with --no-eval shows its final
    loss; a failed one, its error)."""

    def __init__(self, names: list[str], root: Path) -> None:
        self.names, self.root = names, root

    def __call__(self, name: str, event: str) -> None:
        k = self.names.index(name) + 1 if name in self.names else 0
        line = f"run {k}/{len(self.names)} {name}: {event}"
        if event != "started":
            line += self.outcome(self.root / name)
        ok = event in ("started", "finished", "skipped (finished)")
        output.note(line, style="dim" if event == "started" else "green" if ok else "red")

    @staticmethod
    def outcome(path: Path) -> str:
        """`, accuracy 87.2 (random init 61.3)`, `, final loss 0.8571` or `: <the error>` ('' when unknown)."""
        import json

        from jepakit.experiments.sweep import run_status

        try:
            st = run_status(path)
        except (OSError, JepakitError):
            return ""
        if st.get("error"):
            return f": {st['error']}"
        if st.get("trained") is not None:
            return f", {st['metric']} {output.fmt(st['trained'])} (random init {output.fmt(st.get('random_init'))})"
        try:
            rows = [json.loads(x) for x in (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines() if x]
        except (OSError, ValueError):
            return ""
        loss = rows[-1].get("loss") if rows else None
        return f", final loss {loss:.4g}" if isinstance(loss, (int, float)) else ""


def _global_args(ctx: typer.Context) -> list[str]:
    from jepakit.cli.context import cli_context

    path = cli_context(ctx).plugins_toml
    return ["--plugins-toml", str(path)] if path else []


def _print_runs(statuses: list[dict[str, Any]]) -> None:
    """One table per variant (settings are compared within a variant only), then the broken runs with why."""
    from jepakit.experiments.compare import by_variant
    from jepakit.experiments.sweep import differing, flatten

    broken = [s for s in statuses if s["status"] == "broken"]
    groups = by_variant([s for s in statuses if s["status"] != "broken"])
    console = output.out()
    for variant, members in groups.items():
        keys = differing([s["config"] for s in members])
        one = len(groups) == 1 and not broken  # a single variant: the one table it always was
        rows: list[list[Any]] = []
        values: list[list[str]] = []
        for s in members:
            flat = flatten(s["config"])
            secs = s.get("seconds")
            trained = output.fmt(s["trained"]) if s["trained"] is not None else "-"
            took = f"{secs:.0f} s" if isinstance(secs, (int, float)) else "-"
            rows.append([s["name"], s["status"], *([variant] if one else []), trained, took])
            values.append([str(flat.get(k)) for k in keys])
        metric = str(next((s["metric"] for s in members if s.get("metric")), "metric"))
        lead = ["run", "status", *(["variant"] if one else [])]
        console.print(
            output.settings_table("runs" if one else f"runs: {variant}", lead, keys, [metric, "time"], rows, values)
        )
    if broken:
        rows = [[s["name"], s["status"], s.get("error", "")] for s in broken]
        console.print(output.table("runs that cannot be read", ["run", "status", "why"], rows))


def must_exist(*paths: Path) -> None:
    """A path that is not there is "not found" (a typo), not a folder without runs."""
    for path in paths:
        if not path.exists():
            raise JepakitError(f"{path}: not found", "pass a run directory or a folder of runs (a sweep's --out)")


def runs(
    directory: Annotated[
        Path, typer.Argument(metavar="RUN_DIR|SWEEP_DIR", help="A run directory or a folder of runs.")
    ] = Path("runs"),
    as_json: JsonOpt = False,
) -> None:
    """Table of runs: status, variant, the settings that differ, the primary metric, duration."""
    from jepakit.experiments.sweep import find_runs, run_status

    must_exist(directory)
    found = find_runs(directory)
    if not found:
        raise JepakitError(
            f"no run directories under {directory}", "pass the --out folder of `jepakit train` or a sweep"
        )
    statuses = [run_status(p) for p in found]
    if as_json:
        output.print_json([{k: v for k, v in s.items() if k != "config"} for s in statuses])
    else:
        _print_runs(statuses)


def compare(
    directories: Annotated[list[Path], typer.Argument(metavar="RUN_DIR|SWEEP_DIR", help="Runs, or folders of runs.")],
    as_json: JsonOpt = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE", help="Loss curves and metric per setting (.png, .svg, .pdf, .jpg)."),
    ] = None,
) -> None:
    """Side-by-side metrics, grouped over seeds as mean +- std, with the random-init and raw baselines."""
    from jepakit.experiments.compare import fmt, group_runs, label, plot_comparison, set_tables, several_variants
    from jepakit.experiments.sweep import find_runs, run_status

    must_exist(*directories)
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf", ".jpg", ".jpeg"):
        raise JepakitError(
            f"--plot {plot}: unknown figure format {plot.suffix or '(no suffix)'!r}",
            "name a .png, .svg, .pdf or .jpg file; the format follows the suffix",
        )
    paths = [p for d in directories for p in find_runs(d)]
    if not paths:
        raise JepakitError("no run directories among the arguments", "pass run directories or a sweep folder")
    statuses = [run_status(p) for p in paths]
    for s in statuses:
        if s["status"] == "broken":
            output.warn(f"left out {s['path']}: {s.get('error')}")
    groups = group_runs(statuses)
    if plot is not None:
        plot_comparison(groups, statuses, plot)
    if as_json:
        output.print_json(groups)
        return
    multi = several_variants(groups)  # then a table per variant, each with the settings that differ within it
    for variant in dict.fromkeys(g["variant"] for g in groups) if multi else [None]:
        mine = [g for g in groups if variant is None or g["variant"] == variant]
        metric = next((g["metric"] for g in mine if g["metric"]), "metric")
        rows = [
            [
                label(g["settings"]),
                ", ".join(map(str, g["seeds"])),
                fmt(g["trained"]),
                fmt(g["random_init"]),
                fmt(g["baseline_raw"]),
            ]
            for g in mine
        ]
        title = f"compare {variant} ({metric})" if variant else f"compare ({metric})"
        output.out().print(output.table(title, ["setting", "seeds", "trained", "random init", "raw input"], rows))
    for name, set_metric, set_rows in set_tables(groups):  # one block per evaluation set, the primary first
        output.out().print(
            output.table(
                f"set {name} ({set_metric})", ["setting", "seeds", "trained", "random init", "raw input"], set_rows
            )
        )
    if plot is not None:
        output.note(f"wrote {plot}", style="green")


def report(
    target: Annotated[Path, typer.Argument(metavar="RUN_DIR|SWEEP_DIR", help="A run directory or a folder of runs.")],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE.html", help="Default: <target>/report.html.")
    ] = None,
) -> None:
    """One self-contained HTML file: config, curves, masks, PCA, probe table, collapse monitors, metadata."""
    from jepakit.experiments.report import build_report
    from jepakit.experiments.sweep import find_runs

    must_exist(target)
    if not find_runs(target):
        raise JepakitError(f"no run directories at {target}", "pass a run directory or a sweep folder")
    path = out or target / "report.html"
    path.write_text(build_report(target), encoding="utf-8")
    output.note(f"wrote {path}", style="green")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)
    app.command("runs")(runs)
    app.command("compare")(compare)
    app.command("report")(report)
