"""The contract suite on every installed part, and proof that it catches broken parts."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from jepakit.builtin.config import SmoothL1Config, ViTConfig
from jepakit.builtin.models import VisionTransformer
from jepakit.framework.registry import PartSpec
from jepakit.interfaces import MaskSet
from jepakit.testing.contracts import check_config, check_loss, check_masker, check_part, isolated_state

#: Core's parts and plain-image plugin parts pass at the suite's default tiny sizes; plugins whose parts need
#: their own build context (audio, EEG, deep pyramids) run `check_plugin` with overrides in their own tests.
SPECS = [s for s in isolated_state().registry.list() if s.plugin in ("core", "ijepa", "vjepa")]
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec", [pytest.param(s, id=s.name) for s in SPECS])
def test_every_installed_part_meets_its_contract(spec, plugin_state):
    check_part(spec, state=plugin_state)


@pytest.mark.parametrize(
    "folder", sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
)
def test_every_bundled_plugin_runs_the_contract_suite_on_all_its_parts(folder):
    text = (ROOT / "plugins" / folder / "tests" / "test_contract.py").read_text(encoding="utf-8")
    assert "check_plugin(" in text, f"plugins/{folder} does not run jepakit.testing's check_plugin"


def test_every_kind_is_covered():
    kinds = {s.kind for s in SPECS}
    assert {"encoders", "maskers", "predictors", "targets", "losses", "datasets", "heads", "variants"} <= kinds


# ------------------------------------------------------------------------------- tiny fakes, good and broken

FAKES = "jepakit_contract_fakes"  # the module the fake parts' "module:attr" targets point at


@dataclass
class FakeMaskConfig:
    num_targets: int = 2
    block: int = 3


@dataclass
class NoDefaultConfig:
    size: int  # no default: `jepakit show` and TOML defaults cannot work
    beta: float = 1.0


class GoodMasker:
    """Random disjoint context/targets from one permutation per row."""

    layout = "grid2d"

    def __init__(self, cfg: FakeMaskConfig, grid: tuple[int, ...]) -> None:
        self.cfg, self.grid = cfg, tuple(grid)

    def cut(self) -> int:
        return self.cfg.num_targets * self.cfg.block

    def __call__(self, batch_size: int, generator: torch.Generator) -> MaskSet:
        n = self.grid[0] * self.grid[1]
        perm = torch.stack([torch.randperm(n, generator=generator) for _ in range(batch_size)])
        k = self.cfg.num_targets * self.cfg.block
        targets = perm[:, :k].view(batch_size, self.cfg.num_targets, self.cfg.block)
        return MaskSet(context=perm[:, self.cut() :].sort(1).values, targets=targets)


class OverlapMasker(GoodMasker):
    def cut(self) -> int:  # the context starts one token early: it contains a target token
        return super().cut() - 1


class LambdaMasker(GoodMasker):
    def __init__(self, cfg: FakeMaskConfig, grid: tuple[int, ...]) -> None:
        super().__init__(cfg, grid)
        self.pick = lambda n: n  # a lambda does not pickle: DataLoader workers would fail


class ShortEncoder(VisionTransformer):
    def forward(self, x, keep=None):
        return super().forward(x, keep)[:, 1:]  # drops a token: [B, N-1, D]


class NaNLoss(nn.Module):
    def __init__(self, cfg: SmoothL1Config) -> None:
        super().__init__()

    def forward(self, pred, target, **aux):
        return (pred - target).abs().mean() * float("nan")


@pytest.fixture(autouse=True)
def _fakes_module(monkeypatch):
    mod = types.ModuleType(FAKES)
    for obj in (GoodMasker, OverlapMasker, LambdaMasker, ShortEncoder, NaNLoss):
        setattr(mod, obj.__name__, obj)
    monkeypatch.setitem(sys.modules, FAKES, mod)


def fake(kind: str, attr: str, config: type | None) -> PartSpec:
    return PartSpec(kind, f"fake/{attr.lower()}", "fake", f"{FAKES}:{attr}", config, layout="grid2d")


def test_a_good_fake_masker_passes():
    check_masker(fake("maskers", "GoodMasker", FakeMaskConfig), {"_grid": (6, 6)})


@pytest.mark.parametrize(
    ("spec", "tiny", "check"),
    [
        pytest.param(
            fake("encoders", "ShortEncoder", ViTConfig),
            {"embed_dim": 16, "depth": 1, "num_heads": 2, "patch_size": 4},
            '"forward"',
            id="wrong-shape-encoder",
        ),
        pytest.param(
            fake("maskers", "OverlapMasker", FakeMaskConfig), {"_grid": (6, 6)}, '"MaskSet"', id="overlapping-masker"
        ),
        pytest.param(
            fake("maskers", "LambdaMasker", FakeMaskConfig), {"_grid": (6, 6)}, '"pickling"', id="unpicklable-masker"
        ),
        pytest.param(fake("losses", "NaNLoss", SmoothL1Config), {}, '"forward"', id="nan-loss"),
        pytest.param(fake("losses", "NaNLoss", NoDefaultConfig), {}, '"config defaults"', id="config-without-default"),
    ],
)
def test_the_suite_catches_broken_parts(spec, tiny, check):
    with pytest.raises(AssertionError) as info:
        check_part(spec, tiny)
    assert spec.name in str(info.value) and check in str(info.value), str(info.value)


def test_config_check_alone_catches_a_missing_default():
    with pytest.raises(AssertionError, match=r"\['size'\] of NoDefaultConfig have no default"):
        check_config(fake("datasets", "NoData", NoDefaultConfig))


def test_a_loss_check_names_the_non_finite_energy():
    with pytest.raises(AssertionError, match="holds NaN or inf"):
        check_loss(fake("losses", "NaNLoss", SmoothL1Config))
