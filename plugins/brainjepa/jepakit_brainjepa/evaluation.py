"""Brain-JEPA's evaluation: core's probes (linear probe and k-NN on the run's readout, trained vs random init vs raw)
plus a connectivity probe, the score a subject-identification task can actually read.

Why a second readout. A resting-state window carries its subject in second-order statistics (which ROIs
co-fluctuate), not in the value of any frame: the raw row is therefore the window's functional connectivity,
the Fisher-z Pearson correlations of every ROI pair (Finn et al. 2015), about 0.9 here on 96-TR windows. Pooled
token features (`rows_mean`, a mean over time per ROI) are first-order and sit at chance for any encoder that has
not learned window-level statistics. The connectivity probe applies one function to both an encoder's output
tokens and the raw window: per window, subtract the mean over ROIs at every (time, feature) position (what all
ROIs share: the time code, the global signal), then correlate the ROIs' rows and probe the Fisher-z upper
triangle with the same linear probe. Trained, random init and raw differ only in what the rows are.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from jepakit.api import Built, JEPAMethod, LinearProbe, ResolvedRun, build_encoder
from jepakit.interfaces import DataSplits, EvalResult, Scores
from jepakit_brainjepa.config import BrainJEPAMethodConfig


def _fisher_upper(corr: torch.Tensor) -> torch.Tensor:
    """[B, R, R] correlations -> [B, R * (R - 1) / 2] arctanh of the upper triangle."""
    R = corr.shape[-1]
    rows, cols = torch.triu_indices(R, R, offset=1)
    return torch.atanh(corr.clamp(-0.999999, 0.999999)[:, rows, cols]).float()


def _row_correlations(z: torch.Tensor) -> torch.Tensor:
    """[B, R, F] -> [B, R, R] Pearson correlations between the rows (a constant row correlates 0)."""
    z = z.double() - z.double().mean(dim=-1, keepdim=True)
    z = z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return z @ z.transpose(1, 2)


def connectivity_features(x: torch.Tensor) -> torch.Tensor:
    """x [B, R, T] -> [B, R * (R - 1) / 2] arctanh of the ROI-pair correlations within each window (the raw row of
    core's probes: classical functional connectivity)."""
    return _fisher_upper(_row_correlations(x))


def token_connectivity(z: torch.Tensor, rois: int) -> torch.Tensor:
    """[B, R * W, D] tokens (flat r * W + w) or a raw window reshaped to [B, R * T, 1] -> [B, R * (R - 1) / 2]:
    the mean over ROIs removed at each (time, feature) position, then the ROI rows' Fisher-z correlations."""
    B = z.shape[0]
    z = z.reshape(B, rois, -1, z.shape[-1]).double()  # [B, R, W, D]
    z = z - z.mean(dim=1, keepdim=True)
    return _fisher_upper(_row_correlations(z.reshape(B, rois, -1)))


class Connectivity:
    """Picklable `DataSplits.raw_features`: the functional-connectivity baseline (see `connectivity_features`)."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return connectivity_features(x)


@torch.no_grad()
def encoder_connectivity(encoder: torch.nn.Module, x: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """[N, R, T] windows -> [N, R * (R - 1) / 2] connectivity of the encoder's output tokens (eval mode)."""
    was = encoder.training
    encoder.eval()
    try:
        rois = int(encoder.grid[0])
        return torch.cat([token_connectivity(encoder(x[i : i + batch]), rois) for i in range(0, len(x), batch)])
    finally:
        encoder.train(was)


def connectivity_probe(trained: torch.nn.Module, random_init: torch.nn.Module, splits: DataSplits) -> Scores:
    """The connectivity probe's accuracy (%) for the trained encoder, the same network at random init and the raw
    window, one linear probe protocol for all three (core's `LinearProbe`)."""
    train, test = splits.train, splits.test
    assert train is not None and test is not None
    xtr, ytr = train.x, train.y.numpy()  # [N, R, T], [N]
    xte, yte = test.x, test.y.numpy()
    rois = int(xtr.shape[1])

    def score(ftr: torch.Tensor, fte: torch.Tensor) -> float:
        probe = LinearProbe()
        probe.fit(ftr.numpy(), ytr)
        return round(float(probe.score(fte.numpy(), yte)["accuracy"]), 2)

    def raw(x: torch.Tensor) -> torch.Tensor:
        return token_connectivity(x.reshape(len(x), -1, 1), rois)  # frames as positions, one feature

    return Scores(
        metric="accuracy",
        trained=score(encoder_connectivity(trained, xtr), encoder_connectivity(trained, xte)),
        random_init=score(encoder_connectivity(random_init, xtr), encoder_connectivity(random_init, xte)),
        raw=score(raw(xtr), raw(xte)),
    )


class BrainJEPAMethod(JEPAMethod):
    """`core/jepa` for training; evaluation = core's probes plus the connectivity probe ("connectivity"), which is
    the run's primary score when `cfg.primary` (see the module doc for why)."""

    def __init__(self, cfg: BrainJEPAMethodConfig | None = None) -> None:
        self.cfg = cfg or BrainJEPAMethodConfig()

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        from jepakit.api import evaluate_built

        model = built.model
        trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, built.splits)
        result = evaluate_built(resolved, built, run_dir, random_init=random_init)
        if not self.cfg.connectivity or not hasattr(built.splits.train, "x"):
            return result
        scores = {**result.scores, "connectivity": connectivity_probe(trained, random_init, built.splits)}
        protocol = (
            f"{result.protocol}; connectivity: Fisher-z correlations between the ROIs' output tokens (raw: between "
            "the ROIs' frames), mean over ROIs removed per position, same linear probe"
        )
        primary = "connectivity" if self.cfg.primary else result.primary
        return dataclasses.replace(result, scores=scores, primary=primary, protocol=protocol)
