"""Training: one step updates every part, and a tiny end-to-end run writes the run directory and eval.json."""

from __future__ import annotations

import json

import pytest
import torch
from jepakit_mcjepa.method import MCJEPAMethod

from jepakit.engine.jepa import build
from jepakit.engine.train import train
from jepakit.errors import JepakitError
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins
from jepakit.interfaces import DataSplits
from jepakit.library.data import ImageSplit

TOY = [
    "encoder.dims=[8, 16, 24]",
    "encoder.depths=[1, 1, 1]",
    "encoder.kernel_size=3",
    "method.corr_radius=1",
    "method.head_dims=[16]",
    "method.expander_dims=[32, 32]",
    "data.limit=200",
    "data.test_size=50",
    "run.workers=0",
    "run.threads=1",
]


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    path = tmp_path_factory.mktemp("plugins") / "plugins.toml"
    path.write_text("")
    return load_plugins(path)


def test_one_step_trains_every_part(state):
    run = resolve_run({"variant": "mcjepa/mcjepa-tiny"}, state, TOY)
    built = build(run)
    model, x = built.model, torch.stack([built.splits.train[i][0] for i in range(8)])
    assert built.masker is None and model.teacher is model.encoder
    out = model.step({"step": 0, "x": x, "y": None, "masks": None})
    assert torch.isfinite(out.loss) and {
        "loss/photo",
        "loss/rec",
        "loss/smooth",
        "loss/cycle",
        "loss/vc_var",
        "loss/vc_cov",
        "loss/vicreg_inv",
        "loss/content",
    } <= set(out.metrics)
    out.loss.backward()
    for name in ("encoder", "flow", "expander"):
        grads = [p.grad for p in getattr(model, name).parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
    again = model.step({"step": 0, "x": x, "y": None, "masks": None})
    assert again.metrics["loss"] == out.metrics["loss"], "a batch's pairs and views depend only on (seed, step)"
    assert model.teacher(x).shape == (8, 4 * 4 * 4, 24)


def test_images_are_refused_with_a_hint(state):
    run = resolve_run({"variant": "mcjepa/mcjepa-tiny"}, state, TOY)
    images = ImageSplit(torch.zeros(20, 1, 32, 32), torch.zeros(20))
    splits = DataSplits(name="images", train=images, test=images, input_shape=(1, 32, 32), num_classes=1)
    with pytest.raises(JepakitError, match="clips") as info:
        MCJEPAMethod(run.parts["method"].cfg).build(run, splits)
    assert "flow-digits" in info.value.hint


@pytest.mark.slow
def test_tiny_train_and_eval_write_the_run_directory(state, tmp_path):
    out = tmp_path / "run"
    run = resolve_run(
        {"variant": "mcjepa/mcjepa-tiny"},
        state,
        TOY
        + [
            "optim.steps=4",
            "optim.batch_size=16",
            f'run.out="{out}"',
            "run.ckpt_every=2",
            "run.monitor_every=2",
            "run.log_every=1",
            "method.eval_pairs=60",
        ],
    )
    threads = torch.get_num_threads()
    try:
        result = train(run)
    finally:
        torch.set_num_threads(threads)  # run.threads=1 must not slow the rest of the session
    ev = json.loads((out / "eval.json").read_text())
    assert ev == json.loads(json.dumps(result["eval"]))
    assert ev["metric"] == "flow_epe" and ev["higher_is_better"] is False
    assert {"trained", "random_init", "baseline_zero_flow", "metrics", "flow", "collapse", "n_test"} <= set(ev)
    assert {"flow_epe", "content_linear", "content_knn"} <= set(ev["metrics"])
    assert {"trained", "random_init", "raw"} <= set(ev["metrics"]["content_linear"])
    assert ev["baseline_zero_flow"] > 0 and all(ev[k] >= 0 for k in ("trained", "random_init"))
    assert set(ev["flow"]["trained"]) == {"all", "digit", "background"}
    assert abs(ev["flow"]["zero_flow"]["digit"] - 2.0) < 1e-6, "zero flow misses the digit by its speed"
    assert (out / "plots" / "flow.png").stat().st_size > 1000 and (out / "plots" / "loss.png").is_file()
    assert any((out / "checkpoints").iterdir())
