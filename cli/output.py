"""Rendering: data (JSON, tables) goes to stdout, messages (notes, warnings, errors, progress) to stderr.

Keeping the two apart lets `jepakit list --json | jq` work while progress and warnings still reach the user.
Consoles are created per call so they follow whatever sys.stdout/sys.stderr are at that moment (tests swap
them). Every user-supplied string is printed with markup off: a config key like `[loss.pred]` is not rich markup.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from jepakit.engine import results
from jepakit.engine.results import as_result, fmt
from jepakit.interfaces import DEFAULT_EVAL_SET, EvalResult, Scores

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


def settings_table(
    title: str | None,
    lead: list[str],
    keys: list[str],
    tail: list[str],
    rows: list[list[Any]],
    values: list[list[str]],
) -> Table:
    """A table of runs with a column per setting that differs (`keys`, each row's `values`) between the `lead`
    and `tail` columns (each row's cells, lead first); when those columns would not fit the console, one
    "settings" column lists each row's `key=value` lines instead (no header squeezed to a letter a line)."""
    n = len(lead)
    columns = [*lead, *keys, *tail]
    cells = [[*r[:n], *v, *r[n:]] for r, v in zip(rows, values, strict=True)]
    widths = [max([len(c), *(len(str(row[i])) for row in cells)]) for i, c in enumerate(columns)]
    if sum(widths) + 3 * len(columns) + 1 <= out().width:
        return table(title, columns, cells)
    folded = [
        [*r[:n], "\n".join(f"{k}={v}" for k, v in zip(keys, vals, strict=True)) or "-", *r[n:]]
        for r, vals in zip(rows, values, strict=True)
    ]
    return table(title, [*lead, "settings", *tail], folded)


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at emit time (a StreamHandler would pin the stream at start-up)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            prefix = "" if record.levelno < logging.WARNING else f"{record.levelname.capitalize()}: "
            sys.stderr.write(f"{prefix}{record.getMessage()}\n")
        except Exception:  # logging must never take a command down
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


def _head_label(head: str, scores: Scores) -> str:
    """ "linear-probe accuracy"; a head that names its own metric (MC-JEPA's content probes) shows that one."""
    return head if head == scores.metric or head.endswith(scores.metric) else f"{head} {scores.metric}"


def eval_table(result: EvalResult | Mapping[str, Any], set_name: str = "") -> Table:
    """Rows trained / random init / raw input; a column per score, then the collapse monitors."""
    result = as_result(result)
    collapse = result.collapse
    rand = collapse.get("random_init")
    rand_collapse: Mapping[str, Any] = rand if isinstance(rand, Mapping) else {}
    heads = list(result.scores) or [result.primary]
    scores = {h: result.scores.get(h) or Scores(metric=h) for h in heads}
    rows = []
    for label, key in ROWS:
        if key == "raw":
            label = result.baseline_label or label  # e.g. "zero flow" for a flow metric
        cells = [fmt(getattr(scores[h], key)) for h in heads]
        coll = {"trained": collapse, "random_init": rand_collapse}.get(key, {})
        rows.append([label, *cells, fmt(coll.get("feature_std")), fmt(coll.get("effective_rank"), ".1f")])
    title = f"{result.variant or '?'} on {result.dataset or '?'}: {result.main.metric} on frozen features"
    title = f"set {set_name}: {title}" if set_name else title
    names = [_head_label(h, scores[h]) for h in heads]
    t = table(title, ["encoder", *names, "feature std", "eff. rank"], rows)
    bits = [result.protocol] if result.protocol else []
    if result.n_train or result.n_test:
        bits.append(f"n_train={result.n_train} n_test={result.n_test}")
    if bits:
        t.caption, t.caption_justify = "; ".join(bits), "left"
    return t


def verdict(result: EvalResult | Mapping[str, Any]) -> str:
    """The verdict line (`jepakit.engine.results.verdict`, which the HTML report shows too)."""
    return results.verdict(as_result(result)).text


def examples_table(examples: list[Mapping[str, Any]]) -> Table:
    """A method's sample outputs (UI-JEPA: generated intents) next to the reference, one row per example."""
    columns = list(examples[0])
    return table("examples from the test split", columns, [[str(e.get(c, "")) for c in columns] for e in examples])


def print_eval(result: EvalResult | Mapping[str, Any], *, with_verdict: bool = True, set_name: str = "") -> None:
    """One table (and verdict) per evaluation set, the primary set first; then the run's warnings."""
    result = as_result(result)
    console = out()
    blocks = result.sets or {set_name: result}
    for name, block in blocks.items():
        console.print(eval_table(block, set_name=name if name != DEFAULT_EVAL_SET or len(blocks) > 1 else ""))
        examples = block.details.get("examples")
        if isinstance(examples, list) and examples and all(isinstance(e, Mapping) for e in examples):
            console.print(examples_table(examples))
        if with_verdict:
            text = verdict(block)
            console.print(
                Text(text.replace("Verdict:", f"Verdict (set {name}):", 1) if len(blocks) > 1 else text, style="bold")
            )
    for warning in result.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
