"""Config dataclasses of Point-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[masker]`,
`[predictor]`, `[data]` and `[method]`. Defaults are the paper's (configs/Point-JEPA/pretraining/shapenet.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from jepakit import JepakitError
from jepakit.interfaces import range_pair

#: the sequencer's orders (geometry.ORDERS, repeated here so this module stays torch-free)
ORDERS = ("nearest", "random")


@dataclass
class PointEncoderConfig:
    """`pointjepa/point-transformer`: FPS centres + kNN groups -> mini-PointNet patch tokens, ordered by the
    sequencer, positions = an MLP of each patch centre re-added before every block (Point-JEPA / point2vec)."""

    num_groups: int = 64  # patches (FPS centres) per cloud
    group_size: int = 32  # points per patch (k nearest neighbours of the centre)
    order: str = "nearest"  # the sequencer: "nearest" (iterative NN from the min-coordinate-sum centre), "random"
    pointnet_dims: list[int] = field(
        default_factory=lambda: [128, 256, 512]
    )  # mini-PointNet: conv1 hid, out, conv2 hid
    embed_dim: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    pos_hidden: int = 128  # hidden width of the centre -> position MLP

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if min(self.num_groups, self.group_size, self.embed_dim, self.depth, self.num_heads, self.pos_hidden) < 1:
            raise ValueError("num_groups, group_size, embed_dim, depth, num_heads and pos_hidden must be positive")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if len(self.pointnet_dims) != 3 or min(self.pointnet_dims) < 1:
            raise ValueError(f"pointnet_dims must be 3 positive widths, got {self.pointnet_dims}")

    def check(self, input_shape: tuple[int, ...], key: str = "encoder") -> dict[str, object]:
        """The cloud must hold enough points for the patches (`jepakit validate` runs this without tensors)."""
        if len(input_shape) != 2 or input_shape[1] != 3:
            raise JepakitError(
                f"{key}: the point encoder needs clouds of shape (points, 3), the dataset gives {tuple(input_shape)}",
                "use a point-cloud dataset (pointjepa/furniture, pointjepa/shapes, pointjepa/point-folder)",
            )
        points = int(input_shape[0])
        if points < max(self.group_size, self.num_groups):
            raise JepakitError(
                f"{key}.group_size: clouds of {points} points are fewer than the group size {self.group_size} "
                f"or the number of groups {self.num_groups}",
                "sample more points per cloud (data.points) or lower encoder.group_size / encoder.num_groups",
            )
        return {"grid": (self.num_groups,), "embed_dim": self.embed_dim}


@dataclass
class SequenceMaskConfig:
    """`pointjepa/sequence-blocks`: in the sequencer's order, `num_targets` contiguous target runs of
    `target_scale` of the patches each, and one contiguous context run of `context_scale` of the rest."""

    num_targets: int = 4
    target_scale: list[float] = field(default_factory=lambda: [0.15, 0.2])
    context_scale: list[float] = field(default_factory=lambda: [0.4, 0.75])

    def __post_init__(self) -> None:
        if self.num_targets < 1:
            raise ValueError(f"num_targets must be at least 1, got {self.num_targets}")
        self.target_scale = list(range_pair("target_scale", self.target_scale, 0.0, 1.0, open_low=True))
        self.context_scale = list(range_pair("context_scale", self.context_scale, 0.0, 1.0, open_low=True))

    def check(self, grid: tuple[int, ...], key: str = "masker") -> None:
        """Without tensors: the patches must hold the target runs and leave at least one context patch."""
        n = int(grid[0]) if grid else 0
        if len(grid) != 1 or round(self.target_scale[0] * n) < 1:
            raise JepakitError(
                f"{key}: {tuple(grid)} patches cannot hold target runs of {self.target_scale[0]:.0%}",
                "use a point encoder (pointjepa/point-transformer) with more encoder.num_groups",
            )
        if n - self.num_targets * max(1, round(self.target_scale[1] * n)) < 1 and n < 2:
            raise JepakitError(f"{key}: no patch left for the context", "lower num_targets or target_scale")


@dataclass
class PointPredictorConfig:
    """`pointjepa/predictor`: Point-JEPA's narrow transformer: context tokens and mask tokens, each with the
    position MLP of its patch centre, concatenated and run through `depth` blocks (width 192 x 6 in the paper)."""

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
class AugmentConfig:
    """Point-JEPA's training transforms: scale U(scale) on x and z, rotation about the up (y) axis, translation
    U(-translate, translate) per axis. Only what the trainer reads is augmented; probes read clean clouds."""

    augment: bool = True
    scale: list[float] = field(default_factory=lambda: [0.8, 1.2])
    rotate: bool = True
    translate: float = 0.2

    points: int = 1024  # points per cloud the encoder reads (overridden per dataset)

    def check(self, key: str = "data") -> dict[str, object]:
        """Without data (`jepakit validate`): the clouds' shape, (points, 3), for the encoder's check."""
        return {"input_shape": (int(self.points), 3)}

    def _check_augment(self) -> None:
        self.scale = list(range_pair("scale", self.scale, 0.0, 10.0, open_low=True))
        if not 0.0 <= self.translate <= 1.0:
            raise ValueError(f"translate must lie in [0, 1], got {self.translate}")


def _check_points(points: int, stored: int) -> None:
    if points < 16:
        raise ValueError(f"points must be at least 16, got {points}")
    if stored < points:
        raise ValueError(f"stored ({stored}) must be at least points ({points}): clouds are subsampled from it")


@dataclass
class FurnitureConfig(AugmentConfig):
    """`pointjepa/furniture`: Sweet Home 3D's 820 furniture models (Debian `sweethome3d-furniture`), sampled
    area-weighted and cached; 11 ModelNet-like classes (about 330 labelled models), all models for pretraining."""

    path: str = "/usr/share/sweethome3d/furniture"  # folder of *.sh3f catalogues
    points: int = 1024  # points per cloud the encoder reads (a random subset of `stored` when training)
    stored: int = 2048  # points sampled per model and cached
    test_fraction: float = 0.25
    split_seed: int = 0
    pretrain: str = "all"  # "all": every model (labelled or not); "labelled": the labelled ones only

    def __post_init__(self) -> None:
        _check_points(self.points, self.stored)
        self._check_augment()
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.pretrain not in ("all", "labelled"):
            raise ValueError(f"pretrain must be 'all' or 'labelled', got {self.pretrain!r}")


@dataclass
class ShapesConfig(AugmentConfig):
    """`pointjepa/shapes`: generated parametric shapes (sphere, cylinder, cone, capsule, torus, box, pyramid,
    prism) with random anisotropic scale, rotation and noise. No package needed."""

    classes: int = 8
    train_per_class: int = 60
    test_per_class: int = 20
    points: int = 1024
    stored: int = 1024
    noise: float = 0.01
    seed: int = 0  # the set is a function of this seed, not of the run's

    def __post_init__(self) -> None:
        _check_points(self.points, self.stored)
        self._check_augment()
        if not 2 <= self.classes <= 8:
            raise ValueError(f"classes must lie in [2, 8], got {self.classes}")
        if self.train_per_class < 2 or self.test_per_class < 1:
            raise ValueError("train_per_class must be at least 2 and test_per_class at least 1")


@dataclass
class PointFolderConfig(AugmentConfig):
    """`pointjepa/point-folder`: your own clouds and meshes (.ply, .obj, .npy, .xyz/.txt) under class
    sub-folders (or directly in the folder: unlabelled); unreadable files are skipped and counted."""

    path: str = ""
    points: int = 1024
    stored: int = 2048
    test_fraction: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        _check_points(self.points, self.stored)
        self._check_augment()
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class PointEvalConfig:
    """`pointjepa/jepa`: core's masked JEPA (the predictor reads patch centres); evaluation = the papers'
    protocol: max + mean of the frozen tokens, a linear SVM and k-NN, repeated stratified k-fold
    cross-validation over every labelled cloud, trained vs random init vs D2 shape distribution + extents."""

    wiring: ClassVar[str] = "core/jepa"  # built by core's assemble: `jepakit validate` wires the shapes

    folds: int = 5
    repeats: int = 3
    svm_c: float = 0.01  # LinearSVC's C on standardised features
    knn_k: int = 5
    d2_bins: int = 64  # bins of the D2 histogram (raw baseline)
    cv_seed: int = 0
    mask_pictures: bool = True

    def __post_init__(self) -> None:
        if self.folds < 2 or self.repeats < 1 or self.knn_k < 1 or self.d2_bins < 4:
            raise ValueError("folds must be at least 2, repeats and knn_k at least 1, d2_bins at least 4")
        if self.svm_c <= 0:
            raise ValueError(f"svm_c must be positive, got {self.svm_c}")
