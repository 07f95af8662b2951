"""`jepakit report`: one self-contained HTML file (every image embedded as a data URI) for a run or a sweep.

A run's report: metadata (versions, plugins, seed, precision, command), the resolved config, loss and
learning-rate curves, collapse monitors and the online probe over training, mask pictures, the embedding
projection (PCA coloured by label), the probe table with its baselines, the verdict (the words `jepakit eval`
prints) and warnings. A sweep's report: the grouped comparison (mean +- std over seeds), its plot, and one
section per run. Pictures the run did not write are drawn from its logs; the PCA needs the trained model and is
only shown when `train`/`eval` wrote it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from jepakit.engine.results import verdict
from jepakit.experiments.compare import fmt, group_label, group_runs, plot_comparison, set_tables, several_variants
from jepakit.experiments.sweep import evaluation, find_runs, run_status

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;font-size:.9em}
th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:.3em 0}pre{background:#f7f7f7;padding:.8em;
overflow:auto;font-size:.8em}.warn{color:#a60}.muted{color:#777}"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _shown(key: str, value: Any) -> str:
    """A run.json value as a reader wants it: the command as typed, lists comma-separated, mappings as
    "name version" pairs (not Python or JSON syntax)."""
    if key == "command" and isinstance(value, list):  # run.json of older runs: the raw argv
        from jepakit.framework.settings import typed_command

        return typed_command([str(v) for v in value])
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}".strip() for k, v in value.items()) or "-"
    return str(value)


def _status(counts: dict[str, int]) -> str:
    """{"finished": 2, "failed": 1} -> "2 finished, 1 failed"."""
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "-"


def _sweep_header(target: Path) -> list[str]:
    """How the sweep was made (sweep.json): the command, the grid, the seeds and the fixed --set options."""
    manifest = _json_object(target / "sweep.json")
    if not manifest:
        return []
    rows = [
        ["command", manifest.get("command") or "-"],
        ["run file or variant", manifest.get("source") or "-"],
        ["grid", "; ".join(manifest.get("grid") or []) or "-"],
        ["seeds", manifest.get("seeds") or "-"],
        ["fixed settings (--set)", ", ".join(manifest.get("set") or []) or "-"],
    ]
    return [_table(["sweep", "value"], rows)]


def _monitor_png(mon: list[dict[str, Any]]) -> bytes:
    """Feature std and effective rank of the teacher over training (the collapse monitors), from 2+ rows."""
    from jepakit.library.plots import new_figure

    fig = new_figure(6.0, 3.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([r["step"] for r in mon], [r["feature_std"] for r in mon], "o-", label="feature std")
    ax.set_xlabel("step")
    ax.set_ylabel("feature std")
    ax2 = ax.twinx()
    ax2.plot(
        [r["step"] for r in mon],
        [r.get("effective_rank", float("nan")) for r in mon],
        "s--",
        color="tab:orange",
        label="effective rank",
    )
    ax2.set_ylabel("effective rank", color="tab:orange")
    ax.set_title("collapse monitors (falling std and rank = collapse)", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _online_png(plots: Path, rows: list[dict[str, Any]]) -> bytes | None:
    """The online probe's curve: the run's plots/online_probe.png, else drawn from its log (a run still training)."""
    if (plots / "online_probe.png").is_file():
        return (plots / "online_probe.png").read_bytes()
    if not any("online_knn" in r for r in rows):
        return None
    from jepakit.library.plots import plot_online_probe

    with tempfile.TemporaryDirectory() as tmp:
        return plot_online_probe(rows, Path(tmp) / "online.png").read_bytes()


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    if (path / "metrics.jsonl").is_file():
        for line in _text(path / "metrics.jsonl").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and "step" in row:
                rows.append(row)
    return rows


def run_section(path: Path, level: int = 2) -> str:
    st = run_status(path)
    h, parts = f"h{level}", []
    parts.append(
        f'<{h} id="{html.escape(path.name)}">{html.escape(path.name)}: {html.escape(str(st["variant"]))} '
        f'<span class="muted">({st["status"]}, step {st["step"]}/{st["steps"]})</span></{h}>'
    )
    meta = _json_object(path / "run.json")
    if meta:
        parts.append(_table(["run metadata", "value"], [[k.replace("_", " "), _shown(k, v)] for k, v in meta.items()]))
    ev = evaluation(path) if st["trained"] is not None else None
    if ev is not None:
        main = ev.main
        parts.append(
            f"<p>primary metric <b>{html.escape(main.metric)}</b> "
            f"({'higher' if main.higher_is_better else 'lower'} is better)</p>"
        )
        for name, block in (ev.sets or {"": ev}).items():  # one block per evaluation set, the primary first
            parts += _eval_block(block, name, path / "plots" / "sets" / name if name else None)
        for w in ev.warnings:
            parts.append(f'<p class="warn">warning: {html.escape(w)}</p>')
    else:
        parts.append('<p class="muted">not evaluated yet (run <code>jepakit eval</code>)</p>')
    if st.get("error"):
        parts.append(f'<p class="warn">{html.escape(st["status"])}: {html.escape(st["error"])}</p>')
    plots = path / "plots"
    loss_png = (plots / "loss.png").read_bytes() if (plots / "loss.png").is_file() else _loss_png(_rows(path))
    parts.append("<h4>loss and learning rate</h4>" + _img(loss_png, "loss and learning rate"))
    mon = [r for r in _rows(path) if "feature_std" in r]
    if len(mon) >= 2:  # a curve needs two points; one measurement is a table row
        parts.append("<h4>collapse monitors</h4>" + _img(_monitor_png(mon), "collapse monitors"))
    elif mon:
        row = mon[0]
        parts.append(
            "<h4>collapse monitors</h4>"
            + _table(
                ["step", "feature std", "effective rank"],
                [[row["step"], row["feature_std"], row.get("effective_rank", "-")]],
            )
        )
    online = _online_png(plots, _rows(path))
    if online:
        parts.append(
            "<h4>online probe (k-NN while training, against its random-init line)</h4>" + _img(online, "online probe")
        )
    masks = sorted(plots.glob("mask*.png")) if plots.is_dir() else []
    for m in masks:
        parts.append(f"<h4>{html.escape(m.stem)}</h4>" + _img(m.read_bytes(), m.stem))
    drawn = {"loss.png", "embedding_pca.png", "online_probe.png"}  # shown above in their own sections
    extra = sorted(p for p in plots.glob("*.png") if p.name not in drawn and p not in masks) if plots.is_dir() else []
    for p in extra:
        parts.append(f"<h4>{html.escape(p.stem)}</h4>" + _img(p.read_bytes(), p.stem))
    if (plots / "embedding_pca.png").is_file():
        parts.append(
            "<h4>embedding (PCA, coloured by label)</h4>"
            + _img((plots / "embedding_pca.png").read_bytes(), "embedding PCA")
        )
    parts.append(
        "<details><summary>resolved config</summary><pre>"
        + html.escape(_text(path / "config.toml"))
        + "</pre></details>"
    )
    return "\n".join(parts)


def _json_object(path: Path) -> dict[str, Any]:
    """A JSON object file ({} when absent, unreadable or not an object: a report never fails on one run)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _text(path: Path) -> str:
    """A text file as far as it can be read (undecodable bytes replaced; an unreadable file says so)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path.name}: {exc.strerror or exc})"


def _eval_block(ev: Any, name: str, plots: Path | None) -> list[str]:
    """One evaluation set's probe table, verdict, collapse monitors and protocol (and its own plots)."""
    parts = [f"<h4>set {html.escape(name)}: {html.escape(ev.dataset)}</h4>"] if name else []
    parts.append(
        _table(
            ["probe", "trained", "random init", ev.baseline_label or "raw input"],
            [[head, sc.trained, sc.random_init, sc.raw] for head, sc in ev.scores.items()],
        )
    )
    parts.append(f'<p class="verdict"><b>{html.escape(verdict(ev).text)}</b></p>')
    coll = ev.collapse
    if coll:
        rnd = coll.get("random_init") or {}
        parts.append(
            _table(
                ["collapse monitor", "trained", "random init"],
                [[k, coll.get(k), rnd.get(k)] for k in ("feature_std", "effective_rank")],
            )
        )
    if ev.protocol:
        parts.append(f'<p class="muted">{html.escape(ev.protocol)}</p>')
    for png in sorted(plots.glob("*.png")) if plots is not None and plots.is_dir() else []:
        parts.append(f"<h4>{html.escape(name)}: {html.escape(png.stem)}</h4>" + _img(png.read_bytes(), png.stem))
    return parts


def _loss_png(rows: list[dict[str, Any]]) -> bytes:
    from jepakit.library.plots import plot_loss

    with tempfile.TemporaryDirectory() as tmp:
        return plot_loss(rows, Path(tmp) / "loss.png").read_bytes()


def build_report(target: Path) -> str:
    """The HTML text for a run directory or a folder of runs (a sweep)."""
    runs = find_runs(target)
    if target in runs:
        body = run_section(target, 1)
        title = f"jepakit report: {target.name}"
    else:
        statuses = [run_status(p) for p in runs]
        groups = group_runs(statuses)
        rows = [
            [
                group_label(g, several_variants(groups)),
                ", ".join(map(str, g["seeds"])),
                fmt(g["trained"]),
                fmt(g["random_init"]),
                fmt(g["baseline_raw"]),
                _status(g["status"]),
            ]
            for g in groups
        ]
        with tempfile.TemporaryDirectory() as tmp:
            plot = plot_comparison(groups, statuses, Path(tmp) / "compare.png").read_bytes()
        metric = next((g["metric"] for g in groups if g["metric"]), "metric")
        per_set = [
            f"<h3>set {html.escape(name)} ({html.escape(str(m))})</h3>"
            + _table(["setting", "seeds", "trained", "random init", "raw input"], set_rows)
            for name, m, set_rows in set_tables(groups)
        ]
        body = "\n".join(
            [
                f"<h1>jepakit sweep report: {html.escape(target.name)}</h1>",
                f"<p>{len(runs)} runs in {len(groups)} settings; primary metric: {html.escape(str(metric))}</p>",
                *_sweep_header(target),
                *[
                    f'<p class="warn">left out {html.escape(s["name"])}: {html.escape(s.get("error", ""))}</p>'
                    for s in statuses
                    if s["status"] == "broken"
                ],
                _table(["setting", "seeds", "trained", "random init", "raw input", "status"], rows),
                *per_set,
                _img(plot, "comparison"),
                *[run_section(p, 2) for p in runs],
            ]
        )
        title = f"jepakit sweep report: {target.name}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    )
