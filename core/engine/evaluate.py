"""Frozen-feature evaluation: readouts, probes, collapse monitors, and the trained / random-init / raw comparison.

The protocol is fixed and identical for every row (docs/recipes.md): probes fit on features of the fixed
train split and score on the fixed test split; the linear probe standardizes with train statistics, then runs
L2 logistic regression (lbfgs). A trained encoder only counts as better if it beats the same architecture at
random init *and* raw pixels under that one protocol.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from jepakit.builtin.heads import KNNProbe, LinearProbe
from jepakit.engine.eval_data import batches, report_progress
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits, Encoder, EvalResult, Head, Scores, describe_head, head_input

READOUTS = ("mean", "last4_mean", "rows_mean")
MONITOR_SAMPLES = 512  # collapse stats use the first 512 training images, as the training-time monitor does


def _readout(encoder: torch.nn.Module, x: torch.Tensor, readout: str, tokens: bool = False) -> torch.Tensor:
    """Pooled [b, F], or per-token [b, N, F] when `tokens` (for heads such as the attentive probe)."""
    if readout in ("mean", "rows_mean"):
        z = encoder(x)  # [b, N, D] final-normed, N = prod(grid) row-major
    else:
        blocks = cast(Encoder, encoder).forward_layers(x, 4)  # last 4 blocks: an Encoder's contract
        z = torch.cat([F.layer_norm(b, b.shape[-1:]) for b in blocks], dim=-1)  # [b, N, 4D]
    return z if tokens else pool_tokens(z, readout, getattr(encoder, "grid", None))


def pool_tokens(z: Any, readout: str, grid: Any = None) -> Any:
    """Token features [b, N, F] (tensor or array) -> the readout's pooled features [b, F']: the mean over tokens
    ("mean"; "last4_mean", whose per-layer means concatenated are the mean of the concatenation), or per first
    grid axis ("rows_mean": [b, grid[0] * F]). Heads on pooled and on token features can so share one pass."""
    if readout != "rows_mean":
        return z.mean(1)
    if not grid or len(grid) < 2:
        raise JepakitError(
            "eval.readout: rows_mean needs an encoder with a token grid of 2 or more axes",
            'use readout = "mean" for this encoder',
        )
    return z.reshape(len(z), grid[0], -1, z.shape[-1]).mean(2).reshape(len(z), -1)  # [b, grid[0] * F]


def extract_features(
    encoder: torch.nn.Module,
    dataset: Any,
    *,
    readout: str = "mean",
    batch_size: int = 256,
    tokens: bool = False,
    workers: int = 0,
    label: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Frozen features of a whole split: (feats [N, F] float32, or [N, T, F] with `tokens`, labels [N]).

    Inputs are read batch by batch (a DataLoader with `workers` processes for a split not held in memory) and
    each batch is reported as progress under `label` (`jepakit.engine.eval_data`); only the features are kept.

    "mean" averages the final-normed tokens (I-JEPA's readout); "last4_mean" layer-norms (no affine) each of the
    last 4 block outputs, mean-pools and concatenates them, which reads more than the last layer's view.
    "rows_mean" averages over every grid axis but the first and concatenates along it (one vector per EEG
    electrode, or per video frame): where the class lives in *which* row is active (left vs right motor cortex),
    a global mean erases it. Needs a fixed grid, so the probe's train and test recordings share a montage.
    """
    if readout not in READOUTS:
        raise JepakitError(f"eval.readout: unknown readout {readout!r}", f"choose one of: {', '.join(READOUTS)}")
    was_training = encoder.training
    try:
        device = next(encoder.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    feats, labels = [], []
    encoder.eval()
    try:
        with torch.no_grad():
            for x, y in batches(dataset, batch_size, workers=workers, label=label):
                f = _readout(encoder, x.to(device=device, dtype=torch.float32), readout, tokens)  # [b, (T,) F]
                feats.append(f.float().cpu())
                labels.append(y.cpu())
    finally:
        encoder.train(was_training)
    if not feats:
        raise JepakitError("cannot extract features from an empty dataset", "check the dataset's splits")
    return torch.cat(feats).numpy().astype(np.float32, copy=False), torch.cat(labels).numpy()


def raw_features(
    dataset: Any, batch_size: int = 1024, transform: Any = None, *, workers: int = 0, label: str = "raw input"
) -> tuple[np.ndarray, np.ndarray]:
    """The raw-input baseline any learned feature should beat: flattened inputs [N, C*H*W], or, where the
    dataset defines `raw_features` (log-mel for audio, band power for EEG), that transform's [N, F]."""

    def feats(x: torch.Tensor) -> torch.Tensor:
        return (transform(x) if transform is not None else x).reshape(len(x), -1).float()

    xs, ys = zip(*((feats(x), y) for x, y in batches(dataset, batch_size, workers=workers, label=label)), strict=True)
    return torch.cat(xs).numpy(), torch.cat(ys).numpy()


def collapse_stats(feats: np.ndarray) -> dict[str, float]:
    """Per-dimension std (mean over dims) and effective rank of features [N, F] (docs/recipes.md).

    Effective rank = exp(entropy of the normalised singular values of the centred features) (RankMe): about 1
    when all samples lie on one line (dimensional collapse), up to min(N, F) for isotropic features. A fully
    constant matrix has no spread at all and gets effective rank 0. Non-finite features give NaN for both.
    """
    z = np.asarray(feats, dtype=np.float64)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError(f"collapse_stats needs features [N >= 2, F], got shape {z.shape}")
    if not np.isfinite(z).all():
        return {"feature_std": float("nan"), "effective_rank": float("nan")}
    std = float(z.std(axis=0, ddof=1).mean())
    s = np.linalg.svd(z - z.mean(axis=0, keepdims=True), compute_uv=False)
    if s.sum() <= 1e-12 * max(1.0, float(np.abs(z).max())):
        return {"feature_std": std, "effective_rank": 0.0}
    p = s / s.sum()
    p = p[p > 0]
    return {"feature_std": std, "effective_rank": float(np.exp(-(p * np.log(p)).sum()))}


def _primary(heads: dict[str, Any], primary: str | None = None) -> str:
    """The head whose score fills the top-level trained/random_init/baseline_raw: `primary` when given (a run's
    `[eval] primary`, resolved and checked by composition), else the first head named "linear...", else the first."""
    if primary:
        if primary not in heads:
            raise JepakitError(f'eval.primary: no head named "{primary}"', f"name one of: {', '.join(heads)}")
        return primary
    for name in heads:
        if name.startswith("linear"):
            return name
    return next(iter(heads))


def evaluate_encoders(
    trained: torch.nn.Module,
    random_init: torch.nn.Module,
    splits: DataSplits,
    *,
    readout: str = "mean",
    heads: dict[str, Callable[[], Head]] | None = None,
    primary: str | None = None,
    workers: int = 0,
    features: dict[str, Any] | None = None,
) -> EvalResult:
    """Every head on trained features, random-init features and raw inputs, plus collapse monitors.

    `heads` maps a name to a zero-argument factory (default: "linear" and "knn"). Each head is fitted afresh
    per row, so all three rows share one protocol. Scores are percentages rounded to 2 decimals. Returns an
    `EvalResult` with one `Scores` per head (primary: `primary`, else the linear probe where there is one) and
    no variant: the caller knows which run it is. `workers` DataLoader processes read splits not held in memory.

    Each split passes through each encoder once: when a head reads tokens, the pooled features are pooled from
    those tokens (`pool_tokens`). `features`, when given, receives the rows' (train, test) pooled features, so a
    caller (the embedding plot) need not extract them again.
    """
    heads = dict(heads) if heads is not None else {"linear": LinearProbe, "knn": KNNProbe}
    if not heads:
        raise JepakitError("no evaluation heads configured", "add a head, e.g. the linear probe")
    if readout not in READOUTS:
        raise JepakitError(f"eval.readout: unknown readout {readout!r}", f"choose one of: {', '.join(READOUTS)}")
    train_set, test_set = splits.train, splits.test
    if train_set is None or test_set is None:
        raise JepakitError(
            f"dataset {splits.name!r} has no train and test split to evaluate on",
            "evaluate on a labelled set: [eval.sets.NAME] in the run, or `jepakit eval RUN --data DATASET`",
        )

    def feats(enc: torch.nn.Module, row: str, split: str, tokens: bool = False) -> Any:
        return extract_features(
            enc,
            getattr(splits, split),
            readout=readout,
            tokens=tokens,
            workers=workers,
            label=f"{row}{' tokens' if tokens else ''}, {split} split",
        )

    needs_tokens = any(head_input(factory()) == "tokens" for factory in heads.values())
    token_rows: dict[str, Any] = {}

    def encoded(enc: torch.nn.Module, row: str) -> tuple[Any, Any]:
        """(train, test) pooled features of one encoder; with a token head, pooled from its token features."""
        if not needs_tokens:
            return feats(enc, row.replace("_", " "), "train"), feats(enc, row.replace("_", " "), "test")
        token_rows[row] = tuple(feats(enc, row.replace("_", " "), split, tokens=True) for split in ("train", "test"))
        grid = getattr(enc, "grid", None)
        pooled = [(pool_tokens(torch.from_numpy(t), readout, grid).numpy(), y) for t, y in token_rows[row]]
        return pooled[0], pooled[1]  # torch's reduction: the same numbers as pooling batch by batch

    rows = {
        "trained": encoded(trained, "trained"),
        "random_init": encoded(random_init, "random_init"),
        "raw": tuple(
            raw_features(
                getattr(splits, split),
                transform=splits.raw_features,
                workers=workers,
                label=f"raw input, {split} split",
            )
            for split in ("train", "test")
        ),
    }
    if features is not None:
        features.update(rows)

    def tokens_of(row: str) -> Any:
        """Token features for heads with `input = "tokens"`; raw inputs count as one token."""
        return token_rows.get(row, rows[row])

    metrics: dict[str, dict[str, float]] = {}
    described: list[str] = []
    first: dict[str, Head] = {}
    for name, factory in heads.items():
        metrics[name] = {}
        t0 = time.perf_counter()
        for k, row in enumerate(rows, 1):
            head = factory()
            first.setdefault(name, head)
            train, test = tokens_of(row) if head_input(head) == "tokens" else rows[row]
            head.fit(*train)
            metrics[name][row] = round(float(head.score(*test)[head.metric]), 2)
            report_progress(f"probe {name} (trained, random init, raw input)", k, len(rows), t0)
        described.append(f"{name}: {describe_head(first[name])}")
    main = _primary(heads, primary)
    for label, (train_y, test_y) in splits.extra_labels.items():
        # other labels of the same samples (V-JEPA's clips: the digit and the motion direction), read by the
        # primary head from the same features, so one run answers both questions
        metrics[f"{main} ({label})"] = {}  # scored with the primary head's metric
        for row in rows:
            head = heads[main]()
            train, test = tokens_of(row) if head_input(head) == "tokens" else rows[row]
            head.fit(train[0], np.asarray(train_y))
            metrics[f"{main} ({label})"][row] = round(float(head.score(test[0], np.asarray(test_y))[head.metric]), 2)
    n_train, n_test = len(train_set), len(test_set)  # type: ignore[arg-type]  # torch's Dataset declares no __len__
    protocol = (
        f"fixed stratified split {n_train}/{n_test} of {splits.name}; features: {readout} readout "
        f"(raw: {'dataset raw features' if splits.raw_features else 'flattened inputs'}); {'; '.join(described)}; "
        "fit on train, scored on test; "
        "identical for trained, random_init and raw"
    )
    scores: dict[str, Scores] = {}
    for name, m in metrics.items():  # a head's own metric; an extra label's is the primary head's
        head = first.get(name, first[main])
        scores[name] = Scores(
            metric=str(head.metric),
            trained=m["trained"],
            random_init=m["random_init"],
            raw=m["raw"],
            higher_is_better=bool(head.higher_is_better),
        )
    return EvalResult(
        variant="",
        dataset=splits.name,
        primary=main,
        scores=scores,
        readout=readout,
        protocol=protocol,
        n_train=n_train,
        n_test=n_test,
        collapse={
            **_monitor(trained, train_set, readout, rows["trained"][0][0], "trained"),
            "random_init": _monitor(random_init, train_set, readout, rows["random_init"][0][0], "random init"),
        },
    )


def _monitor(
    encoder: torch.nn.Module, train_set: Any, readout: str, train_feats: np.ndarray, row: str = ""
) -> dict[str, float]:
    """Collapse stats of mean-pooled features of the first 512 training images: the training monitor's numbers."""
    if readout == "mean":
        feats = train_feats[:MONITOR_SAMPLES]
    else:
        n = min(MONITOR_SAMPLES, len(train_set))
        subset = [train_set[i] for i in range(n)]
        feats, _ = extract_features(encoder, subset, readout="mean", label=f"collapse monitor, {row}")
    return {k: round(v, 5) for k, v in collapse_stats(feats).items()}
