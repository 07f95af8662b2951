"""A-JEPA's hook implementations: the spectrogram ViT, the curriculum masker, spoken digits, the audio-folder
loader, and the paper's variant with its tiny preset. Torch-free on purpose: imported whenever plugins load,
including for `jepakit --help`.

The predictor, EMA target, L2 loss, VICReg term and probes are core's parts; core's TransformerPredictor works on
the (time, frequency) grid as on any other.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.api import ViTConfig
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_ajepa.config import (
    AudioFolderConfig,
    CurriculumConfig,
    HumanDigitsConfig,
    SoundFontConfig,
    SpokenDigitsConfig,
)

JEPAKIT_PLUGIN_API = "1"

#: A-JEPA as published (arXiv 2311.15830; docs/variants/ajepa.md): 10.24 s clips at 16 kHz, 128-bin log-mel with
#: a 25 ms window and 10 ms hop (1024 frames), 16x16 patches -> a 64 x 8 (time x frequency) grid of 512 tokens;
#: ViT-B/16 encoder; EMA target; narrow ViT predictor as in I-JEPA (384 wide x 12 deep); curriculum from random
#: block masks to time-frequency aware masks; L2 on layer-normed target features. The optimiser is I-JEPA's
#: recipe at AudioMAE's AudioSet-2M budget (batch 512, 32 epochs): the paper's exact optimiser numbers, like its
#: schedule of the mask curriculum, are not verified here. No AudioSet ships offline, so data points at the
#: synthesised digits at the paper's front end: the method's config, not something a CPU can train.
PAPER = {
    "encoder": {"use": "ajepa/spectrogram-vit", "patch_size": 16, "embed_dim": 768, "depth": 12, "num_heads": 12},
    "masker": {
        "use": "ajepa/curriculum",
        "num_targets": 4,
        "target_scale": [0.15, 0.2],
        "aspect": [0.75, 1.5],
        "context_scale": [0.85, 1.0],
        "curriculum": [0.0, 1.0],
    },
    "predictor": {"use": "core/vit-predictor", "embed_dim": 384, "depth": 12, "num_heads": 12},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l2"}},
    "data": {
        "use": "ajepa/spoken-digits",
        "sample_rate": 16000,
        "n_mels": 128,
        "frames": 1024,
        "win_ms": 25.0,
        "hop_ms": 10.0,
    },
    "optim": {
        "steps": 125_000,
        "batch_size": 512,
        "lr": 1e-3,
        "start_lr": 2e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "bf16", "ckpt_every": 5000, "monitor_every": 1000, "log_every": 50},
    "eval": {"readout": "mean", "encoder": "target"},
}

#: The same method scaled down by config for 2 CPU cores (docs/variants/ajepa.md has the measurements and
#: the reasons; docs/recipes.md the starting points): 8 kHz, 32 mel bins x 128 frames (25 ms window, 16 ms hop:
#: ~2 s clips with the word at a random onset, so the raw log-mel does not line up), 8x8 patches -> a 16 x 4 (time x
#: frequency) grid of 64 tokens; ViT 96 wide x 4 deep; predictor 64 wide x 4 deep with all targets in one
#: sequence; the paper's masks and curriculum unchanged; L2; EMA 0.996 -> 1; AdamW peak 2e-3 (the best of
#: 5e-4 / 1e-3 / 2e-3 / 3e-3 measured), 600 steps of batch 128; last-4-layer readout.
#: As in the other tiny presets (docs/recipes.md), core's VICReg variance/covariance term on pooled context
#: features is added by name against collapse at this scale; `ajepa-tiny-plain` leaves it out.
TINY_PLAIN = {
    "encoder": {"use": "ajepa/spectrogram-vit", "patch_size": 8, "embed_dim": 96, "depth": 4, "num_heads": 4},
    "masker": {
        "use": "ajepa/curriculum",
        "num_targets": 4,
        "target_scale": [0.15, 0.2],
        "aspect": [0.75, 1.5],
        "context_scale": [0.85, 1.0],
        "curriculum": [0.0, 1.0],
    },
    "predictor": {
        "use": "core/vit-predictor",
        "embed_dim": 64,
        "depth": 4,
        "num_heads": 4,
        "target_attention": "joint",
    },
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l2"}},
    "data": {
        "use": "ajepa/spoken-digits",
        "sample_rate": 8000,
        "n_mels": 32,
        "frames": 128,
        "win_ms": 25.0,
        "hop_ms": 16.0,
    },
    "optim": {
        "steps": 600,
        "batch_size": 128,
        "lr": 2e-3,
        "start_lr": 4e-4,
        "final_lr": 1e-6,
        "warmup": 0.1,
        "weight_decay": 0.04,
        "final_weight_decay": 0.4,
    },
    "run": {"precision": "fp32", "ckpt_every": 100, "monitor_every": 100, "log_every": 10},
    "eval": {"readout": "last4_mean", "encoder": "target"},
}
TINY = {**TINY_PLAIN, "loss": {"pred": {"use": "core/l2"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}}}


#: The tiny preset pretrained and probed on real instrument recordings: Debian's FluidR3 GM SoundFont rendered at 3
#: pitches per recording (817 recordings, 2,451 clips of 2.06 s), labelled by GM family (16), split by recording.
#: Same front end, model and schedule as `ajepa-tiny`.
TINY_INSTRUMENTS = {**TINY, "data": {**TINY["data"], "use": "ajepa/soundfont-instruments"}}

#: Speed workload for `jepakit bench` (the I-JEPA bench's model sizes on audio): ViT-Tiny 192 x 12 x 3 on the tiny
#: preset's 32 x 128 log-mel with 4 x 4 patches -> 8 x 32 = 256 tokens, predictor 96 x 6 x 3, batch 32.
BENCH = {
    **TINY,
    "encoder": {**TINY["encoder"], "patch_size": 4, "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {**TINY["predictor"], "embed_dim": 96, "depth": 6, "num_heads": 3},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "spectrogram-vit",
        "jepakit_ajepa.models:SpectrogramViT",
        config=ViTConfig,
        modality="audio",
        layout="tf2d",
        summary="log-mel front end + ViT on time-frequency patches, 2-D sin-cos positions",
    )


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "curriculum",
        "jepakit_ajepa.masks:CurriculumMasker",
        config=CurriculumConfig,
        layout="tf2d",
        summary="A-JEPA curriculum: I-JEPA blocks early -> time / frequency strips late (P ramps over training)",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "spoken-digits",
        "jepakit_ajepa.data:spoken_digits",
        config=SpokenDigitsConfig,
        modality="audio",
        summary="'zero'..'nine' in 32 eSpeak NG voices x rates x pitches, onset/gain/noise; offline, cached",
    )
    register(
        "soundfont-instruments",
        "jepakit_ajepa.data:soundfont_instruments",
        config=SoundFontConfig,
        modality="audio",
        summary="GM SoundFont recordings (Debian fluid-soundfont-gm) as notes, 16 GM families, split by recording",
    )
    register(
        "human-digits",
        "jepakit_ajepa.data:human_digits",
        config=HumanDigitsConfig,
        modality="audio",
        summary="one human speaker's recorded digits (asterisk-core-sounds-en-wav) as a test set; probes fit on eSpeak",
    )
    register(
        "audio-folder",
        "jepakit_ajepa.data:audio_folder",
        config=AudioFolderConfig,
        modality="audio",
        summary="your own recordings: root/<class>/*.wav|flac|ogg (soundfile), resampled, stratified split",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "ajepa",
        PAPER,
        modality="audio",
        summary="A-JEPA as published: ViT-B/16 on 128-mel x 1024-frame log-mel, curriculum masks, L2, EMA",
    )
    register(
        "ajepa-tiny",
        TINY,
        modality="audio",
        summary="A-JEPA at CPU scale on spoken digits (16x4 tokens, + named VICReg term), minutes on 2 cores",
    )
    register(
        "ajepa-tiny-plain",
        TINY_PLAIN,
        modality="audio",
        summary="ajepa-tiny without the anti-collapse term: the paper's objective alone",
    )
    register(
        "ajepa-tiny-instruments",
        TINY_INSTRUMENTS,
        modality="audio",
        summary="ajepa-tiny on real instrument recordings (FluidR3 GM SoundFont), probed on the 16 GM families",
    )
    register(
        "bench",
        BENCH,
        modality="audio",
        summary="speed benchmark workload (`jepakit bench`): ViT-Tiny on 32x128 log-mel, 256 tokens, batch 32",
    )
