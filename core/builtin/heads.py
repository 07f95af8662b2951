"""Core's heads on frozen features: the linear probe, cosine k-NN and V-JEPA's attentive probe.

A head that sets `input = "tokens"` is fitted on token features [N, T, F] (see `evaluate.extract_features`
with `tokens=True`); every other head gets pooled features [N, F].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jepakit.builtin.config import AttentiveProbeConfig, KNNConfig, LinearProbeConfig
from jepakit.library.layers import CrossAttention
from jepakit.library.training import fit_minibatches


class LinearProbe:
    """StandardScaler (train statistics) + L2 logistic regression; scores accuracy in percent."""

    metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: LinearProbeConfig | None = None) -> None:
        self.cfg = cfg or LinearProbeConfig()
        self._scaler: Any = None
        self._clf: Any = None

    def describe(self) -> str:
        c = self.cfg
        return f"StandardScaler(train) + LogisticRegression(lbfgs, C={c.C}, max_iter={c.max_iter}, seed={c.seed})"

    def fit(self, feats: Any, labels: Any) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        x = np.asarray(feats, dtype=np.float64)  # [Ntr, F]
        self._scaler = StandardScaler().fit(x)
        self._clf = LogisticRegression(C=self.cfg.C, max_iter=self.cfg.max_iter, random_state=self.cfg.seed)
        self._clf.fit(self._scaler.transform(x), np.asarray(labels))

    def score(self, feats: Any, labels: Any) -> dict[str, float]:
        if self._clf is None:
            raise RuntimeError("LinearProbe.score called before fit")
        pred = self._clf.predict(self._scaler.transform(np.asarray(feats, dtype=np.float64)))  # [Nte]
        return {"accuracy": 100.0 * float(np.mean(pred == np.asarray(labels)))}


class KNNProbe:
    """Cosine k-NN: standardize with train statistics, L2-normalise, majority vote of the k most similar."""

    metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: KNNConfig | None = None) -> None:
        self.cfg = cfg or KNNConfig()
        self._bank: np.ndarray | None = None

    def describe(self) -> str:
        return f"cosine k-NN (k={self.cfg.k}) on standardized, L2-normalised features"

    def _embed(self, feats: Any) -> np.ndarray:
        z = (np.asarray(feats, dtype=np.float64) - self._mean) / self._std
        return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)

    def fit(self, feats: Any, labels: Any) -> None:
        x = np.asarray(feats, dtype=np.float64)  # [Ntr, F]
        self._mean, self._std = x.mean(axis=0), x.std(axis=0)
        self._std[self._std < 1e-12] = 1.0  # constant dims carry nothing; avoid dividing by 0
        self._classes, self._labels = np.unique(np.asarray(labels), return_inverse=True)
        self._bank = self._embed(x)

    def score(self, feats: Any, labels: Any) -> dict[str, float]:
        if self._bank is None:
            raise RuntimeError("KNNProbe.score called before fit")
        q = self._embed(feats)  # [Nte, F]
        k = min(self.cfg.k, len(self._bank))
        n_cls = len(self._classes)
        pred = np.empty(len(q), dtype=np.int64)
        for i in range(0, len(q), 1024):  # [b, Ntr] similarity blocks keep memory bounded
            sims = q[i : i + 1024] @ self._bank.T
            nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # [b, k]
            votes = np.zeros((len(sims), n_cls))
            rows = np.arange(len(sims))[:, None]
            np.add.at(votes, (rows, self._labels[nearest]), 1.0 + 1e-6 * sims[rows, nearest])  # ties: closer wins
            pred[i : i + len(sims)] = votes.argmax(axis=1)
        return {"accuracy": 100.0 * float(np.mean(self._classes[pred] == np.asarray(labels)))}


class _AttentivePooler(nn.Module):
    """One learned query cross-attends over the tokens (pre-norm, residual MLP), then a linear classifier."""

    def __init__(self, in_dim: int, cfg: AttentiveProbeConfig, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, cfg.dim)
        self.query = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        nn.init.trunc_normal_(self.query, std=0.02)
        self.norm_kv, self.norm_q, self.norm_mlp = nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim), nn.LayerNorm(cfg.dim)
        self.cross = CrossAttention(cfg.dim, cfg.num_heads)
        self.mlp = nn.Sequential(nn.Linear(cfg.dim, 4 * cfg.dim), nn.GELU(), nn.Linear(4 * cfg.dim, cfg.dim))
        self.head = nn.Sequential(nn.LayerNorm(cfg.dim), nn.Linear(cfg.dim, num_classes))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        z = self.norm_kv(self.proj(tokens))  # [B, T, d]
        x = self.query + self.cross(self.norm_q(self.query), z)  # [B, 1, d]: the one query, shared by the batch
        x = x + self.mlp(self.norm_mlp(x))
        return self.head(x[:, 0])  # [B, classes]


class AttentiveProbe:
    """Frozen-token probe: fit trains the pooler + classifier; score reports accuracy in percent."""

    metric = "accuracy"
    higher_is_better = True
    input = "tokens"

    def __init__(self, cfg: AttentiveProbeConfig) -> None:
        self.cfg = cfg
        self._model: _AttentivePooler | None = None
        self._mean: torch.Tensor | None = None  # [1, 1, F] train statistics, set by fit
        self._std: torch.Tensor | None = None
        self._classes: np.ndarray | None = None

    def describe(self) -> str:
        c = self.cfg
        return f"attentive probe (query cross-attention, {c.dim} wide, {c.num_heads} heads, {c.epochs} epochs AdamW)"

    def _tokens(self, feats: Any) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(feats), dtype=torch.float32)
        if x.dim() == 2:
            x = x[:, None]  # pooled or raw features: one token each
        if self._mean is None or self._std is None:
            return x  # [N, T, F]
        return (x - self._mean) / self._std  # [N, T, F]

    def fit(self, feats: Any, labels: Any) -> None:
        cfg = self.cfg
        self._mean = self._std = None
        x = self._tokens(feats)
        self._mean = x.mean(dim=(0, 1), keepdim=True)
        self._std = x.std(dim=(0, 1), keepdim=True).clamp_min(1e-6)
        x = (x - self._mean).div_(self._std)  # one copy of [N, T, F], standardised in place
        self._classes, inverse = np.unique(np.asarray(labels), return_inverse=True)
        y = torch.as_tensor(inverse, dtype=torch.long)  # [N] class indices
        with torch.random.fork_rng():
            torch.manual_seed(cfg.seed)
            model = _AttentivePooler(x.shape[-1], cfg, len(self._classes))
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps = cfg.epochs * max(1, -(-len(x) // cfg.batch_size))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        fit_minibatches(
            model,
            opt,
            len(x),
            lambda idx: F.cross_entropy(model(x[idx]), y[idx]),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            seed=cfg.seed,
            scheduler=sched,
        )
        self._model = model.eval()

    @torch.no_grad()
    def score(self, feats: Any, labels: Any) -> dict[str, float]:
        if self._model is None or self._classes is None:
            raise RuntimeError("AttentiveProbe.score called before fit")
        x = self._tokens(feats)
        pred = torch.cat([self._model(x[i : i + 512]).argmax(dim=1) for i in range(0, len(x), 512)]).numpy()
        return {"accuracy": 100.0 * float(np.mean(self._classes[pred] == np.asarray(labels)))}
