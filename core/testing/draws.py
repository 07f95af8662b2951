"""Count the random numbers a part draws, so a test bounds its work instead of timing it.

A wall-clock limit in a unit test fails on a loaded machine and passes a slow regression on a fast one; the number
of random draws does neither. Wrap the modules whose code samples (a masker's module, a data generator's):

    with count_draws(jepakit_myjepa.masks) as draws:
        masker(16, torch.Generator().manual_seed(0))
    assert draws.calls <= 6 and draws.numbers <= 16 * RETRIES * 4

Only calls made through the module's global name `torch` are counted (`torch.rand(...)`, `torch.randint(...)`, ...);
`from torch import rand` or tensor methods such as `.uniform_()` are not seen. The module's `torch` is restored on
exit, also when the block raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch

#: torch functions that draw random numbers; each call's output size is what it drew.
RANDOM = frozenset(
    {
        "rand",
        "randint",
        "randn",
        "randperm",
        "multinomial",
        "bernoulli",
        "normal",
        "poisson",
        "rand_like",
        "randint_like",
        "randn_like",
    }
)


@dataclasses.dataclass
class Draws:
    """Random draws seen so far: `calls` to a sampling function and `numbers` drawn (elements of their outputs)."""

    calls: int = 0
    numbers: int = 0
    by_function: dict[str, int] = dataclasses.field(default_factory=dict)  # name -> numbers drawn


class _CountingTorch:
    """Stands in for `torch` in one module: sampling functions count their output, all else passes through."""

    def __init__(self, draws: Draws) -> None:
        self._draws = draws

    def __getattr__(self, name: str) -> Any:
        attr = getattr(torch, name)
        if name not in RANDOM:
            return attr
        return self._counted(name, attr)

    def _counted(self, name: str, fn: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        def counted(*args: Any, **kwargs: Any) -> torch.Tensor:
            out = fn(*args, **kwargs)
            n = out.numel() if isinstance(out, torch.Tensor) else 1
            self._draws.calls += 1
            self._draws.numbers += n
            self._draws.by_function[name] = self._draws.by_function.get(name, 0) + n
            return out

        return counted


@contextlib.contextmanager
def count_draws(*modules: types.ModuleType) -> Iterator[Draws]:
    """Count the random draws the given modules make through their global `torch` while the block runs."""
    draws = Draws()
    proxy = _CountingTorch(draws)
    patched = []
    try:
        for module in modules:
            if getattr(module, "torch", None) is not torch:
                raise ValueError(f"{module.__name__} has no global `torch` to count draws through")
            module.torch = proxy  # type: ignore[attr-defined]  # a module global, unknown to ModuleType
            patched.append(module)
        yield draws
    finally:
        for module in patched:
            module.torch = torch  # type: ignore[attr-defined]  # as above
