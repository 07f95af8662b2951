"""The contracts between parts. Index space is the flat token index; the encoder's tokenizer owns the geometry.

Each registered part is built as `target(cfg, **context)` and must satisfy one protocol below. Shapes:
B batch, N tokens in the full grid, Nc context tokens, M target blocks, Nt tokens per target block, D width.
Torch is only imported for type checking here, so plugin config modules can import this file freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch.utils.data import Dataset

    from jepakit.compose import ResolvedRun
    from jepakit.runs import RunDir


@dataclass
class MaskSet:
    """Token indices for one batch. Lengths are equal across the batch (truncated to the batch minimum).

    context: LongTensor [B, Nc]     tokens the context encoder sees
    targets: LongTensor [B, M, Nt]  M target blocks to predict, each of Nt tokens
    """

    context: torch.Tensor
    targets: torch.Tensor

    @property
    def num_targets(self) -> int:
        return int(self.targets.shape[1])


@runtime_checkable
class Masker(Protocol):
    """Built as `Masker(cfg, grid=(gh, gw, ...), meta=...)`. Runs in DataLoader workers, so it must pickle.

    Never loops forever: a grid too small for the requested blocks raises JepakitError at construction.
    `generator` is the only source of randomness, so a batch's masks are a function of its seed.

    Optional members, looked up with getattr:
    - `step_aware = True`: the collate calls `masker(B, generator, step=s, total_steps=T)`, so a curriculum is
      still a pure function of (seed, step) and survives resume and DataLoader workers.
    - `draw(x [4, ...], path_stem: Path) -> list[Path]`: writes mask pictures (PNG) after training; maskers
      without it get core's default picture for 2-D and 3-D grids.
    """

    grid: tuple[int, ...]
    layout: str

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet: ...


@runtime_checkable
class Encoder(Protocol):
    """Built as `Encoder(cfg, input_shape=(C, H, W, ...))`; an nn.Module.

    `forward(x, keep)` tokenizes x, adds positions, gathers the kept tokens *before* the blocks (the context path
    costs O(Nc), not O(N)) and returns the final-normed tokens [B, Nc or N, D].
    `forward_layers(x, n)` returns the outputs of the last n blocks on the full input, each [B, N, D] (readouts).
    """

    embed_dim: int
    grid: tuple[int, ...]
    layout: str

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor: ...

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]: ...


@runtime_checkable
class Predictor(Protocol):
    """Built as `Predictor(cfg, embed_dim=D, grid=grid)`; an nn.Module.

    forward(ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> predicted target features [B, M, Nt, D]
    """

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class TargetStrategy(Protocol):
    """Built as `Target(cfg, encoder=context_encoder, total_steps=T)`; an nn.Module (its state is checkpointed).

    targets(x, tgt_idx [B, M, Nt]) -> target features [B, M, Nt, D], computed without gradient.
    update(encoder, step) runs after every optimizer step (EMA momentum ramp, or nothing for stop-grad).
    `teacher` is the encoder to evaluate after training (the EMA encoder for I-JEPA).
    """

    def targets(self, x: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor: ...

    def update(self, encoder: torch.nn.Module, step: int) -> None: ...

    @property
    def teacher(self) -> torch.nn.Module: ...


@runtime_checkable
class EnergyTerm(Protocol):
    """Built as `Term(cfg)`; an nn.Module. forward(pred, target, **aux) -> scalar energy.

    pred/target: [B, M, Nt, D]. aux holds `context` ([B, Nc, D] context-encoder outputs) and whatever a variant
    adds. Terms ignore what they do not use. The config's `weight` scales the term in the variant's sum.
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **aux: Any) -> torch.Tensor: ...


@dataclass
class DataSplits:
    """What a dataset part builds (`target(cfg, seed=...)`): fixed train/test splits of (x, label) pairs.

    Self-supervised training uses `train` without labels; probes fit on `train` labels and score on `test`.
    A sample's x is a tensor, or for multimodal data a dict of tensors ({"image": [C, H, W], "tokens": [L]});
    core's loader stacks a dict key by key and the run's encoder (and method) read it by key.
    """

    name: str
    train: Dataset
    test: Dataset
    input_shape: tuple[int, ...]  # one sample's shape, e.g. (C, H, W)
    num_classes: int
    modality: str = "image"
    class_names: list[str] = field(default_factory=list)
    #: dataset facts parts may need, offered to constructors as `meta=` (electrode positions, sample rate ...)
    meta: dict[str, Any] = field(default_factory=dict)
    #: inputs [B, ...] -> raw-baseline features [B, F] (log-mel, band power ...); None = the flattened input
    raw_features: Callable[[torch.Tensor], torch.Tensor] | None = None


@runtime_checkable
class Head(Protocol):
    """Built as `Head(cfg)`. A downstream readout on frozen features.

    fit(train_feats [Ntr, F], train_y [Ntr]) then score(test_feats [Nte, F], test_y [Nte]) -> {metric: value}.
    """

    metric: str
    higher_is_better: bool

    def fit(self, feats: Any, labels: Any) -> None: ...

    def score(self, feats: Any, labels: Any) -> dict[str, float]: ...


@dataclass
class StepOutput:
    """What `JEPA.step(batch)` returns: the loss to backpropagate and float metrics for the log."""

    loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Method(Protocol):
    """Built as `Method(cfg)`. How a run's parts become a trainable model, and how a trained run is evaluated.

    `core/jepa` (the default) is the masked-prediction JEPA of `jepakit.jepa`. A variant whose objective does not
    fit it (a flow estimator beside a content loss, two towers, a text decoder) registers its own method and
    names it in its spec's `[method]` table; the training loop, checkpoints and resume stay core's.

    build(resolved, splits) -> jepakit.jepa.Built, whose `model` has the training contract:
        step(batch) -> StepOutput; after_step(step); trainable_parameters(); `encoder` and `teacher` modules
        (teacher(x) -> [B, N, D] feeds the collapse monitor). `masker` may be None (the batch has no masks).
    evaluate(resolved, built, run_dir) -> dict: writes and returns eval.json's content (`metric`, `trained`,
        `random_init`, `higher_is_better`, `metrics`, ...).
    """

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Any: ...

    def evaluate(self, resolved: ResolvedRun, built: Any, run_dir: RunDir) -> dict[str, Any]: ...
