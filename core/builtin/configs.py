"""Config dataclasses of core's model, target and loss parts. Torch-free: they are the TOML schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ViTConfig:
    """A pre-norm ViT on a 2-D patch grid (I-JEPA's encoder). Paper sizes: ViT-H/14 is 1280 wide, 32 deep, 16 heads."""

    patch_size: int = 16  # conv kernel = stride; the grid is input size / patch_size on each axis
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if min(self.patch_size, self.embed_dim, self.depth, self.num_heads) < 1:
            raise ValueError("patch_size, embed_dim, depth and num_heads must be positive")


@dataclass
class PredictorConfig:
    """I-JEPA's narrow ViT predictor: width 384 in every paper config, depth 12 for ViT-H (code default 6).

    target_attention: "separate" is the paper's code (the context is repeated once per target block, so blocks
    never see each other); "joint" puts all blocks' mask tokens in one sequence (cheaper, slightly different).
    """

    embed_dim: int = 384
    depth: int = 6
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    target_attention: Literal["separate", "joint"] = "separate"

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")


@dataclass
class EMAConfig:
    """EMA teacher: momentum ramps linearly from momentum[0] to momentum[1] over the run (I-JEPA: 0.996 -> 1.0).

    ipe_scale stretches the ramp past the end of training, as the official `ipe_scale` does (1.0 = ends at 1.0).
    """

    momentum: tuple[float, float] = (0.996, 1.0)
    ipe_scale: float = 1.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.momentum[0] <= 1.0 and 0.0 <= self.momentum[1] <= 1.0):
            raise ValueError(f"momentum values must lie in [0, 1], got {list(self.momentum)}")


@dataclass
class SmoothL1Config:
    """Smooth-L1 between predicted and target features (what the I-JEPA code uses; beta 1)."""

    beta: float = 1.0


@dataclass
class DistanceConfig:
    """A plain distance between predicted and target features (L1 or squared L2), averaged over tokens."""


@dataclass
class VICRegConfig:
    """VICReg variance + covariance on the mean-pooled context-encoder output (anti-collapse at tiny scale).

    Not part of I-JEPA: tiny presets that add it name it in their loss table (see reference/tiny-scale.md).
    """

    var_weight: float = 1.0
    cov_weight: float = 1.0
    std_target: float = 1.0
    eps: float = 1e-4


@dataclass
class StopGradConfig:
    """No teacher: targets are the context encoder's own full-input features under stop-gradient (LeJEPA,
    eb_jepa). Without EMA nothing slows the target down, so pair it with an anti-collapse term (SIGReg, VICReg)."""

    layer_norm: bool = True  # layer-norm targets over features without affine, as the EMA target does


@dataclass
class SIGRegConfig:
    """LeJEPA's SIGReg (arXiv 2511.08544): an Epps-Pulley test that pooled embeddings are isotropic Gaussian,
    on `num_directions` random 1-D projections redrawn every step, averaged over directions.

    The statistic n * integral |phi_emp(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt is computed on `num_knots` points
    of [0, t_max] by the trapezoid rule (the integrand is even in t).
    """

    num_directions: int = 64
    num_knots: int = 17
    t_max: float = 3.0

    def __post_init__(self) -> None:
        if self.num_directions < 1 or self.num_knots < 2 or not self.t_max > 0:
            raise ValueError("num_directions >= 1, num_knots >= 2 and t_max > 0 are required")


@dataclass
class TensorBoardConfig:
    """TensorBoard event files in the run directory (needs the `tensorboard` package)."""

    subdir: str = "tensorboard"
    flush_secs: int = 30
