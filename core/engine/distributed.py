"""Data-parallel training: one process per device, each on its slice of every step's global batch.

Why not torch's DistributedDataParallel wrapper: the loop drives `model.step(batch)`, not `forward`, and a model
holds parts that do not train (an EMA teacher, frozen towers), which DDP would have to be told about for every
method a plugin registers. Averaging the trainable parameters' gradients with one all-reduce per step after
`backward` is what DDP computes (without overlapping communication with backward), works for every method,
and keeps the 1-process path untouched: with one process every call here is a no-op.

What keeps the ranks identical, so that the EMA teacher (updated locally after each step) stays identical too:
the same seeded initialisation, broadcast from rank 0 once; the same averaged gradients (an all-reduce gives
every rank the same bits); the same optimizer step. What differs per rank: the slice of the batch (loader.py)
and the global RNG, re-seeded from (seed, rank, step) every step so dropout-like noise is independent across
ranks and still reproducible on resume.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch

from jepakit.engine.launch import RankEnv, exit_now, rank_env
from jepakit.errors import JepakitError, RunFailed

#: Seconds a collective (or the rendezvous) may wait for a peer before this process gives up; override with
#: $JEPAKIT_DIST_TIMEOUT. Rank 0's checkpoint writes happen between collectives, so keep it above their time.
DEFAULT_TIMEOUT_S = 600


def pick_device(setting: str, local_rank: int = 0) -> torch.device:
    """`run.device` -> a torch device: "auto" is CUDA when torch sees one (GPU `local_rank`), else CPU."""
    if setting == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if setting == "cuda" and not available:
        raise JepakitError(
            'run.device: "cuda" but torch sees no CUDA device',
            'set run.device = "auto" or "cpu", or install a CUDA build of torch',
        )
    if not available:
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise JepakitError(
            f"run.device: local rank {local_rank} needs GPU {local_rank} but only {count} are visible",
            f'start at most {count} processes per machine, or set run.device = "cpu"',
        )
    return torch.device("cuda", local_rank)


def _timeout() -> datetime.timedelta:
    raw = os.environ.get("JEPAKIT_DIST_TIMEOUT", "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        raise JepakitError(
            f"JEPAKIT_DIST_TIMEOUT={raw!r} is not a number of seconds", "e.g. JEPAKIT_DIST_TIMEOUT=600"
        ) from None
    return datetime.timedelta(seconds=max(1.0, seconds))


@dataclass
class Dist:
    """This process's place in the run and the collectives the training loop needs (no-ops for one process)."""

    env: RankEnv
    device: torch.device
    owns_group: bool = False  # this object started the process group, so it ends it

    @property
    def rank(self) -> int:
        return self.env.rank

    @property
    def world(self) -> int:
        return self.env.world

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run directory (checkpoints, metrics, run.json, eval); the others write nothing."""
        return self.env.rank == 0

    @classmethod
    def setup(cls, device_setting: str) -> Dist:
        """Read the launcher's variables, pick this rank's device and join the process group (gloo on CPU,
        nccl on CUDA), with a timeout so a rank that never arrives cannot hang the others forever."""
        env = rank_env()
        device = pick_device(device_setting, env.local_rank if env.world > 1 else 0)
        if env.world == 1 or torch.distributed.is_initialized():
            return cls(env, device)
        missing = [k for k in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
        if missing:
            raise JepakitError(
                f"WORLD_SIZE={env.world} is set but {' and '.join(missing)} is not",
                "launch with `jepakit train --nproc N` or torchrun, which set them",
            )
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        try:
            torch.distributed.init_process_group(backend, rank=env.rank, world_size=env.world, timeout=_timeout())
        except (RuntimeError, ValueError) as exc:  # DistStoreError and friends subclass RuntimeError
            raise RunFailed(
                f"rank {env.rank} could not join the {env.world}-process group at "
                f"{os.environ['MASTER_ADDR']}:{os.environ['MASTER_PORT']}: {exc}",
                "check that every rank started and that the address is reachable; "
                "JEPAKIT_DIST_TIMEOUT sets how long to wait",
            ) from exc
        return cls(env, device, owns_group=True)

    def finish(self) -> None:
        """Leave the group together once training is done, before rank 0's evaluation.

        After the barrier every rank is done with collectives and rank 0 holds everything worth keeping, so the
        other ranks end their process right there (`jepakit.engine.launch.exit_now`), skipping destroy_process_group and
        the interpreter's teardown: in about 1 of 20 CI runs a non-main rank tearing down its gloo threads died
        with "terminate called without an active exception" (SIGABRT) after a clean run, failing the launch.
        Rank 0 keeps running (plots, evaluation), so it leaves the group properly.
        """
        if not (self.owns_group and torch.distributed.is_initialized()):
            return
        torch.distributed.barrier()
        if self.is_main:
            self.close()
            return
        exit_now(0)

    def close(self) -> None:
        if self.owns_group and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
            self.owns_group = False

    @staticmethod
    def is_comm_error(exc: BaseException) -> bool:
        """A failed or timed-out collective (peer gone), as opposed to an error in this rank's own work."""
        dist_error = getattr(torch.distributed, "DistError", None)
        text = str(exc).lower()
        return (dist_error is not None and isinstance(exc, dist_error)) or "gloo" in text or "nccl" in text

    def sum(self, values: list[float]) -> list[float]:
        """Element-wise sum of a float vector over ranks (float64, so step metrics average without drift)."""
        if self.world == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device)  # [K]
        torch.distributed.all_reduce(t)
        return t.tolist()

    def share_int(self, value: int) -> int:
        """Rank 0's `value` on every rank (rank 0 decides what to resume from; the others follow)."""
        if self.world == 1:
            return value
        t = torch.tensor([value if self.is_main else 0], dtype=torch.int64, device=self.device)
        torch.distributed.broadcast(t, src=0)
        return int(t.item())

    def broadcast_module(self, module: torch.nn.Module) -> None:
        """Copy rank 0's parameters and buffers (student, teacher, everything) to every rank."""
        if self.world == 1:
            return
        with torch.no_grad():
            for t in module.state_dict().values():
                if torch.is_tensor(t) and t.numel():
                    torch.distributed.broadcast(t, src=0)

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Replace each gradient by its mean over ranks, in one all-reduce per dtype.

        A parameter without a gradient on some rank (a branch this rank's data did not reach) counts as zero
        there; one without a gradient on every rank keeps `grad = None`, as in a 1-process run, so AdamW skips it.
        """
        if self.world == 1 or not params:
            return
        by_dtype: dict[torch.dtype, list[torch.nn.Parameter]] = {}
        for p in params:
            by_dtype.setdefault(p.dtype, []).append(p)
        for group in by_dtype.values():
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in group]
            present = torch.tensor([p.grad is not None for p in group], dtype=group[0].dtype, device=self.device)
            flat = torch.cat([*(g.reshape(-1) for g in grads), present])  # [sum numel + P]
            torch.distributed.all_reduce(flat)
            counts = flat[-len(group) :]
            flat = flat[: -len(group)] / self.world
            offset = 0
            for p, g, n in zip(group, grads, counts.tolist(), strict=True):
                size = g.numel()
                if n > 0:
                    p.grad = flat[offset : offset + size].view_as(p).clone()
                offset += size

    def agree_step(self, metrics: dict[str, float], bad: bool, stop: bool) -> tuple[dict[str, float], bool, bool]:
        """One all-reduce per step: the metrics' mean over ranks (rank 0 logs the global loss), whether any rank
        saw a non-finite loss (then every rank skips the step: none may start a collective the others skip),
        and whether any rank was asked to stop (then all checkpoint-and-exit at the same step)."""
        if self.world == 1:
            return metrics, bad, stop
        keys = sorted(metrics)
        sums = self.sum([float(metrics[k]) for k in keys] + [float(bad), float(stop)])  # [K + 2]
        return {k: v / self.world for k, v in zip(keys, sums[:-2], strict=True)}, sums[-2] > 0, sums[-1] > 0

    def check_in_sync(self, module: torch.nn.Module, step: int) -> str:
        """Fail loudly if the ranks' parameters (students and EMA teachers) are no longer bit-identical; checked
        at each checkpoint, since only rank 0's copy is saved. Returns this rank's digest. Buffers are left
        out: a BatchNorm's running statistics legitimately differ per rank."""
        digest = param_digest(module)
        if self.world > 1:
            head = torch.tensor([int(digest[:15], 16)], dtype=torch.int64, device=self.device)
            lo, hi = head.clone(), head.clone()
            torch.distributed.all_reduce(lo, op=torch.distributed.ReduceOp.MIN)
            torch.distributed.all_reduce(hi, op=torch.distributed.ReduceOp.MAX)
            if int(lo.item()) != int(hi.item()):
                raise RunFailed(
                    f"data-parallel ranks hold different parameters at step {step}",
                    "a bug in jepakit or in a plugin's step (randomness that changes parameters "
                    "outside the optimizer?): report it with the run file",
                )
        hook = os.environ.get("JEPAKIT_DIST_DIGEST_DIR", "")  # tests: each rank writes what it holds
        if hook:
            os.makedirs(hook, exist_ok=True)
            with open(os.path.join(hook, f"rank{self.rank}-step{step}.txt"), "w", encoding="utf-8") as f:
                f.write(digest + "\n")
        return digest

    def seed_step(self, seed: int, step: int) -> None:
        """Per-rank global RNG for the step (dropout and the like): independent across ranks, fixed by (seed,
        rank, step) so resume replays it. One process keeps its checkpointed RNG stream instead."""
        if self.world > 1:
            torch.manual_seed((seed * 1_000_003 + (self.rank + 1) * 15_485_863 + step * 7_919) % (2**63 - 1))


class _GatherBatch(torch.autograd.Function):
    """All-gather along the batch with a gradient: every rank's loss sees the whole global batch."""

    @staticmethod
    def forward(ctx: Any, z: torch.Tensor) -> torch.Tensor:  # z [b, ...] -> [world * b, ...]
        world, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
        parts = [torch.empty_like(z) for _ in range(world)]
        torch.distributed.all_gather(parts, z.contiguous())
        ctx.rank, ctx.b = rank, z.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:  # grad [world * b, ...] -> [b, ...]
        # Every rank computed the same batch-level loss, so this slice's gradient is the sum of its copies'
        # gradients; average_gradients then divides by world, giving exactly the 1-process gradient.
        grad = grad.contiguous()
        torch.distributed.all_reduce(grad)
        return grad[ctx.rank * ctx.b : (ctx.rank + 1) * ctx.b]


def gather_batch(z: torch.Tensor) -> torch.Tensor:
    """`z` [b, ...] from every rank, concatenated in rank order [world * b, ...] (the global batch's order).

    For losses made of batch statistics (VICReg's variance and covariance, SIGReg's characteristic function):
    computed on one shard they would differ from the 1-process loss. One process: `z` itself.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return z
    if torch.distributed.get_world_size() == 1:
        return z
    return _GatherBatch.apply(z)


def move_batch(batch: Any, device: torch.device) -> Any:
    """A batch (dict / MaskSet / tuple of tensors) on `device`; on CPU the very same objects (no copies)."""
    if device.type == "cpu":
        return batch
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        return dataclasses.replace(
            batch, **{f.name: move_batch(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init}
        )
    if isinstance(batch, dict):
        return {k: move_batch(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_batch(v, device) for v in batch)
    return batch


def param_digest(module: torch.nn.Module) -> str:
    """SHA-256 over every parameter's name and bytes (in fp32 on CPU): equal digests, identical parameters."""
    import hashlib

    h = hashlib.sha256()
    for name, p in module.named_parameters():
        h.update(name.encode())
        h.update(p.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
