"""TI-JEPA's hook implementations: image-caption data, the text-image method, the paper's variant and its tiny preset.
Torch-free on purpose: imported whenever plugins load, including for `jepakit --help`.

TI-JEPA registers no image encoder or masker: its variants name core's ViT and I-JEPA's multi-block masker, the
paper's choices (it starts from an I-JEPA image encoder and masks the image as I-JEPA does). What the paper adds
lives here: the open_clip text tower, the cross-attention fusion with its EMA target copy, and the pair data.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_tijepa.config import CaptionedShapesConfig, PairFileConfig, TIJEPAConfig

JEPAKIT_PLUGIN_API = "1"

#: TI-JEPA as published (sec. 3-4): a frozen ViT-H/14 image encoder (I-JEPA's) and a frozen text transformer,
#: trainable cross-attention fusion (context) with its EMA copy (target), a shallow predictor, I-JEPA's
#: multi-block masks on the image, latent L2 energy; pairs are the user's (COCO-scale captions). The fusion and
#: text sizes are not given in the paper: these are CLIP ViT-L/14's text tower and an I-JEPA-width fusion.
PAPER = {
    "encoder": {"use": "core/vit", "patch_size": 14, "embed_dim": 1280, "depth": 32, "num_heads": 16},
    "masker": {"use": "ijepa/multiblock"},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 384, "depth": 6, "num_heads": 12},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"energy": {"use": "core/l2"}},
    "data": {"use": "tijepa/pair-file", "size": 224, "context_length": 77},
    "method": {
        "use": "tijepa/tijepa",
        "text_width": 768,
        "text_layers": 12,
        "text_heads": 12,
        "fusion_width": 1024,
        "fusion_depth": 6,
        "fusion_heads": 16,
        "freeze_image": True,
        "freeze_text": True,
    },
    "optim": {
        "steps": 100_000,
        "batch_size": 256,
        "lr": 1e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 0.05,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "bf16", "ckpt_every": 5000, "monitor_every": 1000, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target", "heads": []},
}

#: The same recipe at CPU scale on generated pairs: 32 px images, ViT 96 x 4 with 4 px patches (8 x 8 grid),
#: a 2-layer open_clip text tower of width 64, 2 fusion blocks of width 96, I-JEPA's masks at paper scales.
#: The towers train with the fusion here (there is no pretrained tower to freeze; set freeze_* to try). Measured:
#: with the L2 energy alone the fused features collapse (effective rank 28 -> 5 in 600 steps, retrieval at
#: chance), so, as in the other tiny presets, a named VICReg term on pooled context features keeps them spread.
TINY = {
    "encoder": {"use": "core/vit", "patch_size": 4, "embed_dim": 96, "depth": 4, "num_heads": 4},
    "masker": {"use": "ijepa/multiblock", "min_keep": 4},
    "predictor": {
        "use": "core/vit-predictor",
        "embed_dim": 64,
        "depth": 3,
        "num_heads": 4,
        "target_attention": "joint",
    },
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"energy": {"use": "core/l2"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}},
    "data": {"use": "tijepa/captioned-shapes"},
    "method": {"use": "tijepa/tijepa"},
    "optim": {
        "steps": 1000,
        "batch_size": 64,
        "lr": 5e-4,
        "start_lr": 1e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 100, "monitor_every": 100, "log_every": 10},
    "eval": {"readout": "mean", "encoder": "target", "heads": []},
}


#: Speed workload for `jepakit bench` (the I-JEPA bench's model sizes on captioned shapes): 64 px images, ViT-Tiny
#: 192 x 12 x 3 with 4 px patches -> 256 patches, text tower 192 x 4, fusion 192 x 2, predictor 96 x 6 x 3, batch 32.
BENCH = {
    **TINY,
    "encoder": {"use": "core/vit", "patch_size": 4, "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "data": {"use": "tijepa/captioned-shapes", "size": 64, "n_train": 512, "n_test": 64},
    "method": {
        "use": "tijepa/tijepa",
        "text_width": 192,
        "text_layers": 4,
        "text_heads": 3,
        "fusion_width": 192,
        "fusion_heads": 3,
    },
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "captioned-shapes",
        "jepakit_tijepa.data:captioned_shapes",
        config=CaptionedShapesConfig,
        modality="text-image",
        summary="a coloured shape beside a handwritten digit, captioned from its attributes; offline",
    )
    register(
        "pair-file",
        "jepakit_tijepa.pair_file:pair_file",
        config=PairFileConfig,
        modality="text-image",
        summary="your own image-caption pairs: a CSV (image,caption) or a JSONL",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "tijepa",
        "jepakit_tijepa.method:TIJEPAMethod",
        config=TIJEPAConfig,
        summary="open_clip text tower + image ViT fused by cross-attention; latent L2 energy, EMA fusion target",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "tijepa",
        PAPER,
        modality="text-image",
        summary="TI-JEPA as published: frozen ViT-H/14 + text towers, cross-attention fusion (data: yours)",
    )
    register(
        "tijepa-tiny",
        TINY,
        modality="text-image",
        summary="TI-JEPA at CPU scale on generated captioned shapes (64 patches, ijepa masks by name)",
    )
    register(
        "bench",
        BENCH,
        modality="text-image",
        summary="speed benchmark workload (`jepakit bench`): ViT-Tiny + text 192 x 4 + fusion on 64 px pairs, batch 32",
    )
