"""eval.json: the one writer, the one reader, and the one verdict every printout shares.

Methods return an `EvalResult` and never write it; `write_eval` adds what only core knows (the training summary
from metrics.jsonl, the collapse warnings of the log and of the evaluated encoder, the schema version) and writes
the file atomically, so `run.on_collapse = "warn"` reaches eval.json whatever method trained the run.
`verdict` turns a result into words once, so `jepakit train`/`eval` and the HTML report say the same thing.
Torch-free (the writer imports the run directory, which does, only when called).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from jepakit.interfaces import EVAL_SCHEMA, EvalResult, Scores

if TYPE_CHECKING:  # pragma: no cover
    from jepakit.engine.runs import RunDir
    from jepakit.framework.compose import ResolvedRun

#: the warning for an evaluated encoder whose features barely vary (every method's result carries `collapse`)
FEATURE_STD_WARNING = "representation collapse: the evaluated encoder's feature std {std} is below {threshold}"


def write_eval(result: EvalResult, resolved: ResolvedRun, run_dir: RunDir | str | Path) -> EvalResult:
    """Complete a method's result and write it as RUN_DIR/eval.json (atomically); returns what was written.

    Added here, for every method: `train` (steps and final loss of metrics.jsonl's last row), `warnings` (the
    collapse warnings the training loop logged, then one if the evaluated encoder's feature std is below
    `run.collapse_std`; a method's own warnings are kept after them) and the schema version.
    """
    from jepakit.engine.runs import RunDir, collapse_warnings

    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    rows = run_dir.read_metrics()
    train = {"steps": rows[-1].get("step"), "final_loss": rows[-1].get("loss")} if rows else dict(result.train)
    warnings = collapse_warnings(rows)
    std, threshold = result.collapse.get("feature_std"), resolved.run.collapse_std
    if isinstance(std, (int, float)) and std < threshold:
        warnings.append(FEATURE_STD_WARNING.format(std=std, threshold=threshold))
    warnings += [w for w in result.warnings if w not in warnings]
    done = dataclasses.replace(
        result, variant=result.variant or resolved.variant, warnings=warnings, train=train, schema=EVAL_SCHEMA
    )
    run_dir.write_eval(done.to_dict())
    return done


def read_eval(path: str | Path | Any) -> EvalResult:
    """eval.json of a run directory (a path, a `RunDir`) or the file itself, in either layout, as an `EvalResult`.

    Raises OSError when it cannot be read and ValueError when it is not a JSON object.
    """
    p = Path(getattr(path, "path", path))
    if p.is_dir():
        p = p / "eval.json"
    data = json.loads(p.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{p} does not hold a JSON object")  # as for bad JSON: not an eval.json
    return EvalResult.from_dict(data)


def as_result(result: EvalResult | Mapping[str, Any]) -> EvalResult:
    """An `EvalResult` from either the type or eval.json's dict (methods written before the type returned dicts)."""
    return result if isinstance(result, EvalResult) else EvalResult.from_dict(dict(result))


# --- the verdict ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether training helped, in words: trained vs the same encoder at random init vs the third row.

    `outcome` is one of "useful" (beats random init and the baseline), "beats_random_init", "no_gain", "worse",
    "no_scores"; `words` says it for people; `comparison` holds the numbers it rests on; `margin` is the noise
    margin used (0 where the metric has none). `disagree` names the other probes whose own verdict differs (the
    k-NN below raw input while the linear probe beats it): the verdict rests on the primary score, but a reader
    must not take it as every probe's.
    """

    outcome: str
    words: str
    comparison: str = ""
    metric: str = ""
    margin: float = 0.0
    disagree: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The one line the CLI prints and the report shows."""
        line = f"Verdict: {self.comparison}: {self.words}" if self.comparison else f"Verdict: {self.words}"
        return f"{line}. Not every probe agrees: {'; '.join(self.disagree)}" if self.disagree else line

    def __str__(self) -> str:
        return self.text


def fmt(value: Any, spec: str = ".4g") -> str:
    """A number for a table cell ('-' when missing); .4g keeps 7.15 and 0.05072 both readable."""
    if isinstance(value, bool) or value is None:
        return "-"
    if isinstance(value, (int, float)):
        return "nan" if isinstance(value, float) and math.isnan(value) else format(value, spec)
    return str(value)


def _is_num(v: object) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def noise_margin(scores: Scores, n_test: int) -> float:
    """Two standard errors of a difference of two test accuracies (0 when the metric is not an accuracy).

    Accuracies may be fractions or percentages; a trained score above 1 means percent.
    """
    if scores.metric != "accuracy" or not isinstance(scores.trained, (int, float)) or n_test <= 0:
        return 0.0
    trained = float(scores.trained)
    scale = 100.0 if trained > 1.0 else 1.0
    p = min(max(trained / scale, 0.0), 1.0)
    return 2.0 * math.sqrt(2.0 * max(p * (1.0 - p), 1.0 / n_test) / n_test) * scale


def judged_scores(result: EvalResult) -> Scores | None:
    """The score the verdict reads: the primary one, else the first with a trained and a random-init number."""
    for sc in (result.main, *result.scores.values()):
        if _is_num(sc.trained) and _is_num(sc.random_init):
            return sc
    return None


#: One probe's outcome in a few words, for the probes whose verdict differs from the judged score's.
IN_SHORT = {
    "useful": "beats random init and {base}",
    "beats_random_init": "beats random init but not {base}",
    "no_gain": "no clear gain over random init",
    "worse": "worse than random init",
}


def verdict(result: EvalResult | dict[str, Any]) -> Verdict:
    """Say whether training helped. Differences within the noise margin (two standard errors of the test
    accuracy) are called what they are: no clear gain; a tie is never "worse", whatever the margin. The verdict
    reads the primary score; every other probe whose own verdict differs is named with its numbers."""
    result = as_result(result)
    sc = judged_scores(result)
    if sc is None:
        return Verdict("no_scores", "no comparable scores in the evaluation")
    judged = _judge(sc, result)
    base = result.baseline_label or "raw input"
    disagree = []
    for name, other in result.scores.items():
        if other is sc or other == sc or not (_is_num(other.trained) and _is_num(other.random_init)):
            continue
        own = _judge(other, result)
        if own.outcome != judged.outcome:
            numbers = f"trained {fmt(other.trained)} vs random init {fmt(other.random_init)}"
            numbers += f" vs {base} {fmt(other.raw)}" if _is_num(other.raw) else ""
            disagree.append(f"{_head_label(name, other)} {numbers}: {IN_SHORT[own.outcome].format(base=base)}")
    return dataclasses.replace(judged, disagree=tuple(disagree))


def _head_label(head: str, scores: Scores) -> str:
    """ "knn accuracy"; a head that names its own metric (MC-JEPA's content probes) is said once."""
    return head if head == scores.metric or head.endswith(scores.metric) else f"{head} {scores.metric}"


def _judge(sc: Scores, result: EvalResult) -> Verdict:
    """The verdict of one score with a trained and a random-init number (`verdict` picks which)."""
    # the caller checked that `sc` has both numbers, which mypy cannot see through the call
    trained, rand, raw = float(sc.trained), float(sc.random_init), sc.raw  # type: ignore[arg-type]
    sign = 1.0 if sc.higher_is_better else -1.0
    margin = noise_margin(sc, result.n_test)
    d_rand = sign * (trained - rand)
    d_raw = sign * (trained - raw) if _is_num(raw) else None
    base = result.baseline_label or "raw input"  # what the third row is: raw input, chance, zero flow
    line = f"trained {fmt(sc.trained)} vs random init {fmt(sc.random_init)} ({d_rand:+.3g})"
    line += f" vs {base} {fmt(raw)} ({d_raw:+.3g})" if d_raw is not None else ""
    if sc.metric == "accuracy" and sign > 0 and 0 <= rand < 100 and trained <= 100 and rand > 1:
        ratio = (100 - trained) / (100 - rand)
        line += f"; error {100 - trained:.1f} % vs {100 - rand:.1f} % at random init (x{ratio:.2f})"
    if d_rand < 0 and d_rand <= -margin:
        return Verdict("worse", "WORSE than random init (check the collapse monitors)", line, sc.metric, margin)
    if d_rand <= margin:
        return Verdict(
            "no_gain",
            "no clear gain over random init yet (train longer, or check the collapse monitors)",
            line,
            sc.metric,
            margin,
        )
    if d_raw is not None and d_raw <= margin:
        return Verdict(
            "beats_random_init",
            f"learned features (beats random init) but not yet better than {base}",
            line,
            sc.metric,
            margin,
        )
    words = (
        f"learned useful features (beats random init and {base})"
        if d_raw is not None
        else "learned useful features (beats random init)"
    )
    return Verdict("useful", words, line, sc.metric, margin)
