"""Config dataclasses of ACT-JEPA's parts. Torch-free: they are the TOML schemas of `[encoder]`, `[data]` and
`[method]`, and `jepakit list` reads them without importing torch (or Meta-World)."""

from __future__ import annotations

from dataclasses import dataclass

#: The tiny preset's Meta-World tasks: five whose scripted experts succeed on every seeded reset (measured in
#: docs/variants/actjepa.md) and that need different skills (reach, push an object, pull, press, slide).
TINY_TASKS = ("reach-v3", "push-v3", "drawer-open-v3", "button-press-topdown-v3", "window-open-v3")


def _positive(**values: int) -> None:
    bad = {k: v for k, v in values.items() if v < 1}
    if bad:
        raise ValueError(f"must be positive integers: {bad}")


@dataclass
class ObsEncoderConfig:
    """The context encoder E_theta of one observation: state tokens (+ image patch tokens) -> a transformer.

    The state vector is cut into tokens by the dataset's `state_groups` (Meta-World: hand+gripper, object 1,
    object 2, their previous frame, goal = 7 tokens), each group projected to `embed_dim`, plus a learned
    embedding per token. Images (when the dataset renders them) go through a small conv stem whose output cells
    become further tokens: the paper uses a pretrained ResNet-18, which cannot be downloaded here.
    """

    embed_dim: int = 256
    depth: int = 4
    num_heads: int = 8
    mlp_ratio: float = 4.0
    image_stem: tuple[int, ...] = (32, 64, 128)  # conv widths, each stride 2 (pixels only)

    def __post_init__(self) -> None:
        _positive(embed_dim=self.embed_dim, depth=self.depth, num_heads=self.num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        self.image_stem = tuple(int(c) for c in self.image_stem)
        if not self.image_stem or min(self.image_stem) < 1:
            raise ValueError("image_stem must be a non-empty list of positive widths")


@dataclass
class MetaWorldDemosConfig:
    """Demonstrations generated offline by Meta-World's scripted experts (`metaworld.policies`), cached.

    Each task is reset with a seeded random vector (object and goal positions change at every reset); an episode
    runs the expert until success plus `tail` steps (so late windows still have a full chunk), at most
    `max_steps`. `nonexpert_per_task` more episodes use the expert's action plus Gaussian noise (`nonexpert =
    "noisy"`) or uniform random actions (`"random"`); they carry no action labels, so only the JEPA term reads
    them. `test_per_task` held-out expert episodes are the probe's test split. Every sample is a window of
    `chunk + 1` rows: the current observation and the next `chunk` (see `jepakit_actjepa.data`).
    """

    tasks: tuple[str, ...] = TINY_TASKS
    demos_per_task: int = 25
    nonexpert_per_task: int = 0
    nonexpert: str = "noisy"  # "noisy" (expert + noise_std Gaussian) or "random"
    noise_std: float = 0.5
    labelled_share: float = 0.0  # > 0: this share of every batch is expert windows (0 = in proportion to counts)
    test_per_task: int = 8
    chunk: int = 8  # actions and future observations predicted per step
    max_steps: int = 200
    tail: int = 10
    pixels: bool = False  # render a camera image per step (slow: ~5 frames/s at 64 px under EGL)
    image_size: int = 64
    seed: int = 0  # demonstration resets; independent of the run's seed

    def __post_init__(self) -> None:
        self.tasks = tuple(str(t) for t in self.tasks)
        if not self.tasks:
            raise ValueError("tasks must name at least one Meta-World task")
        _positive(demos_per_task=self.demos_per_task, test_per_task=self.test_per_task, chunk=self.chunk)
        _positive(max_steps=self.max_steps, image_size=self.image_size)
        if self.nonexpert_per_task < 0 or self.tail < 0 or self.noise_std < 0:
            raise ValueError("nonexpert_per_task, tail and noise_std must be non-negative")
        if not 0.0 <= self.labelled_share <= 1.0:
            raise ValueError(f"labelled_share must lie in [0, 1], got {self.labelled_share}")
        if self.nonexpert not in ("noisy", "random"):
            raise ValueError(f'nonexpert must be "noisy" or "random", got {self.nonexpert!r}')

    def check(self, **context: object) -> dict[str, object]:
        """Without building anything (`jepakit validate`): every task name exists, with a did-you-mean."""
        from jepakit_actjepa.sim import check_tasks

        check_tasks(self.tasks, key="data.tasks")
        return {}


@dataclass
class TrajectoriesConfig:
    """The user's own trajectories: `.npz` files (one episode each) or HDF5 files (one group per episode), each
    with `observations` [L, obs_dim] and `actions` [L, act_dim] (an episode without `actions`, or with
    `expert = 0`, is non-expert: its observations feed only the JEPA term). Bad episodes are skipped and counted.
    `probe_dims` are the observation entries the world-model probe predicts `k` steps ahead."""

    path: str = ""
    chunk: int = 8
    test_fraction: float = 0.2
    probe_dims: tuple[int, ...] = (0, 1, 2)
    seed: int = 0  # the episode split

    def __post_init__(self) -> None:
        _positive(chunk=self.chunk)
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        self.probe_dims = tuple(int(d) for d in self.probe_dims)
        if not self.probe_dims or min(self.probe_dims) < 0:
            raise ValueError("probe_dims must be non-negative observation indices")


@dataclass
class ActJEPAConfig:
    """ACT-JEPA's objective and evaluation (arXiv 2501.14622; docs/variants/actjepa.md).

    Policy: the context encoder's tokens of o_t feed an action decoder (ACT: `chunk` learned queries
    cross-attending the tokens) -> a_t..a_{t+H-1}, and a predictor of the same shape -> the latent chunk
    z_{t+1}..z_{t+H}, regressed onto the EMA target encoder's (layer-normed, mean-pooled) embeddings of
    o_{t+1}..o_{t+H}. Loss = action_weight * L1(actions) + jepa_weight * energy (L1 or L2) on the latents.
    With `bc_baseline`, a second encoder + decoder (same init) is trained in the same steps on the same batches
    with the action loss only: the behaviour-cloning (ACT) row of every table.
    """

    decoder_dim: int = 256
    decoder_depth: int = 7  # ACT's decoder layers
    predictor_dim: int = 256
    predictor_depth: int = 4
    num_heads: int = 8
    action_weight: float = 1.0
    jepa_weight: float = 1.0
    energy: str = "l1"  # "l1" or "l2" to the stop-gradient targets
    ema: tuple[float, float] = (0.996, 1.0)  # momentum ramp, linear over the run
    vc_weight: float = 0.0  # optional VICReg variance+covariance on pooled context features (0 = paper)
    bc_baseline: bool = True
    # evaluation by acting
    rollouts_per_task: int = 20
    eval_max_steps: int = 500  # Meta-World's max_path_length; success = at any step
    eval_seed: int = 10_000  # rollout resets; disjoint from the demonstrations' seeds
    ensemble_m: float = 0.01  # ACT's temporal ensembling weight exp(-m * i), i = 0 the oldest prediction
    random_init_rollouts: int = 5  # per task, for the random-init row (it never succeeds and runs to the end)
    expert_rollouts: bool = True  # the scripted expert on the same resets (the ceiling)
    # world-model probe
    probe_k: tuple[int, ...] = (1, 5, 10)  # steps ahead
    probe_alpha: float = 1.0  # ridge
    strip_frames: int = 6  # rendered rollout frames per task in plots/ (0 = none)

    def __post_init__(self) -> None:
        _positive(decoder_dim=self.decoder_dim, decoder_depth=self.decoder_depth, num_heads=self.num_heads)
        _positive(predictor_dim=self.predictor_dim, predictor_depth=self.predictor_depth)
        _positive(eval_max_steps=self.eval_max_steps)
        for dim in (self.decoder_dim, self.predictor_dim):
            if dim % self.num_heads:
                raise ValueError(f"decoder_dim and predictor_dim must be divisible by num_heads {self.num_heads}")
        if self.energy not in ("l1", "l2"):
            raise ValueError(f'energy must be "l1" or "l2", got {self.energy!r}')
        m0, m1 = (float(v) for v in self.ema)
        if not 0.0 <= m0 <= m1 <= 1.0:
            raise ValueError(f"ema must be (start, end) with 0 <= start <= end <= 1, got {list(self.ema)}")
        self.ema = (m0, m1)
        if min(self.action_weight, self.jepa_weight, self.vc_weight, self.ensemble_m, self.probe_alpha) < 0:
            raise ValueError("weights, ensemble_m and probe_alpha must be non-negative")
        if self.rollouts_per_task < 0 or self.random_init_rollouts < 0 or self.strip_frames < 0:
            raise ValueError("rollouts_per_task, random_init_rollouts and strip_frames must be non-negative")
        self.probe_k = tuple(int(k) for k in self.probe_k)
        if not self.probe_k or min(self.probe_k) < 1:
            raise ValueError("probe_k must list positive step counts")
