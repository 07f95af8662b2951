"""Config dataclasses of MC-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[data]` and
`[method]`, and `jepakit list` reads them without importing torch."""

from __future__ import annotations

from dataclasses import dataclass

from jepakit.interfaces import digits_split, range_pair


def _positive(name: str, values: tuple[int, ...]) -> tuple[int, ...]:
    v = tuple(int(x) for x in values)
    if not v or min(v) < 1:
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {list(v)}")
    return v


@dataclass
class PyramidConfig:
    """A ConvNeXt feature pyramid: level l has stride stem_stride * 2^l, `dims[l]` channels and `depths[l]` blocks.

    Paper: ConvNeXt-T (stages 96/192/384/768 wide, 3/3/9/3 deep, strides 4..32) extended to the 6 levels the
    flow estimator reads. The two extra levels (stride 2, 48 wide, 1 block; stride 64, 768 wide, 1 block) are
    our reading of "6 levels": the paper does not list their widths.
    """

    dims: tuple[int, ...] = (48, 96, 192, 384, 768, 768)
    depths: tuple[int, ...] = (1, 3, 3, 9, 3, 1)
    stem_stride: int = 2  # stride of the finest level (1 = full resolution: sharper flow on small frames)
    kernel_size: int = 7  # ConvNeXt's depthwise kernel
    layer_scale_init: float = 1e-6  # ConvNeXt's per-channel residual scale at init
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        self.dims, self.depths = _positive("dims", self.dims), _positive("depths", self.depths)
        if len(self.dims) != len(self.depths):
            raise ValueError(f"dims and depths need one entry per level, got {len(self.dims)} and {len(self.depths)}")
        if self.stem_stride not in (1, 2, 4):
            raise ValueError(f"stem_stride must be 1, 2 or 4, got {self.stem_stride}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {self.kernel_size}")


@dataclass
class FlowDigitsConfig:
    """V-JEPA's moving digits (scikit-learn's real digits sliding right/left/down/up, one clip per digit), made a
    flow benchmark: the digit (its pixels brighter than `threshold` of full ink) moves rigidly by `speed` px per
    frame over a static textured background, so the optical flow of every frame pair is known exactly.

    `background` is the texture's amplitude (0 = the blank canvas of vjepa/moving-digits, where background
    motion is unobservable); a textured background makes "the background does not move" visible to the
    photometric loss. Clips draw their texture from a bank of `textures` (default 1: one shared texture), because
    a texture unique to each clip is an identity that two crops of a frame share: VICReg then learns to tell
    backgrounds apart instead of digits. Labels are the digit (content).
    """

    frames: int = 4
    size: int = 32  # canvas side in pixels
    digit_size: int = 16  # sprite side (bilinearly upsampled from 8x8)
    speed: int = 2  # pixels per frame
    background: float = 0.5  # texture amplitude: background values lie in [-1, -1 + background]
    background_cells: int = 8  # texture grid (cells x cells of random values, bicubically smoothed)
    textures: int = 1  # distinct background textures; each clip draws one
    threshold: float = 0.3  # sprite intensity (0-1) above which a pixel belongs to the digit
    test_size: int = 397
    limit: int = 0  # only the first `limit` digits (0 = all 1,797): for quick tests
    seed: int = 0  # directions, starts, textures and the split; independent of the run's seed

    def __post_init__(self) -> None:
        if min(self.frames, self.size, self.digit_size, self.background_cells, self.textures) < 1 or self.speed < 0:
            raise ValueError(
                "frames, size, digit_size, background_cells and textures must be positive, speed non-negative"
            )
        if self.frames < 2:
            raise ValueError(f"flow needs frame pairs: frames must be at least 2, got {self.frames}")
        if self.digit_size + self.speed * (self.frames - 1) > self.size:
            raise ValueError(
                f"a {self.digit_size}-pixel digit moving {self.speed} px/frame for {self.frames} frames "
                f"leaves a {self.size}-pixel canvas; use a larger size or fewer frames"
            )
        if not 0.0 <= self.background < 2.0 * self.threshold:
            raise ValueError(
                f"background must lie in [0, 2 * threshold = {2.0 * self.threshold}) so the texture "
                f"stays darker than the digit, got {self.background}"
            )
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {self.threshold}")
        digits_split(self.limit, self.test_size)


@dataclass
class MCJEPAConfig:
    """MC-JEPA's objective on one shared encoder (arXiv 2307.12698; docs/variants/mcjepa.md).

    Motion: a PWC-style coarse-to-fine flow estimator on the encoder's pyramid (per level: upsample the coarser
    flow, warp frame t+1's features, local correlation of radius `corr_radius`, a conv flow head predicting a
    residual), trained in both directions with photometric reconstruction, per-level feature regression,
    edge-aware smoothness, forward-backward cycle consistency and variance-covariance (VC) regularisation of
    the pyramid features. Content: VICReg (invariance, variance, covariance 25/25/1) on global-pooled
    last-level features of two augmented views of frames, through an expander MLP.

    Flow weights: the paper's exact values are not verified here (docs/variants/mcjepa.md); the defaults are
    ours, chosen so each term is of order 1 at init, and every weight is a config field.
    """

    corr_radius: int = 4  # PWC-Net: displacements in [-4, 4]^2 -> 81 correlation channels
    head_dims: tuple[int, ...] = (128, 128, 96, 64, 32)  # PWC-Net's per-level flow estimator widths
    flow_levels: int = 0  # the finest n pyramid levels estimate flow (coarse to fine); 0 = every level
    # motion loss weights
    photo_weight: float = 1.0
    occlusion_mask: bool = True  # leave pixels failing the forward-backward check out of the photometric term
    ssim_weight: float = 0.85  # photometric = ssim_weight * (1 - SSIM) / 2 + (1 - ssim_weight) * L1
    rec_weight: float = 1.0  # feature regression after warping, mean over levels
    smooth_weight: float = 0.2
    smooth_edge: float = 10.0  # edge-aware smoothness: exp(-smooth_edge * |image gradient|)
    cycle_weight: float = 0.2
    vc_var_weight: float = 1.0  # VC on pyramid features: std hinge at 1 ...
    vc_cov_weight: float = 0.04  # ... and off-diagonal covariance (VICReg's 25:1 ratio)
    vc_samples: int = 2048  # feature vectors (locations) sampled per level for VC
    # content (VICReg)
    content_weight: float = 0.04  # scales the whole VICReg term against the motion loss
    inv_weight: float = 25.0
    var_weight: float = 25.0
    cov_weight: float = 1.0
    expander_dims: tuple[int, ...] = (8192, 8192, 8192)
    crop_scale: tuple[float, float] = (0.4, 1.0)  # random resized crop area fraction
    max_shift: float = 0.15  # extra random translation, fraction of the side
    noise_std: float = 0.1  # additive Gaussian noise on views
    # evaluation
    eval_pairs: int = 0  # test frame pairs scored for EPE (0 = all)
    plot_pairs: int = 4

    def __post_init__(self) -> None:
        if self.corr_radius < 0:
            raise ValueError(f"corr_radius must be non-negative, got {self.corr_radius}")
        self.head_dims = _positive("head_dims", self.head_dims)
        self.expander_dims = _positive("expander_dims", self.expander_dims)
        self.crop_scale = range_pair("crop_scale", self.crop_scale, 0.01, 1.0)
        weights = {
            k: getattr(self, k)
            for k in (
                "photo_weight",
                "rec_weight",
                "smooth_weight",
                "cycle_weight",
                "vc_var_weight",
                "vc_cov_weight",
                "content_weight",
                "inv_weight",
                "var_weight",
                "cov_weight",
                "noise_std",
                "max_shift",
            )
        }
        bad = {k: v for k, v in weights.items() if v < 0}
        if bad:
            raise ValueError(f"weights must be non-negative, got {bad}")
        if not 0.0 <= self.ssim_weight <= 1.0:
            raise ValueError(f"ssim_weight must lie in [0, 1], got {self.ssim_weight}")
        if self.flow_levels < 0 or self.vc_samples < 2 or self.eval_pairs < 0 or self.plot_pairs < 0:
            raise ValueError("flow_levels, eval_pairs and plot_pairs must be non-negative, vc_samples at least 2")
