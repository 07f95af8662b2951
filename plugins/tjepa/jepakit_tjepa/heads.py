"""The small MLP probe the issue asks for beside the linear one: the paper trains MLPs on frozen T-JEPA
representations (its headline Adult number is an MLP), so a probe with one hidden layer is the closest frozen
counterpart that still trains in seconds."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from jepakit.api import fit_minibatches
from jepakit_tjepa.config import MLPProbeConfig


class MLPProbe:
    """Standardise (train statistics) -> Linear -> ReLU -> Dropout -> Linear; cross-entropy, AdamW, cosine.

    The minibatch order and dropout are seeded (`fit_minibatches`), so the trained, random-init and raw rows are
    fitted under one protocol and a refit gives the same numbers. Scores accuracy in percent.
    """

    metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: MLPProbeConfig | None = None) -> None:
        self.cfg = cfg or MLPProbeConfig()
        self._net: nn.Module | None = None
        self._mean: torch.Tensor | None = None
        self._std: torch.Tensor | None = None
        self._classes: np.ndarray | None = None

    def describe(self) -> str:
        c = self.cfg
        return (
            f"StandardScaler(train) + MLP(hidden {c.hidden}, ReLU, dropout {c.dropout}) AdamW lr {c.lr} "
            f"wd {c.weight_decay}, {c.epochs} epochs (>= {c.min_steps} steps), batch {c.batch_size}, seed {c.seed}"
        )

    def fit(self, feats: Any, labels: Any) -> None:
        c = self.cfg
        x = torch.as_tensor(np.asarray(feats, dtype=np.float32))  # [N, F]
        self._classes, y_np = np.unique(np.asarray(labels), return_inverse=True)
        y = torch.as_tensor(y_np, dtype=torch.long)  # [N] class indices
        self._mean, self._std = x.mean(0), x.std(0).clamp_min(1e-6)
        x = (x - self._mean) / self._std
        with torch.random.fork_rng():
            torch.manual_seed(c.seed)
            net = nn.Sequential(
                nn.Linear(x.shape[1], c.hidden),
                nn.ReLU(),
                nn.Dropout(c.dropout),
                nn.Linear(c.hidden, len(self._classes)),
            )
        per_epoch = math.ceil(len(x) / c.batch_size)
        epochs = max(c.epochs, math.ceil(c.min_steps / per_epoch))
        opt = torch.optim.AdamW(net.parameters(), lr=c.lr, weight_decay=c.weight_decay)
        total = epochs * per_epoch
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0))))
        loss_fn = nn.CrossEntropyLoss()
        fit_minibatches(
            net,
            opt,
            len(x),
            lambda idx: loss_fn(net(x[idx]), y[idx]),
            epochs=epochs,
            batch_size=c.batch_size,
            seed=c.seed,
            scheduler=sched,
        )
        self._net = net.eval()

    @torch.no_grad()
    def score(self, feats: Any, labels: Any) -> dict[str, float]:
        if self._net is None or self._classes is None or self._mean is None or self._std is None:
            raise RuntimeError("MLPProbe.score called before fit")
        x = (torch.as_tensor(np.asarray(feats, dtype=np.float32)) - self._mean) / self._std
        pred = self._classes[self._net(x).argmax(dim=1).numpy()]  # [N] labels
        return {"accuracy": 100.0 * float(np.mean(pred == np.asarray(labels)))}
