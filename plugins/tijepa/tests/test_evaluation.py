"""Retrieval recall on hand-made energy matrices, and the energy AUC."""

from __future__ import annotations

import numpy as np
from pytest import approx

from jepakit_tijepa.evaluation import auc, recall_at


def test_recall_on_a_hand_made_energy_matrix():
    # rows: captions, columns: images; the diagonal holds the true pairs, lower energy = more compatible
    e = np.array([[0.1, 0.5, 0.9],   # caption 0 ranks its image first
                  [0.2, 0.3, 0.1],   # caption 1: its image is third
                  [0.8, 0.4, 0.6]])  # caption 2: its image is second
    t2i, i2t = recall_at(e, 1)
    assert t2i == approx(100 / 3)  # only caption 0 finds its image first
    # images: image 0's caption is the lowest of column 0 (0.1), image 1's (0.3) ranks 1st of 0.5/0.3/0.4,
    # image 2's (0.6) ranks 2nd of 0.9/0.1/0.6
    assert i2t == approx(200 / 3)
    assert recall_at(e, 3) == (100.0, 100.0)
    assert recall_at(e, 2) == approx((200 / 3, 100.0))


def test_ties_count_against_the_true_partner():
    assert recall_at(np.zeros((4, 4)), 1) == (0.0, 0.0)  # a constant (collapsed) energy retrieves nothing
    assert recall_at(np.zeros((4, 4)), 4) == (100.0, 100.0)


def test_energy_auc():
    assert auc(np.array([0.1, 0.2]), np.array([0.3, 0.4])) == 100.0
    assert auc(np.array([0.3, 0.4]), np.array([0.1, 0.2])) == 0.0
    assert auc(np.array([0.1, 0.4]), np.array([0.2, 0.3])) == 50.0
