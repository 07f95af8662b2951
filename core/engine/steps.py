"""One optimizer step, defined once: `jepakit train` runs it and `jepakit bench` times it.

The step is: the schedule's lr and weight decay, the forward under the run's autocast, backward, the gradient
average over ranks, clipping, AdamW and the model's `after_step` (the EMA update). It also does the checks a
step owes the ranks it trains with: a non-finite loss or gradient norm makes it skip the update (and tell the
caller why), and under a distributed launch every rank agrees on the metrics, on a bad step and on a stop
request before any rank starts a collective the others would skip. What to do about a bad step (stop or skip
it) is the caller's policy, not the step's. The bench passes no `dist` (one process) and times the same code.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import torch

from jepakit.engine import faults
from jepakit.framework.compose import OptimConfig
from jepakit.interfaces import StepOutput
from jepakit.library.training import cosine


def lr_at(cfg: OptimConfig, step: int) -> float:
    """Linear warm-up start_lr -> lr over warmup*steps, then cosine lr -> final_lr (I-JEPA's WarmupCosineSchedule)."""
    warm = int(cfg.warmup * cfg.steps)
    if step < warm:
        return cfg.start_lr + (cfg.lr - cfg.start_lr) * step / warm
    return cosine(cfg.lr, cfg.final_lr, (step - warm) / max(1, cfg.steps - warm))


def wd_at(cfg: OptimConfig, step: int) -> float:
    """Weight decay rising by a cosine from weight_decay to final_weight_decay (I-JEPA: 0.04 -> 0.4)."""
    return cosine(cfg.weight_decay, cfg.final_weight_decay, step / cfg.steps)


def compile_model(model: torch.nn.Module) -> list[str]:
    """`run.compile`: torch.compile the parts every step runs (encoder, predictor, EMA teacher), in place.

    In place (`nn.Module.compile`), so parameter names, checkpoints and resume are unchanged; `dynamic=True`
    because the context length varies from batch to batch. Opt-in: on this project's 2-core CPU it costs
    0.5-3 min of compilation and gave no reliable gain (benchmarks/README.md); measure with `jepakit bench --compile`.
    Returns the names of the compiled parts (methods whose models name them otherwise compile nothing).
    """
    names = []
    for name in ("encoder", "predictor", "teacher"):
        part = getattr(model, name, None)
        if isinstance(part, torch.nn.Module):
            part.compile(dynamic=True)
            names.append(name)
    return names


def param_groups(model: torch.nn.Module) -> list[dict[str, Any]]:
    """Decay weight matrices only; biases, norms and 1-D parameters are excluded, as in the paper's code."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.ndim >= 2 else no_decay).append(p)
    return [{"params": decay, "wd_scale": 1.0}, {"params": no_decay, "wd_scale": 0.0, "weight_decay": 0.0}]


def make_optimizer(model: torch.nn.Module, cfg: OptimConfig) -> torch.optim.AdamW:
    """The run's AdamW over `param_groups`; one definition so `jepakit bench` times the update training does."""
    return torch.optim.AdamW(param_groups(model), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def set_schedule(opt: torch.optim.Optimizer, cfg: OptimConfig, step: int) -> tuple[float, float]:
    """Put step's lr and weight decay (times each group's wd_scale) into every group; returns (lr, wd)."""
    lr, wd = lr_at(cfg, step), wd_at(cfg, step)
    for group in opt.param_groups:
        group["lr"], group["weight_decay"] = lr, wd * group["wd_scale"]
    return lr, wd


def clip_gradients(params: list[torch.nn.Parameter], cfg: OptimConfig) -> torch.Tensor:
    """Clip to `clip_grad` (0 = off) and return the total gradient norm, which the NaN check reads either way."""
    return torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad if cfg.clip_grad > 0 else float("inf"))


@dataclass
class StepOutcome:
    """What one call of `train_step` did. `bad` is "" after an update, else "loss" or "gradient norm": the
    update was skipped (gradients cleared) and `bad_value` holds the offending number. `halt`: some rank was
    asked to stop (under one process, the caller's own `stop`)."""

    result: StepOutput  # the model's loss and metrics (metrics averaged over ranks)
    lr: float
    wd: float
    bad: str = ""
    bad_value: float = float("nan")
    halt: bool = False


def train_step(
    model: Any,
    opt: torch.optim.Optimizer,
    cfg: OptimConfig,
    batch: dict[str, Any],
    amp: contextlib.AbstractContextManager,
    *,
    dist: Any = None,
    stop: bool = False,
    count: contextlib.AbstractContextManager | None = None,
) -> StepOutcome:
    """Take the optimizer step for `batch` (its "step" key is the 0-based step number); see the module docstring.

    `dist` (a `jepakit.engine.distributed.Dist`) agrees with the other ranks and averages their gradients; None
    is one process. `count`, if given, wraps the forward and backward only (the bench's FLOP counter), so the
    count is the model's and not the optimizer's. The fault points `nan-loss` and `nan-grad` poison the loss or a
    gradient here, as the reliability tests ask.
    """
    step = int(batch["step"])
    lr, wd = set_schedule(opt, cfg, step)
    model.train()
    halt = stop
    with count if count is not None else contextlib.nullcontext():
        with amp:
            result = model.step(batch)
        if faults.point("nan-loss"):
            result.loss = result.loss * float("nan")
        opt.zero_grad(set_to_none=True)
        bad = "loss" if not torch.isfinite(result.loss) else ""
        if dist is not None:
            result.metrics, any_bad, halt = dist.agree_step(result.metrics, bool(bad), stop)
            bad = "loss" if any_bad else ""
        if not bad:
            result.loss.backward()
    if not bad:
        params = model.trainable_parameters()
        if faults.point("nan-grad") and params[0].grad is not None:
            params[0].grad.view(-1)[0] = float("inf")
        if dist is not None:
            dist.average_gradients(params)  # the global batch's gradient on every rank
        norm = clip_gradients(params, cfg)
        bad = "gradient norm" if not torch.isfinite(norm) else ""
    if bad:
        value = float(result.loss) if bad == "loss" else float(norm)
        opt.zero_grad(set_to_none=True)
        return StepOutcome(result, lr, wd, bad, value, halt)
    opt.step()
    model.after_step(step + 1)
    return StepOutcome(result, lr, wd, halt=halt)
