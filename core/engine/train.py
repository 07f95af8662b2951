"""The training loop: AdamW with I-JEPA's schedules, optional bf16 autocast, atomic checkpoints, exact resume.

Resume is exact: batches and masks are functions of (seed, step) (see loader.py), and model, optimizer and EMA
state come back from the checkpoint, so a resumed fp32 CPU run logs the same losses as an uninterrupted one.

The device is `run.device` (auto: CUDA when present). Launched as several processes (`jepakit train --nproc N`
or torchrun), each rank trains on its slice of every global batch with averaged gradients (distributed.py);
rank 0 alone holds the run directory's lock and writes checkpoints, metrics, run.json, plots and eval.json.

The loop is `_Training`, one method per phase (set up, resume, one step and its policies, finish); the optimizer
step itself is `steps.train_step`, the function `jepakit bench` times.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from jepakit.engine import faults, runlock
from jepakit.engine.ckpt import (
    atomic_write_text,
    latest_checkpoint,
    list_checkpoints,
    pack_state,
    read_checkpoint,
    remove_partial,
    save_checkpoint,
    unpack_state,
)
from jepakit.engine.distributed import Dist, move_batch
from jepakit.engine.jepa import build
from jepakit.engine.launch import check_shardable, rank_env
from jepakit.engine.loader import make_loader
from jepakit.engine.monitors import collapse_monitor, draw_run_plots, monitor_batch
from jepakit.engine.online import OnlineProbe
from jepakit.engine.resume import check_resume, elapsed_before, new_horizon, resume_command
from jepakit.engine.runs import RunDir, collapse_streak
from jepakit.engine.steps import StepOutcome, compile_model, make_optimizer, train_step
from jepakit.engine.stops import StopFlag, stop_error, stop_signals, worker_died_of_stop
from jepakit.errors import JepakitError, RunFailed
from jepakit.framework.compose import ResolvedRun, build_part
from jepakit.framework.config import dumps_toml
from jepakit.library.training import autocast

log = logging.getLogger("jepakit")
Progress = Callable[[int, int, dict[str, float]], None]


def train(
    resolved: ResolvedRun,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    do_eval: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train a resolved run into its run directory; returns a summary (and the evaluation unless do_eval=False).

    Under a distributed launch (RANK / WORLD_SIZE set) every rank calls this; ranks other than 0 touch nothing
    in the run directory but read its checkpoint on resume, and return a summary without evaluation."""
    if out is not None:
        resolved.run.out = str(out)
    if do_eval:  # an unlabelled [data] without [eval.sets]: say so before training, not after it
        from jepakit.framework.eval_sets import check_evaluable

        check_evaluable(resolved)
    run_dir = RunDir(resolved.run.out)
    if resume:
        if rank_env().rank == 0:  # rank 0 takes the lock; the other ranks of a launch run beside its holder
            runlock.refuse_if_busy(run_dir.path)  # a busy directory is said first, as the lock would say it
        check_resume(run_dir, resolved)  # a config mismatch is said before any tensor is built
    dist = Dist.setup(resolved.run.device)
    try:
        check_shardable(resolved.optim.batch_size, dist.world)
        if not dist.is_main:
            return _train(resolved, run_dir, resume, do_eval, progress, dist)
        return _train_main(resolved, run_dir, resume, do_eval, progress, dist)
    except RuntimeError as exc:
        if dist.world > 1 and dist.is_comm_error(exc):  # a peer died or hung: not a bug of this rank's
            raise RunFailed(
                f"rank {dist.rank} lost contact with the other ranks: {str(exc).splitlines()[0][:200]}",
                "another rank failed or was stopped first: its error says why",
            ) from exc
        raise
    finally:
        dist.close()


def _train_main(
    resolved: ResolvedRun, run_dir: RunDir, resume: bool, do_eval: bool, progress: Progress | None, dist: Dist
) -> dict[str, Any]:
    """Rank 0 (or the only process): hold the run directory's lock and record a failed run in failure.json."""
    run_dir.create()
    run_dir.lock()
    try:
        _refuse_before_writing(run_dir, resume)  # a refused command leaves the run as it was
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


def _refuse_before_writing(run_dir: RunDir, resume: bool) -> None:
    """The checks that refuse this invocation (not a failed run), made before run.json, failure.json or
    config.toml change: a refused `train` leaves the run it refused exactly as it was (`train` checked a
    --resume's config already, before the lock)."""
    if not resume and list_checkpoints(run_dir.checkpoints):
        raise JepakitError(
            f"{run_dir.path} already holds a run", "add --resume to continue it, or train into another --out"
        )


def _train(
    resolved: ResolvedRun, run_dir: RunDir, resume: bool, do_eval: bool, progress: Progress | None, dist: Dist
) -> dict:
    return _Training(resolved, run_dir, do_eval, progress, dist).run(resume)


class _Training:
    """One training run, phase by phase; `run` calls them in order and `_one_step` orders a step's policies.

    Phases: `_set_up` (threads, the run directory's state, model and optimizer), `_resume` (a checkpoint or a
    fresh log, the loader), per batch `_one_step` (the step itself is `steps.train_step`, shared with the bench)
    with `_nan_policy`, `_collapse_monitor`, `_online_probe`, `_log`, `_collapse_verdict`, `_checkpoint`
    cadence and `_stop_if_asked`, then `_finish` (plots and evaluation). Every rank runs the same phases, so the
    collectives inside them (agreement, checkpoint sync, shared verdicts) happen in the same order everywhere.
    """

    def __init__(
        self, resolved: ResolvedRun, run_dir: RunDir, do_eval: bool, progress: Progress | None, dist: Dist
    ) -> None:
        self.resolved, self.run_dir, self.do_eval, self.progress, self.dist = resolved, run_dir, do_eval, progress, dist
        self.cfg, self.rc, self.main = resolved.optim, resolved.run, dist.is_main
        self.start = self.skipped = self.done = self.last_ckpt = self.streak = 0
        self.t0 = self.elapsed0 = 0.0  # elapsed0: the seconds earlier processes spent on this run (resume)

    def run(self, resume: bool) -> dict[str, Any]:
        self._set_up()
        self._resume(resume)
        self.online = OnlineProbe.start(self.resolved, self.built, self.run_dir, self.start) if self.main else None
        loggers = self._open_loggers()
        with StopFlag(self.rc.stop_signal) as stop, contextlib.ExitStack() as closing:  # before the workers fork
            for logger in loggers:
                closing.callback(logger.close)
            pending = None  # the step being taken, None between steps
            try:
                for batch in self.loader:
                    pending = batch["step"]
                    self._one_step(batch, stop, loggers)
                    pending = None
            except RuntimeError as exc:
                if not worker_died_of_stop(exc, stop):
                    raise
                self._stop_after_worker_death(stop, pending is None or self.done == pending + 1)
            with stop.raising(*self._finish_interrupted()):
                return self._finish()

    def _finish_interrupted(self) -> tuple[str, str]:
        """What a stop during the plots or the evaluation says: training is over, nothing needs resuming."""
        message = (
            f"interrupted at step {self.done}, after training ended; last checkpoint: step {self.last_ckpt} in "
            f"{self.run_dir.checkpoints}"
        )
        if self.do_eval:
            return message, f"eval.json was not written; evaluate with: jepakit eval {self.run_dir.path}"
        return message, "the training is complete: nothing needs resuming"

    # --- set up and resume ------------------------------------------------------------------------------------

    def _set_up(self) -> None:
        """Threads; on rank 0 clear a killed writer's leftovers; model, optimizer."""
        rc, dist, run_dir = self.rc, self.dist, self.run_dir
        if rc.threads:
            torch.set_num_threads(rc.threads)
        elif dist.world > 1:  # "all cores" shared by this machine's ranks, not each rank taking them all
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.env.local_world))
        if self.main:  # `_refuse_before_writing` refused a second run into this directory
            removed = remove_partial(run_dir.checkpoints)  # we hold the lock: leftovers are a killed writer's
            if removed:
                log.info("removed %d partial checkpoint file(s) left by an interrupted write", len(removed))
        try:
            self.built = build(self.resolved)
        except JepakitError as exc:  # e.g. a masker that cannot fit the grid: this configuration cannot run
            exc.run_failed = True  # type: ignore[attr-defined]  # a mark the failure handler reads with getattr
            raise
        self.model = self.built.model.to(dist.device)
        if rc.compile:
            log.info(
                "torch.compile: %s (the first steps compile)",
                ", ".join(compile_model(self.model)) or "nothing to compile",
            )
        self.opt = make_optimizer(self.model, self.cfg)

    def _resume(self, resume: bool) -> None:
        """Every rank loads rank 0's newest good checkpoint (or a fresh run starts its log); then the loader."""
        rc, dist, run_dir, main = self.rc, self.dist, self.run_dir, self.main
        found = latest_checkpoint(run_dir.checkpoints) if resume and main else None
        if found is not None:
            run_dir.truncate_metrics(int(found[1]["step"]))
            new_horizon(run_dir, self.resolved, int(found[1]["step"]))
        elif resume and main:  # not silently: the user expected to continue something
            log.warning("--resume: no readable checkpoint in %s: training from step 0", run_dir.checkpoints)
        chosen = dist.share_int(int(found[1]["step"]) if found is not None else 0)  # every rank resumes rank 0's pick
        if chosen and not main:
            found = read_checkpoint(run_dir.checkpoints, chosen)
        if found is not None:
            tensors, meta = found
            unpack_state(self.model, self.opt, tensors, meta)
            self.start, self.skipped = int(meta["step"]), int(meta.get("skipped_steps", 0))
            self.elapsed0 = elapsed_before(meta, run_dir)
            log.info("resuming %s from step %d", run_dir.path, self.start)
        elif main:
            atomic_write_text(run_dir.config, dumps_toml(self.resolved.to_dict()))
            atomic_write_text(run_dir.metrics, "")
        dist.broadcast_module(self.model)  # identical students and teachers on every rank, whatever init did
        self.monitor_x = monitor_batch(self.built.splits.pretrain_set)
        self.loader = make_loader(
            self.built.splits.pretrain_set,
            self.built.masker,
            batch_size=self.cfg.batch_size,
            seed=rc.seed,
            start=self.start,
            total=self.cfg.steps,
            workers=rc.workers,
            rank=dist.rank,
            world=dist.world,
            stop_signals=stop_signals(rc.stop_signal),
        )
        self.amp = autocast(rc.precision, dist.device)
        self.last_ckpt, self.t0, self.done = self.start, time.perf_counter(), self.start
        self.streak = collapse_streak(run_dir.read_metrics(), rc.collapse_std)  # survives resume

    def _open_loggers(self) -> list[Any]:
        """The run's `run.loggers`, built with their settings, on rank 0 only (the other ranks log nothing)."""
        if not self.main:
            return []
        return [build_part(part, run_dir=self.run_dir.path) for part in self.resolved.loggers.values()]

    # --- one step and its policies ------------------------------------------------------------------------------

    def _one_step(self, batch: dict[str, Any], stop: StopFlag, loggers: list[Any]) -> None:
        rc, cfg, dist = self.rc, self.cfg, self.dist
        step = batch["step"]
        dist.seed_step(rc.seed, step)
        outcome = train_step(
            self.model, self.opt, cfg, move_batch(batch, dist.device), self.amp, dist=dist, stop=stop.signal is not None
        )
        if outcome.bad:
            self._nan_policy(step, outcome)
            return
        self.done = done = step + 1
        faults.point("step")
        row = self._collapse_monitor(done)
        row = self._online_probe(done, outcome, row)
        row = self._log(done, outcome, row, loggers)
        if self.progress is not None:
            self.progress(done, cfg.steps, {**outcome.result.metrics, **(self.online.shown if self.online else {})})
        collapsed = self._collapse_verdict(row)
        if done % rc.ckpt_every == 0 or done == cfg.steps or collapsed:  # the checkpoint cadence
            self._checkpoint(done)
        if collapsed:
            raise RunFailed(
                f"representation collapsed at step {done} (feature std {row['feature_std']} < "
                f"{rc.collapse_std}); checkpoint saved at step {done}",
                'add an anti-collapse term (core/vicreg, core/sigreg), lower optim.lr, or set run.on_collapse = "warn"',
            )
        self._stop_if_asked(stop, outcome.halt)

    def _nan_policy(self, step: int, outcome: StepOutcome) -> None:
        """`run.on_nan`: stop the run (exit 1), or count the skipped step and go on (the step cleared its grads)."""
        if self.rc.on_nan == "stop":
            raise RunFailed(
                f"{outcome.bad} is {outcome.bad_value} at step {step + 1}; last good checkpoint: step {self.last_ckpt}",
                'lower optim.lr, or set run.on_nan = "skip" to skip such steps',
            )
        self.skipped += 1
        log.warning(
            "skipping step %d: %s is %s (%d skipped so far)", step + 1, outcome.bad, outcome.bad_value, self.skipped
        )

    def _collapse_monitor(self, done: int) -> dict[str, Any]:
        """Every `monitor_every` steps (and the last): feature std and rank; warn once a streak reaches patience."""
        rc, row = self.rc, {}
        if done % rc.monitor_every == 0 or done == self.cfg.steps:
            row.update(collapse_monitor(self.model, self.monitor_x))
            self.streak = self.streak + 1 if row["feature_std"] < rc.collapse_std else 0
            if self.streak == rc.collapse_patience:
                row["collapse_warning"] = rc.collapse_std
                log.warning(
                    "representation collapse at step %d: feature std %s below %s for %d monitors in a row",
                    done,
                    row["feature_std"],
                    rc.collapse_std,
                    self.streak,
                )
        return row

    def _online_probe(self, done: int, outcome: StepOutcome, row: dict[str, Any]) -> dict[str, Any]:
        """Rank 0, every `eval.online_every` steps: k-NN and RankMe of the evaluated encoder (engine/online.py);
        the first step's row also gets their random-init figures, measured before it."""
        if self.online is not None:
            row.update(self.online.after_step(done, float(outcome.result.metrics.get("loss", outcome.result.loss))))
        return row

    def _log(self, done: int, outcome: StepOutcome, row: dict[str, Any], loggers: list[Any]) -> dict[str, Any]:
        """Every `log_every` steps, the last, and any monitored step: one row to metrics.jsonl and the loggers."""
        if done % self.rc.log_every == 0 or done == self.cfg.steps or row:
            row = {
                "step": done,
                **outcome.result.metrics,
                "lr": outcome.lr,
                "wd": outcome.wd,
                "skipped": self.skipped,
                "elapsed_s": self._elapsed(),
                **row,
            }
            if self.main:
                self.run_dir.log(row)
            for logger in loggers:
                logger.log(row)
        return row

    def _elapsed(self) -> float:
        """Seconds this run has trained, over every process that worked on it (a resume goes on counting)."""
        return round(self.elapsed0 + time.perf_counter() - self.t0, 3)

    def _collapse_verdict(self, row: dict[str, Any]) -> bool:
        """`run.on_collapse = "stop"`: stop after `collapse_patience` low monitors in a row, on every rank."""
        rc = self.rc
        collapsed = rc.on_collapse == "stop" and "feature_std" in row and self.streak >= rc.collapse_patience
        if rc.on_collapse == "stop" and "feature_std" in row:  # rank 0's verdict, so all ranks stop together
            collapsed = bool(self.dist.share_int(int(collapsed)))
        return collapsed

    def _checkpoint(self, step: int) -> None:
        """Check the ranks agree, then rank 0 writes the one copy of the state (the ranks are identical)."""
        if self.dist.world > 1:
            self.dist.check_in_sync(self.model, step)
        if self.main:
            tensors, meta = pack_state(self.model, self.opt)
            meta.update(variant=self.resolved.variant, skipped_steps=self.skipped, elapsed_s=self._elapsed())
            save_checkpoint(self.run_dir.checkpoints, step, tensors, meta, keep=self.rc.keep_checkpoints)
        self.last_ckpt = step

    def _stop_if_asked(self, stop: StopFlag, halt: bool) -> None:
        """SIGINT/SIGTERM/`run.stop_signal` (engine/stops.py): checkpoint this step and exit 130, or 75 for
        `run.stop_signal`; ranks stop at the step they agreed on (`halt`), with the code they agree on."""
        if (stop.signal is not None) if self.dist.world == 1 else halt:
            requeue = stop.requeue
            if self.dist.world > 1:  # every rank is here, at the same step: one collective more
                requeue = self.dist.sum([float(requeue)])[0] > 0
            if self.last_ckpt != self.done:
                self._checkpoint(self.done)
            raise stop_error(
                requeue,
                f"interrupted at step {self.done}; checkpoint saved in {self.run_dir.checkpoints}",
                f"continue with: {resume_command(self.run_dir.path)}",
            )

    def _stop_after_worker_death(self, stop: StopFlag, between_steps: bool) -> None:
        """A DataLoader worker died of the signal this process was stopped by (a signal to the whole group that
        reached it before it could ignore it): that stop, not a crash. The checkpoint is taken only where the
        state is a finished step's and no other rank must join in; else the last one stands."""
        if between_steps and self.dist.world == 1 and self.last_ckpt != self.done:
            self._checkpoint(self.done)
        raise stop_error(
            stop.requeue,
            f"interrupted at step {self.done}; last checkpoint: step {self.last_ckpt} in {self.run_dir.checkpoints}",
            f"continue with: {resume_command(self.run_dir.path)}",
        )

    # --- finish -------------------------------------------------------------------------------------------------

    def _finish(self) -> dict[str, Any]:
        """The summary; then, on rank 0 only, the plots and the method's evaluation (eval.json)."""
        if self.done == self.start and self.start < self.cfg.steps:
            raise RunFailed("the data loader produced no batches", "check that the dataset is not empty")
        summary: dict[str, Any] = {
            "run_dir": str(self.run_dir.path),
            "steps": self.done,
            "skipped_steps": self.skipped,
            "train_seconds": round(time.perf_counter() - self.t0, 2),
        }
        self.dist.finish()  # collectives are over: rank 0 goes on to plot and evaluate, the other ranks end here
        if not self.main:
            return summary
        resolved, built, run_dir = self.resolved, self.built, self.run_dir
        draw_run_plots(run_dir, built, self.start == 0)
        if self.done > self.start and not self.do_eval:
            run_dir.retire_eval(self.start)  # an extension: the old eval.json described the shorter run
        if self.do_eval:
            from jepakit.engine.run_eval import evaluate_and_write  # the method evaluates, core writes eval.json

            summary["eval"] = evaluate_and_write(resolved, built, run_dir).to_dict()
        return summary
