"""Training progress on stderr: a rich progress bar on a terminal, plain log lines everywhere else.

A bar in a CI log or a redirected file is an unreadable smear of carriage returns, so when stderr is not a
terminal we print one line every `every` steps (the run's `log_every`) and at the end.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from jepakit.cli import output


def format_metrics(metrics: dict[str, Any], limit: int = 3) -> str:
    """`loss=0.1234 vicreg=...`: the first few numeric metrics, loss first; then, once the online probe has
    run, its k-NN accuracy next to the random-init figure it has to rise above (`knn=71.3% (init 42.1%)`)."""
    step = [k for k in metrics if not k.startswith("online_")]
    keys = sorted(step, key=lambda k: (k != "loss", step.index(k)))
    parts = [f"{k}={metrics[k]:.4g}" for k in keys if isinstance(metrics[k], (int, float))][:limit]
    knn, init = metrics.get("online_knn"), metrics.get("online_knn_random_init")
    if isinstance(knn, (int, float)):
        parts.append(f"knn={knn:.1f}%" + (f" (init {init:.1f}%)" if isinstance(init, (int, float)) else ""))
    return " ".join(parts)


class ProgressReporter:
    """The `progress(done, total, metrics)` callback core's `train` calls after every step."""

    def __init__(
        self, every: int = 10, description: str = "training", terminal: bool | None = None, when_done: str = ""
    ) -> None:
        self.every = max(1, int(every))
        self.when_done = when_done  # printed once the last step is done (e.g. "evaluating ...")
        self.description = description
        self.terminal = output.err().is_terminal if terminal is None else terminal
        self._bar: Progress | None = None
        self._task: Any = None
        self._t0 = time.perf_counter()
        self._first: int | None = None

    def __enter__(self) -> ProgressReporter:
        if self.terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=24),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[metrics]}"),
                console=output.err(),
            )
            self._bar.start()
        return self

    def __call__(self, done: int, total: int, metrics: dict[str, Any]) -> None:
        if self._first is None:  # the first step this process ran (a resumed run starts part-way): the rate
            self._first, self._t0 = done, time.perf_counter()  # counts the steps after it, never the resumed ones
        text = format_metrics(metrics)
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task(self.description, total=total, completed=done, metrics=text)
            self._bar.update(self._task, completed=done, total=total, metrics=text)
        elif done % self.every == 0 or done == total:
            seconds = time.perf_counter() - self._t0
            rate = f" ({(done - self._first) / seconds:.1f} steps/s)" if done > self._first and seconds > 0 else ""
            sys.stderr.write(f"step {done}/{total} {text}{rate}\n")
            sys.stderr.flush()
        if done >= total:
            self._finish()

    def _finish(self) -> None:
        """Stop the bar at the last step: what follows (plots, evaluation) must not redraw it."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.when_done:
            output.note(self.when_done)
            self.when_done = ""

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class EvalProgress:
    """The `(label, done, total)` callback core's evaluation calls after every batch of features
    (`jepakit.engine.eval_data.evaluation_progress`): one bar per pass on a terminal (started on the first call,
    so it never competes with the training bar), else a line every `every_s` seconds of a long pass and one when
    a pass that took `min_s` or more ends (a tiny run's evaluation stays quiet)."""

    def __init__(self, terminal: bool | None = None, every_s: float = 30.0, min_s: float = 1.0) -> None:
        self.terminal = output.err().is_terminal if terminal is None else terminal
        self.every_s, self.min_s = every_s, min_s
        self._bar: Progress | None = None
        self._tasks: dict[str, Any] = {}
        self._started: dict[str, float] = {}
        self._last: dict[str, float] = {}

    def __enter__(self) -> EvalProgress:
        return self

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.perf_counter()
        t0 = self._started.setdefault(label, now)
        if self.terminal:
            if self._bar is None:
                self._bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(bar_width=24),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=output.err(),
                    transient=True,
                )
                self._bar.start()
            if label not in self._tasks:
                self._tasks[label] = self._bar.add_task(label, total=total)
            self._bar.update(self._tasks[label], completed=done, total=total)
            if done >= total:
                self._bar.remove_task(self._tasks.pop(label))
                self._started.pop(label, None)
        else:
            if (now - t0 >= self.min_s and done >= total) or now - self._last.get(label, t0) >= self.every_s:
                self._last[label] = now
                what = label if label.rsplit(": ", 1)[-1].startswith("probe ") else f"features {label}"
                sys.stderr.write(f"{what}: {done}/{total} ({now - t0:.1f} s)\n")
                sys.stderr.flush()
            if done >= total:
                self._started.pop(label, None)
                self._last.pop(label, None)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
