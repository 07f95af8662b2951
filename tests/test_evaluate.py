"""Frozen-feature evaluation: collapse monitors, probes and the trained/random/raw comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from jepakit.builtin.config import KNNConfig, LinearProbeConfig
from jepakit.builtin.heads import KNNProbe, LinearProbe
from jepakit.engine.evaluate import collapse_stats, evaluate_encoders, extract_features
from jepakit.errors import JepakitError
from jepakit.interfaces import DataSplits, EvalResult, Head


class TinyEncoder(nn.Module):
    """A stand-in encoder: 4x4 patches of a [1, 8, 8] input -> 4 tokens, two linear 'blocks', a final norm."""

    layout = "grid2d"
    grid = (2, 2)

    def __init__(self, dim: int = 6) -> None:
        super().__init__()
        self.embed_dim = dim
        self.patch = nn.Conv2d(1, dim, kernel_size=4, stride=4)
        self.blocks = nn.ModuleList(nn.Linear(dim, dim) for _ in range(2))
        self.norm = nn.LayerNorm(dim)

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        return self.patch(x).flatten(2).transpose(1, 2)  # [B, 4, D]

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_layers(x, 1)[-1]

    def forward_layers(self, x: torch.Tensor, n: int) -> list[torch.Tensor]:
        z, outs = self._tokens(x), []
        for block in self.blocks:
            z = z + torch.tanh(block(z))
            outs.append(z)
        outs[-1] = self.norm(outs[-1])
        return outs[-n:]


class ListSplit(torch.utils.data.Dataset):
    """A plain (x, y) dataset without `.x`/`.y`, to exercise the generic path."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.items = [(x[i], int(y[i])) for i in range(len(x))]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes of 8x8 images: bright left half vs bright right half, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.3
    x[y == 0, :, :, :4] += 1.0
    x[y == 1, :, :, 4:] += 1.0
    return x.clamp(-1, 1), y


def _splits() -> DataSplits:
    xtr, ytr = _blobs(80, 0)
    xte, yte = _blobs(40, 1)
    return DataSplits("blobs", ListSplit(xtr, ytr), ListSplit(xte, yte), (1, 8, 8), 2, class_names=["l", "r"])


def test_collapse_stats_rank_one_vs_isotropic() -> None:
    rng = np.random.default_rng(0)
    line = rng.normal(size=(500, 1)) @ rng.normal(size=(1, 32))  # rank 1
    iso = rng.normal(size=(500, 32))
    collapsed, healthy = collapse_stats(line), collapse_stats(iso)
    assert collapsed["effective_rank"] == pytest.approx(1.0, abs=1e-6)
    assert healthy["effective_rank"] > 25
    assert healthy["feature_std"] == pytest.approx(1.0, abs=0.1)
    assert collapse_stats(np.ones((10, 4)))["effective_rank"] == 0.0
    assert collapse_stats(np.ones((10, 4)))["feature_std"] == 0.0
    assert np.isnan(collapse_stats(np.full((3, 2), np.nan))["effective_rank"])


@pytest.mark.parametrize("head", [LinearProbe(LinearProbeConfig()), KNNProbe(KNNConfig(k=5))])
def test_probes_beat_chance_on_separable_blobs(head: Head) -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 10)) * 4

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, 3, size=n)
        return centres[y] + rng.normal(size=(n, 10)), y

    head.fit(*sample(150))
    score = head.score(*sample(90))
    assert set(score) == {head.metric} and head.higher_is_better
    assert score["accuracy"] > 90.0  # chance is 33 %


def test_probe_score_before_fit_raises() -> None:
    with pytest.raises(RuntimeError):
        LinearProbe().score(np.zeros((2, 2)), np.zeros(2))


def test_extract_features_readouts_and_mode_restored() -> None:
    enc = TinyEncoder(dim=6).train()
    splits = _splits()
    feats, labels = extract_features(enc, splits.train, readout="mean", batch_size=32)
    assert feats.shape == (80, 6) and feats.dtype == np.float32 and labels.tolist() == [i % 2 for i in range(80)]
    with torch.no_grad():
        expected = enc.eval()(torch.stack([splits.train[i][0] for i in range(80)])).mean(1).numpy()
    enc.train()
    assert np.allclose(feats, expected, atol=1e-5)
    four, _ = extract_features(enc, splits.train, readout="last4_mean")
    assert four.shape == (80, 12)  # the stand-in has 2 blocks, so "last 4" is both of them
    assert enc.training
    with pytest.raises(JepakitError):
        extract_features(enc, splits.train, readout="cls")


def test_rows_mean_keeps_one_vector_per_grid_row() -> None:
    enc = TinyEncoder(dim=6).eval()
    splits = _splits()
    feats, _ = extract_features(enc, splits.train, readout="rows_mean")
    assert feats.shape == (80, 2 * 6)  # grid (2, 2): rows averaged over columns, then concatenated
    with torch.no_grad():
        z = enc(torch.stack([splits.train[i][0] for i in range(80)]))  # [80, 4, 6] row-major over (2, 2)
    assert np.allclose(feats[:, :6], z[:, :2].mean(1).numpy(), atol=1e-5)
    assert np.allclose(feats[:, 6:], z[:, 2:].mean(1).numpy(), atol=1e-5)
    flat = TinyEncoder(dim=6)
    flat.grid = (4,)  # a 1-D token sequence has no rows to keep apart
    with pytest.raises(JepakitError, match="rows_mean"):
        extract_features(flat, splits.train, readout="rows_mean")


def test_evaluate_encoders_report() -> None:
    torch.manual_seed(0)
    trained, random_init = TinyEncoder(), TinyEncoder()
    splits = _splits()
    result = evaluate_encoders(
        trained,
        random_init,
        splits,
        readout="mean",
        heads={"linear": LinearProbe, "knn": lambda: KNNProbe(KNNConfig(k=5))},
    )
    assert isinstance(result, EvalResult) and result.primary == "linear" and result.variant == ""
    out = result.to_dict()  # eval.json's layout: the first layout's keys stay readable
    for key in (
        "dataset",
        "metric",
        "higher_is_better",
        "readout",
        "trained",
        "random_init",
        "baseline_raw",
        "metrics",
        "collapse",
        "protocol",
        "n_train",
        "n_test",
    ):
        assert key in out, key
    assert out["dataset"] == "blobs" and out["metric"] == "accuracy" and out["higher_is_better"] is True
    assert (out["n_train"], out["n_test"]) == (80, 40)
    assert set(out["metrics"]) == {"linear", "knn"}
    for head in result.scores.values():
        rows = {"trained": head.trained, "random_init": head.random_init, "raw": head.raw}
        assert head.metric == "accuracy" and head.higher_is_better is True
        assert all(0.0 <= v <= 100.0 and round(v, 2) == v for v in rows.values())
    assert out["trained"] == out["metrics"]["linear"]["trained"] == result.main.trained
    assert out["baseline_raw"] == out["metrics"]["linear"]["raw"] > 90.0  # the blobs are linearly separable
    assert out["collapse"]["effective_rank"] > 1.0 and out["collapse"]["feature_std"] > 0.0
    assert set(out["collapse"]["random_init"]) == {"feature_std", "effective_rank"}
    assert "\n" not in out["protocol"] and "LogisticRegression" in out["protocol"]
    again = evaluate_encoders(trained, random_init, splits, readout="last4_mean")
    assert again.readout == "last4_mean" and set(again.scores) == {"linear", "knn"}
    assert again.collapse["feature_std"] == out["collapse"]["feature_std"]  # always mean-pooled, same images


def test_extra_labels_are_read_by_the_primary_head_from_the_same_features() -> None:
    torch.manual_seed(0)
    splits = _splits()
    y_tr = np.asarray([int(splits.train[i][1]) for i in range(len(splits.train))])
    y_te = np.asarray([int(splits.test[i][1]) for i in range(len(splits.test))])
    # "side" is the class itself (separable), "noise" a label the inputs do not carry
    rng = np.random.default_rng(0)
    splits.extra_labels = {"side": (y_tr, y_te), "noise": (rng.integers(0, 2, 80), rng.integers(0, 2, 40))}
    out = evaluate_encoders(
        TinyEncoder(),
        TinyEncoder(),
        splits,
        readout="mean",
        heads={"linear": LinearProbe, "knn": lambda: KNNProbe(KNNConfig(k=5))},
    )
    assert set(out.scores) == {"linear", "knn", "linear (side)", "linear (noise)"}
    assert out.scores["linear (side)"].raw == out.scores["linear"].raw  # same labels, same score
    assert out.scores["linear (noise)"].raw < 75.0  # nothing to read
    assert out.scores["linear (side)"].metric == "accuracy"
    assert out.primary == "linear" and out.main.trained == out.scores["linear"].trained  # the primary is unchanged


def test_a_named_primary_head_fills_the_verdict_and_reads_the_extra_labels() -> None:
    torch.manual_seed(0)
    splits = _splits()
    y_tr = np.asarray([int(splits.train[i][1]) for i in range(len(splits.train))])
    y_te = np.asarray([int(splits.test[i][1]) for i in range(len(splits.test))])
    splits.extra_labels = {"side": (y_tr, y_te)}
    heads = {"linear": LinearProbe, "knn": lambda: KNNProbe(KNNConfig(k=5))}
    out = evaluate_encoders(TinyEncoder(), TinyEncoder(), splits, readout="mean", heads=heads, primary="knn")
    assert out.primary == "knn" and set(out.scores) == {"linear", "knn", "knn (side)"}
    assert out.scores["knn (side)"].raw == out.scores["knn"].raw  # the extra label is read by the primary head
    with pytest.raises(JepakitError, match='eval.primary: no head named "nope"'):
        evaluate_encoders(TinyEncoder(), TinyEncoder(), splits, readout="mean", heads=heads, primary="nope")


def test_head_contract_helpers_supply_the_declared_defaults() -> None:
    from jepakit.builtin.config import AttentiveProbeConfig
    from jepakit.builtin.heads import AttentiveProbe
    from jepakit.interfaces import describe_head, head_input

    class Bare:
        metric, higher_is_better = "accuracy", True

    assert head_input(Bare()) == "pooled" and describe_head(Bare()) == "Bare"
    assert head_input(AttentiveProbe(AttentiveProbeConfig())) == "tokens"
    assert describe_head(KNNProbe(KNNConfig(k=3))).startswith("cosine k-NN (k=3)")
    bad = Bare()
    bad.input = "pixels"
    with pytest.raises(ValueError, match="input must be one of"):
        head_input(bad)


@pytest.mark.parametrize("readout", ["mean", "last4_mean", "rows_mean"])
def test_one_pass_per_encoder_and_split_and_progress_per_probe(readout: str) -> None:
    """With a token head (the attentive probe) beside pooled ones, each split passes through each encoder once,
    the pooled features are pooled from the tokens (equal to a pooled pass), and every probe reports its rows."""
    from jepakit.builtin.config import AttentiveProbeConfig
    from jepakit.builtin.heads import AttentiveProbe
    from jepakit.engine.eval_data import evaluation_progress

    torch.manual_seed(0)
    trained, random_init, splits = TinyEncoder(), TinyEncoder(), _splits()
    seen: list[tuple[str, int, int]] = []
    kept: dict = {}
    heads = {
        "linear": LinearProbe,
        "attentive": lambda: AttentiveProbe(AttentiveProbeConfig(epochs=2, num_heads=2, batch_size=32)),
    }
    with evaluation_progress(lambda label, done, total: seen.append((label, done, total))):
        evaluate_encoders(trained, random_init, splits, readout=readout, heads=heads, features=kept)
    passes = [label for label, done, total in seen if done == total and not label.startswith("probe")]
    encoder_passes = [p for p in passes if not p.startswith(("raw", "collapse"))]
    assert sorted(encoder_passes) == sorted(
        f"{row} tokens, {split} split" for row in ("trained", "random init") for split in ("train", "test")
    )
    pooled, _ = extract_features(trained, splits.test, readout=readout)
    assert np.array_equal(kept["trained"][1][0], pooled)  # pooled from tokens == a pooled pass
    probes = [(label, done, total) for label, done, total in seen if label.startswith("probe")]
    assert [(label.split(" (")[0], done, total) for label, done, total in probes] == [
        ("probe linear", k, 3) for k in (1, 2, 3)
    ] + [("probe attentive", k, 3) for k in (1, 2, 3)]
