"""The evaluation protocol: CV accuracy of separable vs shuffled features, the D2 baseline, max + mean readout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from jepakit_pointjepa.config import PointEncoderConfig, PointEvalConfig
from jepakit_pointjepa.data import d2_features
from jepakit_pointjepa.evaluation import cross_validate, max_mean_features
from jepakit_pointjepa.models import PointEncoder

from jepakit import JepakitError


def test_cross_validation_scores_separable_features_high_and_shuffled_labels_near_chance():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    feats = rng.normal(size=(120, 8)) + 4.0 * np.eye(4, 8)[y]
    good = cross_validate(feats, y, PointEvalConfig(repeats=1))
    bad = cross_validate(feats, rng.permutation(y), PointEvalConfig(repeats=1))
    assert good["svm"][0] > 95 and good["knn"][0] > 95
    assert bad["svm"][0] < 45 and bad["knn"][0] < 45


def test_a_class_with_one_cloud_cannot_be_cross_validated():
    with pytest.raises(JepakitError, match="single labelled cloud"):
        cross_validate(np.zeros((5, 2)), np.array([0, 0, 0, 0, 1]), PointEvalConfig())


def test_d2_is_a_distribution_over_pair_distances_plus_extents():
    x = torch.rand(3, 100, 3) - 0.5
    f = d2_features(x, bins=16)
    assert f.shape == (3, 19)
    torch.testing.assert_close(f[:, :16].sum(dim=1), torch.ones(3))
    torch.testing.assert_close(f[:, 16:], x.amax(1) - x.amin(1))


def test_max_mean_readout_concatenates_both_poolings_and_keeps_train_mode():
    torch.manual_seed(0)
    cfg = PointEncoderConfig(num_groups=8, group_size=8, pointnet_dims=[8, 8, 8], embed_dim=16, depth=1, num_heads=2)
    enc = PointEncoder(cfg, (64, 3))
    x = torch.rand(5, 64, 3)
    f = max_mean_features(enc, x, batch=2)
    z = enc.eval()(x)
    enc.train()
    assert f.shape == (5, 32) and enc.training
    np.testing.assert_allclose(f, torch.cat([z.amax(1), z.mean(1)], 1).detach().numpy(), rtol=1e-5, atol=1e-6)
