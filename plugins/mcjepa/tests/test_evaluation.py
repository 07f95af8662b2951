"""The flow evaluation scores a perfect flow as 0, zero flow as the baseline, and splits digit / background."""

from __future__ import annotations

import torch
from jepakit_mcjepa.config import FlowDigitsConfig
from jepakit_mcjepa.data import flow_digits
from jepakit_mcjepa.evaluation import flow_errors, flow_to_rgb
from torch import nn


class _Replay(nn.Module):
    """Predicts a fixed sequence of flows (the pairs come in order), scaled by `gain`."""

    def __init__(self, flows: list[torch.Tensor], gain: float) -> None:
        super().__init__()
        self.flows, self.gain = iter(flows), gain

    def predict_flow(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
        return self.gain * next(self.flows)


def _gt_batches(split, batch: int) -> list[torch.Tensor]:
    pairs = torch.cartesian_prod(torch.arange(len(split)), torch.arange(split.x.shape[2] - 1))
    return [split.flow(pairs[s : s + batch, 0], pairs[s : s + batch, 1]) for s in range(0, len(pairs), batch)]


def test_perfect_zero_and_half_flows():
    test = flow_digits(FlowDigitsConfig(limit=120, test_size=30)).test
    perfect = flow_errors(_Replay(_gt_batches(test, 32), 1.0), test, batch_size=32)
    assert perfect["model"] == {"all": 0.0, "digit": 0.0, "background": 0.0}
    zero = perfect["zero"]
    assert zero["digit"] == 2.0 and zero["background"] == 0.0 and 0.05 < zero["all"] < 0.5
    half = flow_errors(_Replay(_gt_batches(test, 32), 0.5), test, batch_size=32)["model"]
    assert abs(half["digit"] - 1.0) < 1e-4 and abs(half["all"] - zero["all"] / 2) < 1e-3
    assert flow_errors(None, test, max_pairs=10)["model"] == flow_errors(None, test, max_pairs=10)["zero"]


def test_flow_colours():
    flow = torch.zeros(2, 3, 3).numpy()
    flow[0, 0, 0] = 1.0
    rgb = flow_to_rgb(flow, 1.0)
    assert rgb.shape == (3, 3, 3) and rgb[1, 1].max() == 0.0 and rgb[0, 0].max() == 1.0


def test_flow_plot_is_written_with_cores_figure_helpers(tmp_path):
    from types import SimpleNamespace

    from jepakit_mcjepa.evaluation import _plot

    class _Zero(nn.Module):
        def predict_flow(self, f1: torch.Tensor, f2: torch.Tensor) -> torch.Tensor:
            return torch.zeros(len(f1), 2, *f1.shape[-2:])

    test = flow_digits(FlowDigitsConfig(limit=120, test_size=30)).test
    run_dir = SimpleNamespace(plots=tmp_path / "plots")
    model = _Zero().train()
    with torch.no_grad():
        _plot(model, _Zero(), test, 2, run_dir)
    assert (tmp_path / "plots" / "flow.png").stat().st_size > 1000 and model.training
    assert not list((tmp_path / "plots").glob(".*"))  # no temp file left behind
