"""Rendering: data (JSON, tables) goes to stdout, messages (notes, warnings, errors, progress) to stderr.

Keeping the two apart lets `jepakit list --json | jq` work while progress and warnings still reach the user.
Consoles are created per call so they follow whatever sys.stdout/sys.stderr are at that moment (tests swap
them). Every user-supplied string is printed with markup off: a config key like `[loss.pred]` is not rich markup.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 200
STATUS_STYLE = {"ok": "green", "broken": "bold red", "disabled": "yellow"}


def out() -> Console:
    """Console for data on stdout; piped output gets wide rows (one line per row greps well)."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


def err() -> Console:
    """Console for messages on stderr."""
    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never wrapped or coloured."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def note(message: str, style: str = "dim") -> None:
    err().print(Text(message, style=style))


def warn(message: str) -> None:
    err().print(Text(f"Warning: {message}", style="yellow"))


def error(message: str, hint: str = "") -> None:
    """`Error:` and `Hint:` lines on stderr: what every JepakitError becomes, without a traceback."""
    console = err()
    console.print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)
    if hint:
        console.print(Text.assemble(("Hint: ", "bold cyan"), hint), soft_wrap=True)


def json_value(value: Any) -> str:
    """A setting's value as it would be written (lists and strings unambiguous)."""
    return json.dumps(value, default=str)


def status_text(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def table(title: str | None, columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    """A rich table whose cells are plain text (str() of each value, None as '-')."""
    t = Table(title=title, title_justify="left", show_lines=False)
    for col in columns:
        t.add_column(col, overflow="fold")  # fold, never truncate: a cut-off part name is useless
    for row in rows:
        t.add_row(*[c if isinstance(c, Text) else Text("-" if c is None else str(c)) for c in row])
    return t


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at emit time (a StreamHandler would pin the stream at start-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.capitalize()}: "
            sys.stderr.write(f"{prefix}{record.getMessage()}\n")
        except Exception:  # noqa: BLE001 - logging must never take a command down
            self.handleError(record)


def setup_logging(level: int = logging.WARNING) -> None:
    """Route the `jepakit` logger to stderr once; later calls only change the level."""
    logger = logging.getLogger("jepakit")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
        logger.propagate = False
    logger.setLevel(level)


# --- evaluation results ------------------------------------------------------------------------------------------

ROWS = (("trained", "trained"), ("random init", "random_init"), ("raw input", "raw"))


def fmt(value: Any, spec: str = ".4g") -> str:
    """A number for a table cell ('-' when missing); .4g keeps 7.15 and 0.05072 both readable."""
    if isinstance(value, bool) or value is None:
        return "-"
    if isinstance(value, (int, float)):
        return "nan" if isinstance(value, float) and math.isnan(value) else format(value, spec)
    return str(value)


def _head_value(scores: Any, key: str) -> Any:
    """A head's score for one row; core may write `raw` or `baseline_raw`, so accept both."""
    if not isinstance(scores, Mapping):
        return None
    if key == "raw":
        return scores.get("raw", scores.get("baseline_raw"))
    return scores.get(key)


def _head_label(head: str, scores: Any, metric: str) -> str:
    """"linear-probe accuracy"; a head that names its own metric (MC-JEPA's content probes) shows that one."""
    own = scores.get("metric", metric) if isinstance(scores, Mapping) else metric
    return head if head == own or head.endswith(own) else f"{head} {own}"


def eval_table(result: Mapping[str, Any]) -> Table:
    """Rows trained / random init / raw input; a column per head, then the collapse monitors."""
    metrics = result.get("metrics") if isinstance(result.get("metrics"), Mapping) else {}
    collapse = result.get("collapse") if isinstance(result.get("collapse"), Mapping) else {}
    rand_collapse = collapse.get("random_init") if isinstance(collapse.get("random_init"), Mapping) else {}
    heads = list(metrics) or ["accuracy"]
    rows = []
    for label, key in ROWS:
        if key == "raw":
            label = str(result.get("baseline_label") or label)  # e.g. "zero flow" for a flow metric
        if metrics:
            cells = [fmt(_head_value(metrics[h], key)) for h in heads]
        else:
            cells = [fmt(result.get({"raw": "baseline_raw"}.get(key, key)))]
        coll = {"trained": collapse, "random_init": rand_collapse}.get(key, {})
        rows.append([label, *cells, fmt(coll.get("feature_std")), fmt(coll.get("effective_rank"), ".1f")])
    metric = result.get("metric", "accuracy")
    title = f"{result.get('variant', '?')} on {result.get('dataset', '?')}: {metric} on frozen features"
    names = [_head_label(h, metrics[h], metric) for h in heads] if metrics else [metric]
    t = table(title, ["encoder", *names, "feature std", "eff. rank"], rows)
    bits = [str(result[k]) for k in ("protocol",) if result.get(k)]
    if result.get("n_train") is not None:
        bits.append(f"n_train={result.get('n_train')} n_test={result.get('n_test')}")
    if bits:
        t.caption, t.caption_justify = "; ".join(bits), "left"
    return t


def _primary(result: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(trained, random_init, raw) of the main metric: top-level keys, else the first head's scores."""
    trained, rand, raw = result.get("trained"), result.get("random_init"), result.get("baseline_raw")
    metrics = result.get("metrics")
    if not isinstance(trained, (int, float)) and isinstance(metrics, Mapping) and metrics:
        first = next(iter(metrics.values()))
        trained, rand, raw = (_head_value(first, k) for k in ("trained", "random_init", "raw"))
    return trained, rand, raw


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def noise_margin(result: Mapping[str, Any], trained: float) -> float:
    """Two standard errors of a difference of two test accuracies (0 when the metric is not an accuracy).

    Accuracies may be fractions or percentages; any value above 1 means percent.
    """
    n = result.get("n_test")
    if result.get("metric", "accuracy") != "accuracy" or not isinstance(n, int) or n <= 0:
        return 0.0
    scale = 100.0 if trained > 1.0 else 1.0
    p = min(max(trained / scale, 0.0), 1.0)
    return 2.0 * math.sqrt(2.0 * max(p * (1.0 - p), 1.0 / n) / n) * scale


def verdict(result: Mapping[str, Any]) -> str:
    """One line saying whether training helped: trained vs the same encoder at random init vs raw input.

    Differences within two standard errors of the test accuracy are called what they are: no clear difference.
    """
    trained, rand, raw = _primary(result)
    if not (_is_num(trained) and _is_num(rand)):
        return "Verdict: no comparable scores in the evaluation"
    sign = 1.0 if result.get("higher_is_better", True) else -1.0
    margin = noise_margin(result, float(trained))
    d_rand = sign * (trained - rand)
    d_raw = sign * (trained - raw) if _is_num(raw) else None
    base = str(result.get("baseline_label") or "raw input")  # what the third row is: raw input, chance, zero flow
    line = f"Verdict: trained {fmt(trained)} vs random init {fmt(rand)} ({d_rand:+.3g})"
    line += f" vs {base} {fmt(raw)} ({d_raw:+.3g})" if d_raw is not None else ""
    if result.get("metric") == "accuracy" and sign > 0 and 0 <= rand < 100 and trained <= 100 and rand > 1:
        line += f"; error {100 - trained:.1f} % vs {100 - rand:.1f} % at random init (x{(100 - trained) / (100 - rand):.2f})"
    if d_rand < 0 and d_rand <= -margin:  # a tie is never "worse", whatever the margin
        return line + ": WORSE than random init (check the collapse monitors)"
    if d_rand <= margin:
        return line + ": no clear gain over random init yet (train longer, or check the collapse monitors)"
    if d_raw is not None and d_raw <= margin:
        return line + f": learned features (beats random init) but not yet better than {base}"
    return line + (f": learned useful features (beats random init and {base})" if d_raw is not None
                   else ": learned useful features (beats random init)")


def examples_table(examples: list[Mapping[str, Any]]) -> Table:
    """A method's sample outputs (UI-JEPA: generated intents) next to the reference, one row per example."""
    columns = list(examples[0])
    return table("examples from the test split", columns, [[str(e.get(c, "")) for c in columns] for e in examples])


def print_eval(result: Mapping[str, Any], *, with_verdict: bool = True) -> None:
    console = out()
    console.print(eval_table(result))
    examples = result.get("examples")
    if isinstance(examples, list) and examples and all(isinstance(e, Mapping) for e in examples):
        console.print(examples_table(examples))
    if with_verdict:
        console.print(Text(verdict(result), style="bold"))
    for warning in result.get("warnings") or []:
        console.print(Text(f"warning: {warning}", style="yellow"))
