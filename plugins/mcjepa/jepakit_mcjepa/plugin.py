"""MC-JEPA's hook implementations: the ConvNeXt pyramid encoder, flow digits, the MC-JEPA method, and the paper
variant with its tiny preset. Torch-free on purpose: imported whenever plugins load, including for `--help`.

MC-JEPA does not fit core's masked-prediction JEPA (no masker, predictor or EMA target: a flow estimator and a
VICReg expander on one shared encoder), so it registers a method; its loss weights live in `[method]`.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_mcjepa.config import FlowDigitsConfig, MCJEPAConfig, PyramidConfig

JEPAKIT_PLUGIN_API = "1"

#: MC-JEPA as published (arXiv 2307.12698; docs/variants/mcjepa.md): ConvNeXt-T backbone giving a 6-level pyramid,
#: PWC-style flow estimator on every level (correlation radius 4, PWC-Net's 128-128-96-64-32 estimator), motion
#: losses (photometric, regression, smoothness, cycle, VC) plus VICReg 25/25/1 through an 8192-8192-8192
#: expander. The paper trains on ImageNet + unlabeled video, neither shippable offline, so data points at flow
#: digits at 128 px (6 levels need sides divisible by 64): the method's configuration, not a CPU run. Optimiser
#: settings and flow-loss weights are not verified against the paper (docs/variants/mcjepa.md).
PAPER = {
    "encoder": {"use": "mcjepa/convnext-pyramid", "dims": [48, 96, 192, 384, 768, 768], "depths": [1, 3, 3, 9, 3, 1]},
    "method": {"use": "mcjepa/joint"},
    "data": {"use": "mcjepa/flow-digits", "frames": 4, "size": 128, "digit_size": 64, "speed": 8},
    "optim": {
        "steps": 100_000,
        "batch_size": 384,
        "lr": 1e-3,
        "start_lr": 1e-5,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.05,
        "final_weight_decay": 0.05,
    },
    "run": {"precision": "bf16", "ckpt_every": 5000, "monitor_every": 1000, "log_every": 50},
    "eval": {"readout": "mean"},
}

#: The same method scaled down by config for 2 CPU cores (docs/variants/mcjepa.md has the measurements): 4-frame
#: 32x32 clips, a 3-level pyramid (16/32/64 channels at strides 2/4/8, 1/1/2 blocks, 3x3 depthwise kernels),
#: flow on all 3 levels with correlation radius 2 and a 32-32 estimator, a 256-256 expander. Every loss term of
#: the paper variant; feature regression and cycle weights lowered (1 -> 0.1, 0.2 -> 0.05) and smoothness 0.2 ->
#: 0.1, because on 32 px frames the features of background pixels next to the digit move with it and those terms
#: dragged the digit's motion onto them (measured: docs/variants/mcjepa.md, "How the preset got there").
TINY = {
    "encoder": {"use": "mcjepa/convnext-pyramid", "dims": [16, 32, 64], "depths": [1, 1, 2], "kernel_size": 3},
    "method": {
        "use": "mcjepa/joint",
        "corr_radius": 2,
        "head_dims": [32, 32],
        "expander_dims": [256, 256],
        "rec_weight": 0.1,
        "cycle_weight": 0.05,
        "smooth_weight": 0.1,
    },
    "data": {
        "use": "mcjepa/flow-digits",
        "frames": 4,
        "size": 32,
        "digit_size": 16,
        "speed": 2,
        "background_cells": 16,
    },
    "optim": {
        "steps": 1000,
        "batch_size": 64,
        "lr": 2e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-5,
        "warmup": 0.1,
        "weight_decay": 0.05,
        "final_weight_decay": 0.05,
    },
    "run": {"precision": "fp32", "ckpt_every": 100, "monitor_every": 100, "log_every": 10},
    "eval": {"readout": "mean"},
}


#: Speed workload for `jepakit bench`: the paper's first three pyramid levels (48/96/192 channels, 1/3/3 blocks,
#: 7x7 depthwise) on 4-frame 64 px clips, the tiny preset's flow head and expander, batch 32.
BENCH = {
    **TINY,
    "encoder": {"use": "mcjepa/convnext-pyramid", "dims": [48, 96, 192], "depths": [1, 3, 3]},
    "data": {**TINY["data"], "size": 64, "digit_size": 32, "speed": 4},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "convnext-pyramid",
        "jepakit_mcjepa.models:ConvNeXtPyramid",
        config=PyramidConfig,
        modality="video",
        layout="grid3d",
        summary="ConvNeXt feature pyramid (stride doubles per level); tokens = the last level of every frame",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "flow-digits",
        "jepakit_mcjepa.data:flow_digits",
        config=FlowDigitsConfig,
        modality="video",
        summary="moving digits over a static texture with exact optical flow per frame pair; label digit",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "joint",
        "jepakit_mcjepa.method:MCJEPAMethod",
        config=MCJEPAConfig,
        summary="PWC-style self-supervised flow + VICReg content on one shared pyramid; eval: EPE + probe",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "mcjepa",
        PAPER,
        modality="video",
        summary="MC-JEPA as published: ConvNeXt-T 6-level pyramid, PWC flow, VICReg 25/25/1 (data: generated)",
    )
    register(
        "mcjepa-tiny",
        TINY,
        modality="video",
        summary="MC-JEPA at CPU scale on flow digits (32x32, 3 levels), flow EPE + digit probe, a few minutes",
    )
    register(
        "bench",
        BENCH,
        modality="video",
        summary="speed benchmark workload (`jepakit bench`): 3-level 48/96/192 pyramid on 4x64x64 clips, batch 32",
    )
