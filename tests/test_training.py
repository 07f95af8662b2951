"""core/library/training.py: the seeded minibatch loop heads train with (same numbers twice, caller's RNG kept),
and the EMA teacher's momentum ramp and update."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jepakit.api import fit_minibatches

X = torch.randn(60, 4, generator=torch.Generator().manual_seed(0))
Y = (X[:, 0] > 0).long()


def _fit(seed: int = 0, epochs: int = 5, **kw) -> tuple[nn.Module, list[float]]:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 2))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    before = torch.get_rng_state()
    losses = fit_minibatches(
        net,
        opt,
        len(X),
        lambda idx: F.cross_entropy(net(X[idx]), Y[idx]),
        epochs=epochs,
        batch_size=16,
        seed=seed,
        **kw,
    )
    assert torch.equal(torch.get_rng_state(), before), "the caller's global RNG is left as it was"
    return net, losses


def _weights(net: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_same_seed_same_numbers_and_the_callers_rng_is_kept():
    net_a, losses_a = _fit()
    net_b, losses_b = _fit()
    assert losses_a == losses_b and torch.equal(_weights(net_a), _weights(net_b))
    _, losses_c = _fit(seed=1)
    assert losses_c != losses_a
    assert len(losses_a) == 5 and losses_a[-1] < losses_a[0]
    assert not net_a.training


def test_reseed_false_continues_the_callers_stream():
    _, a = _fit(reseed=False)  # dropout draws from the stream _fit seeded (1) before building
    _, b = _fit(reseed=False)
    _, c = _fit(reseed=True)  # dropout draws from `seed` (0)
    assert a == b and a != c


def test_scheduler_steps_every_batch_and_bf16_runs():
    torch.manual_seed(1)
    net = nn.Linear(4, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / (k + 1))
    fit_minibatches(
        net,
        opt,
        len(X),
        lambda idx: F.cross_entropy(net(X[idx]), Y[idx]),
        epochs=2,
        batch_size=16,
        seed=0,
        scheduler=sched,
        precision="bf16",
    )
    assert sched.last_epoch == 2 * 4  # 60 samples / 16 = 4 batches per epoch


def test_ema_helpers_ramp_move_parameters_only_and_refuse_mismatched_modules():
    from jepakit.api import ema_momentum, ema_update_

    assert ema_momentum((0.99, 1.0), 0, 10) == pytest.approx(0.99)
    assert ema_momentum((0.99, 1.0), 5, 10) == pytest.approx(0.995)
    assert ema_momentum((0.99, 1.0), 99, 10) == pytest.approx(1.0)  # held after the run
    assert ema_momentum((0.99, 1.0), 3, 0) == pytest.approx(1.0)  # a zero-step run does not divide by zero
    student = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    teacher = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    with torch.no_grad():
        for p in teacher.parameters():
            p.zero_()
        for p in student.parameters():
            p.fill_(1.0)
        student[1].running_mean.fill_(5.0)
    ema_update_(teacher, student, 0.75)
    assert all(torch.allclose(p, torch.full_like(p, 0.25)) for p in teacher.parameters())
    assert torch.equal(teacher[1].running_mean, torch.zeros(3))  # buffers are left alone
    with pytest.raises(ValueError, match="parameters"):
        ema_update_(teacher, nn.Linear(3, 3), 0.5)
