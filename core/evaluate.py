"""Frozen-feature evaluation: readouts, probes, collapse monitors, and the trained/random/raw comparison.

The protocol is fixed and identical for every row: features of the fixed train split fit the probe, the fixed
test split scores it; StandardScaler on train features, then L2 logistic regression (lbfgs, C=1, 3000 iterations,
seed 0); k-NN with cosine distance on the same standardized features.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from jepakit.builtin.heads_config import KNNConfig, LinearProbeConfig
from jepakit.interfaces import DataSplits, Head

PROTOCOL = ("fixed train/test split; features standardized on train; linear = logistic regression (lbfgs, C=1, "
            "max_iter=3000, seed 0); knn = cosine k-NN (k=20); identical for trained, random-init and raw rows")


@torch.no_grad()
def extract_features(encoder: torch.nn.Module, dataset: Any, *, readout: str = "mean",
                     batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Mean-pooled features of the last layer ("mean") or of the last 4 layers, each layer-normed ("last4_mean")."""
    was_training = encoder.training
    encoder.eval()
    feats, labels = [], []
    for i in range(0, len(dataset), batch_size):
        items = [dataset[j] for j in range(i, min(i + batch_size, len(dataset)))]
        x = torch.stack([torch.as_tensor(it[0]) for it in items])
        if readout == "mean":
            f = encoder(x).mean(dim=1)  # [b, D]
        elif readout == "last4_mean":
            layers = encoder.forward_layers(x, 4)
            f = torch.cat([F.layer_norm(z, z.shape[-1:]).mean(dim=1) for z in layers], dim=1)  # [b, 4D]
        else:
            raise ValueError(f"unknown readout {readout!r}")
        feats.append(f.float())
        labels += [int(it[1]) for it in items]
    encoder.train(was_training)
    return torch.cat(feats).numpy(), np.asarray(labels)


def raw_features(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Flattened inputs: the baseline any learned feature should beat."""
    x = np.stack([np.asarray(dataset[i][0], dtype=np.float32).reshape(-1) for i in range(len(dataset))])
    return x, np.asarray([int(dataset[i][1]) for i in range(len(dataset))])


def collapse_stats(feats: np.ndarray) -> dict[str, float]:
    """Mean per-dimension std, and effective rank exp(H(p)) of the normalized singular values (RankMe)."""
    feats = np.asarray(feats, dtype=np.float64)
    centred = feats - feats.mean(axis=0, keepdims=True)
    s = np.linalg.svd(centred, compute_uv=False)
    p = s / max(s.sum(), 1e-12)
    p = p[p > 0]
    return {"feature_std": float(feats.std(axis=0).mean()), "effective_rank": float(np.exp(-(p * np.log(p)).sum()))}


class LinearProbe:
    metric, higher_is_better = "accuracy", True

    def __init__(self, cfg: LinearProbeConfig | None = None) -> None:
        self.cfg = cfg or LinearProbeConfig()

    def fit(self, feats: np.ndarray, labels: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.scaler = StandardScaler().fit(feats)
        self.clf = LogisticRegression(C=self.cfg.C, max_iter=self.cfg.max_iter, random_state=self.cfg.seed)
        self.clf.fit(self.scaler.transform(feats), labels)

    def score(self, feats: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        return {"accuracy": round(100.0 * float((self.clf.predict(self.scaler.transform(feats)) == labels).mean()), 2)}


class KNNProbe:
    metric, higher_is_better = "accuracy", True

    def __init__(self, cfg: KNNConfig | None = None) -> None:
        self.cfg = cfg or KNNConfig()

    def _norm(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.mean) / self.std
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def fit(self, feats: np.ndarray, labels: np.ndarray) -> None:
        self.mean, self.std = feats.mean(0), feats.std(0) + 1e-8
        self.bank, self.labels = self._norm(feats), np.asarray(labels)

    def score(self, feats: np.ndarray, labels: np.ndarray) -> dict[str, float]:
        sims = self._norm(feats) @ self.bank.T  # [Nte, Ntr]
        k = min(self.cfg.k, len(self.labels))
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        votes = self.labels[nearest]  # [Nte, k]
        pred = np.array([np.bincount(v).argmax() for v in votes])
        return {"accuracy": round(100.0 * float((pred == labels).mean()), 2)}


def _score(head_factory: Callable[[], Head], train: tuple, test: tuple) -> float:
    head = head_factory()
    head.fit(*train)
    return head.score(*test)[head.metric]


def evaluate_encoders(trained: torch.nn.Module, random_init: torch.nn.Module, splits: DataSplits, *,
                      readout: str = "mean", heads: dict[str, Callable[[], Head]] | None = None) -> dict[str, Any]:
    """Every head on trained features, random-init features and raw inputs, plus collapse monitors."""
    heads = heads or {"linear-probe": LinearProbe, "knn": KNNProbe}
    rows = {
        "trained": (extract_features(trained, splits.train, readout=readout),
                    extract_features(trained, splits.test, readout=readout)),
        "random_init": (extract_features(random_init, splits.train, readout=readout),
                        extract_features(random_init, splits.test, readout=readout)),
        "raw": (raw_features(splits.train), raw_features(splits.test)),
    }
    metrics = {name: {row: _score(factory, *data) for row, data in rows.items()} for name, factory in heads.items()}
    primary = metrics[next(iter(heads))]
    return {
        "dataset": splits.name,
        "metric": "accuracy",
        "higher_is_better": True,
        "readout": readout,
        "trained": primary["trained"],
        "random_init": primary["random_init"],
        "baseline_raw": primary["raw"],
        "metrics": metrics,
        "collapse": {**collapse_stats(rows["trained"][1][0]),
                     "random_init": collapse_stats(rows["random_init"][1][0])},
        "protocol": PROTOCOL,
        "n_train": len(splits.train),
        "n_test": len(splits.test),
    }
