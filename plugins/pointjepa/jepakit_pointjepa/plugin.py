"""Point-JEPA's hook implementations: the point-patch encoder with its sequencer, the contiguous-run masker, the
centre-aware predictor, point-cloud datasets, the method (training + the papers' SVM protocol), and the paper's
variant with its tiny presets. Torch-free on purpose: imported whenever plugins load (`jepakit --help`).

The EMA target, the smooth-L1 and VICReg energies are core's parts.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_pointjepa.config import (
    FurnitureConfig,
    PointEncoderConfig,
    PointEvalConfig,
    PointFolderConfig,
    PointPredictorConfig,
    SequenceMaskConfig,
    ShapesConfig,
)

JEPAKIT_PLUGIN_API = "1"

#: Point-JEPA as published (arXiv 2404.16432; configs/Point-JEPA/pretraining/shapenet.yaml): 1,024 points,
#: 64 groups x 32, mini-PointNet tokens, the nearest-neighbour sequencer, transformer 384 x 12 x 6 heads, predictor
#: 192 x 6, 4 contiguous target runs of 15-20 % and a context run of 40-75 % of the rest, smooth-L1 on layer-normed
#: final-layer teacher features, EMA 0.9995 -> 0.99999, AdamW lr 1e-3 (wd 0.05, warm-up 30 of 500 epochs from
#: 1e-5, cosine to 1e-6), batch 512. ShapeNet cannot ship offline: the data are Sweet Home 3D's 820 models, and
#: `steps` is the paper's schedule length on ShapeNet-55 (500 epochs x 82 steps). Dropout / drop-path are not
#: implemented (core's blocks have none).
PAPER = {
    "encoder": {"use": "pointjepa/point-transformer"},
    "masker": {"use": "pointjepa/sequence-blocks"},
    "predictor": {"use": "pointjepa/predictor"},
    "target": {"use": "core/ema", "momentum": [0.9995, 0.99999]},
    "loss": {"pred": {"use": "core/smooth-l1"}},
    "data": {"use": "pointjepa/furniture", "points": 1024},
    "method": {"use": "pointjepa/jepa"},
    "optim": {
        "steps": 41_000,
        "batch_size": 512,
        "lr": 1e-3,
        "start_lr": 1e-5,
        "final_lr": 1e-6,
        "warmup": 30 / 500,
        "weight_decay": 0.05,
        "final_weight_decay": 0.05,
    },
    "run": {"precision": "bf16", "ckpt_every": 2000, "monitor_every": 1000, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target", "heads": [], "online_every": 0},
}

#: The same method at CPU scale (docs/variants/pointjepa.md has the measurements): 512 points, 32 groups x 16,
#: transformer 96 x 4, predictor 48 x 2, the paper's masks and sequencer. EMA 0.996 -> 1 and a named VICReg term on
#: pooled context features, as the other tiny presets: at a few hundred steps the paper's 0.9995 leaves the
#: teacher at its initialisation, and without the term small JEPAs collapse.
TINY = {
    "encoder": {
        "use": "pointjepa/point-transformer",
        "num_groups": 32,
        "group_size": 16,
        "pointnet_dims": [32, 64, 128],
        "embed_dim": 96,
        "depth": 4,
        "num_heads": 4,
        "pos_hidden": 64,
    },
    "masker": {"use": "pointjepa/sequence-blocks"},
    "predictor": {"use": "pointjepa/predictor", "embed_dim": 48, "depth": 2, "num_heads": 4, "pos_hidden": 64},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/smooth-l1"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}},
    "data": {"use": "pointjepa/furniture", "points": 512, "stored": 2048},
    "method": {"use": "pointjepa/jepa"},
    "optim": {
        "steps": 400,
        "batch_size": 64,
        "lr": 1e-3,
        "start_lr": 1e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.05,
        "final_weight_decay": 0.05,
    },
    "run": {"precision": "fp32", "ckpt_every": 200, "monitor_every": 100, "log_every": 10},
    "eval": {"readout": "mean", "encoder": "target", "heads": [], "online_every": 0},
}

#: The tiny preset on generated shapes: no package needed (the fallback when sweethome3d-furniture is missing).
TINY_SHAPES = {**TINY, "data": {"use": "pointjepa/shapes", "points": 512, "stored": 512}}

#: Speed workload for `jepakit bench`: 1,024 points, 64 groups x 32, transformer 192 x 12 x 3, predictor
#: 96 x 6 x 3 (the other plugins' bench sizes), batch 32, generated shapes (no package needed).
BENCH = {
    **TINY,
    "encoder": {
        "use": "pointjepa/point-transformer",
        "num_groups": 64,
        "group_size": 32,
        "embed_dim": 192,
        "depth": 12,
        "num_heads": 3,
    },
    "predictor": {"use": "pointjepa/predictor", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "data": {"use": "pointjepa/shapes", "points": 1024, "stored": 1024},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "point-transformer",
        "jepakit_pointjepa.models:PointEncoder",
        config=PointEncoderConfig,
        modality="points",
        layout="points",
        summary="FPS + kNN point patches, mini-PointNet tokens in the sequencer's order, centre-MLP positions",
    )


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "sequence-blocks",
        "jepakit_pointjepa.masks:SequenceBlockMasker",
        config=SequenceMaskConfig,
        layout="points",
        summary="Point-JEPA: 4 contiguous target runs (15-20 %) + a context run (40-75 % of the rest) in sequence",
    )


@hookimpl
def jepa_register_predictors(register: RegisterFn) -> None:
    register(
        "predictor",
        "jepakit_pointjepa.models:PointPredictor",
        config=PointPredictorConfig,
        layout="points",
        summary="narrow transformer over context + mask tokens, each with its patch centre's position MLP",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "furniture",
        "jepakit_pointjepa.data:furniture",
        config=FurnitureConfig,
        modality="points",
        summary="820 real 3-D models of Debian's sweethome3d-furniture as clouds; 11 classes (~330 labelled)",
    )
    register(
        "shapes",
        "jepakit_pointjepa.data:shapes",
        config=ShapesConfig,
        modality="points",
        summary="generated parametric shapes (sphere, cylinder, cone, torus, box ...) with scale/rotation/noise",
    )
    register(
        "point-folder",
        "jepakit_pointjepa.data:point_folder",
        config=PointFolderConfig,
        modality="points",
        summary="your own clouds and meshes: path/<class>/*.ply|obj|npy|xyz (or unlabelled); bad files skipped",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "jepa",
        "jepakit_pointjepa.method:PointJEPAMethod",
        config=PointEvalConfig,
        summary="core's JEPA, predictor reads patch centres; eval: linear SVM + k-NN, repeated 5-fold CV, D2 baseline",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "pointjepa",
        PAPER,
        modality="points",
        summary="Point-JEPA as published: 64x32 patches, sequencer, 384x12 encoder, EMA 0.9995 (data: furniture)",
    )
    register(
        "pointjepa-tiny",
        TINY,
        modality="points",
        summary="Point-JEPA at CPU scale on Sweet Home 3D furniture (512 points, 32 patches), minutes on 2 cores",
    )
    register(
        "pointjepa-tiny-shapes",
        TINY_SHAPES,
        modality="points",
        summary="pointjepa-tiny on generated parametric shapes (no package needed)",
    )
    register(
        "bench",
        BENCH,
        modality="points",
        summary="speed benchmark workload (`jepakit bench`): 1,024 points, 64 patches, 192x12 encoder, batch 32",
    )
