"""The training loop: AdamW with I-JEPA's schedules, optional bf16 autocast, atomic checkpoints, exact resume.

Resume is exact: batches and masks are functions of (seed, step) (see loader.py), and model, optimizer and EMA
state come back from the checkpoint, so a resumed fp32 CPU run logs the same losses as an uninterrupted one.

The device is `run.device` (auto: CUDA when present). Launched as several processes (`jepakit train --nproc N`
or torchrun), each rank trains on its slice of every global batch with averaged gradients (distributed.py);
rank 0 alone holds the run directory's lock and writes checkpoints, metrics, run.json, plots and eval.json.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from jepakit.engine.ckpt import (latest_checkpoint, list_checkpoints, pack_state, read_checkpoint, remove_partial,
                          save_checkpoint, unpack_state)
from jepakit.framework.compose import OptimConfig, Part, ResolvedRun, build_part
from jepakit.engine.ckpt import atomic_write_text
from jepakit.framework.config import dumps_toml, load_toml
from jepakit.engine.distributed import Dist, move_batch
from jepakit.errors import Interrupted, JepakitError, RunFailed
from jepakit.engine.jepa import JEPA, build
from jepakit.engine import faults
from jepakit.engine.launch import check_shardable
from jepakit.engine.loader import input_pixels, input_rows, make_loader, sample_masks, stack_inputs
from jepakit.engine.runs import RunDir, collapse_streak
from jepakit.library.training import autocast, cosine

log = logging.getLogger("jepakit")
Progress = Callable[[int, int, dict[str, float]], None]


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
    decay, no_decay = [], []
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


class _StopFlag:
    """SIGINT/SIGTERM set a flag; the loop checkpoints at the next step boundary and exits 130."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: leave handlers alone
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.signal = signum

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _check_resume_config(run_dir: RunDir, resolved: ResolvedRun) -> None:
    saved = load_toml(run_dir.config)
    now = resolved.to_dict()
    for d in (saved, now):
        for key in ("out", "threads", "workers", "device"):  # where and how fast, not what: free to change on resume
            d.get("run", {}).pop(key, None)
    if saved != now:
        changed = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        raise JepakitError(f"--resume: the config differs from the one {run_dir.path} was started with (in: "
                           f"{', '.join(changed)})", "resume with the same run file and --set options, or start a new --out")


def train(resolved: ResolvedRun, *, out: str | Path | None = None, resume: bool = False, do_eval: bool = True,
          progress: Progress | None = None) -> dict[str, Any]:
    """Train a resolved run into its run directory; returns a summary (and the evaluation unless do_eval=False).

    Under a distributed launch (RANK / WORLD_SIZE set) every rank calls this; ranks other than 0 touch nothing
    in the run directory but read its checkpoint on resume, and return a summary without evaluation."""
    if out is not None:
        resolved.run.out = str(out)
    run_dir = RunDir(resolved.run.out)
    dist = Dist.setup(resolved.run.device)
    try:
        check_shardable(resolved.optim.batch_size, dist.world)
        if not dist.is_main:
            return _train(resolved, run_dir, resume, do_eval, progress, dist)
        return _train_main(resolved, run_dir, resume, do_eval, progress, dist)
    except RuntimeError as exc:
        if dist.world > 1 and dist.is_comm_error(exc):  # a peer died or hung: not a bug of this rank's
            raise RunFailed(f"rank {dist.rank} lost contact with the other ranks: {str(exc).splitlines()[0][:200]}",
                            "another rank failed or was stopped first: its error says why") from exc
        raise
    finally:
        dist.close()


def _train_main(resolved: ResolvedRun, run_dir: RunDir, resume: bool, do_eval: bool, progress: Progress | None,
                dist: Dist) -> dict[str, Any]:
    """Rank 0 (or the only process): hold the run directory's lock and record a failed run in failure.json."""
    run_dir.create()
    run_dir.lock()
    try:
        (run_dir.path / "failure.json").unlink(missing_ok=True)
        run_dir.write_meta(resolved)
        return _train(resolved, run_dir, resume, do_eval, progress, dist)
    except JepakitError as exc:
        if not (isinstance(exc, RunFailed) or getattr(exc, "run_failed", False)):
            raise  # about this invocation (--resume mismatch, interrupted ...), not a failed run
        # a failed run, for `jepakit runs` and sweeps: settings that cannot be built, NaN, a full disk
        if not run_dir.config.is_file():  # failed before it started: keep its settings for the run table
            atomic_write_text(run_dir.config, dumps_toml(resolved.to_dict()))
        atomic_write_text(run_dir.path / "failure.json", json.dumps({"error": exc.message, "hint": exc.hint}) + "\n")
        raise
    finally:
        run_dir.unlock()


def _train(resolved: ResolvedRun, run_dir: RunDir, resume: bool, do_eval: bool, progress: Progress | None,
           dist: Dist) -> dict:
    cfg, rc, main = resolved.optim, resolved.run, dist.is_main
    if rc.threads:
        torch.set_num_threads(rc.threads)
    elif dist.world > 1:  # "all cores" shared by this machine's ranks, not each rank taking them all
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.env.local_world))
    if main:
        has_ckpt = bool(list_checkpoints(run_dir.checkpoints))
        if has_ckpt and not resume:
            raise JepakitError(f"{run_dir.path} already holds a run", "add --resume to continue it, or train into another --out")
        removed = remove_partial(run_dir.checkpoints)  # we hold the lock: leftovers are a killed writer's
        if removed:
            log.info("removed %d partial checkpoint file(s) left by an interrupted write", len(removed))
    try:
        built = build(resolved)
    except JepakitError as exc:  # e.g. a masker that cannot fit the grid: this configuration cannot run
        exc.run_failed = True  # type: ignore[attr-defined]
        raise
    model = built.model.to(dist.device)
    if rc.compile:
        log.info("torch.compile: %s (the first steps compile)", ", ".join(compile_model(model)) or "nothing to compile")
    opt = make_optimizer(model, cfg)
    start, skipped = 0, 0
    found = latest_checkpoint(run_dir.checkpoints) if resume and main else None
    if found is not None:
        _check_resume_config(run_dir, resolved)
        run_dir.truncate_metrics(int(found[1]["step"]))
    chosen = dist.share_int(int(found[1]["step"]) if found is not None else 0)  # every rank resumes rank 0's pick
    if chosen and not main:
        found = read_checkpoint(run_dir.checkpoints, chosen)
    if found is not None:
        tensors, meta = found
        unpack_state(model, opt, tensors, meta)
        start, skipped = int(meta["step"]), int(meta.get("skipped_steps", 0))
        log.info("resuming %s from step %d", run_dir.path, start)
    elif main:
        atomic_write_text(run_dir.config, dumps_toml(resolved.to_dict()))
        atomic_write_text(run_dir.metrics, "")
    dist.broadcast_module(model)  # identical students and teachers on every rank, whatever init did
    monitor_x = _monitor_batch(built.splits.train)
    loader = make_loader(built.splits.train, built.masker, batch_size=cfg.batch_size, seed=rc.seed, start=start,
                         total=cfg.steps, workers=rc.workers, rank=dist.rank, world=dist.world)
    amp = autocast(rc.precision, dist.device)
    last_ckpt, t0, done = start, time.perf_counter(), start
    streak = collapse_streak(run_dir.read_metrics(), rc.collapse_std)  # survives resume

    def checkpoint(step: int) -> None:
        nonlocal last_ckpt
        if dist.world > 1:
            dist.check_in_sync(model, step)
        if main:  # the ranks are identical: one copy is the whole state
            tensors, meta = pack_state(model, opt)
            meta.update(variant=resolved.variant, skipped_steps=skipped)
            save_checkpoint(run_dir.checkpoints, step, tensors, meta, keep=rc.keep_checkpoints)
        last_ckpt = step

    loggers = [build_part(Part(spec, spec.config() if spec.config else None, f"run.loggers[{i}]"), run_dir=run_dir.path)
               for i, spec in enumerate(resolved.loggers)] if main else []
    with _StopFlag() as stop, contextlib.ExitStack() as closing:
        for logger in loggers:
            closing.callback(logger.close)
        for batch in loader:
            step = batch["step"]
            dist.seed_step(rc.seed, step)
            batch = move_batch(batch, dist.device)
            lr, wd = set_schedule(opt, cfg, step)
            model.train()
            with amp:
                result = model.step(batch)
            if faults.point("nan-loss"):
                result.loss = result.loss * float("nan")
            opt.zero_grad(set_to_none=True)
            bad = "loss" if not torch.isfinite(result.loss) else ""
            result.metrics, any_bad, halt = dist.agree_step(result.metrics, bool(bad), stop.signal is not None)
            bad = "loss" if any_bad else ""
            if not bad:
                result.loss.backward()
                params = model.trainable_parameters()
                if faults.point("nan-grad") and params[0].grad is not None:
                    params[0].grad.view(-1)[0] = float("inf")
                dist.average_gradients(params)  # the global batch's gradient on every rank
                norm = clip_gradients(params, cfg)
                bad = "gradient norm" if not torch.isfinite(norm) else ""
            if bad:
                value = float(result.loss) if bad == "loss" else float(norm)
                if rc.on_nan == "stop":
                    raise RunFailed(f"{bad} is {value} at step {step + 1}; last good checkpoint: step {last_ckpt}",
                                    "lower optim.lr, or set run.on_nan = \"skip\" to skip such steps")
                skipped += 1
                log.warning("skipping step %d: %s is %s (%d skipped so far)", step + 1, bad, value, skipped)
                opt.zero_grad(set_to_none=True)
                continue
            opt.step()
            done = step + 1
            model.after_step(done)
            faults.point("step")
            row: dict[str, Any] = {}
            if done % rc.monitor_every == 0 or done == cfg.steps:
                row.update(collapse_monitor(model, monitor_x))
                streak = streak + 1 if row["feature_std"] < rc.collapse_std else 0
                if streak == rc.collapse_patience:
                    row["collapse_warning"] = rc.collapse_std
                    log.warning("representation collapse at step %d: feature std %s below %s for %d monitors in a "
                                "row", done, row["feature_std"], rc.collapse_std, streak)
            if done % rc.log_every == 0 or done == cfg.steps or row:
                row = {"step": done, **result.metrics, "lr": lr, "wd": wd, "skipped": skipped,
                       "elapsed_s": round(time.perf_counter() - t0, 3), **row}
                if main:
                    run_dir.log(row)
                for logger in loggers:
                    logger.log(row)
            if progress is not None:
                progress(done, cfg.steps, result.metrics)
            collapsed = rc.on_collapse == "stop" and "feature_std" in row and streak >= rc.collapse_patience
            if rc.on_collapse == "stop" and "feature_std" in row:  # rank 0's verdict, so all ranks stop together
                collapsed = bool(dist.share_int(int(collapsed)))
            if done % rc.ckpt_every == 0 or done == cfg.steps or collapsed:
                checkpoint(done)
            if collapsed:
                raise RunFailed(f"representation collapsed at step {done} (feature std {row['feature_std']} < "
                                f"{rc.collapse_std}); checkpoint saved at step {done}",
                                "add an anti-collapse term (core/vicreg, core/sigreg), lower optim.lr, or set "
                                "run.on_collapse = \"warn\"")
            if (stop.signal is not None) if dist.world == 1 else halt:  # ranks stop at the step they agreed on
                if last_ckpt != done:
                    checkpoint(done)
                raise Interrupted(f"interrupted at step {done}; checkpoint saved in {run_dir.checkpoints}",
                                  f"continue with: jepakit train <run file> --out {run_dir.path} --resume")
    if done == start and start < cfg.steps:
        raise RunFailed("the data loader produced no batches", "check that the dataset is not empty")
    summary: dict[str, Any] = {"run_dir": str(run_dir.path), "steps": done, "skipped_steps": skipped,
                               "train_seconds": round(time.perf_counter() - t0, 2)}
    dist.finish()  # collectives are over: rank 0 goes on to plot and evaluate, the other ranks' processes end here
    if not main:
        return summary
    _plots(run_dir, built, start == 0)
    if do_eval:
        summary["eval"] = built.method.evaluate(resolved, built, run_dir)
    return summary


def _monitor_batch(dataset: Any, n: int = 512) -> Any:
    """A fixed set of training inputs for the collapse monitors (the first n, always the same)."""
    n = min(n, len(dataset))
    return stack_inputs([dataset[i][0] for i in range(n)])


@torch.no_grad()
def collapse_monitor(model: JEPA, x: Any) -> dict[str, float]:
    """Per-dimension std and effective rank of the teacher's mean-pooled features: collapse shows here first."""
    from jepakit.engine.evaluate import collapse_stats

    teacher = model.teacher
    was_training = teacher.training
    device = next(teacher.parameters()).device
    teacher.eval()
    n = len(x["image"] if isinstance(x, dict) else x)
    feats = torch.cat([teacher(move_batch(input_rows(x, i, i + 256), device)).mean(dim=1)
                       for i in range(0, n, 256)])  # [n, D]
    teacher.train(was_training)
    stats = collapse_stats(feats.float().cpu().numpy())
    return {"feature_std": round(float(stats["feature_std"]), 5), "effective_rank": round(float(stats["effective_rank"]), 3)}


def _plots(run_dir: RunDir, built: Any, draw_masks: bool) -> None:
    """Loss curve always; masks drawn over sample inputs once per run."""
    from jepakit.library import plots
    run_dir.plots.mkdir(exist_ok=True)
    plots.plot_loss(run_dir.read_metrics(), run_dir.plots / "loss.png")
    masker = built.masker
    if masker is None or not (draw_masks or not (run_dir.plots / "masks.png").exists()):
        return
    x = input_pixels(stack_inputs([built.splits.train[i][0] for i in range(min(4, len(built.splits.train)))]))
    if hasattr(masker, "draw"):  # the masker knows its geometry best (spectrograms, scalp maps, curricula)
        masker.draw(x, run_dir.plots / "masks")
        return
    masks = sample_masks(masker, len(x), torch.Generator().manual_seed(0), step=0, total_steps=1)
    grid = tuple(masker.grid)
    if len(grid) == 2:
        plots.plot_masks(x, masks.context, masks.targets, grid, run_dir.plots / "masks.png")
    elif len(grid) == 3:
        plots.plot_masks_3d(x, masks.context, masks.targets, grid, run_dir.plots / "masks.png")
