"""I-JEPA's hook implementations: the multi-block masker and the paper's variant with its tiny presets.

Torch-free on purpose: this module is imported whenever plugins load, including for `jepakit --help`.
The encoder, predictor, EMA target and losses are core's parts; I-JEPA is what it composes from them.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_ijepa.config import MultiBlockConfig

JEPAKIT_PLUGIN_API = "1"

#: I-JEPA as published (configs/in1k_vith14_ep300.yaml): ViT-H/14 at 224 px, predictor 384 wide x 12 deep,
#: batch 2048, 300 epochs of ImageNet-1k (625 steps each), 40 warm-up epochs, EMA 0.996 -> 1, bf16.
#: Point data.path at an ImageFolder copy of ImageNet (nothing is downloaded).
PAPER = {
    "encoder": {"use": "core/vit", "patch_size": 14, "embed_dim": 1280, "depth": 32, "num_heads": 16},
    "masker": {"use": "ijepa/multiblock"},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 384, "depth": 12, "num_heads": 16},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/smooth-l1"}},
    "data": {"use": "core/image-folder", "size": 224, "channels": 3},
    "optim": {
        "steps": 187_500,
        "batch_size": 2048,
        "lr": 1e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 40 / 300,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "bf16", "ckpt_every": 5000, "monitor_every": 1000, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target"},
}

#: The same method scaled down by config for 2 CPU cores (docs/variants/ijepa.md has the measurements): real
#: handwritten digits (scikit-learn's, shipped offline), each 12x12 at a fixed random offset on a 16x16 canvas
#: so raw pixels do not line up; patch 2 -> an 8x8 token grid; a ViT 96 wide x 4 deep; a predictor 64 wide x
#: 4 deep; paper masking with min_keep 4 (a 10-token minimum cannot hold on 64 tokens); EMA 0.996 -> 1;
#: AdamW peak lr 5e-4 (1e-3 was worse at batch 128); last-4-layer readout, as some of the paper's probes.
#: Two changes are named rather than hidden: at this scale plain I-JEPA collapses (loss -> 0, effective rank
#: falls), so `ijepa-tiny` adds a VICReg variance/covariance term on pooled context features
#: (`ijepa-tiny-plain` leaves it out), and the predictor runs all four target blocks in one sequence
#: (`target_attention = "joint"`: same quality measured, 25 % faster; `--set predictor.target_attention=separate`
#: restores the paper's per-block passes).
TINY_PLAIN = {
    "encoder": {"use": "core/vit", "patch_size": 2, "embed_dim": 96, "depth": 4, "num_heads": 4},
    "masker": {"use": "ijepa/multiblock", "min_keep": 4},
    "predictor": {
        "use": "core/vit-predictor",
        "embed_dim": 64,
        "depth": 4,
        "num_heads": 4,
        "target_attention": "joint",
    },
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/smooth-l1"}},
    "data": {"use": "core/digits", "size": 16, "digit_size": 12},
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
    "eval": {"readout": "last4_mean", "encoder": "target"},
}
TINY = {**TINY_PLAIN, "loss": {"pred": {"use": "core/smooth-l1"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}}}

#: A real benchmark at CPU scale (docs/variants/ijepa.md has the card): Fashion-MNIST's 60,000 training images
#: (Debian package dataset-fashion-mnist, nothing downloaded) at their own 28x28, I-JEPA's augmentation (random
#: resized crop, scale 0.3-1.0, + horizontal flip) on the training samples only; patch 4 -> a 7x7 grid. It keeps
#: ijepa-tiny's recipe (ViT 96 x 4, predictor 64 x 4 joint, min_keep 4, VICReg term, lr 5e-4, batch 128) and
#: reads the features per grid row (`rows_mean`): a clothing class is a silhouette, which a global mean erases
#: (at random init: 74 % vs 63 % for the mean, on 3,000 / 1,000 images). Probed on the 10,000 test images with a
#: fixed stratified 10,000 of the training images as the probes' train split (cheap evaluation). The bar: raw
#: pixels under the linear probe, about 84 %. 3,000 steps are about 15 minutes on 2 idle cores.
FMNIST = {
    **TINY,
    "encoder": {"use": "core/vit", "patch_size": 4, "embed_dim": 96, "depth": 4, "num_heads": 4},
    "data": {"use": "core/fashion-mnist", "size": 28, "augment": "ijepa", "probe_train": 10_000},
    "optim": {**TINY["optim"], "steps": 3000},
    "run": {"precision": "fp32", "ckpt_every": 500, "monitor_every": 250, "log_every": 25},
    "eval": {"readout": "rows_mean", "encoder": "target", "online_every": 250},
}

#: The speed benchmark's workload (`jepakit bench`, benchmarks/README.md): a real I-JEPA step at a size between
#: the tiny presets and the paper, so the measured MFU reflects transformer matmuls rather than per-op
#: overhead. 64x64 RGB inputs (the embedded digits, gray replicated to 3 channels; nothing to download) with
#: patch 4 -> a 16x16 grid; encoder ViT-Tiny (192 wide, 12 deep, 3 heads); predictor 96 wide x 6 deep x 3 heads
#: with the paper's per-block passes; the paper's masking (4 targets of scale 0.15-0.2, aspect 0.75-1.5;
#: 1 context block of scale 0.85-1.0; min_keep 10); AdamW, batch 32, EMA 0.996 -> 1. Trainable like any variant.
BENCH = {
    "encoder": {"use": "core/vit", "patch_size": 4, "embed_dim": 192, "depth": 12, "num_heads": 3},
    "masker": {
        "use": "ijepa/multiblock",
        "num_targets": 4,
        "target_scale": [0.15, 0.2],
        "target_aspect": [0.75, 1.5],
        "num_context": 1,
        "context_scale": [0.85, 1.0],
        "min_keep": 10,
    },
    "predictor": {"use": "core/vit-predictor", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/smooth-l1"}},
    "data": {"use": "core/digits", "size": 64, "channels": 3},
    "optim": {
        "steps": 1000,
        "batch_size": 32,
        "lr": 5e-4,
        "start_lr": 1e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 200, "monitor_every": 200, "log_every": 10},
    "eval": {"readout": "mean", "encoder": "target"},
}


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "multiblock",
        "jepakit_ijepa.masks:MultiBlockMasker",
        config=MultiBlockConfig,
        layout="grid2d",
        summary="I-JEPA multi-block masks: 4 targets (scale 0.15-0.2, aspect 0.75-1.5), 1 context block minus targets",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register("ijepa", PAPER, modality="image", summary="I-JEPA as published: ViT-H/14, 224 px, ImageNet folder")
    register(
        "ijepa-tiny",
        TINY,
        modality="image",
        summary="I-JEPA at CPU scale on shifted digits (+ named VICReg term), ~4 min on 2 cores",
    )
    register(
        "ijepa-tiny-plain",
        TINY_PLAIN,
        modality="image",
        summary="ijepa-tiny without the anti-collapse term: the paper's objective alone (collapses at this scale)",
    )
    register(
        "ijepa-fmnist",
        FMNIST,
        modality="image",
        summary="I-JEPA on Fashion-MNIST (apt dataset-fashion-mnist), 32 px, augmented; ~15 min on 2 cores",
    )
    register(
        "bench",
        BENCH,
        modality="image",
        summary="speed benchmark workload (`jepakit bench`): ViT-Tiny, 64x64 RGB digits, patch 4, batch 32",
    )
