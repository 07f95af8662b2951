"""The generic JEPA: predict the target encoder's features of hidden tokens from the context encoder's features.

    ctx  = encoder(x, keep=context_idx)             # [B, Nc, D]  only visible tokens go through the blocks
    pred = predictor(ctx, context_idx, target_idx)  # [B, M, Nt, D]
    tgt  = target.targets(x, target_idx)            # [B, M, Nt, D]  no gradient
    loss = sum_k weight_k * term_k(pred, tgt, context=ctx)

Variants that need more (a flow head, a text decoder, two towers) subclass this and keep `step`'s contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from jepakit.errors import JepakitError
from jepakit.framework.compose import ResolvedRun, build_part
from jepakit.interfaces import DataSplits, Encoder, EvalResult, MaskSet, StepOutput, TargetStrategy


class JEPA(nn.Module):
    def __init__(
        self,
        encoder: nn.Module,
        predictor: nn.Module,
        target: nn.Module,
        terms: dict[str, nn.Module],
        weights: dict[str, float],
    ) -> None:
        super().__init__()
        self.encoder, self.predictor = encoder, predictor
        self.target = cast(TargetStrategy, target)  # an nn.Module (registered, checkpointed) with that protocol
        self.terms = nn.ModuleDict(terms)
        self.weights = dict(weights)

    def step(self, batch: dict[str, Any]) -> StepOutput:
        x: Any = batch["x"]  # [B, ...] or a dict of such (multimodal samples)
        masks: MaskSet = batch["masks"]
        ctx = self.encoder(x, keep=masks.context)  # [B, Nc, D]
        pred = self.predictor(ctx, masks.context, masks.targets)  # [B, M, Nt, D]
        tgt = self.target.targets(x, masks.targets)  # [B, M, Nt, D]
        return self.energy(pred, tgt, ctx)

    def energy(self, pred: torch.Tensor, tgt: torch.Tensor, ctx: torch.Tensor) -> StepOutput:
        """The weighted sum of the energy terms on predictions and targets [B, M, Nt, D] (and the context
        [B, Nc, D], for regularisers), with each term's value as a metric: a subclass that changes how
        predictions are made (extra predictor inputs) reuses it."""
        loss = torch.zeros((), device=pred.device)
        metrics: dict[str, float] = {}
        for name, term in self.terms.items():
            value = term(pred, tgt, context=ctx)
            metrics[f"loss/{name}"] = float(value.detach())
            loss = loss + self.weights[name] * value
        metrics["loss"] = float(loss.detach())
        return StepOutput(loss, metrics)

    def after_step(self, step: int) -> None:
        """Called after each optimizer step (`step` counts completed steps): the EMA update lives here."""
        self.target.update(self.encoder, step)

    @property
    def teacher(self) -> nn.Module:
        return self.target.teacher

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]


@dataclass
class Built:
    """What a method's `build` returns: the model, the masker for the DataLoader collate (or None), the data."""

    model: nn.Module
    masker: Any
    splits: DataSplits
    method: Any = None  # the Method that built it; evaluation goes through it


def build_encoder(resolved: ResolvedRun, splits: DataSplits) -> nn.Module:
    """The run's encoder for these data (the random-init baseline is this, rebuilt under the run's seed)."""
    return build_part(resolved.parts["encoder"], input_shape=tuple(splits.input_shape), meta=splits.meta)


def build(resolved: ResolvedRun, splits: DataSplits | None = None) -> Built:
    """Build every part of a resolved run through its method, seeded so that the initial weights are reproducible."""
    torch.manual_seed(resolved.run.seed)
    if splits is None:
        splits = build_part(resolved.parts["data"], seed=resolved.run.seed)
    method = build_part(resolved.parts["method"])
    built = method.build(resolved, splits)
    built.method = method
    return built


def assemble(resolved: ResolvedRun, splits: DataSplits, encoder: nn.Module, method: str = "core/jepa") -> Built:
    """The masked JEPA around a given encoder: the run's masker, predictor, target and loss terms, built for its
    grid and width. Methods that only change the encoder (TI-JEPA's fused text-image encoder) build theirs and
    call this; `method` names the caller in the error when a role is missing."""
    missing = [r for r in ("masker", "predictor", "target") if r not in resolved.parts]
    if missing:
        raise JepakitError(
            f"{missing[0]}: missing ({method} trains as a masked JEPA)",
            f"add a [{missing[0]}] table, e.g. as in `jepakit show {resolved.variant}`",
        )
    spec = cast(Encoder, encoder)  # its grid and width, as the Encoder protocol promises
    grid, meta = tuple(spec.grid), splits.meta
    masker = build_part(resolved.parts["masker"], grid=grid, meta=meta)
    predictor = build_part(resolved.parts["predictor"], embed_dim=spec.embed_dim, grid=grid, meta=meta)
    target = build_part(resolved.parts["target"], encoder=encoder, total_steps=resolved.optim.steps)
    terms = {name: build_part(p) for name, p in resolved.losses.items()}
    weights = {name: p.weight for name, p in resolved.losses.items()}
    return Built(JEPA(encoder, predictor, target, terms, weights), masker, splits)


class JEPAMethod:
    """`core/jepa`: the masked latent-prediction JEPA above, evaluated by frozen probes against random init."""

    def build(self, resolved: ResolvedRun, splits: DataSplits) -> Built:
        data = splits.pretrain_set
        if len(data) and isinstance(data[0][0], dict):  # type: ignore[arg-type]  # Dataset declares no __len__
            raise JepakitError(
                f"data.use: {splits.name} has multimodal samples ({', '.join(data[0][0])}), "
                "which core/jepa's single-input encoder cannot read",
                "use the method of the plugin that ships this dataset (`jepakit list methods`)",
            )
        return assemble(resolved, splits, build_encoder(resolved, splits))

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        from jepakit.engine.run_eval import evaluate_built

        return evaluate_built(resolved, built, run_dir)
