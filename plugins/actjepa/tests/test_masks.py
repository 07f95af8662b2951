"""Padded and non-expert rows never count; temporal ensembling averages every chunk that covers a step."""

from __future__ import annotations

import torch
from jepakit_actjepa.masks import chunk_loss, ensemble_weights, masked_mean, split_rows
from jepakit_actjepa.rollout import Ensembler


def test_split_rows_reads_the_window_layout():
    rows = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)  # obs 4, act 2, two flags
    obs, act, ov, av = split_rows(rows, 4, 2)
    assert obs.shape == (2, 3, 4) and act.shape == (2, 3, 2) and ov.shape == av.shape == (2, 3)
    assert torch.equal(act[0, 0], torch.tensor([4.0, 5.0])) and float(ov[0, 0]) == 6.0 and float(av[0, 0]) == 7.0


def test_masked_rows_do_not_change_the_loss():
    pred, tgt = torch.zeros(2, 4, 3), torch.ones(2, 4, 3)
    valid = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]]).float()
    garbage = tgt.clone()
    garbage[valid == 0] = 1e6
    assert float(chunk_loss(pred, tgt, valid)) == float(chunk_loss(pred, garbage, valid)) == 1.0
    assert float(chunk_loss(pred, 2 * tgt, valid, "l2")) == 4.0
    assert float(masked_mean(torch.ones(1, 2, 3), torch.zeros(1, 2))) == 0.0, "no valid row: zero, not NaN"


def test_ensemble_weights_favour_the_oldest_and_sum_to_one():
    w = ensemble_weights(5, 0.01)
    assert abs(float(w.sum()) - 1.0) < 1e-6 and bool((w[:-1] > w[1:]).all())
    assert torch.allclose(ensemble_weights(3, 0.0), torch.full((3,), 1 / 3))


def test_ensembler_averages_the_chunks_covering_a_step():
    ens = Ensembler(chunk=3, m=0.0)
    a0 = ens(0, torch.tensor([[[0.0], [1.0], [2.0]]]))  # chunk made at t=0 covers t=0..2
    assert float(a0) == 0.0
    a1 = ens(1, torch.tensor([[[10.0], [11.0], [12.0]]]))  # t=1: (1 + 10) / 2
    assert float(a1) == 5.5
    a2 = ens(2, torch.tensor([[[20.0], [21.0], [22.0]]]))  # t=2: (2 + 11 + 20) / 3
    assert abs(float(a2) - 11.0) < 1e-6
    a3 = ens(3, torch.tensor([[[30.0], [31.0], [32.0]]]))  # the t=0 chunk no longer covers t=3
    assert abs(float(a3) - (12.0 + 21.0 + 30.0) / 3) < 1e-6
