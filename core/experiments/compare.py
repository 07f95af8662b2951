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
    return [_summarise(g) for g in groups.values()]


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


def plot_comparison(groups: list[dict[str, Any]], runs: list[dict[str, Any]], path: str | Path) -> Path:
    """Left: loss curves (one colour per group, one line per seed). Right: primary metric per group, trained vs
    random init, mean with +-std error bars."""
    import matplotlib

    from jepakit.library.plots import new_figure, save_png

    by_name = {r["name"]: r for r in runs}
    names = [group_label(g, several_variants(groups)) for g in groups]
    palette = matplotlib.colormaps["tab10"]
    fig = new_figure(11, 4.2)
    ax_loss, ax_metric = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, g in enumerate(groups):
        colour = palette(i % 10)
        for j, name in enumerate(g["runs"]):
            steps, losses = _loss_curve(Path(by_name[name]["path"]))
            if steps:
                ax_loss.plot(steps, losses, color=colour, lw=1.2, alpha=0.8, label=names[i] if j == 0 else None)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss", fontsize=9)
    if any(line.get_label() and not line.get_label().startswith("_") for line in ax_loss.get_lines()):
        ax_loss.legend(fontsize=6)
    xs = list(range(len(groups)))
    for offset, row, bar_colour in ((-0.18, "trained", "tab:blue"), (0.18, "random_init", "tab:gray")):
        means = [g[row]["mean"] if g[row]["mean"] is not None else float("nan") for g in groups]
        stds = [g[row]["std"] or 0.0 for g in groups]
        ax_metric.bar(
            [x + offset for x in xs],
            means,
            width=0.34,
            yerr=stds,
            color=bar_colour,
            capsize=3,
            label=row.replace("_", " "),
        )
    ax_metric.set_xticks(xs, names, rotation=20, ha="right", fontsize=6)
    ax_metric.set_ylabel(next((g["metric"] for g in groups if g["metric"]), "metric") or "metric")
    ax_metric.set_title("primary metric per setting (mean +- std over seeds)", fontsize=9)
    ax_metric.legend(fontsize=7)
    return save_png(fig, path)
