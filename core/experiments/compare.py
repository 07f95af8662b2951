"""Comparisons across runs: group runs that differ only in their seed, and summarise each group's metrics as
mean +- sample standard deviation next to the random-init and raw baselines. Torch-free (plots use matplotlib)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from jepakit.experiments.sweep import BOOKKEEPING, differing, flatten

ROWS = ("trained", "random_init", "baseline_raw")


def summary(values: list[float]) -> dict[str, float | int | None]:
    """mean, sample std (n-1; 0 for a single run) and n of the finite values."""
    vals = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return {"mean": None, "std": None, "n": 0}
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
    return {"mean": round(mean, 4), "std": round(std, 4), "n": len(vals)}


def by_variant(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Runs by variant, in first-seen order: settings are only compared within a variant (across variants
    nearly every key differs, which says nothing)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        out.setdefault(str(r.get("variant", "?")), []).append(r)
    return out


def group_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs (from `sweep.run_status`) grouped by variant, then by every setting that differs within that
    variant except the seed, in first-seen order; broken runs (an unreadable config.toml) are left out.

    Each group: `variant`, `settings` (the keys that differ within its variant, and their values), `runs`
    (names), `seeds`, and for the primary metric and every head's metrics a summary of trained / random_init /
    raw over the group's seeds.
    """
    groups: dict[str, dict[str, Any]] = {}
    order = {v: i for i, v in enumerate(by_variant(runs))}
    for variant, members in by_variant([r for r in runs if r.get("status") != "broken"]).items():
        keys = differing([r["config"] for r in members], ignore=BOOKKEEPING | {"run.seed"})
        for r in members:
            flat = flatten(r["config"])
            settings = {k: flat.get(k) for k in keys}
            g = groups.setdefault(
                json.dumps([variant, settings], sort_keys=True, default=str),
                {"variant": variant, "settings": settings, "runs": [], "seeds": [], "members": []},
            )
            g["runs"].append(r["name"])
            g["seeds"].append(flat.get("run.seed"))
            g["members"].append(r)
    ordered = sorted(groups.values(), key=lambda g: (order[g["variant"]], setting_key(g["settings"])))
    return [_summarise(g) for g in ordered]


def setting_key(settings: dict[str, Any]) -> tuple[tuple[int, float, str], ...]:
    """Sort key for a group's settings: numbers by value (0.0005 before 0.001), then anything else as text."""
    key = []
    for v in settings.values():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            key.append((1, 0.0, json.dumps(v, sort_keys=True, default=str)))
        else:
            key.append((0, float(v), ""))
    return tuple(key)


def _summarise(g: dict[str, Any]) -> dict[str, Any]:
    """A group's summaries over its members (which it then drops): primary metric, heads, sets, statuses."""
    members = g.pop("members")
    finished = [m for m in members if m.get("trained") is not None]
    g["metric"] = next((m["metric"] for m in finished if m.get("metric")), None)
    g["higher_is_better"] = next((m["higher_is_better"] for m in finished), True)
    g.update({row: summary([m.get(row) for m in finished]) for row in ROWS})
    heads = sorted({h for m in finished for h in (m.get("metrics") or {})})
    g["heads"] = {
        h: {
            row: summary([(m.get("metrics") or {}).get(h, {}).get(row) for m in finished])
            for row in ("trained", "random_init", "raw")
        }
        for h in heads
    }
    names = list(dict.fromkeys(n for m in finished for n in (m.get("sets") or {})))
    blocks = [m.get("sets") or {} for m in finished]  # each run's primary score per evaluation set
    g["sets"] = {
        n: {
            "metric": next((b[n]["metric"] for b in blocks if n in b), None),
            **{row: summary([b.get(n, {}).get(row) for b in blocks]) for row in ROWS},
        }
        for n in names
    }
    g["status"] = {s: sum(m["status"] == s for m in members) for s in sorted({m["status"] for m in members})}
    return g


def several_variants(groups: list[dict[str, Any]]) -> bool:
    """True when the groups span more than one variant (tables then show a variant column)."""
    return len({g.get("variant") for g in groups}) > 1


def group_label(g: dict[str, Any], with_variant: bool) -> str:
    """A group's settings (`label`), after its variant when the groups span several."""
    if not with_variant:
        return label(g["settings"])
    return f"{g.get('variant', '?')}: {label(g['settings'])}" if g["settings"] else str(g.get("variant", "?"))


def set_tables(groups: list[dict[str, Any]]) -> list[tuple[str, str, list[list[str]]]]:
    """One table per evaluation set a group's runs were scored on: (set name, its metric, rows of setting,
    seeds, trained, random init, raw input). Empty when no run has sets (the main table says it all)."""
    names = list(dict.fromkeys(n for g in groups for n in g.get("sets", {})))
    out = []
    for n in names:
        multi = several_variants(groups)
        rows = [
            [group_label(g, multi), ", ".join(map(str, g["seeds"])), *(fmt(g["sets"][n][row]) for row in ROWS)]
            for g in groups
            if n in g.get("sets", {})
        ]
        metric = next((g["sets"][n]["metric"] for g in groups if g.get("sets", {}).get(n, {}).get("metric")), "metric")
        out.append((n, metric, rows))
    return out


def fmt(s: dict[str, Any]) -> str:
    """ "83.12 +- 0.41 (n=3)" or "83.12" for one run or "-" for none."""
    if not s or s.get("mean") is None:
        return "-"
    return f"{s['mean']:.2f}" if s["n"] == 1 else f"{s['mean']:.2f} +- {s['std']:.2f} (n={s['n']})"


def label(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "(all runs share their settings)"


def _loss_curve(path: Path) -> tuple[list[int], list[float]]:
    steps: list[int] = []
    losses: list[float] = []
    try:
        lines = (path / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return steps, losses
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if "loss" in row and "step" in row:
            steps.append(int(row["step"]))
            losses.append(float(row["loss"]))
    return steps, losses


#: the three rows of every comparison, as the plot draws them: (summary key, legend label, colour, marker)
PLOT_ROWS = (
    ("trained", "trained", "tab:blue", "o"),
    ("random_init", "random init", "tab:gray", "s"),
    ("baseline_raw", "raw input", "tab:orange", "D"),
)


def plot_comparison(groups: list[dict[str, Any]], runs: list[dict[str, Any]], path: str | Path) -> Path:
    """`comparison_figure`, written in the format the file's suffix names (.png, .svg, .pdf, .jpg)."""
    from jepakit.library.plots import save_figure

    return save_figure(comparison_figure(groups, runs), path)


def comparison_figure(groups: list[dict[str, Any]], runs: list[dict[str, Any]]) -> Any:
    """Left: loss curves (one colour per group, one line per seed). Right: the primary metric per group as
    points with +-std error bars over seeds for trained, random init and raw input, each value written beside
    its point; the axis spans the values (not from 0, which hides small differences), groups read top-down
    in the order of the tables."""
    import matplotlib

    from jepakit.library.plots import new_figure

    by_name = {r["name"]: r for r in runs}
    names = [group_label(g, several_variants(groups)) for g in groups]
    palette = matplotlib.colormaps["tab10"]
    fig = new_figure(12, max(3.6, 1.6 + 0.55 * len(groups)))
    ax_loss, ax_metric = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    fig.subplots_adjust(wspace=0.1 + 0.012 * max(map(len, names), default=0))  # room for the setting labels
    for i, g in enumerate(groups):
        colour = palette(i % 10)
        for j, name in enumerate(g["runs"]):
            steps, losses = _loss_curve(Path(by_name[name]["path"]))
            if steps:
                ax_loss.plot(steps, losses, color=colour, lw=1.2, alpha=0.8, label=names[i] if j == 0 else None)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss (one line per seed)", fontsize=10)
    if any(line.get_label() and not line.get_label().startswith("_") for line in ax_loss.get_lines()):
        ax_loss.legend(fontsize=8, loc="upper right")
    ys = list(range(len(groups)))[::-1]  # the first group on top
    values: list[float] = []
    for k, (row, text, row_colour, marker) in enumerate(PLOT_ROWS):
        dy = 0.22 * (1 - k)
        labelled = False  # one legend entry per row
        for y, g in zip(ys, groups, strict=True):
            mean, std = g[row]["mean"], g[row]["std"] or 0.0
            if mean is None:
                continue
            values += [mean - std, mean + std]
            ax_metric.errorbar(
                mean, y + dy, xerr=std, fmt=marker, color=row_colour, capsize=3, ms=6, label=None if labelled else text
            )
            labelled = True
            shown = f"{mean:.2f}" if not std else f"{mean:.2f}±{std:.2f}"
            ax_metric.annotate(
                shown,
                (mean + std, y + dy),
                xytext=(4, 0),
                textcoords="offset points",
                fontsize=8,
                va="center",
                color=row_colour,
            )
    if values:
        lo, hi = min(values), max(values)
        pad = max(hi - lo, 1e-6) * 0.25
        ax_metric.set_xlim(lo - pad, hi + 2 * pad)  # room on the right for the values
    ax_metric.set_yticks(ys, names, fontsize=9)
    ax_metric.set_ylim(-0.6, len(groups) - 0.4)
    metric = next((g["metric"] for g in groups if g["metric"]), None) or "metric"
    ax_metric.set_xlabel(metric)
    ax_metric.set_title(f"{metric} per setting (mean ± std over seeds)", fontsize=10)
    ax_metric.grid(axis="x", alpha=0.3)
    ax_metric.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    return fig
