"""`sjepa/jepa`: core's masked-prediction JEPA for training; evaluation = core's (linear probe, k-NN: trained vs
random init vs band power) plus S-JEPA's own checks, scores of the same result (eval.json `metrics`):

- the three spatial-filter heads (contextual, post-local, pre-local) on frozen features, each trained vs random init;
- the contextual head fine-tuned end to end, encoder included (the paper's protocol), trained vs random init;
- cross-montage transfer: the trained encoder's weights, unchanged, read recordings made with another channel
  set (`set_montage`), and a linear probe is fitted there, next to the same architecture at random init and the
  band-power baseline of those recordings (`transfer_linear`).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any

import numpy as np
import torch

from jepakit.api import Built, JEPAMethod, ResolvedRun, build_encoder
from jepakit.interfaces import DataSplits, EvalResult, Scores
from jepakit_sjepa.config import SJEPAMethodConfig

log = logging.getLogger("jepakit")


class SJEPAMethod(JEPAMethod):
    """Training as `core/jepa`; evaluation extended with the S-JEPA heads and the transfer check."""

    def __init__(self, cfg: SJEPAMethodConfig | None = None) -> None:
        self.cfg = cfg or SJEPAMethodConfig()

    def evaluate(self, resolved: ResolvedRun, built: Built, run_dir: Any) -> EvalResult:
        """Core's probes, then S-JEPA's heads, fine-tuning and transfer on the same trained and random-init
        encoders (the random-init one built once, under the run's seed); core writes eval.json."""
        from jepakit.api import evaluate_built

        model = built.model
        trained = model.teacher if resolved.eval.encoder == "target" else model.encoder
        torch.manual_seed(resolved.run.seed)
        random_init = build_encoder(resolved, built.splits)
        result = evaluate_built(resolved, built, run_dir, random_init=random_init)
        scores, details = dict(result.scores), dict(result.details)
        if self.cfg.heads:
            scores.update(
                {
                    name: Scores(metric="accuracy", **rows)
                    for name, rows in spatial_heads(trained, random_init, built.splits, self.cfg).items()
                }
            )
        if self.cfg.finetune.enabled:
            scores["contextual_finetuned"] = Scores(
                metric="accuracy", **finetuned(trained, random_init, built.splits, self.cfg, resolved.run.precision)
            )
        if self.cfg.transfer:
            transfer = transfer_check(resolved, trained, random_init, self.cfg)
            if transfer:
                scores["transfer_linear"] = Scores(metric="accuracy", **transfer.pop("linear"))
                details["transfer"] = transfer
        return dataclasses.replace(result, scores=scores, details=details)


@torch.no_grad()
def _token_grid(encoder: torch.nn.Module, x: torch.Tensor, local: bool) -> torch.Tensor:
    """[N, C, T', F]: the contextual encoder's final tokens, or the conv tokenizer's output (`local`)."""
    encoder.eval()
    C, T = encoder.grid
    out = []
    for i in range(0, len(x), 256):
        xb = x[i : i + 256]
        out.append(encoder.local_features(xb) if local else encoder(xb).reshape(len(xb), C, T, -1))
    return torch.cat(out)


def spatial_heads(
    trained: torch.nn.Module, random_init: torch.nn.Module, splits: DataSplits, cfg: SJEPAMethodConfig
) -> dict[str, dict[str, float]]:
    """{head name: {"trained": acc, "random_init": acc}} for the contextual, post-local and pre-local heads."""
    from jepakit_sjepa.heads import PostLocalHead, PreLocalHead, SpatialFilterHead

    xtr, ytr = splits.train.x, splits.train.y.numpy()
    xte, yte = splits.test.x, splits.test.y.numpy()
    out: dict[str, dict[str, float]] = {}
    for name, cls in (("contextual", SpatialFilterHead), ("post_local", PostLocalHead), ("pre_local", PreLocalHead)):
        out[name] = {}
        for row, enc in (("trained", trained), ("random_init", random_init)):
            head = cls(cfg.head)
            if name == "pre_local":
                head.local = copy.deepcopy(enc.feature_encoder).eval()
                head.fit(xtr, ytr)
                acc = head.score(xte, yte)["accuracy"]
            else:
                local = name == "post_local"
                head.fit(_token_grid(enc, xtr, local), ytr)
                acc = head.score(_token_grid(enc, xte, local), yte)["accuracy"]
            out[name][row] = round(float(acc), 2)
    return out


def finetuned(
    trained: torch.nn.Module,
    random_init: torch.nn.Module,
    splits: DataSplits,
    cfg: SJEPAMethodConfig,
    precision: str = "fp32",
) -> dict[str, float]:
    """{"trained": acc, "random_init": acc} of the contextual classifier fine-tuned end to end (the paper's
    protocol)."""
    from jepakit_sjepa.heads import finetune_contextual

    train = (splits.train.x, splits.train.y.numpy())
    test = (splits.test.x, splits.test.y.numpy())
    return {
        row: round(finetune_contextual(enc, train, test, cfg.finetune, cfg.head.spatial_filters, precision), 2)
        for row, enc in (("trained", trained), ("random_init", random_init))
    }


def transfer_check(
    resolved: ResolvedRun, trained: torch.nn.Module, random_init: torch.nn.Module, cfg: SJEPAMethodConfig
) -> dict[str, Any]:
    """Linear probe on recordings from `cfg.transfer_montage` with the run's weights, unchanged."""
    from jepakit.api import LinearProbe, extract_features, raw_features
    from jepakit_sjepa.data import sim_eeg

    data_cfg = resolved.parts["data"].cfg
    if resolved.parts["data"].spec.name != "sjepa/sim-eeg":
        log.info("transfer check skipped: it needs the simulated dataset sjepa/sim-eeg")
        return {}
    other = dataclasses.replace(data_cfg, montage=cfg.transfer_montage, seed=data_cfg.seed + 1000)
    splits = sim_eeg(other)
    pos = np.asarray(splits.meta["ch_pos"])
    scores: dict[str, float] = {}
    for row, enc in (("trained", trained), ("random_init", random_init)):
        enc = copy.deepcopy(enc)
        enc.set_montage(pos)  # same weights, another channel set
        tr = extract_features(enc, splits.train, readout=resolved.eval.readout)
        te = extract_features(enc, splits.test, readout=resolved.eval.readout)
        probe = LinearProbe()
        probe.fit(*tr)
        scores[row] = round(probe.score(*te)["accuracy"], 2)
    probe = LinearProbe()
    probe.fit(*raw_features(splits.train, transform=splits.raw_features))
    scores["raw"] = round(probe.score(*raw_features(splits.test, transform=splits.raw_features))["accuracy"], 2)
    return {
        "linear": scores,
        "dataset": splits.name,
        "channels": list(splits.meta["ch_names"]),
        "pretrained_on": resolved.parts["data"].cfg.montage,
    }
