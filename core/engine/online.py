"""The online probe: is the encoder learning while it trains? A JEPA's falling loss cannot say (a collapsed
encoder's loss falls too), a probe can.

Every `eval.online_every` steps rank 0 extracts the evaluated encoder's features (`eval.encoder`, with the run's
`eval.readout`) of a fixed subset of the run's primary evaluation set (the first `[eval.sets]` entry, else the
pretraining dataset's own labelled split): `eval.online_samples` samples of its train split as the bank and as
many of its test split as queries, each a stratified subset drawn with a fixed seed (the same for every run and
seed, as `max_samples` draws). It logs the k-NN accuracy of the queries against the bank (`online_knn`, the run's
k-NN head settings), optionally a linear probe's (`online_linear`), and RankMe, the effective rank of the bank's
features (`online_rankme`). The same figures for the model's initial encoder are measured once, before the first
step, and logged on the first step's row (`online_knn_random_init` ...): the line the curve has to rise above. A
resumed run reads them back from metrics.jsonl; its weights are no longer the initial ones.

The probe only watches. Features are extracted under no_grad with the encoder in eval mode (its mode restored),
the global random generators (torch, numpy, Python) are restored after it, and no collective runs, so a run's
losses and eval.json are identical with and without it; the other ranks of a distributed run wait for rank 0 in
the next step's collective. A k-NN accuracy that falls back toward its random-init figure while the loss falls
is the collapse signature: `collapse_signature` finds it in a metrics log, the training loop warns once and
flags the row, and eval.json's warnings carry it (`signature_warnings`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from jepakit.framework.compose import ResolvedRun

log = logging.getLogger("jepakit")

#: what the random-init row's keys end with, and the probe's figures that get one
INIT = "_random_init"
FIGURES = ("online_knn", "online_linear", "online_rankme")
#: the flag of the row where the collapse signature showed (its value: the k-NN peak it fell from)
WARNING_KEY = "online_collapse_warning"
#: logged losses averaged when the signature compares the loss now with the loss at the probe's peak
LOSS_WINDOW = 5


@dataclass(frozen=True)
class Signature:
    """Where a metrics log shows the collapse signature: k-NN `knn` at `step`, down from `peak` at `peak_step`,
    back toward the random-init `init`, while the smoothed loss fell from `peak_loss` to `loss`."""

    step: int
    knn: float
    peak: float
    peak_step: int
    init: float
    loss: float
    peak_loss: float

    def words(self) -> str:
        return (
            f"online probe: k-NN accuracy fell from {self.peak:g} (step {self.peak_step}) to {self.knn:g} at "
            f"step {self.step}, back toward its random-init {self.init:g}, while the loss fell "
            f"({self.peak_loss:.4g} -> {self.loss:.4g}): the collapse signature"
        )


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _margin(acc: float, n: int) -> float:
    """Two standard errors of a difference of two accuracies (percent) measured on `n` queries."""
    p = min(max(acc / 100.0, 0.0), 1.0)
    n = max(int(n), 1)
    return 200.0 * math.sqrt(2.0 * max(p * (1.0 - p), 1.0 / n) / n)


def collapse_signature(rows: list[dict[str, Any]]) -> Signature | None:
    """The first probe row of a metrics log whose k-NN accuracy shows the collapse signature, else None.

    The probe must first have learned (its peak more than two noise margins above the random-init figure); the
    signature is a later probe that lost more than a margin and at least half of that gain, while the loss
    (the mean of the last `LOSS_WINDOW` logged losses) is below what it was at the peak. A probe that never rose
    is no signature (nothing was learned to lose); the margin is `_margin` on the logged query count.
    """
    init: float | None = None
    n = 100
    losses: deque[float] = deque(maxlen=LOSS_WINDOW)
    peak: tuple[float, int, float] | None = None  # (k-NN, step, smoothed loss)
    for r in rows:
        if _finite(r.get("online_knn" + INIT)):
            init, n = float(r["online_knn" + INIT]), int(r.get("online_queries", n))
        if _finite(r.get("loss")):
            losses.append(float(r["loss"]))
        if init is None or not _finite(r.get("online_knn")):
            continue
        knn = float(r["online_knn"])
        loss = sum(losses) / len(losses) if losses else float("nan")
        if peak is not None:
            gain, m = peak[0] - init, _margin(peak[0], n)
            if gain > 2 * m and peak[0] - knn > m and knn - init <= gain / 2 and loss < peak[2]:
                return Signature(int(r["step"]), knn, peak[0], peak[1], init, loss, peak[2])
        if peak is None or knn > peak[0]:
            peak = (knn, int(r["step"]), loss)
    return None


def signature_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """eval.json's warning for a log whose training loop flagged the collapse signature (once per run)."""
    if not any(r.get(WARNING_KEY) for r in rows):
        return []
    sig = collapse_signature(rows)
    return [sig.words()] if sig is not None else []


def random_init_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The random-init figures (and query count) a run logged once, from its metrics log; {} when it has none."""
    for r in rows:
        if ("online_knn" + INIT) in r:
            return {k: v for k, v in r.items() if k.endswith(INIT) or k in ("online_samples", "online_queries")}
    return {}


@contextlib.contextmanager
def _rng_untouched(device: torch.device) -> Iterator[None]:
    """Whatever runs inside may draw random numbers: torch's (CPU and `device`), numpy's and Python's global
    generators come out as they went in, so the training run's random stream is the one it would have had."""
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _subset(split: Any, n: int) -> Any:
    """A fixed stratified `n` of a split (the whole split when it is no larger)."""
    from jepakit.engine.eval_data import CappedSplit, labels_of, stratified_subset

    if len(split) <= n:
        return split
    idx = stratified_subset(labels_of(split), n)
    cut = getattr(split, "subset", None)  # a split that knows how to cut itself keeps its own type
    return cut(idx) if callable(cut) else CappedSplit(split, idx)


def _probe_splits(resolved: ResolvedRun, built: Any) -> Any:
    """What the probe reads: the primary evaluation set (`[eval.sets]`'s first, capped as evaluation caps it),
    else the pretraining dataset's own split; None, with one log line, when the set cannot be built."""
    if not resolved.sets:
        return built.splits
    from jepakit.engine.run_eval import build_set
    from jepakit.errors import JepakitError

    name, es = next(iter(resolved.sets.items()))
    try:
        with _rng_untouched(torch.device("cpu")):  # a dataset built with its own seed must not move the run's
            return build_set(resolved, built, es)
    except JepakitError as exc:
        log.info("online probe off: evaluation set %s: %s", name, exc.message)
        return None


def _head(resolved: ResolvedRun, name: str, default: Any) -> Any:
    """The run's own head of this registry name (its settings, e.g. k), else the head with its defaults."""
    from jepakit.engine.run_eval import head_factory

    for part in resolved.heads.values():
        if part.spec.name == name:
            return head_factory(part)
    return default


class OnlineProbe:
    """Rank 0's online probe of one run; `start` builds it (or says why not), `after_step` runs it."""

    def __init__(self, resolved: ResolvedRun, encoder: torch.nn.Module, bank: Any, queries: Any, run_dir: Any) -> None:
        from jepakit.builtin.heads import KNNProbe, LinearProbe

        self.resolved, self.encoder, self.bank, self.queries, self.run_dir = resolved, encoder, bank, queries, run_dir
        self.every = resolved.eval.online_every
        self.knn = _head(resolved, "core/knn", KNNProbe)
        self.linear = _head(resolved, "core/linear-probe", LinearProbe) if resolved.eval.online_linear else None
        self.init: dict[str, Any] = {}
        self.pending: dict[str, Any] = {}  # the random-init row's keys, logged with the first step
        self.shown: dict[str, float] = {}  # the latest figures, for the progress line

    @classmethod
    def start(cls, resolved: ResolvedRun, built: Any, run_dir: Any, start: int) -> OnlineProbe | None:
        """The run's probe, its random-init figures measured (a fresh run) or read back (a resumed one); None,
        with one log line saying why, when it is off, no probe step is left, or there is nothing to probe."""
        every, steps = resolved.eval.online_every, resolved.optim.steps
        if every <= 0 or steps // every <= start // every:
            return None  # off, or no multiple of `every` in (start, steps]: no cost at all
        splits, model = _probe_splits(resolved, built), built.model
        if splits is None:
            return None
        if splits.train is None or splits.test is None:
            log.info("online probe off: %s has no labelled train/test split to probe", splits.name)
            return None
        encoder = getattr(model, "teacher" if resolved.eval.encoder == "target" else "encoder", None)
        if not isinstance(encoder, torch.nn.Module):
            log.info(
                "online probe off: the %s model has no %s encoder to probe", resolved.variant, resolved.eval.encoder
            )
            return None
        n = resolved.eval.online_samples
        probe = cls(resolved, encoder, _subset(splits.train, n), _subset(splits.test, n), run_dir)
        if start == 0:  # the model is still its initial self: measure the line the curve must rise above
            t0 = time.perf_counter()
            try:
                figures = probe.measure()
            except Exception as exc:  # an observer must never stop a run it cannot watch
                log.warning(
                    "online probe off: the %s encoder cannot be probed with the %s readout (%s: %s)",
                    resolved.eval.encoder,
                    resolved.eval.readout,
                    type(exc).__name__,
                    exc,
                )
                return None
            probe.init = {
                **{k + INIT: v for k, v in figures.items()},
                "online_samples": len(probe.bank),
                "online_queries": len(probe.queries),
            }
            probe.pending = {**probe.init, "online_s": round(time.perf_counter() - t0, 3)}
        else:
            probe.init = random_init_of(run_dir.read_metrics())
            if not probe.init:
                log.info(
                    "online probe: metrics.jsonl holds no random-init figure (the run started without the "
                    "probe): the curve is drawn without it"
                )
        probe.shown = {k: v for k, v in probe.init.items() if k.endswith(INIT)}
        return probe

    def measure(self) -> dict[str, float]:
        """k-NN (and linear) accuracy of the queries against the bank, and RankMe of the bank's features."""
        from jepakit.engine.eval_data import evaluation_progress
        from jepakit.engine.evaluate import collapse_stats, extract_features

        try:
            device = next(self.encoder.parameters()).device
        except StopIteration:
            device = torch.device("cpu")
        rc, readout = self.resolved.run, self.resolved.eval.readout
        with _rng_untouched(device), evaluation_progress(lambda *_: None):  # no progress bar mid-training
            bank = extract_features(self.encoder, self.bank, readout=readout, workers=rc.workers)  # [Nb, F], [Nb]
            queries = extract_features(self.encoder, self.queries, readout=readout, workers=rc.workers)
        out: dict[str, float] = {}
        for key, factory in (("online_knn", self.knn), ("online_linear", self.linear)):
            if factory is not None:
                head = factory()
                head.fit(*bank)
                out[key] = round(float(head.score(*queries)[head.metric]), 2)
        out["online_rankme"] = round(float(collapse_stats(bank[0])["effective_rank"]), 3)
        return out

    def after_step(self, done: int, loss: float) -> dict[str, Any]:
        """The keys this step's metrics row gets: the random-init figures on the first step, the probe's figures
        on every `every`-th; the collapse-signature flag (and one warning) where the signature first shows."""
        out, self.pending = self.pending, {}
        if done % self.every == 0:
            t0 = time.perf_counter()
            figures = self.measure()
            out.update(figures, online_s=round(time.perf_counter() - t0, 3))
            if self.init:
                sig = collapse_signature([*self.run_dir.read_metrics(), {"step": done, "loss": loss, **out}])
                if sig is not None and sig.step == done:
                    out[WARNING_KEY] = sig.peak
                    log.warning(
                        "%s (check the collapse monitors; an anti-collapse term such as core/vicreg helps)", sig.words()
                    )
            self.shown = {**figures, **{k: v for k, v in self.init.items() if k.endswith(INIT)}}
        return out
