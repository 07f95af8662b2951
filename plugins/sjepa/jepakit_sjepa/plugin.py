"""S-JEPA's hook implementations: the EEG encoder, spatial block masker, decoder predictor, EEG datasets, the three
spatial-filter heads, the evaluation method with the cross-montage check, and the paper variant with its tiny
preset. Torch-free on purpose: imported whenever plugins load, including for `jepakit --help`.

The EMA target, L2 loss, VICReg term and the linear / k-NN probes are core's parts.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_sjepa.config import (
    DecoderPredictorConfig,
    EEGEncoderConfig,
    EEGFilesConfig,
    SimEEGConfig,
    SJEPAMethodConfig,
    SpatialHeadConfig,
    SpatialMaskConfig,
)

JEPAKIT_PLUGIN_API = "1"

#: S-JEPA as published (arXiv 2403.11772; braindecode's SignalJEPA; docs/variants/sjepa.md): 128 Hz input, the
#: 5-layer conv tokenizer (1 token per channel per second), 64-wide transformer 8 deep with 8 heads, position =
#: 30 electrode-xyz dims + 34 time dims, spatial block masks (diameters 40/60/80 % of the head), a 4-layer
#: transformer-decoder predictor, EMA target. The paper's pre-training data (Lee2019, 62 channels) cannot ship
#: offline, so data points at the simulated recordings at 128 Hz and 16-s windows. Loss, EMA momentum and the
#: optimiser schedule are not stated in the sources we could check: L2 and I-JEPA's
#: EMA 0.996 -> 1 / AdamW schedule are our assumption, named in docs/variants/sjepa.md.
PAPER = {
    "encoder": {"use": "sjepa/eeg-transformer"},
    "masker": {"use": "sjepa/spatial", "diameters": [0.4, 0.6, 0.8]},
    "predictor": {"use": "sjepa/decoder", "embed_dim": 64, "depth": 4, "num_heads": 8},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l2"}},
    "data": {"use": "sjepa/sim-eeg", "sfreq": 128.0, "window_s": 16.0},
    "method": {"use": "sjepa/jepa"},
    "optim": {
        "steps": 20_000,
        "batch_size": 256,
        "lr": 1e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 1000, "monitor_every": 500, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target", "heads": ["core/linear-probe", "core/knn"]},
}

#: The same method scaled down by config for 2 CPU cores: 64 Hz, 4-s windows on the 19-electrode 10-20 cap; a
#: 4-layer conv tokenizer of total stride 64 (still 1 token per channel per second, receptive field 1.1 s);
#: transformer 64 wide x 4 deep; decoder predictor 64 wide x 2 deep; the paper's masks. No VICReg term: unlike
#: tiny images (docs/recipes.md), here it made the probes worse (docs/variants/sjepa.md). The probe reads
#: one vector per electrode (`rows_mean`), as the paper's heads keep the channel axis: a mean over electrodes
#: erases which hemisphere desynchronised, the motor-imagery label.
TINY = {
    "encoder": {
        "use": "sjepa/eeg-transformer",
        "conv_layers": [[16, 16, 8], [32, 2, 2], [32, 2, 2], [64, 2, 2]],
        "conv_norm": "none",
        "embed_dim": 64,
        "depth": 4,
        "num_heads": 4,
    },
    "masker": {"use": "sjepa/spatial", "diameters": [0.4, 0.6, 0.8]},
    "predictor": {"use": "sjepa/decoder", "embed_dim": 64, "depth": 2, "num_heads": 4},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l2"}},
    "data": {"use": "sjepa/sim-eeg", "sfreq": 64.0, "window_s": 4.0, "n_train": 1200, "n_test": 400},
    "method": {"use": "sjepa/jepa"},
    "optim": {
        "steps": 1000,
        "batch_size": 128,
        "lr": 1e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 200, "monitor_every": 100, "log_every": 10},
    "eval": {"readout": "rows_mean", "encoder": "target", "heads": ["core/linear-probe", "core/knn"]},
}


#: Speed workload for `jepakit bench` (the I-JEPA bench's model sizes on EEG): the tiny preset's tokenizer and
#: recordings with a 192 x 12 x 3 transformer and a 96 x 6 x 3 predictor, batch 32.
BENCH = {
    **TINY,
    "encoder": {**TINY["encoder"], "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {**TINY["predictor"], "embed_dim": 96, "depth": 6, "num_heads": 3},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "eeg-transformer",
        "jepakit_sjepa.models:EEGEncoder",
        config=EEGEncoderConfig,
        modality="eeg",
        layout="electrodes",
        summary="per-channel conv tokens (1 per channel per second) + electrode-xyz/time code; any montage",
    )


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "spatial",
        "jepakit_sjepa.masks:SpatialBlockMasker",
        config=SpatialMaskConfig,
        layout="electrodes",
        summary="S-JEPA spatial blocks: every electrode within a diameter of a random one, all time steps",
    )


@hookimpl
def jepa_register_predictors(register: RegisterFn) -> None:
    register(
        "decoder",
        "jepakit_sjepa.models:DecoderPredictor",
        config=DecoderPredictorConfig,
        layout="electrodes",
        summary="transformer decoder: positioned mask tokens cross-attend to the context tokens",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "sim-eeg",
        "jepakit_sjepa.data:sim_eeg",
        config=SimEEGConfig,
        modality="eeg",
        summary="simulated EEG on a 10-20 / 10-10 cap: 1/f background, mu ERD (left/right MI), P300 oddball",
    )
    register(
        "eeg-files",
        "jepakit_sjepa.eeg_files:eeg_files",
        config=EEGFilesConfig,
        modality="eeg",
        summary="your own EDF/BDF/FIF/BrainVision files (MNE); annotations are the labels",
    )


@hookimpl
def jepa_register_heads(register: RegisterFn) -> None:
    register(
        "contextual",
        "jepakit_sjepa.heads:SpatialFilterHead",
        config=SpatialHeadConfig,
        summary="S-JEPA contextual head: spatial filters over the encoder's tokens, flatten, linear",
    )
    register(
        "post-local",
        "jepakit_sjepa.heads:PostLocalHead",
        config=SpatialHeadConfig,
        summary="S-JEPA post-local head: spatial filters over the conv tokenizer's features, linear",
    )
    register(
        "pre-local",
        "jepakit_sjepa.heads:PreLocalHead",
        config=SpatialHeadConfig,
        summary="S-JEPA pre-local head: spatial filters on the raw signal, then the conv tokenizer, linear",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "jepa",
        "jepakit_sjepa.method:SJEPAMethod",
        config=SJEPAMethodConfig,
        summary="core's JEPA + S-JEPA evaluation: the 3 spatial heads and cross-montage transfer",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "sjepa",
        PAPER,
        modality="eeg",
        summary="S-JEPA as published: 64-wide x 8 encoder, 4-layer decoder, spatial masks (data: simulated)",
    )
    register(
        "sjepa-tiny",
        TINY,
        modality="eeg",
        summary="S-JEPA at CPU scale on simulated 19-channel EEG, per-electrode probe, a few minutes",
    )
    register(
        "bench",
        BENCH,
        modality="eeg",
        summary="speed benchmark workload (`jepakit bench`): 192x12 transformer on simulated EEG, batch 32",
    )
