"""Config dataclasses of core's parts: models, targets, losses, datasets, heads, loggers.

Torch-free: they are the TOML schema. Checks raise ValueError in `__post_init__`; the config loader turns that
into a JepakitError naming the key.
"""

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

    Not part of I-JEPA: tiny presets that add it name it in their loss table (docs/recipes.md says why).
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


@dataclass
class DigitsConfig:
    """scikit-learn's 8x8 digits (ships with scikit-learn, so it works offline), upsampled bilinearly.

    The split is the fixed tiny-scale protocol (docs/recipes.md): 1,400 train / 397 test, stratified,
    random_state 0, so every run and every seed is scored on the same test images.
    """

    size: int = 16  # side of the upsampled image; 16 gives an 8x8 grid with patch 2
    test_size: int = 397  # number of test images (out of 1,797); 397 is the fixed protocol
    split_seed: int = 0  # random_state of the stratified split; keep 0 to compare with published numbers
    # 0: the digit fills the canvas. Else each digit is upsampled to digit_size and placed at its own fixed
    # random offset on the size x size canvas: the same real digits, but raw pixels no longer line up.
    digit_size: int = 0
    # 1: grayscale. 3: the same gray image in R, G and B, for encoders and benchmarks (ijepa/bench) that need
    # the input shape of RGB photos without shipping a photo dataset.
    channels: int = 1

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (gray replicated to RGB), got {self.channels}")
        if not 0 <= self.digit_size <= self.size:
            raise ValueError(f"digit_size must lie in [0, size={self.size}], got {self.digit_size}")
        if not 10 <= self.test_size <= 1797 - 10:
            raise ValueError(f"test_size must lie in [10, 1787] so both splits hold every class, got {self.test_size}")


@dataclass
class GlyphsConfig:
    """Letters rendered offline from matplotlib's bundled fonts, with affine jitter and clutter.

    A harder benchmark than digits: jitter moves letters across pixels, so raw-pixel probes lose accuracy and
    learned features have room to beat them. The images are a function of `seed` alone (not the run's seed), so
    runs with different seeds are scored on the same data.
    """

    size: int = 32  # side of the square grayscale image
    per_class: int = 200  # images per letter (balanced classes)
    test_fraction: float = 0.25  # fraction held out for testing, stratified by letter
    classes: int = 26  # the first `classes` letters of A..Z
    seed: int = 0  # drives rendering, jitter, clutter and the split
    jitter: bool = True  # random rotation (±15°), scale (0.7-1.1), shear (±0.25) and shift (±12.5% of the side)
    clutter: bool = True  # 0-2 thin random strokes, half the time a fragment of another letter, pixel noise

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError(f"size must be at least 8 to render a letter, got {self.size}")
        if not 2 <= self.classes <= 26:
            raise ValueError(f"classes must lie in [2, 26] (letters A..Z), got {self.classes}")
        if self.per_class < 2:
            raise ValueError(f"per_class must be at least 2 so both splits hold every class, got {self.per_class}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class ImageFolderConfig:
    """Your own images laid out as `path/<class name>/*.png|jpg|jpeg|bmp|gif|webp` (one folder per class).

    Images are center-cropped to a square, resized and mapped to [-1, 1]; unreadable files are skipped and
    counted rather than stopping the run.
    """

    path: str = ""  # the root folder; each sub-folder is one class (its name is the class name)
    size: int = 32  # side of the square image after crop + resize
    channels: int = 3  # 1 = grayscale, 3 = RGB
    test_fraction: float = 0.2  # fraction held out for testing, stratified by class
    split_seed: int = 0  # random_state of the stratified split (fixed, independent of the run's seed)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class LinearProbeConfig:
    """StandardScaler fitted on train features + L2 logistic regression (lbfgs): the fixed probe protocol.

    The defaults are the fixed protocol of docs/recipes.md; change them only if every compared row changes too.
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
