"""Config dataclasses of core's probes (heads on frozen features). Torch-free: they are the TOML schema."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LinearProbeConfig:
    """StandardScaler fitted on train features + L2 logistic regression (lbfgs): the fixed probe protocol.

    The defaults are reference/tiny-scale.md's protocol; change them only if every compared row changes too.
    """

    C: float = 1.0  # inverse L2 strength of the logistic regression
    max_iter: int = 3000  # lbfgs iterations; high so that convergence never decides a comparison
    seed: int = 0  # random_state of the classifier (lbfgs is deterministic; kept for other solvers)

    def __post_init__(self) -> None:
        if not self.C > 0:
            raise ValueError(f"C must be positive, got {self.C}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter}")


@dataclass
class KNNConfig:
    """Cosine k-NN on standardized, L2-normalised features, majority vote (ties go to the closer class).

    A second, non-parametric view of the same features: it rewards neighbourhood structure, not separability.
    """

    k: int = 20  # neighbours that vote; capped at the number of training samples

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")


@dataclass
class AttentiveProbeConfig:
    """V-JEPA's frozen evaluation: a learned query cross-attends over the frozen tokens, then a linear classifier.

    Trained with AdamW on the train split's token features (standardised with train statistics); the same
    schedule for trained, random-init and raw rows. Paper: one cross-attention block with 16 heads, 20 epochs (here fewer heads: the tokens are narrow).
    """

    dim: int = 64  # width of the pooling block (the tokens are projected to it)
    num_heads: int = 4
    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dim % self.num_heads:
            raise ValueError(f"dim {self.dim} is not divisible by num_heads {self.num_heads}")
        if min(self.epochs, self.batch_size) < 1 or not self.lr > 0:
            raise ValueError("epochs and batch_size must be at least 1 and lr positive")
