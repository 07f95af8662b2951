"""Config dataclasses of S-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[masker]`, ...

Paper defaults (arXiv 2403.11772 and braindecode's `SignalJEPA`; docs/variants/sjepa.md) are the field defaults;
the tiny preset overrides them in plugin.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

#: The paper's per-channel conv feature encoder (wav2vec style): (out dim, kernel, stride) per layer.
#: 128 Hz -> 1 token per second (total stride 128, receptive field 1.1875 s).
PAPER_CONV = ((8, 32, 8), (16, 2, 2), (32, 2, 2), (64, 2, 2), (64, 2, 2))


def _conv_layers(layers: tuple[tuple[int, int, int], ...]) -> tuple[tuple[int, int, int], ...]:
    out = tuple(tuple(int(v) for v in layer) for layer in layers)
    if not out or any(len(layer) != 3 or min(layer) < 1 for layer in out):
        raise ValueError(
            f"conv_layers must be a non-empty list of [dim, kernel, stride] with positive values, "
            f"got {[list(layer) for layer in out]}"
        )
    return out  # type: ignore[return-value]  # the check above made every layer a 3-tuple


@dataclass
class EEGEncoderConfig:
    """Per-channel conv tokenizer + transformer over (channel, second) tokens (the paper's contextual encoder).

    Positions: `channel_dims` features code the electrode's 3-D position (sin-cos per axis, then a trainable
    linear map initialised to zero on top, so it starts as the paper's xyz-initialised embedding but is a
    function of position, not of a channel list); the remaining features are fixed sin-cos of the time index.
    """

    conv_layers: tuple[tuple[int, int, int], ...] = PAPER_CONV
    conv_norm: Literal["group", "layer", "none"] = "group"  # wav2vec's modes: GroupNorm after layer 1, or LN each
    embed_dim: int = 64
    depth: int = 8
    num_heads: int = 8
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6
    channel_dims: int = 30  # paper: 30 channel dims (10 per axis) + 34 time dims = 64

    def __post_init__(self) -> None:
        self.conv_layers = _conv_layers(self.conv_layers)
        if self.conv_norm not in ("group", "layer", "none"):
            raise ValueError(f'conv_norm must be "group", "layer" or "none", got {self.conv_norm!r}')
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if min(self.embed_dim, self.depth, self.num_heads) < 1:
            raise ValueError("embed_dim, depth and num_heads must be positive")
        if self.channel_dims % 6 or not 6 <= self.channel_dims <= self.embed_dim - 2:
            raise ValueError(
                f"channel_dims must be a multiple of 6 (sin + cos per axis) in [6, embed_dim - 2], "
                f"got {self.channel_dims}"
            )


@dataclass
class SpatialMaskConfig:
    """S-JEPA's spatial block masks: a random centre electrode per recording; every electrode whose chord distance
    to it (on the unit head sphere) is at most diameter/2 of the head size (head size = 2 radii, so the radius
    in head radii equals the diameter fraction) is hidden over all time steps; the rest is the context.

    One diameter per batch, drawn from `diameters` (the paper compares 40 / 60 / 80 % of the head size and
    finds mask size matters little). Centres whose region would leave fewer than `min_context_channels`
    channels are never drawn; a montage on which no centre qualifies is an error at build time.
    """

    diameters: tuple[float, ...] = (0.4, 0.6, 0.8)
    min_context_channels: int = 2

    def __post_init__(self) -> None:
        self.diameters = tuple(float(d) for d in self.diameters)
        if not self.diameters or not all(0.0 < d <= 2.0 for d in self.diameters):
            raise ValueError(f"diameters must be fractions of the head size in (0, 2], got {list(self.diameters)}")
        if self.min_context_channels < 1:
            raise ValueError(f"min_context_channels must be at least 1, got {self.min_context_channels}")


@dataclass
class DecoderPredictorConfig:
    """The predictor is the decoder half of the paper's `nn.Transformer`: mask tokens carrying the target
    electrode's position and time code self-attend and cross-attend to the context tokens (paper: 4 layers)."""

    embed_dim: int = 64
    depth: int = 4
    num_heads: int = 8
    mlp_ratio: float = 4.0
    channel_dims: int = 30

    def __post_init__(self) -> None:
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        if self.channel_dims % 6 or not 6 <= self.channel_dims <= self.embed_dim - 2:
            raise ValueError(f"channel_dims must be a multiple of 6 in [6, embed_dim - 2], got {self.channel_dims}")


@dataclass
class SimEEGConfig:
    """Simulated EEG on a standard montage, offline and deterministic by `seed`.

    Background: pink (1/f) sources scattered over the head sphere plus a posterior alpha rhythm, mixed to the
    electrodes by a smooth distance lead field, plus sensor noise. Planted, class-dependent activity: left vs
    right motor imagery (mu-rhythm desynchronisation over the contralateral C3/C4 source) and an oddball P300
    (a positive deflection ~350 ms after a stimulus, over Pz, large on targets). `task` picks the labels.
    """

    montage: Literal["1020-19", "1010-20"] = "1020-19"  # two channel sets on one head: see montage.py
    task: Literal["both", "mi", "erp"] = "both"  # both: 4 classes (side x oddball)
    n_train: int = 1200
    n_test: int = 400
    sfreq: float = 64.0
    window_s: float = 4.0
    n_background: int = 32  # pink-noise sources on the sphere
    smoothness: float = 0.35  # lead-field width in head radii (volume conduction)
    mu_amplitude: float = 1.0
    erd: tuple[float, float] = (0.3, 0.7)  # fraction of contralateral mu power removed, drawn per trial
    p300_amplitude: float = 1.0
    noise: float = 0.5  # sensor noise std relative to the background
    seed: int = 0  # the recordings and the split; independent of the run's seed

    def __post_init__(self) -> None:
        if self.montage not in ("1020-19", "1010-20"):
            raise ValueError(f'montage must be "1020-19" or "1010-20", got {self.montage!r}')
        if self.task not in ("both", "mi", "erp"):
            raise ValueError(f'task must be "both", "mi" or "erp", got {self.task!r}')
        if self.n_train < 8 or self.n_test < 8:
            raise ValueError("n_train and n_test must be at least 8")
        if self.sfreq < 32 or self.window_s < 2.0:
            raise ValueError("sfreq must be at least 32 Hz (mu is 8-12 Hz) and window_s at least 2 s (the ERP)")
        if not 0.0 <= self.erd[0] <= self.erd[1] <= 1.0:
            raise ValueError(f"erd must be [low, high] within [0, 1], got {list(self.erd)}")


@dataclass
class EEGFilesConfig:
    """Your own recordings: EDF, BDF, FIF or BrainVision (.vhdr) files under `path` (a file or a folder).

    Trials are windows of `window_s` seconds starting `tmin` seconds after each annotation (its description is
    the label). Preprocessing as the paper's weights expect: band-pass, resample, volts -> microvolts, then
    divided by `scale_uv`. Channels: the EEG channels every file shares that `montage` knows. A file that
    cannot be read, holds NaN/inf, or has no usable trial is skipped with a counted warning.
    """

    path: str = ""
    montage: str = "standard_1005"  # MNE standard montage giving each channel's position
    labels: list[str] = field(default_factory=list)  # annotation descriptions to use; empty = all
    tmin: float = 0.0
    window_s: float = 4.0
    sfreq: float = 64.0
    l_freq: float = 0.5
    h_freq: float = 30.0
    scale_uv: float = 10.0
    test_fraction: float = 0.25
    split_seed: int = 0

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.sfreq <= 0 or self.scale_uv <= 0:
            raise ValueError("window_s, sfreq and scale_uv must be positive")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")


@dataclass
class SpatialHeadConfig:
    """The paper's contextual / post-local classifier: a learned spatial filter (`spatial_filters` virtual
    channels, each a weighted sum over electrodes, shared over time and features), flatten, linear.
    Trained with AdamW on frozen features standardised with train statistics."""

    spatial_filters: int = 4
    epochs: int = 60
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-2
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.spatial_filters, self.epochs, self.batch_size) < 1 or not self.lr > 0:
            raise ValueError("spatial_filters, epochs and batch_size must be at least 1 and lr positive")


@dataclass
class FineTuneConfig:
    """The paper's downstream protocol: the contextual classifier trained end to end, the encoder included (a copy:
    the run's weights stay as trained). Same recipe from the trained weights and from random init: AdamW, `lr` for
    the spatial filter and classifier, `encoder_lr` for the encoder, linear warm-up over `warmup` of the steps,
    then cosine to 0, dropout before the classifier. Precision follows `run.precision`."""

    enabled: bool = True
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    encoder_lr: float = 3e-4
    warmup: float = 0.1
    weight_decay: float = 0.05
    dropout: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.epochs, self.batch_size) < 1 or not (self.lr > 0 and self.encoder_lr > 0):
            raise ValueError("epochs and batch_size must be at least 1, lr and encoder_lr positive")
        if not (0.0 <= self.warmup < 1.0 and 0.0 <= self.dropout < 1.0):
            raise ValueError("warmup and dropout must lie in [0, 1)")


@dataclass
class SJEPAMethodConfig:
    """S-JEPA's evaluation on top of core's: the three spatial-filter heads on frozen features and the contextual one
    fine-tuned end to end (`finetune`, the paper's protocol), each trained vs random init, and the
    cross-montage transfer check (pre-train on the run's montage, probe on `transfer_montage` recordings
    simulated with other seeds). Transfer needs the simulated dataset; it is skipped for user files."""

    wiring: ClassVar[str] = "core/jepa"  # built by core's assemble: `jepakit validate` wires the shapes

    heads: bool = True
    transfer: bool = True
    transfer_montage: Literal["1020-19", "1010-20"] = "1010-20"
    head: SpatialHeadConfig = field(default_factory=SpatialHeadConfig)
    finetune: FineTuneConfig = field(default_factory=FineTuneConfig)
