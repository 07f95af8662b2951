"""A run's own settings, the `[optim]`, `[run]` and `[eval]` tables: dataclasses validated like a part's config.

Torch-free: `jepakit validate` and the CLI read them before anything is built. `jepakit.framework.compose`
re-exports them with the resolved run that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal


@dataclass
class OptimConfig:
    """AdamW with I-JEPA's schedules: linear warm-up start_lr -> lr, cosine to final_lr; weight decay cosine
    from weight_decay to final_weight_decay (biases and norms excluded)."""

    steps: int = 500
    batch_size: int = 128
    lr: float = 1e-3
    start_lr: float = 2e-4
    final_lr: float = 1e-6
    warmup: float = 0.1  # fraction of steps
    weight_decay: float = 0.04
    final_weight_decay: float = 0.4
    betas: tuple[float, float] = (0.9, 0.999)
    clip_grad: float = 0.0  # max grad norm; 0 = off (the paper clips nothing)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):  # "optim: steps must be at least 1, got -1" names the key
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.warmup < 1.0:
            raise ValueError(f"warmup is a fraction of steps in [0, 1), got {self.warmup}")
        for name in ("lr", "start_lr", "final_lr", "weight_decay", "final_weight_decay", "clip_grad"):
            if getattr(self, name) < 0:  # a negative rate ascends the loss: never what was meant
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclass
class RunConfig:
    """Where and how a run executes."""

    out: str = ""  # run directory; default runs/<variant name>
    seed: int = 0
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 = autocast on the run's device (CPU or CUDA)
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: CUDA when torch sees a GPU, else CPU
    compile: bool = False  # torch.compile the encoder, predictor and teacher (opt-in: minutes of compile first)
    threads: int = 0  # torch threads; 0 = all cores
    workers: int = 1  # DataLoader workers sampling masks; 0 = in the main process
    log_every: int = 10
    ckpt_every: int = 100
    keep_checkpoints: int = 2
    monitor_every: int = 100  # collapse monitors (feature std, effective rank) every this many steps
    on_nan: Literal["stop", "skip"] = "stop"  # a non-finite loss or gradient: stop (exit 1) or skip the step
    collapse_std: float = 1e-3  # feature std below this at `collapse_patience` monitors in a row = collapse
    collapse_patience: int = 3
    on_collapse: Literal["warn", "stop"] = "warn"  # warn in the log and eval.json, or also stop (exit 1)
    #: the signal a scheduler sends ahead of a stop (SLURM `--signal=B:USR1@120`): checkpoint at the next step
    #: and exit 75 to be requeued and resumed; SIGINT and SIGTERM always checkpoint and exit 130
    stop_signal: Literal["SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2", "SIGHUP"] = "SIGTERM"
    #: loggers besides metrics.jsonl: a list of names (["core/tensorboard"]) or a table per logger with its
    #: settings ([run.loggers.tensorboard] flush_secs = 5); resolved to the list of their names
    loggers: list[str] | dict[str, dict[str, Any]] = field(default_factory=list)


@dataclass
class EvalConfig:
    """Frozen-feature evaluation: each head fits on the train split and scores on the test split.

    `heads` is a list of names (the exact set) or a table per head with its settings, merged into the
    variant's heads (`[eval.heads.knn] k = 10`); resolved to the list of their names. `primary` names the head
    whose score is the run's verdict (eval.json's top level); empty = the first linear-probe head, else the first.
    """

    readout: Literal["mean", "last4_mean", "rows_mean"] = "mean"
    heads: list[str] | dict[str, dict[str, Any]] = field(default_factory=lambda: ["core/linear-probe", "core/knn"])
    encoder: Literal["target", "context"] = "target"  # I-JEPA probes the EMA target encoder
    primary: str = ""
    #: labelled evaluation sets, `[eval.sets.NAME] use = "<dataset>"` + its settings + `max_samples`; empty =
    #: the pretraining dataset's own train/test split. Resolved to the list of their names (framework/eval_sets.py)
    sets: list[str] | dict[str, dict[str, Any]] = field(default_factory=list)
    #: the online probe while training (core/engine/online.py): k-NN accuracy and RankMe of the evaluated encoder
    #: on a fixed subset every this many steps, next to their random-init figures; 0 = off. 50 costs the tiny
    #: presets 1-4 % of their training time (benchmarks/README.md)
    online_every: int = 50
    online_samples: int = 512  # the fixed stratified subset: this many train samples (the bank), as many test ones
    online_linear: bool = False  # also a linear probe on the same features (slower than the k-NN)

    def __post_init__(self) -> None:
        if self.online_every < 0:
            raise ValueError(f"online_every is a number of steps (0 = off), got {self.online_every}")
        if self.online_samples < 2:
            raise ValueError(f"online_samples must be at least 2, got {self.online_samples}")


def typed_command(argv: list[str]) -> str:
    """The command as the user would type it again: `jepakit train ...` for the CLI, whether it ran as the
    console script (argv[0] a venv path) or as `python -m jepakit.cli` (a sweep's runs); a script's own argv
    otherwise. Arguments are shell-quoted."""
    import shlex

    first = Path(argv[0]) if argv else Path()
    if first.name == "jepakit" or first.match("*cli/__main__.py"):
        return shlex.join(["jepakit", *argv[1:]])
    return shlex.join(argv)
