"""Meta-World, the simulator ACT-JEPA acts in: task names, seeded resets, scripted experts, rendering.

Checked against metaworld 3.1.1: `ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE["<task>-goal-observable"]` builds a task
whose reset vector (object and goal positions) is frozen after construction; unfreezing it and setting
`seeded_rand_vec` makes every reset draw a new vector from `env.np_random`, so `env.seed(s)` before `reset()`
makes episode s reproducible. Observations are 39-d (hand xyz, gripper, object 1 xyz+quat, object 2 xyz+quat,
the same 18 values of the previous frame, goal xyz), actions 4-d in [-1, 1]. Rendering needs an OpenGL backend:
MUJOCO_GL defaults to "egl" here (headless), set before mujoco is imported.
"""

from __future__ import annotations

import difflib
import os
import warnings
from typing import Any

import numpy as np

from jepakit import JepakitError

#: Meta-World's state layout, as tokens for the encoder (sizes summing to 39) and the probe's targets.
STATE_GROUPS = (4, 7, 7, 4, 7, 7, 3)  # hand+gripper, object 1, object 2, previous frame of those, goal
HAND, OBJECT = (0, 1, 2), (4, 5, 6)
PACKAGE_HINT = "pip install metaworld (it brings mujoco and gymnasium; `make install` installs it)"


def _metaworld() -> Any:
    os.environ.setdefault("MUJOCO_GL", "egl")
    # the scripted experts warn on every call that their gains exceed [-1, 1]; the env clips, as intended
    warnings.filterwarnings("ignore", message=r"Constant\(s\) may be too high", category=UserWarning)
    try:
        import metaworld
        import metaworld.policies
    except ImportError as exc:
        raise JepakitError(f"the Meta-World simulator is not installed ({exc})", PACKAGE_HINT) from exc
    return metaworld


def task_names() -> list[str]:
    """Every Meta-World task that has a scripted expert ("reach-v3", ...)."""
    mw = _metaworld()
    envs = {k.removesuffix("-goal-observable") for k in mw.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE}
    return sorted(envs & set(mw.policies.ENV_POLICY_MAP))


def check_tasks(tasks: tuple[str, ...] | list[str], key: str = "data.tasks") -> None:
    """Refuse an unknown task name with the closest real ones."""
    known = task_names()
    for name in tasks:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            mean = f"did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise JepakitError(
                f"{key}: unknown Meta-World task {name!r}" + (f"; {mean}" if mean else ""),
                f"tasks with a scripted expert: {', '.join(known)}",
            )


def make_env(task: str, image_size: int = 0) -> Any:
    """A task whose every reset draws new object/goal positions from the env's seeded generator; `image_size`
    > 0 adds an offscreen renderer of that size (rgb_array)."""
    if image_size:
        # measured: importing triton (torch._dynamo loads it; AdamW's constructor imports torch._dynamo) after an
        # EGL context exists segfaults in this environment, so load it before the first render
        import torch._dynamo  # noqa: F401
    mw = _metaworld()
    cls = mw.ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-goal-observable"]
    env = cls(render_mode="rgb_array") if image_size else cls()
    if image_size:
        env.mujoco_renderer.width = env.mujoco_renderer.height = int(image_size)
    env._freeze_rand_vec = False
    env.seeded_rand_vec = True
    return env


def expert(task: str) -> Any:
    """The task's scripted expert policy (`get_action(obs) -> [4]`)."""
    return _metaworld().policies.ENV_POLICY_MAP[task]()


def reset(env: Any, seed: int) -> np.ndarray:
    """Reset to episode `seed`'s object and goal positions: the same seed gives the same start."""
    env.seed(int(seed))
    obs, _ = env.reset()
    return np.asarray(obs, dtype=np.float32)


def render(env: Any) -> np.ndarray:
    """The current frame [3, S, S] uint8 (the camera looks at the table from the default view)."""
    img = np.asarray(env.render())  # [S, S, 3]
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def close(env: Any) -> None:
    """Free the renderer before the interpreter exits (EGL contexts otherwise complain at shutdown)."""
    try:
        env.close()
    except Exception:  # closing is best effort
        pass
