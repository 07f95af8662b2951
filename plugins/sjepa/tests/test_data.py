"""Simulated EEG: deterministic, both caps, planted effects where physiology puts them; band-power baseline."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from jepakit_sjepa.config import SimEEGConfig
from jepakit_sjepa.data import band_power, sim_eeg, simulate
from jepakit_sjepa.montage import CHANNEL_SETS

SMALL = SimEEGConfig(n_train=200, n_test=40)


def test_deterministic_and_shaped():
    a, b = sim_eeg(SMALL), sim_eeg(SMALL)
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.test.y, b.test.y)
    assert a.input_shape == (19, 256) and a.num_classes == 4 and a.modality == "eeg"
    assert len(a.meta["ch_pos"]) == 19 and a.meta["ch_names"][8] == "C3"
    c = sim_eeg(dataclasses.replace(SMALL, seed=1))
    assert not torch.equal(a.train.x, c.train.x)
    other = sim_eeg(dataclasses.replace(SMALL, montage="1010-20"))
    assert other.input_shape == (20, 256)
    assert not set(other.meta["ch_names"]) & set(a.meta["ch_names"])  # the two caps share no electrode


def test_mu_desynchronises_over_the_contralateral_hemisphere():
    cfg = dataclasses.replace(SMALL, task="mi", n_train=400)
    x, y = simulate(cfg, 400, 0)
    names = list(CHANNEL_SETS["1020-19"])
    alpha = band_power(x, 64.0).view(400, 19, -1)[:, :, 2]  # log 8-13 Hz power [n, C]
    lat = alpha[:, names.index("C3")] - alpha[:, names.index("C4")]  # high when C4 lost mu (left hand)
    assert float(lat[torch.as_tensor(y) == 0].mean()) > float(lat[torch.as_tensor(y) == 1].mean()) + 0.2


def test_p300_is_over_pz_on_targets():
    cfg = dataclasses.replace(SMALL, task="erp", n_train=400)
    x, y = simulate(cfg, 400, 0)
    names = list(CHANNEL_SETS["1020-19"])
    win = slice(int(1.25 * 64), int(1.45 * 64))
    pz = x[:, names.index("Pz"), win].mean(1)
    fp = x[:, names.index("Fp1"), win].mean(1)
    t = torch.as_tensor(y) == 1
    assert float(pz[t].mean() - pz[~t].mean()) > 0.3  # target minus non-target at Pz
    assert float(pz[t].mean() - pz[~t].mean()) > 2 * abs(float(fp[t].mean() - fp[~t].mean()))


def test_band_power_is_the_raw_baseline():
    s = sim_eeg(SMALL)
    feats = s.raw_features(s.train.x[:3])
    assert feats.shape == (3, 19 * 5) and torch.isfinite(feats).all()
    sine = torch.sin(2 * torch.pi * 10 * torch.arange(256) / 64.0)[None, None]
    bp = band_power(sine, 64.0)[0]
    assert int(bp.argmax()) == 2  # a 10 Hz sine lands in the alpha band
    assert np.isclose(float(band_power(2 * sine, 64.0)[0, 2] - bp[2]), np.log(4.0), atol=1e-4)


def test_four_class_recordings_carry_each_paradigm_as_an_extra_label():
    s = sim_eeg(SMALL)
    extra = s.extra_labels
    assert set(extra) == {"motor imagery", "oddball"}
    (mi_tr, mi_te), (odd_tr, odd_te) = extra["motor imagery"], extra["oddball"]
    assert np.array_equal(2 * mi_tr + odd_tr, s.train.y.numpy())  # "both" = 2 * side + target
    assert np.array_equal(2 * mi_te + odd_te, s.test.y.numpy())
    assert set(np.unique(mi_tr)) == set(np.unique(odd_te)) == {0, 1}
    assert sim_eeg(dataclasses.replace(SMALL, task="mi")).extra_labels == {}  # one paradigm: nothing extra
