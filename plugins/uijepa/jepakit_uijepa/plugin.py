"""UI-JEPA's hook implementations: UI-session data, the intent method, and the paper's variant with its tiny preset.
Torch-free on purpose: imported whenever plugins load, including for `jepakit --help`.

UI-JEPA registers no encoder or masker of its own: its variants name V-JEPA's (`vjepa/video-vit`, `vjepa/tube`)
by registry name, so a better video encoder registered by any plugin drops in with one line of TOML. What the
paper adds lives here: screen recordings as data, temporal masking as a setting of the tube masker, and a
decoder that writes the user's intent from the frozen embeddings.
"""

from __future__ import annotations

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_uijepa.config import IntentDecoderConfig, SessionFileConfig, UISessionsConfig

JEPAKIT_PLUGIN_API = "1"

#: Temporal masking (paper section 3): UI changes are sparse in time, so whole frames are hidden rather than
#: V-JEPA's spatial tubes. On the tube masker that is a block covering the full frame (scale 1, aspect 1) for a
#: span of the clip: two spans of a quarter each, their union the target (a quarter to a half of the clip).
TEMPORAL_MASKING = {
    "use": "vjepa/tube",
    "generator": "short",
    "short_blocks": 2,
    "short_scale": [1.0, 1.0],
    "aspect": [1.0, 1.0],
    "temporal_scale": [0.25, 0.25],
}

#: UI-JEPA as published: a V-JEPA ViT-L/16 (tubelet 2) over 16-frame recordings with temporal masking, L1 on
#: EMA-teacher features, V-JEPA's optimiser; the paper then fine-tunes Phi-3 (3.8 B) as the intent decoder, which
#: cannot be downloaded here, so `[method]` keeps jepakit's decoder (register another head-sized LM to swap it).
PAPER = {
    "encoder": {
        "use": "vjepa/video-vit",
        "tubelet_size": 2,
        "patch_size": 16,
        "embed_dim": 1024,
        "depth": 24,
        "num_heads": 16,
    },
    "masker": TEMPORAL_MASKING,
    "predictor": {"use": "core/vit-predictor", "embed_dim": 384, "depth": 12, "num_heads": 16},
    "target": {"use": "core/ema", "momentum": [0.998, 1.0], "ipe_scale": 1.25},
    "loss": {"pred": {"use": "core/l1"}},
    "data": {"use": "uijepa/ui-sessions", "frames": 16, "size": 64},
    "method": {"use": "uijepa/intent", "width": 512, "depth": 6, "heads": 8},
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
    "eval": {"readout": "mean", "encoder": "target", "heads": []},
}

#: The same recipe at CPU scale: 8-frame 32 px recordings, tubelet 2 x 8 x 8 -> a 4x4x4 grid of 64 tokens,
#: ViT 96 x 4, predictor 64 x 2, EMA 0.996 -> 1 (as vjepa-tiny, whose measurements chose it), and vjepa-tiny's
#: named VICReg term on pooled context features against the drift towards collapse seen at this scale.
TINY = {
    "encoder": {
        "use": "vjepa/video-vit",
        "tubelet_size": 2,
        "patch_size": 8,
        "embed_dim": 96,
        "depth": 4,
        "num_heads": 4,
    },
    "masker": TEMPORAL_MASKING,
    "predictor": {"use": "core/vit-predictor", "embed_dim": 64, "depth": 2, "num_heads": 4},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l1"}, "vicreg": {"use": "core/vicreg", "weight": 1.0}},
    "data": {"use": "uijepa/ui-sessions"},
    "method": {"use": "uijepa/intent"},
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


#: Speed workload for `jepakit bench` (the I-JEPA bench's model sizes on UI recordings): ViT-Tiny 192 x 12 x 3
#: with tubelet 2 x 4 x 4 on the 8-frame 32 px sessions -> 256 tokens, predictor 96 x 6 x 3, batch 32.
BENCH = {
    **TINY,
    "encoder": {**TINY["encoder"], "patch_size": 4, "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {"use": "core/vit-predictor", "embed_dim": 96, "depth": 6, "num_heads": 3},
    "optim": {**TINY["optim"], "batch_size": 32},
}


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "ui-sessions",
        "jepakit_uijepa.data:ui_sessions",
        config=UISessionsConfig,
        modality="video",
        summary="screen recordings of 56 intents in 4 PIL-drawn apps; 14 intents held out for testing; offline",
    )
    register(
        "session-file",
        "jepakit_uijepa.session_file:session_file",
        config=SessionFileConfig,
        modality="video",
        summary="your own UI sessions: a JSONL of {screens: [image paths], intent: text}",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "intent",
        "jepakit_uijepa.method:UIJEPAMethod",
        config=IntentDecoderConfig,
        summary="core's masked JEPA for training; evaluation writes the intent with a prefix-LM decoder",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "uijepa",
        PAPER,
        modality="video",
        summary="UI-JEPA as published: V-JEPA ViT-L/16 parts, temporal masking, intent decoder (data: generated)",
    )
    register(
        "uijepa-tiny",
        TINY,
        modality="video",
        summary="UI-JEPA at CPU scale on generated app sessions (64 tokens, vjepa parts by name)",
    )
    register(
        "bench",
        BENCH,
        modality="video",
        summary="speed benchmark workload (`jepakit bench`): ViT-Tiny on 8x32x32 UI sessions, 256 tokens, batch 32",
    )
