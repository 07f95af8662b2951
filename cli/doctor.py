"""`jepakit plugins doctor`: everything that makes a plugin silently missing or a run slow, in one report.

Checks: broken plugins, unmet `require` lines, entry points declared twice, entry points that no longer
match a bundled plugin's pyproject.toml (an editable install made before the entry points changed), and
the torch features training relies on. torch is imported here only, inside `torch_report`.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.text import Text

from jepakit.cli import output

GROUP = "jepakit"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def duplicate_entry_points() -> list[str]:
    """The same plugin name from several distributions, or one distribution installed twice."""
    problems = []
    by_name: dict[str, set[tuple[str, str]]] = defaultdict(set)
    dists: dict[str, set[str]] = defaultdict(set)
    for dist in md.distributions():
        eps = [ep for ep in dist.entry_points if ep.group == GROUP]
        if not eps:
            continue
        dname = dist.metadata["Name"] or "?"
        dists[_canonical(dname)].add(f"{dist.version} at {getattr(dist, '_path', '?')}")
        for ep in eps:
            by_name[ep.name].add((dname, ep.value))
    for name, owners in sorted(by_name.items()):
        if len({o[0].lower() for o in owners}) > 1 or len({o[1] for o in owners}) > 1:
            listed = ", ".join(f"{d} ({v})" for d, v in sorted(owners))
            problems.append(f'entry point "{name}" is declared more than once: {listed}')
    for dname, copies in sorted(dists.items()):
        if len(copies) > 1:
            problems.append(f"distribution {dname} is installed {len(copies)} times: {'; '.join(sorted(copies))}")
    return problems


def stale_entry_points(root: Path) -> tuple[list[str], list[str]]:
    """Compare each root/plugins/*/pyproject.toml's [project.entry-points.jepakit] with what is installed."""
    problems, notes = [], []
    for pyproject in sorted(root.glob("plugins/*/pyproject.toml")):
        folder = pyproject.parent.relative_to(root)
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"{pyproject.relative_to(root)}: cannot be read ({exc})")
            continue
        name = project.get("name")
        declared = dict(project.get("entry-points", {}).get(GROUP, {}))
        if not name:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            notes.append(f"{folder} ({name}) is not installed: jepakit plugins install -e {folder}")
            continue
        installed = {ep.name: ep.value for ep in dist.entry_points if ep.group == GROUP}
        if installed != declared:
            problems.append(
                f"stale entry points for {name}: {folder}/pyproject.toml declares {declared}, the "
                f"installed metadata has {installed}; reinstall with: jepakit plugins install -e {folder}"
            )
        elif project.get("version") and project["version"] != dist.version:
            notes.append(f"{name}: {folder} is version {project['version']}, installed metadata says {dist.version}")
    return problems, notes


def torch_report() -> dict[str, Any]:
    """torch version and the features the trainer uses: bf16 autocast on CPU and fused SDPA attention."""
    try:
        import torch
        import torch.nn.functional as F
    except Exception as exc:  # a broken torch install is exactly what doctor is for
        return {"available": False, "error": f"{type(exc).__name__}: {exc}"}
    report: dict[str, Any] = {
        "available": True,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": bool(torch.cuda.is_available()),
    }
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = torch.ones(8, 8) @ torch.ones(8, 8)
        report["bf16_autocast"] = y.dtype == torch.bfloat16
    except Exception:  # a missing kernel raises RuntimeError or NotImplementedError: either way, not supported
        report["bf16_autocast"] = False
    try:
        q = torch.zeros(1, 2, 4, 8)
        report["sdpa"] = F.scaled_dot_product_attention(q, q, q).shape == q.shape
    except Exception:  # as above: any failure means "not supported here"
        report["sdpa"] = False
    return report


SLOW_IMPORT_MS = 300.0


def diagnose(state: Any, root: Path | None = None) -> dict[str, Any]:
    problems: list[str] = []
    notes: list[str] = []
    for rec in state.records:
        if rec.status == "broken":
            problems.append(f'plugin "{rec.name}" is broken: {rec.error}')
        elif rec.status == "disabled":
            notes.append(f'plugin "{rec.name}" is disabled in plugins.toml')
        elif rec.import_ms > SLOW_IMPORT_MS:
            notes.append(
                f'plugin "{rec.name}" takes {rec.import_ms:.0f} ms to import, which every jepakit command '
                "pays: keep plugin.py free of heavy imports (torch, data) and use lazy targets"
            )
    problems += list(state.problems)
    problems += duplicate_entry_points()
    stale, stale_notes = stale_entry_points(root or Path.cwd())
    problems += stale
    notes += stale_notes
    torch = torch_report()
    if not torch["available"]:
        problems.append(f"torch cannot be imported: {torch['error']}")
    else:
        if not torch["sdpa"]:
            problems.append("torch has no working scaled_dot_product_attention (torch>=2.4 is required)")
        if not torch["bf16_autocast"]:
            notes.append('bf16 autocast is unavailable on this CPU: use run.precision = "fp32"')
    return {
        "healthy": not problems,
        "problems": problems,
        "notes": notes,
        "plugins_toml": str(state.settings_path) if state.settings_path else None,
        "plugins": [r.as_dict() for r in state.records],
        "torch": torch,
    }


def render(report: dict[str, Any]) -> None:
    console = output.out()
    rows = [[r["name"], r["version"], output.status_text(r["status"]), r["error"] or ""] for r in report["plugins"]]
    console.print(output.table("plugins", ["name", "version", "status", "error"], rows))
    t = report["torch"]
    if t["available"]:
        console.print(
            Text(
                f"torch {t['version']}: {t['threads']} threads, cuda {'yes' if t['cuda'] else 'no'}, "
                f"bf16 autocast {'yes' if t['bf16_autocast'] else 'no'}, SDPA {'yes' if t['sdpa'] else 'no'}"
            )
        )
    console.print(Text(f"plugins.toml: {report['plugins_toml'] or '(none)'}"))
    for n in report["notes"]:
        console.print(Text(f"note: {n}", style="dim"))
    for p in report["problems"]:
        console.print(Text(f"problem: {p}", style="red"))
    console.print(
        Text(
            "healthy" if report["healthy"] else f"{len(report['problems'])} problem(s) found",
            style="bold green" if report["healthy"] else "bold red",
        )
    )
