"""Retrieval recall on hand-made energy matrices, and the energy AUC."""

from __future__ import annotations

import numpy as np
from jepakit_tijepa.evaluation import auc, recall_at
from pytest import approx


def test_recall_on_a_hand_made_energy_matrix():
    # rows: captions, columns: images; the diagonal holds the true pairs, lower energy = more compatible
    e = np.array(
        [
            [0.1, 0.5, 0.9],  # caption 0 ranks its image first
            [0.2, 0.3, 0.1],  # caption 1: its image is third
            [0.8, 0.4, 0.6],
        ]
    )  # caption 2: its image is second
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


def test_the_pairwise_energy_matrix_equals_the_training_energy_of_each_pair():
    """energy_matrix runs the towers once per caption and per image; it must equal pair_energy pair by pair."""
    import torch
    from jepakit_tijepa.evaluation import energy_matrix, fixed_masks, pair_energy

    from jepakit.engine.jepa import build
    from jepakit.framework.compose import resolve_run
    from jepakit.testing.contracts import isolated_state

    small = [
        "encoder.embed_dim=32",
        "encoder.depth=1",
        "encoder.num_heads=2",
        "predictor.embed_dim=16",
        "predictor.depth=1",
        "predictor.num_heads=2",
        "data.n_train=8",
        "data.n_test=8",
        "method.text_width=16",
        "method.text_layers=1",
        "method.text_heads=2",
        "method.fusion_width=32",
        "method.fusion_depth=1",
        "method.fusion_heads=2",
    ]
    built = build(resolve_run({"variant": "tijepa/tijepa-tiny"}, isolated_state(), small))
    model, test = built.model.eval(), built.splits.test
    masks = fixed_masks(built.masker, 2, seed=0)
    rows = np.arange(5)
    fast = energy_matrix(model, test, rows, masks)  # [caption, image]
    slow = np.array(
        [
            [pair_energy(model, {"image": test.x[[i]], "tokens": test.tokens[[t]]}, masks).item() for i in rows]
            for t in rows
        ]
    )
    assert fast.shape == (5, 5) and np.allclose(fast, slow, rtol=1e-4, atol=1e-6)
    assert not np.allclose(fast, fast[:, :1]) and not np.allclose(fast, fast[:1, :])  # images and captions matter
    assert torch.is_grad_enabled()  # evaluation's no_grad did not leak
