"""Acting in Meta-World: seeded rollouts of a chunking policy with ACT's temporal ensembling, and rollout strips.

Every policy of a comparison acts on the same resets (`rollout_seeds`): same tasks, same object and goal
positions, so success rates differ only by the policy. A rollout succeeds when Meta-World's `info["success"]`
is set at any step within `max_steps` (Meta-World's protocol; its own horizon is 500 steps).
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import numpy as np
import torch

from jepakit_actjepa import sim
from jepakit_actjepa.data import episode_seed
from jepakit_actjepa.masks import ensemble_weights

log = logging.getLogger("jepakit")
ROLLOUT_SPLIT = 7  # the seed stream of rollouts; demonstrations use 0-2


def rollout_seeds(eval_seed: int, task_index: int, n: int) -> list[int]:
    return [episode_seed(eval_seed, task_index, ROLLOUT_SPLIT, i) for i in range(n)]


class Ensembler:
    """ACT's temporal ensembling for a batch of envs: every step queries a chunk of H actions; the action
    executed at t averages every chunk that covers t (at most H), weighted exp(-m * i), oldest first."""

    def __init__(self, chunk: int, m: float) -> None:
        self.chunk, self.m = chunk, m
        self.chunks: deque[tuple[int, torch.Tensor]] = deque(maxlen=chunk)

    def __call__(self, t: int, chunk: torch.Tensor) -> torch.Tensor:
        """chunk [n, H, A] predicted at step t -> the actions [n, A] to execute at t."""
        self.chunks.append((t, chunk))
        preds = torch.stack([c[:, t - t0] for t0, c in self.chunks if t - t0 < self.chunk], dim=0)  # [k, n, A]
        w = ensemble_weights(len(preds), self.m)  # oldest first
        return (w[:, None, None] * preds).sum(0)


def act_in(
    envs: list[Any],
    seeds: list[int],
    policy: Any,
    task: str,
    max_steps: int,
    chunk: int,
    m: float,
    image_size: int = 0,
    frames_at: tuple[int, ...] = (),
) -> tuple[np.ndarray, list[list[np.ndarray]]]:
    """Run `policy` (a `Policy`, or "expert" for the task's scripted expert) in every env of `task` from its seed.

    Returns (success [n] bool, per env the frames rendered at the steps in `frames_at` and at its last step)."""
    n = len(envs)
    obs = np.stack([sim.reset(e, s) for e, s in zip(envs, seeds, strict=True)])  # [n, 39]
    done, success = np.zeros(n, bool), np.zeros(n, bool)
    frames: list[list[np.ndarray]] = [[] for _ in envs]
    experts = [sim.expert(task) for _ in envs] if isinstance(policy, str) else None
    ens = Ensembler(chunk, m)
    for t in range(max_steps):
        if frames_at and t in frames_at:
            for i in np.flatnonzero(~done):
                frames[i].append(sim.render(envs[i]))
        if experts is not None:
            actions = np.stack([p.get_action(o) for p, o in zip(experts, obs, strict=True)])
        else:
            state = torch.from_numpy(obs).float()
            image = None
            if image_size:
                image = torch.from_numpy(np.stack([sim.render(e) for e in envs])).float() / 255.0
            actions = ens(t, policy.act(state, image).float()).numpy()
        for i in np.flatnonzero(~done):
            o, _, _, _, info = envs[i].step(np.clip(actions[i], -1.0, 1.0).astype(np.float32))
            obs[i] = o
            if info.get("success"):
                success[i] = done[i] = True
                if frames_at:
                    frames[i].append(sim.render(envs[i]))
        if done.all():
            break
    if frames_at:
        for i in np.flatnonzero(~done):
            frames[i].append(sim.render(envs[i]))
    return success, frames


def draw_strips(rows: list[tuple[str, list[np.ndarray], bool]], path: Any) -> None:
    """plots/rollouts.png: one row per (task, policy) with its frames left to right; the title says success."""
    from jepakit.api import new_figure, save_png

    cols = max(len(f) for _, f, _ in rows)
    fig = new_figure(1.4 * cols, 1.5 * len(rows))
    for r, (title, frames, ok) in enumerate(rows):
        for c, img in enumerate(frames):
            ax = fig.add_subplot(len(rows), cols, r * cols + c + 1)
            ax.imshow(img.transpose(1, 2, 0))
            ax.set_axis_off()
            if c == 0:
                ax.set_title(f"{title}: {'success' if ok else 'failure'}", fontsize=7, loc="left")
    save_png(fig, path)
