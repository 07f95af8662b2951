"""Methods and build context: core hosts objectives other than masked prediction, and offers parts what they name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from helpers import FIXTURES, write_plugins_toml

from jepakit.engine.loader import MaskCollator, sample_masks
from jepakit.errors import JepakitError
from jepakit.framework.build import _accepted
from jepakit.framework.compose import Part, build_part, resolve_run
from jepakit.framework.plugins import load_plugins
from jepakit.framework.registry import PartSpec


def _views_state(tmp_path: Path):
    path = FIXTURES / "plugins" / "views_method.py"
    return load_plugins(write_plugins_toml(tmp_path, f'[plugins]\npaths = ["{path}"]\n'))


def test_context_is_offered_and_a_constructor_takes_what_it_names():
    def strict(cfg, *, grid):
        return grid

    def greedy(cfg, **context):
        return context

    offer = {"grid": (4, 4), "meta": {"sr": 8000}, "input_shape": (1, 16, 16)}
    assert _accepted(strict, offer) == {"grid": (4, 4)}
    assert _accepted(greedy, offer) == offer
    part = Part(PartSpec("maskers", "t/strict", "t", "helpers:grid_only"), object(), "masker")
    assert build_part(part, **offer) == (4, 4)


def test_the_default_method_is_core_jepa_and_needs_every_role(plugin_state):
    run = resolve_run({"variant": "ijepa/ijepa-tiny"}, plugin_state)
    assert run.parts["method"].spec.name == "core/jepa"
    assert list(run.to_dict())[:7] == ["variant", "encoder", "masker", "predictor", "target", "data", "method"]
    with pytest.raises(JepakitError, match="masker: missing"):
        spec = {k: v for k, v in run.to_dict().items() if k not in ("masker", "variant")}
        from jepakit.framework.compose import resolve_spec

        resolve_spec("x", "image", spec, plugin_state)


def test_an_unknown_method_names_the_key(plugin_state):
    with pytest.raises(JepakitError, match=r"method\.use"):
        resolve_run({"variant": "ijepa/ijepa-tiny", "method": {"use": "core/nope"}}, plugin_state)


def test_a_plugin_method_without_masks_trains_resumes_and_evaluates(tmp_path):
    from jepakit.engine.run_eval import evaluate_run
    from jepakit.engine.train import train

    state = _views_state(tmp_path)
    assert ("methods", "views_method/views") in state.registry
    run = resolve_run({"variant": "views_method/views-digits", "run": {"out": str(tmp_path / "r")}}, state)
    assert set(run.parts) == {"encoder", "data", "method"} and not run.losses
    threads = torch.get_num_threads()
    try:
        summary = train(run)
    finally:
        torch.set_num_threads(threads)
    assert summary["steps"] == 3 and summary["eval"]["metric"] == "feature_std"
    ev = json.loads((tmp_path / "r" / "eval.json").read_text())
    assert ev["trained"] > 0
    assert evaluate_run(tmp_path / "r", state).main.metric == "feature_std"  # `jepakit eval` goes through the method
    assert not (tmp_path / "r" / "plots" / "masks.png").exists()  # no masker, no mask picture


class _Curriculum:
    """A step-aware masker stand-in: the collate must tell it where in training the batch falls."""

    step_aware = True
    grid = (2, 2)

    def __call__(self, batch_size, generator, *, step, total_steps):
        return (step, total_steps)


def test_step_aware_maskers_see_step_and_total_in_the_collate():
    collate = MaskCollator(_Curriculum(), seed=0, total_steps=50)
    batch = collate([(7, torch.zeros(1, 2, 2), 0), (7, torch.zeros(1, 2, 2), 1)])
    assert batch["masks"] == (7, 50)
    assert sample_masks(_Curriculum(), 2, torch.Generator(), step=3, total_steps=9) == (3, 9)
    assert MaskCollator(None, seed=0, total_steps=5)([(0, torch.zeros(2), 0)])["masks"] is None


def test_multimodal_samples_stack_key_by_key_and_slice_by_rows():
    from jepakit.engine.loader import input_pixels, input_rows, stack_inputs

    items = [(3, {"image": torch.full((3, 4, 4), float(i)), "tokens": torch.arange(5) + i}, i) for i in range(4)]
    batch = MaskCollator(None, seed=0, total_steps=5)(items)
    assert batch["x"]["image"].shape == (4, 3, 4, 4) and batch["x"]["tokens"].shape == (4, 5)
    assert batch["x"]["tokens"][:, 0].tolist() == [0, 1, 2, 3] and batch["y"].tolist() == [0, 1, 2, 3]
    rows = input_rows(batch["x"], 1, 3)
    assert rows["image"][:, 0, 0, 0].tolist() == [1.0, 2.0] and rows["tokens"].shape == (2, 5)
    assert input_pixels(batch["x"]) is batch["x"]["image"]
    plain = stack_inputs([torch.zeros(2), torch.ones(2)])
    assert plain.shape == (2, 2) and input_rows(plain, 1, 2).tolist() == [[1.0, 1.0]] and input_pixels(plain) is plain


@dataclass
class _Splits:
    train: list
    test: list


def test_raw_baseline_uses_the_datasets_raw_features():
    from jepakit.engine.evaluate import raw_features

    data = [(torch.full((2, 3), float(i)), i % 2) for i in range(6)]
    flat, _ = raw_features(data)
    assert flat.shape == (6, 6)
    power, y = raw_features(data, transform=lambda x: x.pow(2).sum(dim=(1, 2))[:, None])
    assert power.shape == (6, 1) and power[2, 0] == pytest.approx(24.0) and list(y) == [0, 1, 0, 1, 0, 1]
