"""ACT-JEPA's evaluation: by acting, and by probing the representation for the future (the world model).

Rows of every score: trained = the ACT-JEPA policy (its context encoder for probes); random init = the same
networks before training (rebuilt under the run's seed); third row = the BC twin (the same encoder and action
decoder trained in the same steps on the same batches with the action loss only: the ACT baseline).

- Success (primary, %): seeded rollouts per task (`rollouts_per_task` resets drawn from `eval_seed`, never a
  demonstration's), with temporal ensembling; the random-init row acts on the first `random_init_rollouts` of
  them; the scripted expert's rate on the same resets is the ceiling (details).
- World-model probe (R^2): ridge regression from the frozen mean-pooled tokens of o_t to where the hand and the
  object move in the next k steps (position at t + k minus position at t), fitted on the training windows, scored
  on the held-out demonstrations; the same ridge on the raw observation is in details.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import torch

from jepakit.api import MONITOR_SAMPLES, Built, ResolvedRun, collapse_stats
from jepakit.interfaces import EvalResult, Scores

log = logging.getLogger("jepakit")


def _inputs(split: Any, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    state = split.x[idx, 0]  # [n, F]
    if split.images is None:
        return state, None
    return state, split.images[split._idx[idx, 0]].float() / 255.0


@torch.no_grad()
def pooled_features(encoder: torch.nn.Module, split: Any, batch: int = 1024) -> np.ndarray:
    """Mean-pooled tokens of every window's current observation [N, D] (eval mode, caller's mode kept)."""
    was = encoder.training
    encoder.eval()
    try:
        out = []
        for s in range(0, len(split), batch):
            state, image = _inputs(split, torch.arange(s, min(s + batch, len(split))))
            out.append(encoder.encode(state, image).mean(dim=1).float())
        return torch.cat(out).numpy()
    finally:
        encoder.train(was)


def ridge_r2(train_f: np.ndarray, train_y: np.ndarray, test_f: np.ndarray, test_y: np.ndarray, alpha: float) -> float:
    """R^2 (averaged over the target's dimensions) of a ridge fitted on standardised features."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_f)
    model = Ridge(alpha=alpha).fit(scaler.transform(train_f), train_y)
    return float(r2_score(test_y, model.predict(scaler.transform(test_f))))


def displacement(split: Any, k: int, dims: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(obs[t + k, dims] - obs[t, dims] [N, len(dims)], whether t + k is inside the episode [N]) per window.

    The change, not the position: a position k steps ahead is almost the current one, which any features that
    keep the state (a random network's too) read off linearly (R^2 0.97 at random init for k = 10, measured)."""
    fut, inside = split.future(k, tuple(dims))
    now, _ = split.future(0, tuple(dims))
    return (fut - now).numpy(), inside.numpy()


def probe_table(
    feats: dict[str, tuple[np.ndarray, np.ndarray]], splits: Any, ks: tuple[int, ...], alpha: float
) -> dict:
    """{target: {k: {row: R^2}}} for every feature row, target group (hand, object ...) and horizon k."""
    targets = splits.meta.get("probe_targets") or {"observation": [0, 1, 2]}
    table: dict[str, dict[str, dict[str, float]]] = {}
    for name, dims in targets.items():
        table[name] = {}
        for k in ks:
            (ytr, in_tr), (yte, in_te) = displacement(splits.train, k, dims), displacement(splits.test, k, dims)
            table[name][f"k{k}"] = {
                row: round(ridge_r2(ftr[in_tr], ytr[in_tr], fte[in_te], yte[in_te], alpha), 4)
                for row, (ftr, fte) in feats.items()
            }
    return table


def success_table(method: Any, policies: dict[str, Any], splits: Any, run_dir: Any) -> dict[str, dict[str, Any]]:
    """{task: {"rollouts", "act_jepa", "bc", "random_init", "expert", ...}} success rates in %, same resets."""
    from jepakit_actjepa import rollout, sim

    cfg, chunk = method.cfg, int(splits.meta["chunk"])
    size = int(splits.meta.get("image_size") or 0)
    out: dict[str, dict[str, Any]] = {}
    strips: list[tuple[str, list[np.ndarray], bool]] = []
    for j, task in enumerate(splits.meta["tasks"]):
        seeds = rollout.rollout_seeds(cfg.eval_seed, j, cfg.rollouts_per_task)
        envs = [sim.make_env(task, size) for _ in seeds]
        row: dict[str, Any] = {"rollouts": len(seeds)}
        try:
            for name, policy in policies.items():
                n = min(len(seeds), cfg.random_init_rollouts) if name == "random_init" else len(seeds)
                if n == 0:
                    continue
                ok, _ = rollout.act_in(
                    envs[:n], seeds[:n], policy, task, cfg.eval_max_steps, chunk, cfg.ensemble_m, size
                )
                row[name] = round(100.0 * float(ok.mean()), 2)
                if name == "random_init":
                    row["random_init_rollouts"] = n
            if cfg.expert_rollouts:
                ok, _ = rollout.act_in(envs, seeds, "expert", task, cfg.eval_max_steps, chunk, cfg.ensemble_m, size)
                row["expert"] = round(100.0 * float(ok.mean()), 2)
        finally:
            for e in envs:
                sim.close(e)
        out[task] = row
        log.info("actjepa: %s success %s", task, row)
        if cfg.strip_frames:
            strips += _strip_rows(method, policies, task, seeds[0], chunk)
    if strips:
        try:
            rollout.draw_strips(strips, run_dir.plots / "rollouts.png")
        except (ValueError, RuntimeError, OSError) as exc:  # a picture must never lose an evaluation
            log.warning("rollout strips not drawn: %s", exc)
    return out


def _strip_rows(method: Any, policies: dict[str, Any], task: str, seed: int, chunk: int) -> list:
    """One rendered rollout per trained policy (ACT-JEPA, BC) on the task's first evaluation reset."""
    from jepakit_actjepa import rollout, sim

    cfg = method.cfg
    every = max(1, 100 // max(cfg.strip_frames - 1, 1))
    at = tuple(range(0, every * (cfg.strip_frames - 1), every))
    rows = []
    for name in ("act_jepa", "bc"):
        if name not in policies:
            continue
        try:
            env = sim.make_env(task, 96)
        except Exception as exc:  # no OpenGL here: the evaluation goes on without pictures
            log.warning("rollout strips skipped: cannot render (%s)", exc)
            return []
        try:
            ok, frames = rollout.act_in(
                [env], [seed], policies[name], task, cfg.eval_max_steps, chunk, cfg.ensemble_m, 0, at
            )
            rows.append((f"{task} {name}", frames[0], bool(ok[0])))
        except Exception as exc:  # rendering can fail on machines without EGL/OSMesa
            log.warning("rollout strips skipped: rendering failed (%s)", exc)
            return []
        finally:
            sim.close(env)
    return rows


def _random_model(method: Any, resolved: ResolvedRun, built: Built) -> Any:
    """The very networks training started from: rebuilt under the run's seed, as core's `build` seeds them."""
    torch.manual_seed(resolved.run.seed)
    return method.build(resolved, built.splits).model


def evaluate_actjepa(method: Any, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
    """Success by acting (primary, where the dataset names a simulator) and the world-model probe."""

    cfg, model, splits = method.cfg, built.model, built.splits
    rand = _random_model(method, resolved, built)
    was = model.training
    model.eval()
    started = time.perf_counter()
    try:
        enc = model.encoder if resolved.eval.encoder == "context" else model.teacher
        feats = {"trained": enc, "random_init": rand.encoder}
        if model.bc_encoder is not None:
            feats["bc"] = model.bc_encoder
        pooled = {row: (pooled_features(e, splits.train), pooled_features(e, splits.test)) for row, e in feats.items()}
        od = model.obs_dim
        pooled_raw = {"raw_state": (splits.train.x[:, 0, :od].numpy(), splits.test.x[:, 0, :od].numpy())}
        probes = probe_table({**pooled, **pooled_raw}, splits, cfg.probe_k, cfg.probe_alpha)
        success: dict[str, dict[str, Any]] = {}
        if splits.meta.get("env") == "metaworld" and cfg.rollouts_per_task:
            policies = {"act_jepa": model.policy(), "random_init": rand.policy()}
            if model.bc_policy() is not None:
                policies["bc"] = model.bc_policy()
            success = success_table(method, policies, splits, run_dir)
    finally:
        model.train(was)
    seconds = round(time.perf_counter() - started, 1)
    scores: dict[str, Scores] = {}

    def mean(key: str) -> float | None:
        vals = [r[key] for r in success.values() if key in r]
        return round(float(np.mean(vals)), 2) if vals else None

    if success:
        scores["success"] = Scores("success", mean("act_jepa"), mean("random_init"), mean("bc"))
        for task, r in success.items():
            scores[f"{task} success"] = Scores("success", r.get("act_jepa"), r.get("random_init"), r.get("bc"))
    k = max(cfg.probe_k)
    for name, by_k in probes.items():
        r = by_k[f"k{k}"]
        scores[f"{name} k{k} r2"] = Scores("r2", r["trained"], r["random_init"], r.get("bc"))
    primary = "success" if success else next(iter(scores))
    tr = pooled["trained"][0][:MONITOR_SAMPLES]
    rn = pooled["random_init"][0][:MONITOR_SAMPLES]
    collapse = {**_rounded(collapse_stats(tr)), "random_init": _rounded(collapse_stats(rn))}
    n_roll = cfg.rollouts_per_task
    protocol = (
        f"success: {n_roll} seeded Meta-World rollouts per task (eval_seed {cfg.eval_seed}, at most "
        f"{cfg.eval_max_steps} steps, temporal ensembling m={cfg.ensemble_m}; random init on "
        f"{min(n_roll, cfg.random_init_rollouts)}); "
        if success
        else ""
    ) + (
        f"world model: ridge (alpha {cfg.probe_alpha}) from frozen mean-pooled tokens of o_t to the hand/object "
        f"displacement over the next k steps, R^2 on held-out episodes (k = {list(cfg.probe_k)}; columns show k={k}); "
        "third row: BC-only twin (same steps, batches and init, action loss only)"
    )
    return EvalResult(
        variant=resolved.variant,
        dataset=splits.name,
        primary=primary,
        scores=scores,
        collapse=collapse,
        baseline_label="BC only (ACT)" if model.bc_encoder is not None else "raw input",
        encoder=resolved.eval.encoder,
        readout="mean",
        protocol=protocol,
        n_train=len(splits.train),
        n_test=len(splits.test),
        details={
            "success": success,
            "world_model_probe": probes,
            "episodes": splits.meta.get("episodes", {}),
            "eval_seconds": seconds,
        },
    )


def _rounded(stats: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in stats.items()}
