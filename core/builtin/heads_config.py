"""Config dataclasses of core's probes. Torch-free."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LinearProbeConfig:
    """StandardScaler fitted on train features + L2 logistic regression (lbfgs): the fixed probe protocol."""

    C: float = 1.0
    max_iter: int = 3000
    seed: int = 0


@dataclass
class KNNConfig:
    """Cosine k-NN on standardized features, majority vote."""

    k: int = 20
