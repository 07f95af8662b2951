"""Config dataclasses of core's parts: models, targets, losses, datasets, heads, loggers.

Torch-free: they are the TOML schema. Checks raise ValueError in `__post_init__`; the config loader turns that
into a JepakitError naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jepakit.errors import JepakitError
from jepakit.interfaces import range_pair


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

    def token_grid(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        """The patch grid of a (C, H, W) input: what the encoder's constructor and `jepakit validate` check."""
        if len(input_shape) != 3:
            raise JepakitError(
                f"encoder: a 2-D ViT needs (C, H, W) inputs, the dataset gives {tuple(input_shape)}",
                "pick an encoder whose layout matches the dataset",
            )
        _, h, w = input_shape
        p = self.patch_size
        if h % p or w % p:
            raise JepakitError(
                f"encoder.patch_size: {p} does not divide the input size {h}x{w}",
                "choose a patch size that divides the image size (or change data.size)",
            )
        return h // p, w // p

    def check(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """Without tensors (`jepakit.framework.checks`): the grid and width this encoder gives those inputs."""
        return {"grid": self.token_grid(input_shape), "embed_dim": self.embed_dim}


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

    def check(self) -> dict[str, Any]:
        """The input shape it declares (`jepakit.framework.checks`): one upsampled digit."""
        return {"input_shape": (self.channels, self.size, self.size)}


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

    def check(self) -> dict[str, Any]:
        """The input shape it declares (`jepakit.framework.checks`): one grayscale letter."""
        return {"input_shape": (1, self.size, self.size)}


AUGMENTS = ("none", "ijepa")
#: the image files image-folder reads (jepakit.library.data.IMAGE_SUFFIXES, kept here torch-free)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _check_augment(cfg: ImageFolderConfig | FashionMNISTConfig) -> None:
    """The training augmentation settings shared by the image datasets."""
    if cfg.augment not in AUGMENTS:
        raise ValueError(f"augment must be one of {', '.join(AUGMENTS)}, got {cfg.augment!r}")
    cfg.crop_scale = range_pair("crop_scale", cfg.crop_scale, 0.0, 1.0, open_low=True)
    if not 0.0 <= cfg.flip <= 1.0:
        raise ValueError(f"flip is a probability in [0, 1], got {cfg.flip}")


@dataclass
class ImageFolderConfig:
    """Your own images: `path/<class name>/*.png|jpg|jpeg|bmp|gif|webp` (labelled, one folder per class) or any
    folder of images without class folders (unlabelled: everything pretrains, nothing is probed).

    Images are decoded per sample in the loader's workers (memory does not grow with the number of files),
    center-cropped to a square, resized and mapped to [-1, 1]; unreadable files are skipped and counted rather
    than stopping the run. `augment` changes only what training reads; the probe splits stay clean.
    """

    path: str = ""  # the root folder; each sub-folder is one class (its name is the class name)
    size: int = 32  # side of the square image after crop + resize
    channels: int = 3  # 1 = grayscale, 3 = RGB
    test_fraction: float = 0.2  # fraction held out for testing, stratified by class
    split_seed: int = 0  # random_state of the stratified split (fixed, independent of the run's seed)
    # "auto": sub-folders are classes when the root holds any, else every image (recursively) is unlabelled;
    # "folders": class sub-folders required; "none": unlabelled, recursively (for date- or source-named folders)
    labels: Literal["auto", "folders", "none"] = "auto"
    # training augmentation: "none", or "ijepa" = RandomResizedCrop(size, crop_scale) + horizontal flip
    augment: Literal["none", "ijepa"] = "none"
    crop_scale: tuple[float, float] = (0.3, 1.0)  # area fraction range of the random crop (I-JEPA: 0.3-1.0)
    flip: float = 0.5  # probability of a horizontal flip

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"size must be at least 1, got {self.size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.labels not in ("auto", "folders", "none"):
            raise ValueError(f'labels must be "auto", "folders" or "none", got {self.labels!r}')
        _check_augment(self)

    @property
    def labelled(self) -> bool:
        """Whether the folder is read as class folders: always for labels = "folders", never for "none"; for
        "auto" when the root holds (non-hidden) sub-folders and no image directly inside. A path that is not a
        readable folder counts as labelled, so the class-folder reader's errors (empty path, not found, a file,
        empty) explain it. Read before training too: an unlabelled run must name its evaluation sets."""
        if self.labels != "auto":
            return self.labels == "folders"
        root = Path(self.path).expanduser()
        if not self.path or not root.is_dir():
            return True
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        loose = any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in entries)
        return not loose and (not entries or any(p.is_dir() for p in entries))

    def check(self, key: str = "data") -> dict[str, Any]:
        """Without reading an image (`jepakit.framework.checks`): the path names a folder; the input shape."""
        folder_of(self.path, key, "core/image-folder reads your own images", "a folder of images", "/path/to/images")
        return {"input_shape": (self.channels, self.size, self.size)}


@dataclass
class FashionMNISTConfig:
    """Fashion-MNIST (Zalando; 60,000 train / 10,000 test, 28x28 grey, 10 classes) from Debian's
    `dataset-fashion-mnist` package: the four gzip'd idx files under `path`. Nothing is downloaded.

    Training reads the (up to `max_train`) training images, augmented as `augment` says; the probes fit on a
    fixed stratified `probe_train` subset of them (clean) and score on the test images (`max_test` of them).
    """

    path: str = "/usr/share/datasets/fashion-mnist"  # where the package installs the idx files
    size: int = 28  # side after a bilinear resize (28 = as stored; 32 suits patch 8 or 16)
    max_train: int = 0  # training images used (a fixed stratified subset); 0 = all 60,000
    probe_train: int = 10_000  # training images the probes fit on (fixed stratified subset); 0 = all
    max_test: int = 0  # test images scored (fixed stratified subset); 0 = all 10,000
    split_seed: int = 0  # random_state of the subsets (fixed, independent of the run's seed)
    augment: Literal["none", "ijepa"] = "none"  # training augmentation, as for image folders
    crop_scale: tuple[float, float] = (0.3, 1.0)
    flip: float = 0.5

    def __post_init__(self) -> None:
        if not 4 <= self.size <= 256:
            raise ValueError(f"size must lie in [4, 256], got {self.size}")
        if self.max_train < 0 or self.probe_train < 0 or self.max_test < 0:
            raise ValueError("max_train, probe_train and max_test must be >= 0 (0 = all)")
        for key in ("max_train", "probe_train", "max_test"):
            if 0 < getattr(self, key) < 20:
                raise ValueError(f"{key} must be 0 (all) or at least 20 (2 per class), got {getattr(self, key)}")
        _check_augment(self)

    def check(self, key: str = "data") -> dict[str, Any]:
        """Without reading a file (`jepakit.framework.checks`): the folder exists; the input shape."""
        reads = "core/fashion-mnist reads the idx files of dataset-fashion-mnist"
        folder_of(self.path, key, reads, "the folder of its four idx .gz files", "/usr/share/datasets/fashion-mnist")
        return {"input_shape": (1, self.size, self.size)}


def folder_of(path: str, key: str, reads: str, what: str, example: str) -> Path:
    """The folder a dataset's `path` setting names; an empty or absent one is a JepakitError naming the key."""
    if not path.strip():
        raise JepakitError(f"{key}.path is empty: {reads}", f'set {key}.path = "{example}" ({what})')
    root = Path(path).expanduser()
    if not root.is_dir():
        found = "is a file, not a folder" if root.is_file() else "folder not found"
        raise JepakitError(f"{key}.path: {found}: {root}", f"check the path; it must be {what}")
    return root


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
    schedule for trained, random-init and raw rows. Paper: one cross-attention block with 16 heads, 20 epochs
    (here fewer heads: the tokens are narrow).
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
