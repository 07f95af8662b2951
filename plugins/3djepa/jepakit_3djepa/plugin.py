"""3D-JEPA's hook implementations: the proximity multi-block masker, the context-aware decoder, the negative-cosine
energy, the method that resolves masks by patch-centre proximity, and the paper's variant with its tiny presets.
Torch-free on purpose: imported whenever plugins load (`jepakit --help`).

3D-JEPA registers no tokenizer or data: its variants name Point-JEPA's (`pointjepa/point-transformer`,
`pointjepa/furniture`) by registry name, as UI-JEPA composes V-JEPA's parts, so a better point tokenizer
registered by any plugin drops in with one line of TOML.
"""

from __future__ import annotations

from jepakit_pointjepa.config import PointEvalConfig
from jepakit_pointjepa.plugin import BENCH as POINT_BENCH

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_3djepa.config import ContextDecoderConfig, NegCosineConfig, ProximityMaskConfig

JEPAKIT_PLUGIN_API = "1"

#: 3D-JEPA as published (arXiv 2409.15803): Point-MAE's tokenizer (1,024 points, 64 groups x 32, mini-PointNet,
#: MLP positions) and a 384 x 12 x 6 encoder, proximity multi-block masks, the context-aware decoder, an EMA
#: teacher and negative cosine similarity; 150 pretraining epochs. The paper gives no code; what it does not
#: state is I-JEPA's (4 targets of 15-20 %, context 85-100 %, EMA 0.996 -> 1) or Point-JEPA's (decoder
#: 192 x 6, AdamW lr 1e-3 / wd 0.05 / batch 512), named in docs/variants/3djepa.md. `steps` is 150 epochs of
#: ShapeNet-55 at batch 512.
PAPER = {
    "encoder": {"use": "pointjepa/point-transformer"},
    "masker": {"use": "3djepa/proximity-blocks"},
    "predictor": {"use": "3djepa/context-decoder"},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "3djepa/neg-cosine"}},
    "data": {"use": "pointjepa/furniture", "points": 1024},
    "method": {"use": "3djepa/jepa"},
    "optim": {
        "steps": 12_300,
        "batch_size": 512,
        "lr": 1e-3,
        "start_lr": 1e-5,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.05,
        "final_weight_decay": 0.05,
    },
    "run": {"precision": "bf16", "ckpt_every": 1000, "monitor_every": 500, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target", "heads": [], "online_every": 0},
}

#: Point-JEPA's tiny tokenizer, encoder and data (pointjepa-tiny), with 3D-JEPA's masks, a 48 x 2 context-aware
#: decoder and the negative cosine, plus pointjepa-tiny's named VICReg term (see docs/variants/3djepa.md).
_TINY_ENCODER = {
    "use": "pointjepa/point-transformer",
    "num_groups": 32,
    "group_size": 16,
    "pointnet_dims": [32, 64, 128],
    "embed_dim": 96,
    "depth": 4,
    "num_heads": 4,
    "pos_hidden": 64,
}
TINY = {
    "encoder": _TINY_ENCODER,
    "masker": {"use": "3djepa/proximity-blocks"},
    "predictor": {"use": "3djepa/context-decoder", "embed_dim": 48, "depth": 2, "num_heads": 4, "pos_hidden": 64},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "3djepa/neg-cosine"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}},
    "data": {"use": "pointjepa/furniture", "points": 512, "stored": 2048},
    "method": {"use": "3djepa/jepa"},
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

#: The decoder ablation: 3djepa-tiny with Point-JEPA's concatenating predictor in place of the context-aware
#: decoder, widened to the decoder's parameter count (55 wide x 2, 5 heads: 88.7 k vs 88.6 k parameters).
TINY_CONCAT = {
    **TINY,
    "predictor": {"use": "pointjepa/predictor", "embed_dim": 55, "depth": 2, "num_heads": 5, "pos_hidden": 64},
}

#: The tiny preset on generated shapes: no package needed.
TINY_SHAPES = {**TINY, "data": {"use": "pointjepa/shapes", "points": 512, "stored": 512}}

#: Speed workload for `jepakit bench`: pointjepa/bench's encoder and data (1,024 points, 64 groups x 32,
#: 192 x 12 x 3) with a 96 x 6 x 3 context-aware decoder, batch 32.
BENCH = {
    **TINY,
    "encoder": POINT_BENCH["encoder"],
    "predictor": {"use": "3djepa/context-decoder", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "data": POINT_BENCH["data"],
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "proximity-blocks",
        "jepakit_3djepa.masks:ProximityBlockMasker",
        config=ProximityMaskConfig,
        layout="points",
        summary="3D-JEPA multi-block: target/context blocks = patches nearest a random centre (context minus targets)",
    )


@hookimpl
def jepa_register_predictors(register: RegisterFn) -> None:
    register(
        "context-decoder",
        "jepakit_3djepa.models:ContextDecoder",
        config=ContextDecoderConfig,
        layout="points",
        summary="context-aware decoder: target queries self-attend and cross-attend to the context in every layer",
    )


@hookimpl
def jepa_register_losses(register: RegisterFn) -> None:
    register(
        "neg-cosine",
        "jepakit_3djepa.losses:NegCosine",
        config=NegCosineConfig,
        summary="negative cosine similarity of predicted and target features (3D-JEPA)",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "jepa",
        "jepakit_3djepa.method:ThreeDJEPAMethod",
        config=PointEvalConfig,
        summary="pointjepa/jepa with masks resolved by patch-centre proximity each step; same SVM / k-NN evaluation",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "3djepa",
        PAPER,
        modality="points",
        summary="3D-JEPA as published: Point-MAE tokens (pointjepa parts), proximity blocks, context-aware decoder",
    )
    register(
        "3djepa-tiny",
        TINY,
        modality="points",
        summary="3D-JEPA at CPU scale on Sweet Home 3D furniture (pointjepa-tiny's tokenizer, 48x2 decoder)",
    )
    register(
        "3djepa-tiny-concat",
        TINY_CONCAT,
        modality="points",
        summary="ablation: 3djepa-tiny with Point-JEPA's concatenating predictor at the decoder's parameter count",
    )
    register(
        "3djepa-tiny-shapes",
        TINY_SHAPES,
        modality="points",
        summary="3djepa-tiny on generated parametric shapes (no package needed)",
    )
    register(
        "bench",
        BENCH,
        modality="points",
        summary="speed benchmark workload (`jepakit bench`): 1,024 points, 64 patches, 192x12 encoder, batch 32",
    )
