"""The contracts between parts. Index space is the flat token index; the encoder's tokenizer owns the geometry.

Each registered part is built as `target(cfg, **context)` and must satisfy one protocol below. Shapes:
B batch, N tokens in the full grid, Nc context tokens, M target blocks, Nt tokens per target block, D width.
Torch is only imported for type checking here, so plugin config modules can import this file freely.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from torch.utils.data import Dataset

    from jepakit.engine.runs import RunDir
    from jepakit.framework.compose import ResolvedRun

# torch-free config checks, importable from here (the public module plugins' config modules use)
from jepakit.config_checks import digits_split as digits_split
from jepakit.config_checks import range_pair as range_pair


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

    Self-supervised training reads `pretrain` when it is set, else `train` (`pretrain_set`), without labels;
    probes fit on `train` labels and score on `test`. `train` and `test` are the clean labelled splits (no
    augmentation). `pretrain` is what the trainer reads when it differs from `train`: more images than the
    probes need, augmented samples, or unlabelled data (label -1); for an unlabelled dataset `train` and `test`
    may be None, and evaluating it is an error that says where labels come from.

    A dataset may augment its training samples: an object with `sample(index, key) -> (x, y)` gets that call
    from core's loader instead of `dataset[index]`, with `key` a pure function of (run seed, step, index), so an
    augmented batch is as reproducible and resumable as its masks; `dataset[index]` stays the clean sample.
    A sample's x is a tensor, or for multimodal data a dict of tensors ({"image": [C, H, W], "tokens": [L]});
    core's loader stacks a dict key by key and the run's encoder (and method) read it by key.

    `extra_labels` maps a name to (train labels [Ntr], test labels [Nte]): other labels of the same samples
    (V-JEPA's clips: the motion direction beside the digit). Core's evaluation reads each with the primary head
    from the same features and reports it as "<head> (<name>)", so one run answers both questions.

    `meta` holds a dataset's facts for the parts that need them; core reads none of it, and a part that needs a
    key says so in its error when the key is missing. The keys the bundled plugins write (* = read by a part):

    - EEG (sjepa): `ch_pos`* (electrode unit vectors [C, 3]: encoder, maskers, transfer check), `ch_names`*
      (electrode names [C]: the per-channel report), `sfreq` (Hz), `units` (one input unit, e.g. "10 uV"),
      `skipped` (files left out, with why);
    - audio (ajepa): `frontend`* (log-mel settings the encoder and masker rebuild the front end from),
      `logmel_mean`*, `logmel_std`* (train-split statistics), `sample_rate` (Hz), `class_names`;
    - text-image (tijepa): `negatives`* (what a retrieval negative is, for the report), `context_length`
      (caption tokens), `label` (what y means);
    - UI sessions (uijepa): `references`* (per class, every accepted phrasing), `held_out`* (per class, whether
      its intent is unseen in training);
    - optical flow (mcjepa): `ground_truth_flow`, `speed`, `frames`;
    - tables (tjepa): `columns`*, `cardinalities`* (0 = number, k = categories), `kinds`, `source`, `label`,
      `skipped`;
    - fMRI (brainjepa): `gradients`* (per ROI connectivity-gradient coordinates [R, k]), `subjects`, `frames`,
      `origin`;
    - trajectories (actjepa): `obs_dim`*, `act_dim`*, `chunk`*, `state_groups`*, `obs_mean`*, `obs_std`*,
      `image_size`*, `tasks`*, `env`*, `probe_targets`*, `episodes`, `pixels`, `demo_seed`, `expert_failures`,
      `skipped`;
    - point clouds (pointjepa): `up_axis`, `models`, `labelled`, `duplicates_dropped`, `source`, `skipped`.
    """

    name: str
    train: Dataset[Any] | None
    test: Dataset[Any] | None
    input_shape: tuple[int, ...]  # one sample's shape, e.g. (C, H, W)
    num_classes: int
    modality: str = "image"
    class_names: list[str] = field(default_factory=list)
    #: dataset facts parts may need, offered to constructors as `meta=` (electrode positions, sample rate ...)
    meta: dict[str, Any] = field(default_factory=dict)
    #: inputs [B, ...] -> raw-baseline features [B, F] (log-mel, band power ...); None = the flattened input
    raw_features: Callable[[torch.Tensor], torch.Tensor] | None = None
    #: other labels of the same samples: name -> (train labels [Ntr], test labels [Nte]); see above
    extra_labels: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: what the trainer reads instead of `train` (augmented, larger, or unlabelled with y = -1); None = `train`
    pretrain: Dataset[Any] | None = None

    @property
    def pretrain_set(self) -> Dataset[Any]:
        """The split self-supervised training reads: `pretrain`, else `train`."""
        data = self.pretrain if self.pretrain is not None else self.train
        if data is None:
            raise ValueError(f"dataset {self.name!r} has neither a pretrain nor a train split")
        return data


@runtime_checkable
class Head(Protocol):
    """Built as `Head(cfg)`. A downstream readout on frozen features.

    fit(train_feats [Ntr, F], train_y [Ntr]) then score(test_feats [Nte, F], test_y [Nte]) -> {metric: value}.

    Optional members, read through `head_input` and `describe_head` (which supply the defaults):
    - `input = "pooled"` (default): features [N, F], one vector per sample from the run's readout;
      `input = "tokens"`: token features [N, T, F] (an attentive probe); raw inputs come as one token [N, 1, F].
    - `describe() -> str`: the head's protocol in one line for eval.json's `protocol` (its settings, so a
      reader sees what was fitted); default: the class name.
    """

    metric: str
    higher_is_better: bool

    def fit(self, feats: Any, labels: Any) -> None: ...

    def score(self, feats: Any, labels: Any) -> dict[str, float]: ...


#: What a head may ask to be fitted on (`Head.input`).
HEAD_INPUTS = ("pooled", "tokens")


def head_input(head: Any) -> str:
    """`head.input`, "pooled" when the head does not say; any other value is a bug in the head."""
    value = getattr(head, "input", "pooled")
    if value not in HEAD_INPUTS:
        raise ValueError(f"{type(head).__name__}.input must be one of {HEAD_INPUTS}, got {value!r}")
    return value


def describe_head(head: Any) -> str:
    """`head.describe()`, or the class name for a head without one."""
    describe = getattr(head, "describe", None)
    return str(describe()) if callable(describe) else type(head).__name__


@dataclass
class StepOutput:
    """What `JEPA.step(batch)` returns: the loss to backpropagate and float metrics for the log."""

    loss: torch.Tensor
    metrics: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Method(Protocol):
    """Built as `Method(cfg)`. How a run's parts become a trainable model, and how a trained run is evaluated.

    `core/jepa` (the default) is the masked-prediction JEPA of `jepakit.engine.jepa`. A variant whose objective does not
    fit it (a flow estimator beside a content loss, two towers, a text decoder) registers its own method and
    names it in its spec's `[method]` table; the training loop, checkpoints and resume stay core's.

    build(resolved, splits) -> jepakit.engine.jepa.Built, whose `model` has the training contract:
        step(batch) -> StepOutput; after_step(step); trainable_parameters(); `encoder` and `teacher` modules
        (teacher(x) -> [B, N, D] feeds the collapse monitor). `masker` may be None (the batch has no masks).
    evaluate(resolved, built, run_dir) -> EvalResult: the scores of the trained encoder, the same network at
        random init and the raw-input baseline. It never writes eval.json: core adds the training summary, the
        collapse warnings and the schema version and writes the file atomically (`jepakit.api.write_eval`).
        Core calls it once per evaluation set, with `built.splits` that set's splits and, after the first set,
        `run_dir.plots` a folder of its own (plots/sets/NAME).
    """

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Any: ...

    def evaluate(self, resolved: ResolvedRun, built: Any, run_dir: RunDir) -> EvalResult: ...


#: Version of eval.json's layout. 2: written by one core function from an `EvalResult` (an optional `sets` table
#: of one such result per evaluation set was added later; readers of the top level need not know it).
EVAL_SCHEMA = 2
#: The name of the pretraining dataset's own labelled split as an evaluation set (a run without `[eval.sets]`).
DEFAULT_EVAL_SET = "data"


@dataclass
class Scores:
    """One score (a head's, or a method's own metric) for each compared encoder row.

    `raw` is the raw-input baseline (pixels, log-mel, band power, zero flow ...); None where a row does not apply.
    """

    metric: str = "accuracy"
    trained: float | None = None
    random_init: float | None = None
    raw: float | None = None
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "trained": self.trained,
            "random_init": self.random_init,
            "raw": self.raw,
            "higher_is_better": self.higher_is_better,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, metric: str = "accuracy", higher_is_better: bool = True) -> Scores:
        return cls(
            metric=str(d.get("metric", metric)),
            trained=d.get("trained"),
            random_init=d.get("random_init"),
            raw=d.get("raw", d.get("baseline_raw")),
            higher_is_better=bool(d.get("higher_is_better", higher_is_better)),
        )


@dataclass
class EvalResult:
    """What every method's `evaluate` returns, and what eval.json holds (`to_dict` / `from_dict`).

    `scores` maps a probe or metric name to its `Scores`; `primary` names the one the verdict, `jepakit runs`,
    `compare` and sweeps read (the linear probe where there is one). `details` holds a method's own tables
    (flow errors per region, retrieval recalls, generated examples ...), written as they are at the top level of
    eval.json (JSON values; a key of eval.json's own is not written).
    `warnings`, `train` and `schema` are filled by core's writer, never by a method.

    `sets` holds one result per evaluation set (`[eval.sets.NAME]`, and blocks `jepakit eval RUN --data` added),
    the primary set first; the top-level fields repeat the primary set's, so readers of one result keep working.
    Empty for a run evaluated on its pretraining dataset's own split alone (`blocks()` then names it "data").
    """

    variant: str
    dataset: str
    primary: str
    scores: dict[str, Scores]
    collapse: dict[str, Any] = field(default_factory=dict)
    baseline_label: str = "raw input"
    encoder: str = "target"
    readout: str = "mean"
    protocol: str = ""
    n_train: int = 0
    n_test: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    train: dict[str, Any] = field(default_factory=dict)
    schema: int = EVAL_SCHEMA
    sets: dict[str, EvalResult] = field(default_factory=dict)

    @property
    def main(self) -> Scores:
        """The primary score (an empty one when the method had nothing to score, e.g. no ground-truth flow)."""
        return self.scores.get(self.primary) or Scores(metric=self.primary)

    def blocks(self) -> dict[str, EvalResult]:
        """One result per evaluation set, the primary first: `sets`, or this result as the set named "data"
        (the pretraining dataset's own labelled split) when there are none."""
        return dict(self.sets) if self.sets else {DEFAULT_EVAL_SET: self}

    def to_dict(self) -> dict[str, Any]:
        """eval.json's content. The top-level `metric`, `trained`, `random_init`, `baseline_raw` repeat the
        primary score, so readers of the first layout keep working."""
        main = self.main
        out: dict[str, Any] = {
            "schema": self.schema,
            "variant": self.variant,
            "dataset": self.dataset,
            "primary": self.primary,
            "metric": main.metric,
            "higher_is_better": main.higher_is_better,
            "trained": main.trained,
            "random_init": main.random_init,
            "baseline_raw": main.raw,
            "baseline_label": self.baseline_label,
            "metrics": {name: sc.to_dict() for name, sc in self.scores.items()},
            "collapse": self.collapse,
            "encoder": self.encoder,
            "readout": self.readout,
            "protocol": self.protocol,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "warnings": list(self.warnings),
        }
        if self.train:
            out["train"] = self.train
        if self.sets:
            out["sets"] = {name: block.to_dict() for name, block in self.sets.items()}
        for key, value in self.details.items():  # a method's own tables never overwrite eval.json's own keys
            out.setdefault(key, value)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        """Read an eval.json of either layout (schema 1 had no `primary` and per-score `metric` only sometimes)."""
        known = {
            "schema",
            "variant",
            "dataset",
            "primary",
            "metric",
            "higher_is_better",
            "trained",
            "random_init",
            "baseline_raw",
            "baseline_label",
            "metrics",
            "collapse",
            "encoder",
            "readout",
            "protocol",
            "n_train",
            "n_test",
            "warnings",
            "train",
            "sets",
        }
        metric, hib = str(d.get("metric", "accuracy")), bool(d.get("higher_is_better", True))
        # schema 1 wrote higher_is_better only at the top level, for the primary metric: a score naming another
        # metric (MC-JEPA's content accuracy beside its flow error) is read as higher-is-better
        scores = {
            name: Scores.from_dict(
                v, metric=metric, higher_is_better=hib if v.get("metric", metric) == metric else True
            )
            for name, v in (d.get("metrics") or {}).items()
            if isinstance(v, dict)
        }
        primary = d.get("primary")
        if primary is None:  # schema 1: the primary score is the one whose numbers fill the top level
            primary = next(
                (
                    n
                    for n, sc in scores.items()
                    if (sc.trained, sc.random_init) == (d.get("trained"), d.get("random_init"))
                ),
                metric,
            )
        if primary not in scores and d.get("trained") is not None:
            scores[primary] = Scores(metric, d.get("trained"), d.get("random_init"), d.get("baseline_raw"), hib)
        return cls(
            variant=str(d.get("variant", "")),
            dataset=str(d.get("dataset", "")),
            primary=str(primary),
            scores=scores,
            collapse=dict(d.get("collapse") or {}),
            baseline_label=str(d.get("baseline_label", "raw input")),
            encoder=str(d.get("encoder", "")),
            readout=str(d.get("readout", "")),
            protocol=str(d.get("protocol", "")),
            n_train=int(d.get("n_train") or 0),
            n_test=int(d.get("n_test") or 0),
            details={k: v for k, v in d.items() if k not in known},
            warnings=list(d.get("warnings") or []),
            train=dict(d.get("train") or {}),
            schema=int(d.get("schema", 1)),
            sets={
                str(name): cls.from_dict(block)
                for name, block in (d.get("sets") or {}).items()
                if isinstance(block, dict)
            },
        )
