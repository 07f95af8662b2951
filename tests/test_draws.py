"""jepakit.testing.draws: counts what a module draws through `torch`, and always puts `torch` back."""

from __future__ import annotations

import types

import pytest
import torch

from jepakit.testing.draws import count_draws


def _module() -> types.ModuleType:
    mod = types.ModuleType("sampler")
    exec(
        "import torch\n"
        "def sample(g):\n"
        "    a = torch.rand(3, 4, generator=g)\n"
        "    b = torch.randint(0, 5, (7,), generator=g)\n"
        "    return torch.cat([a.flatten(), b.float()])\n",
        mod.__dict__,
    )
    return mod


def test_counts_calls_and_numbers_and_leaves_results_unchanged():
    mod = _module()
    plain = mod.sample(torch.Generator().manual_seed(0))
    with count_draws(mod) as draws:
        counted = mod.sample(torch.Generator().manual_seed(0))
        counted = mod.sample(torch.Generator().manual_seed(0))
    assert (draws.calls, draws.numbers) == (4, 2 * (12 + 7))
    assert draws.by_function == {"rand": 24, "randint": 14}
    assert torch.equal(plain, counted) and mod.torch is torch


def test_restores_torch_when_the_block_raises_and_rejects_a_module_without_torch():
    mod = _module()
    with pytest.raises(RuntimeError), count_draws(mod):
        raise RuntimeError("boom")
    assert mod.torch is torch
    with pytest.raises(ValueError, match="no global `torch`"), count_draws(mod, types.ModuleType("empty")):
        pass
    assert mod.torch is torch
