"""`tjepa/jepa`: core's masked-prediction JEPA for training; T-JEPA's own evaluation.

Core's evaluation pools tokens with a mean, or per grid row; T-JEPA's downstream models read the [REG] token
and the column tokens, so this method extracts its own readout (`reg_mean`: [REG] token(s) concatenated with
the mean of the column tokens, [N, (R + 1) D]) and runs every head of the run on it, at full labels and at each
label budget (a stratified subset of the training rows, the same subset for every compared row), for:
- trained: the run's evaluated encoder (EMA target by default);
- random init: the same architecture rebuilt under the run's seed (the trained encoder's starting point);
- raw: the preprocessed row itself, categories one-hot (`DataSplits.raw_features`).
Scores are named "<head>" (full labels) and "<head> @<n>" (n labelled rows, mean over `budget_draws` subsets).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from jepakit.api import Built, JEPAMethod, ResolvedRun, build_encoder, collapse_stats, head_factory
from jepakit.interfaces import DataSplits, EvalResult, Head, Scores, describe_head
from jepakit_tjepa.config import TJEPAMethodConfig

log = logging.getLogger("jepakit")
MONITOR_ROWS = 512  # as core's collapse monitor: the first 512 training rows


@torch.no_grad()
def readout(encoder: torch.nn.Module, x: torch.Tensor, how: str = "reg_mean", batch: int = 2048) -> np.ndarray:
    """Frozen features of rows x [N, F]: "reg_mean" [N, (R + 1) D], "reg" [N, R D], "columns" [N, D].

    An encoder without [REG] tokens (the collapse ablation) gives the column mean for "reg_mean"; "reg" on it is
    an error. The encoder runs in eval mode and is put back as it was.
    """
    n_cols = int(getattr(encoder, "n_columns", x.shape[1]))
    was = encoder.training
    encoder.eval()
    try:
        out = []
        for i in range(0, len(x), batch):
            z = encoder(x[i : i + batch].float())  # [b, F + R, D]
            reg, cols = z[:, n_cols:].flatten(1), z[:, :n_cols].mean(dim=1)  # [b, R D], [b, D]
            if how == "reg" and reg.shape[1] == 0:
                raise ValueError("method.readout = 'reg' needs an encoder with [REG] tokens (encoder.reg_tokens)")
            out.append({"reg_mean": torch.cat([reg, cols], 1), "reg": reg, "columns": cols}[how].float())
        return torch.cat(out).numpy()
    finally:
        encoder.train(was)


@torch.no_grad()
def pooled_all(encoder: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Mean over every token ([REG] included): exactly what core's training-time collapse monitor reads."""
    was = encoder.training
    encoder.eval()
    try:
        return encoder(x.float()).mean(dim=1).numpy()  # [N, D]
    finally:
        encoder.train(was)


def budget_subsets(y: np.ndarray, budget: int, draws: int, seed: int) -> list[np.ndarray]:
    """`draws` stratified subsets of `budget` training rows (indices), each from its own seed."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    return [
        np.sort(train_test_split(idx, train_size=budget, stratify=y, random_state=seed + d)[0]) for d in range(draws)
    ]


def score_rows(
    heads: dict[str, Callable[[], Head]],
    rows: dict[str, tuple[np.ndarray, np.ndarray]],
    ytr: np.ndarray,
    yte: np.ndarray,
    subsets: list[np.ndarray] | None,
) -> dict[str, dict[str, float]]:
    """{head: {row: accuracy}} with each head fitted afresh per row (and per subset, averaged)."""
    out: dict[str, dict[str, float]] = {}
    for name, factory in heads.items():
        out[name] = {}
        for row, (ftr, fte) in rows.items():
            accs = []
            for sub in subsets if subsets is not None else [np.arange(len(ytr))]:
                head = factory()
                head.fit(ftr[sub], ytr[sub])
                accs.append(float(head.score(fte, yte)[head.metric]))
            out[name][row] = round(float(np.mean(accs)), 2)
    return out


class TJEPAMethod(JEPAMethod):
    """Training as `core/jepa`; evaluation on T-JEPA's readout at full labels and in the low-label regime."""

    def __init__(self, cfg: TJEPAMethodConfig | None = None) -> None:
        self.cfg = cfg or TJEPAMethodConfig()

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        model, splits, cfg = built.model, built.splits, self.cfg
        trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, splits)
        return evaluate_encoders(trained, random_init, splits, resolved, cfg)


def evaluate_encoders(
    trained: torch.nn.Module,
    random_init: torch.nn.Module,
    splits: DataSplits,
    resolved: ResolvedRun,
    cfg: TJEPAMethodConfig,
) -> EvalResult:
    """Every head x {full labels, each budget} x {trained, random init, raw}, plus collapse statistics."""
    train, test = splits.train, splits.test
    if train is None or test is None:
        raise ValueError(f"dataset {splits.name!r} has no labelled train/test split")
    xtr, xte = train.x, test.x  # type: ignore[attr-defined]  # tables are held in memory
    ytr, yte = train.y.numpy(), test.y.numpy()  # type: ignore[attr-defined]
    raw = splits.raw_features or (lambda x: x)
    rows = {
        "trained": (readout(trained, xtr, cfg.readout), readout(trained, xte, cfg.readout)),
        "random_init": (readout(random_init, xtr, cfg.readout), readout(random_init, xte, cfg.readout)),
        "raw": (raw(xtr).numpy(), raw(xte).numpy()),
    }
    heads = {name: head_factory(part) for name, part in resolved.heads.items()}
    metrics = score_rows(heads, rows, ytr, yte, None)
    budgets = sorted({int(b) for b in cfg.label_budgets if int(b) < len(ytr)})
    for b in budgets:
        subsets = budget_subsets(ytr, b, cfg.budget_draws, cfg.budget_seed)
        for name, m in score_rows(heads, rows, ytr, yte, subsets).items():
            metrics[f"{name} @{b}"] = m
    first = {name: factory() for name, factory in heads.items()}
    primary = resolved.eval.primary or next((n for n in heads if n.startswith("linear")), next(iter(heads)))
    scores = {
        name: Scores(
            metric=first[name.split(" @")[0]].metric,
            higher_is_better=bool(first[name.split(" @")[0]].higher_is_better),
            **m,
        )
        for name, m in metrics.items()
    }
    mon = slice(0, MONITOR_ROWS)
    collapse: dict[str, Any] = {
        **_stats(pooled_all(trained, xtr[mon])),
        "random_init": _stats(pooled_all(random_init, xtr[mon])),
    }
    details = {
        "readout_collapse": {
            row: {part: _stats(f) for part, f in _parts(enc, xtr[mon]).items()}
            for row, enc in (("trained", trained), ("random_init", random_init))
        },
        "label_budgets": {"rows": budgets, "draws": cfg.budget_draws, "seed": cfg.budget_seed},
    }
    protocol = (
        f"fixed stratified split {len(ytr)}/{len(yte)} of {splits.name}; features: {cfg.readout} readout "
        "([REG] tokens + mean of column tokens); raw: quantile numbers + one-hot categories; "
        f"{'; '.join(f'{n}: {describe_head(h)}' for n, h in first.items())}; "
        f"full labels and {budgets} labelled rows ({cfg.budget_draws} stratified draws averaged); "
        "identical for trained, random_init and raw"
    )
    return EvalResult(
        variant=resolved.variant,
        dataset=splits.name,
        primary=primary,
        scores=scores,
        collapse=collapse,
        baseline_label="raw preprocessed features (quantile numbers + one-hot categories)",
        encoder=resolved.eval.encoder,
        readout=cfg.readout,
        protocol=protocol,
        n_train=len(ytr),
        n_test=len(yte),
        details=details,
    )


def _parts(encoder: torch.nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    parts = {"columns": readout(encoder, x, "columns")}
    if int(getattr(encoder, "grid", (0,))[0]) > int(getattr(encoder, "n_columns", x.shape[1])):
        parts["reg"] = readout(encoder, x, "reg")
    return parts


def _stats(feats: np.ndarray) -> dict[str, float]:
    return {k: round(v, 5) for k, v in collapse_stats(feats).items()}
