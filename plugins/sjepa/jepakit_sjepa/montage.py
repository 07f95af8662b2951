"""Electrode geometry: channel sets, positions on a unit head sphere, and the 2-D scalp projection for pictures.

Positions come from MNE's standard montages (shipped with MNE, nothing downloads). MNE's coordinates are in
metres on a realistic head, so we fit one sphere to the whole 10-05 montage and express every electrode as a unit
vector from its centre: chord distances are then in head radii, which is what the masker's diameters mean.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np

from jepakit import JepakitError

MONTAGE_1020_19 = (
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "T7",
    "C3",
    "Cz",
    "C4",
    "T8",
    "P7",
    "P3",
    "Pz",
    "P4",
    "P8",
    "O1",
    "O2",
)
#: A different 20-electrode 10-10 set sharing no channel with the one above (a sensorimotor + parietal cap).
MONTAGE_1010_20 = (
    "AF3",
    "AF4",
    "FC5",
    "FC1",
    "FCz",
    "FC2",
    "FC6",
    "C5",
    "C1",
    "C2",
    "C6",
    "CP5",
    "CP1",
    "CPz",
    "CP2",
    "CP6",
    "PO3",
    "POz",
    "PO4",
    "Oz",
)
CHANNEL_SETS = {"1020-19": MONTAGE_1020_19, "1010-20": MONTAGE_1010_20}


@functools.lru_cache(maxsize=8)
def montage_positions(name: str) -> dict[str, np.ndarray]:
    """{channel name: xyz in metres} of an MNE standard montage (case kept as MNE spells it)."""
    import mne

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MNE 1.13 renames standard_1005 -> colin27_1005 with a FutureWarning
        try:
            montage = mne.channels.make_standard_montage(name)
        except ValueError as exc:
            raise JepakitError(
                f"unknown montage {name!r}: {exc}",
                "use an MNE standard montage name such as standard_1005 or standard_1020",
            ) from exc
    return {k: np.asarray(v, dtype=np.float64) for k, v in montage.get_positions()["ch_pos"].items()}


@functools.lru_cache(maxsize=8)
def _sphere_centre(name: str) -> np.ndarray:
    """Least-squares sphere through every electrode of the montage: |p|^2 = 2 c.p + k, linear in (c, k)."""
    pts = np.stack(list(montage_positions(name).values()))  # [K, 3]
    a = np.concatenate([2.0 * pts, np.ones((len(pts), 1))], axis=1)  # [K, 4]
    sol, *_ = np.linalg.lstsq(a, (pts**2).sum(axis=1), rcond=None)
    return sol[:3]


def electrode_positions(names: tuple[str, ...] | list[str], montage: str = "standard_1005") -> np.ndarray:
    """Unit vectors [C, 3] from the head centre to each electrode (x right, y nose, z up)."""
    table = montage_positions(montage)
    lower = {k.lower(): v for k, v in table.items()}
    missing = [n for n in names if n.lower() not in lower]
    if missing:
        raise JepakitError(
            f"montage {montage!r} has no position for channel(s) {missing[:8]}",
            "rename the channels to 10-05 names (e.g. C3, Pz) or pick another montage",
        )
    pos = np.stack([lower[n.lower()] for n in names]) - _sphere_centre(montage)  # [C, 3]
    return pos / np.linalg.norm(pos, axis=1, keepdims=True)


def channel_set(name: str) -> tuple[tuple[str, ...], np.ndarray]:
    """(channel names, unit positions [C, 3]) of one of the built-in channel sets."""
    if name not in CHANNEL_SETS:
        raise JepakitError(f"unknown channel set {name!r}", f"choose one of: {', '.join(CHANNEL_SETS)}")
    names = CHANNEL_SETS[name]
    return names, electrode_positions(names)


def positions_from_meta(meta: dict[str, Any] | None, n_channels: int, part: str) -> np.ndarray:
    """The dataset's electrode positions [C, 3] (unit vectors) from `DataSplits.meta["ch_pos"]`."""
    pos = None if not meta else meta.get("ch_pos")
    if pos is None:
        raise JepakitError(
            f"{part}: the dataset gives no electrode positions (meta['ch_pos'])",
            "use an EEG dataset such as sjepa/sim-eeg or sjepa/eeg-files",
        )
    arr = np.asarray(pos, dtype=np.float64)
    if arr.shape != (n_channels, 3):
        raise JepakitError(
            f"{part}: meta['ch_pos'] has shape {list(arr.shape)}, expected [{n_channels}, 3]",
            "the dataset must give one xyz position per channel",
        )
    norm = np.linalg.norm(arr, axis=1, keepdims=True)
    if not np.isfinite(arr).all() or (norm < 1e-9).any():
        raise JepakitError(f"{part}: meta['ch_pos'] holds NaN or zero-length positions", "check the montage")
    return arr / norm


def chord_distances(pos: np.ndarray) -> np.ndarray:
    """[C, C] straight-line distances between unit-sphere positions, in head radii (0 .. 2)."""
    diff = pos[:, None, :] - pos[None, :, :]
    return np.sqrt((diff**2).sum(axis=-1))


def scalp_2d(pos: np.ndarray) -> np.ndarray:
    """Azimuthal equidistant projection [C, 2] seen from above (nose up): the vertex at 0, the equator at 1."""
    theta = np.arccos(np.clip(pos[:, 2], -1.0, 1.0))  # polar angle from the vertex
    phi = np.arctan2(pos[:, 1], pos[:, 0])
    r = theta / (np.pi / 2)
    return np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
