"""Config dataclasses of 3D-JEPA's parts. Torch-free: the TOML schemas of `[masker]`, `[predictor]`, `[loss.*]`
and `[method]`. 3D-JEPA publishes no code: numbers not stated in the paper are I-JEPA's (docs/variants/3djepa.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jepakit import JepakitError
from jepakit.interfaces import range_pair


@dataclass
class ProximityMaskConfig:
    """`3djepa/proximity-blocks`: `num_targets` target blocks, each the `target_scale` fraction of the patches
    nearest to a random patch centre, and one context block (the `context_scale` fraction nearest to another)
    minus every target patch: one informative context, several representative targets."""

    num_targets: int = 4
    target_scale: list[float] = field(default_factory=lambda: [0.15, 0.2])
    context_scale: list[float] = field(default_factory=lambda: [0.85, 1.0])

    def __post_init__(self) -> None:
        if self.num_targets < 1:
            raise ValueError(f"num_targets must be at least 1, got {self.num_targets}")
        self.target_scale = list(range_pair("target_scale", self.target_scale, 0.0, 1.0, open_low=True))
        self.context_scale = list(range_pair("context_scale", self.context_scale, 0.0, 1.0, open_low=True))

    def check(self, grid: tuple[int, ...], key: str = "masker") -> None:
        """Without tensors: a 1-D patch sequence that holds the target blocks and leaves a context patch."""
        n = int(grid[0]) if len(grid) == 1 else 0
        if n < 2 or self.num_targets * max(1, round(self.target_scale[1] * n)) >= n:
            raise JepakitError(
                f"{key}: {tuple(grid)} patches cannot hold {self.num_targets} target blocks of up to "
                f"{self.target_scale[1]:.0%} and a context",
                "use a point encoder (pointjepa/point-transformer) with more num_groups, or fewer/smaller targets",
            )


@dataclass
class ContextDecoderConfig:
    """`3djepa/context-decoder`: target queries (a mask token + the position MLP of their patch centre) go through
    `depth` blocks, each self-attention over the queries, cross-attention to the context tokens, MLP."""

    embed_dim: int = 192
    depth: int = 6
    num_heads: int = 6
    mlp_ratio: float = 4.0
    pos_hidden: int = 128

    def __post_init__(self) -> None:
        if min(self.embed_dim, self.depth, self.num_heads, self.pos_hidden) < 1:
            raise ValueError("embed_dim, depth, num_heads and pos_hidden must be positive")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")


@dataclass
class NegCosineConfig:
    """`3djepa/neg-cosine`: minus the cosine similarity of predicted and target features, averaged over target
    tokens (3D-JEPA's objective); it lies in [-1, 1], -1 when every prediction points along its target."""

    eps: float = 1e-6

    def __post_init__(self) -> None:
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
