"""`actjepa/trajectories`: the user's own episodes, `.npz` (one episode per file) or HDF5 (one group per episode).

Each episode holds `observations` [L, obs_dim] and `actions` [L, act_dim] (or [L - 1, act_dim]: the last
observation then has no action). No `actions`, or `expert = 0`, makes it non-expert (JEPA term only). An
optional integer `task` labels it. A bad episode (unreadable, missing observations, lengths that do not match,
other sizes than the first good episode's, non-finite values, fewer than 2 steps) is skipped, counted in a
warning and listed in `meta["skipped"]`; a folder with no good episode is an error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from jepakit import JepakitError
from jepakit_actjepa.config import TrajectoriesConfig
from jepakit_actjepa.data import Episode, make_splits

log = logging.getLogger("jepakit")
SUFFIXES = (".npz", ".h5", ".hdf5")


def _episode(rec: Any, name: str, dims: tuple[int, int] | None) -> Episode:
    """One episode from a mapping of arrays; ValueError says why it is bad."""
    if "observations" not in rec:
        raise ValueError("no 'observations' array")
    obs = np.asarray(rec["observations"], dtype=np.float32)
    if obs.ndim != 2 or len(obs) < 2:
        raise ValueError(f"observations must be [L >= 2, obs_dim], got shape {list(obs.shape)}")
    expert = "actions" in rec and bool(np.asarray(rec["expert"]).item() if "expert" in rec else True)
    act_dim = dims[1] if dims else None
    if "actions" in rec:
        act = np.asarray(rec["actions"], dtype=np.float32)
        if act.ndim != 2 or len(act) not in (len(obs), len(obs) - 1):
            raise ValueError(f"{len(obs)} observations but actions of shape {list(act.shape)} (mismatched lengths)")
        act_dim = act.shape[1]
        if len(act) == len(obs) - 1:
            act = np.concatenate([act, np.zeros((1, act_dim), np.float32)])
    elif act_dim is None:
        raise ValueError("no 'actions' array, and no earlier episode says how many action dimensions there are")
    else:
        act = np.zeros((len(obs), act_dim), np.float32)
    if dims and (obs.shape[1], act_dim) != dims:
        raise ValueError(f"obs/action sizes {obs.shape[1]}/{act_dim}, other episodes have {dims[0]}/{dims[1]}")
    if not (np.isfinite(obs).all() and np.isfinite(act).all()):
        raise ValueError("non-finite values")
    ok = np.full(len(obs), expert)
    ok[-1] = False
    task = int(np.asarray(rec["task"]).item()) if "task" in rec else 0
    return Episode(obs, act, ok, task)


def _records(path: Path) -> list[tuple[str, Any]]:
    """(name, mapping of arrays) for every episode in one file."""
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            return [(path.name, {k: f[k] for k in f.files})]
    try:
        import h5py
    except ImportError as exc:
        raise JepakitError(
            f"data.path: {path.name} is HDF5 but h5py is not installed",
            "pip install 'jepakit-actjepa[hdf5]' (or h5py), or save the episodes as .npz files",
        ) from exc
    with h5py.File(path, "r") as f:
        root = f["data"] if "data" in f and isinstance(f["data"], h5py.Group) else f
        if "observations" in root:
            return [(path.name, {k: root[k][()] for k in root})]
        return [
            (f"{path.name}:{k}", {kk: root[k][kk][()] for kk in root[k]})
            for k in sorted(root)
            if isinstance(root[k], h5py.Group)
        ]


def read_episodes(root: Path) -> tuple[list[Episode], list[str]]:
    """Every good episode under root (a file or a folder, recursively), and why each bad one was skipped."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES)
    episodes: list[Episode] = []
    skipped: list[str] = []
    dims: tuple[int, int] | None = None
    for path in files:
        try:
            records = _records(path)
        except JepakitError:
            raise
        except Exception as exc:  # any unreadable file is skipped and counted
            skipped.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")
            continue
        for name, rec in records:
            try:
                ep = _episode(rec, name, dims)
            except ValueError as exc:
                skipped.append(f"{name}: {exc}")
                continue
            dims = dims or (ep.obs.shape[1], ep.act.shape[1])
            episodes.append(ep)
    return episodes, skipped


def trajectories(cfg: TrajectoriesConfig, seed: int = 0) -> Any:
    """The user's episodes split by episode (`test_fraction`, seeded by `cfg.seed`), as windows of chunk + 1."""
    if not cfg.path:
        raise JepakitError("data.path is empty", "set data.path to a folder of .npz/.h5 episodes (or one file)")
    root = Path(cfg.path).expanduser()
    if not root.exists():
        raise JepakitError(f"data.path: {root} does not exist", "set data.path to a folder of .npz/.h5 episodes")
    episodes, skipped = read_episodes(root)
    if skipped:
        log.warning("actjepa/trajectories: skipped %d bad episode(s): %s", len(skipped), "; ".join(skipped[:5]))
    experts = [e for e in episodes if e.expert]
    if len(experts) < 2:
        raise JepakitError(
            f"data.path: {root} holds {len(experts)} usable expert episode(s) ({len(skipped)} skipped)",
            "each episode needs `observations` [L, obs_dim] and `actions` [L or L-1, act_dim]; "
            "the policy needs at least 2 expert episodes (one to test on)",
        )
    od = episodes[0].obs.shape[1]
    if max(cfg.probe_dims) >= od:
        raise JepakitError(
            f"data.probe_dims: {list(cfg.probe_dims)} outside the {od}-d observation", f"pick indices below {od}"
        )
    order = np.random.default_rng(cfg.seed).permutation(len(experts))
    n_test = max(1, int(round(cfg.test_fraction * len(experts))))
    test = [experts[i] for i in sorted(order[:n_test])]
    train = [experts[i] for i in sorted(order[n_test:])] + [e for e in episodes if not e.expert]
    n_tasks = max(e.task for e in episodes) + 1
    meta = {
        "env": "",
        "state_groups": [od],
        "probe_targets": {"observation": list(cfg.probe_dims)},
        "pixels": False,
        "skipped": skipped,
    }
    return make_splits(f"trajectories-{root.name}", train, test, cfg.chunk, meta, [str(i) for i in range(n_tasks)])
