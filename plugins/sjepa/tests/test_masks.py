"""The spatial block masker: exactly the electrodes within the diameter are hidden, over every time step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_sjepa.config import SpatialMaskConfig
from jepakit_sjepa.masks import SpatialBlockMasker
from jepakit_sjepa.montage import CHANNEL_SETS, chord_distances

from jepakit.errors import JepakitError
from jepakit.testing.contracts import worker_copy


def _masker(meta, diameters=(0.4, 0.6, 0.8), T=4, **kw):
    return SpatialBlockMasker(SpatialMaskConfig(diameters=diameters, **kw), (len(meta["ch_pos"]), T), meta)


def test_one_recording_hides_exactly_the_electrodes_within_the_diameter(meta19):
    T = 4
    pos = np.asarray(meta19["ch_pos"])
    dist = chord_distances(pos)
    for d in (0.4, 0.6, 0.8):
        m = _masker(meta19, (d,), T)
        for seed in range(20):
            ms = m(1, torch.Generator().manual_seed(seed))
            tgt = ms.targets[0, 0].tolist()
            chans = sorted({i // T for i in tgt})
            # every hidden channel is hidden at all T time steps
            assert sorted(tgt) == [c * T + t for c in chans for t in range(T)]
            # the hidden set is a ball: some centre has exactly these channels within d
            balls = [sorted(np.flatnonzero(dist[c] <= d).tolist()) for c in range(len(pos))]
            assert chans in balls
            assert sorted(set(range(len(pos) * T)) - set(tgt)) == sorted(ms.context[0].tolist())


def test_region_matches_chord_distance_and_c3_neighbourhood(meta19):
    names = list(CHANNEL_SETS["1020-19"])
    m = _masker(meta19, (0.4,))
    hidden = [names[i] for i in torch.nonzero(m.region(names.index("C3"), 0.4)).flatten().tolist()]
    assert "C3" in hidden and "C4" not in hidden and "O2" not in hidden
    assert set(hidden) <= {"C3", "F3", "P3", "T7", "Cz", "F7", "P7", "Fz", "Pz"}
    big = m.region(names.index("Cz"), 1.5)
    assert int(big.sum()) > int(m.region(names.index("Cz"), 0.4).sum())


def test_batches_have_equal_lengths_and_stay_inside_the_regions(meta19):
    T = 3
    m = _masker(meta19, T=T)
    dist = torch.as_tensor(chord_distances(np.asarray(meta19["ch_pos"])))
    for seed in range(10):
        ms = m(16, torch.Generator().manual_seed(seed))
        assert ms.context.shape[0] == 16 and ms.targets.shape[:2] == (16, 1)
        assert ms.context.shape[1] % T == 0 and ms.targets.shape[2] % T == 0
        for row in range(16):
            tch = sorted({i // T for i in ms.targets[row, 0].tolist()})
            cch = {i // T for i in ms.context[row].tolist()}
            assert not set(tch) & cch
            # the target channels lie within one of the diameters of each other's centre region
            assert float(dist[tch][:, tch].max()) <= 2 * 0.8 + 1e-9


def test_impossible_diameter_is_a_clear_error(meta19):
    with pytest.raises(JepakitError, match="diameter"):
        _masker(meta19, (2.0,))


def test_pickles_and_is_deterministic(meta19):
    m = _masker(meta19)
    a = m(8, torch.Generator().manual_seed(3))
    b = worker_copy(m)(8, torch.Generator().manual_seed(3))
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)


def test_draw_writes_a_scalp_map(meta19, tmp_path):
    m = _masker(meta19)
    paths = m.draw(torch.randn(4, 19, 256), tmp_path / "masks")
    assert paths == [tmp_path / "masks.png"] and paths[0].stat().st_size > 5000
