"""Composition: run files resolve against variants, and every mismatch is rejected before any tensor exists."""

from __future__ import annotations

import pytest

from jepakit.errors import JepakitError
from jepakit.framework.compose import resolve_run

TINY = "ijepa/ijepa-tiny"


def test_variant_defaults_and_overrides_merge(plugin_state):
    run = resolve_run({"variant": TINY, "optim": {"lr": 5e-4}, "masker": {"min_keep": 6}}, plugin_state, ["run.seed=3"])
    assert run.optim.lr == 5e-4 and run.optim.steps == 500
    assert run.parts["masker"].cfg.min_keep == 6 and run.parts["masker"].cfg.num_targets == 4
    assert run.run.seed == 3 and run.run.out == "runs/ijepa-ijepa-tiny"
    assert set(run.losses) == {"pred", "vicreg"}
    assert run.to_dict()["encoder"]["use"] == "core/vit"


@pytest.mark.parametrize(
    ("run", "needle"),
    [
        ({}, "variant: missing"),
        ({"variant": "ijepa/ijepa-tiyn"}, 'unknown variant "ijepa/ijepa-tiyn". Did you mean "ijepa/ijepa-tiny"?'),
        ({"variant": TINY, "optimizer": {}}, 'optimizer: unknown section "optimizer". Did you mean "optim"?'),
        ({"variant": TINY, "optim": {"lr": "fast"}}, "optim.lr: expected a finite number, got 'fast' (str)"),
        ({"variant": TINY, "masker": {"use": "ijepa/multiblok"}}, 'masker.use: unknown masker "ijepa/multiblok"'),
        ({"variant": TINY, "encoder": {"depht": 2}}, 'encoder.depht: unknown key "depht". Did you mean "depth"?'),
        ({"variant": TINY, "loss": {"pred": {"weight": "x"}}}, "loss.pred.weight: expected a number"),
        ({"variant": TINY, "eval": {"heads": ["core/linear"]}}, 'eval.heads[0]: unknown head "core/linear"'),
        ({"variant": TINY, "run": {"precision": "fp16"}}, "run.precision: expected 'fp32' or 'bf16'"),
        (
            {"variant": TINY, "eval": {"heads": {"knn": {"kk": 10}}}},
            'eval.heads.knn.kk: unknown key "kk". Did you mean "k"?',
        ),
        ({"variant": TINY, "eval": {"heads": {"knn": {"k": 0}}}}, "eval.heads.knn: k must be at least 1, got 0"),
        (
            {"variant": TINY, "eval": {"heads": {"knnn": {}}}},
            'eval.heads.knnn: unknown head "knnn". Did you mean "knn"?',
        ),
        ({"variant": TINY, "eval": {"heads": {"knn": 10}}}, "eval.heads.knn: expected a table of settings"),
        ({"variant": TINY, "eval": {"heads": ["core/knn", "knn"]}}, 'eval.heads[1]: a second head named "knn"'),
        (
            {"variant": TINY, "eval": {"primary": "knnn"}},
            'eval.primary: no head named "knnn" in eval.heads. Did you mean "knn"?',
        ),
        (
            {"variant": TINY, "eval": {"heads": [], "primary": "knn"}},
            'eval.primary: "knn" names a head, but the run evaluates none',
        ),
        (
            {"variant": TINY, "run": {"loggers": {"tensorboard": {"subdr": "tb"}}}},
            'run.loggers.tensorboard.subdr: unknown key "subdr". Did you mean "subdir"?',
        ),
    ],
)
def test_bad_runs_name_the_key(plugin_state, run, needle):
    with pytest.raises(JepakitError) as info:
        resolve_run(run, plugin_state)
    assert needle in info.value.message
    assert info.value.hint


def test_head_and_logger_settings_are_settable_and_used(plugin_state):
    from jepakit.engine.run_eval import head_factory

    run = resolve_run(
        {"variant": TINY, "eval": {"heads": {"knn": {"k": 10}}}}, plugin_state, ["run.loggers.tensorboard.flush_secs=5"]
    )
    assert list(run.heads) == ["linear-probe", "knn"]  # a table merges into the variant's heads
    assert head_factory(run.heads["knn"])().cfg.k == 10 and head_factory(run.heads["linear-probe"])().cfg.C == 1.0
    assert run.eval.primary == "linear-probe" and run.eval.heads == ["linear-probe", "knn"]
    assert run.loggers["tensorboard"].cfg.flush_secs == 5 and run.run.loggers == ["tensorboard"]
    # qualified keys, a second head of one kind under its own name, and a named primary
    run = resolve_run(
        {
            "variant": TINY,
            "eval": {"primary": "knn5", "heads": {"core/knn": {"k": 7}, "knn5": {"use": "core/knn", "k": 5}}},
        },
        plugin_state,
    )
    assert {n: p.cfg.k for n, p in run.heads.items() if n != "linear-probe"} == {"knn": 7, "knn5": 5}
    assert run.eval.primary == "knn5"
    assert resolve_run({"variant": TINY, "eval": {"primary": "core/knn"}}, plugin_state).eval.primary == "knn"


def test_the_name_list_form_is_still_the_exact_set(plugin_state):
    run = resolve_run({"variant": TINY}, plugin_state, ['eval.heads=["core/knn"]', 'run.loggers=["core/tensorboard"]'])
    assert list(run.heads) == ["knn"] and run.heads["knn"].cfg.k == 20 and list(run.loggers) == ["tensorboard"]
    assert run.eval.primary == "knn"  # no linear probe: the first head
    assert resolve_run({"variant": "vjepa/vjepa-tiny"}, plugin_state).eval.heads == [
        "linear-probe",
        "attentive-probe",
        "knn",
    ]
    assert list(resolve_run({"variant": "tijepa/tijepa-tiny"}, plugin_state).heads) == []


@pytest.mark.parametrize(
    "extra",
    [
        {"eval": {"heads": {"knn": {"k": 10}}}},
        {"eval": {"heads": ["core/knn", {"use": "core/linear-probe", "C": 0.5}], "primary": "linear-probe"}},
        {"eval": {"heads": []}, "run": {"loggers": {"tensorboard": {"subdir": "tb"}}}},
    ],
)
def test_config_toml_rebuilds_the_same_heads_and_loggers(plugin_state, extra):
    """config.toml (to_dict) resolved again, as `jepakit eval` and `--resume` do, gives the same run."""
    import tomllib

    from jepakit.framework.config import dumps_toml

    run = resolve_run({"variant": TINY, **extra}, plugin_state)
    again = resolve_run(tomllib.loads(dumps_toml(run.to_dict())), plugin_state)
    assert again.to_dict() == run.to_dict()
    assert {n: p.cfg for n, p in again.heads.items()} == {n: p.cfg for n, p in run.heads.items()}
    assert {n: p.cfg for n, p in again.loggers.items()} == {n: p.cfg for n, p in run.loggers.items()}
    assert again.eval.primary == run.eval.primary


def test_layout_mismatch_names_both_parts(plugin_state):
    from jepakit.framework.registry import PartSpec

    plugin_state.registry.add(PartSpec("maskers", "fx/tube", "fx", "math:sqrt", None, layout="grid3d"))
    with pytest.raises(JepakitError) as info:
        resolve_run({"variant": TINY, "masker": {"use": "fx/tube"}}, plugin_state)
    msg = info.value.message
    assert "masker.use" in msg and '"fx/tube"' in msg and '"core/vit"' in msg and "grid3d" in msg and "grid2d" in msg


def test_a_grid2d_part_fits_a_time_frequency_grid_but_not_the_converse(plugin_state):
    from jepakit.framework.compose import layout_fits
    from jepakit.framework.registry import PartSpec

    assert layout_fits("grid2d", "tf2d") and layout_fits("", "electrodes") and layout_fits("tf2d", "tf2d")
    assert not layout_fits("tf2d", "grid2d") and not layout_fits("grid3d", "tf2d")
    plugin_state.registry.add(PartSpec("maskers", "fx/strips", "fx", "math:sqrt", None, layout="tf2d"))
    with pytest.raises(JepakitError, match=r'masker "fx/strips" works on tf2d tokens but encoder "core/vit"'):
        resolve_run({"variant": TINY, "masker": {"use": "fx/strips"}}, plugin_state)


def test_modality_mismatch_names_both_parts(plugin_state):
    from jepakit.framework.registry import PartSpec

    plugin_state.registry.add(PartSpec("datasets", "fx/eeg", "fx", "math:sqrt", None, modality="eeg"))
    with pytest.raises(JepakitError, match='dataset "fx/eeg" is eeg data but encoder "core/vit" encodes image'):
        resolve_run({"variant": TINY, "data": {"use": "fx/eeg"}}, plugin_state)


def test_a_multimodal_dataset_feeds_an_encoder_of_one_of_its_modalities(plugin_state):
    from jepakit.framework.registry import PartSpec

    plugin_state.registry.add(PartSpec("datasets", "fx/captioned", "fx", "math:sqrt", None, modality="text-image"))
    plugin_state.registry.add(PartSpec("datasets", "fx/speech", "fx", "math:sqrt", None, modality="text-audio"))
    resolve_run({"variant": TINY, "data": {"use": "fx/captioned"}}, plugin_state)  # the image tower fits
    with pytest.raises(JepakitError, match='"fx/speech" is text-audio data but encoder "core/vit" encodes image'):
        resolve_run({"variant": TINY, "data": {"use": "fx/speech"}}, plugin_state)


def test_grid_too_small_for_masks_is_a_config_error(plugin_state):
    from jepakit.engine.jepa import build

    run = resolve_run({"variant": TINY, "masker": {"min_keep": 60}}, plugin_state)
    with pytest.raises(JepakitError, match="masker.min_keep"):
        build(run)


def _shipped() -> dict:
    import tomllib
    from pathlib import Path

    return tomllib.loads((Path(__file__).parents[1] / "plugins.toml").read_text())["variants"]


#: Toy sizes per shipped composition, so each trains a few steps in seconds.
TOY = {
    "encoder.depth=1",
    "predictor.depth=1",
    "run.workers=0",
    "run.ckpt_every=3",
    "optim.steps=6",
    "optim.batch_size=32",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_shipped()))
def test_each_shipped_composition_trains_and_evaluates(tmp_path, name):
    """plugins.toml's composed variants (parts from several plugins) train and evaluate at toy size."""
    from pathlib import Path

    from jepakit.engine.train import train
    from jepakit.framework.plugins import load_plugins

    spec = _shipped()[name]
    state = load_plugins(Path(__file__).parents[1] / "plugins.toml")
    run = resolve_run({"variant": f"local/{name}"}, state, [*sorted(TOY), f'run.out="{tmp_path / "run"}"'])
    owners = {p.spec.plugin for p in [*run.parts.values(), *run.losses.values()]}
    assert len(owners - {"core"}) >= 1 and run.parts["encoder"].spec.name == spec["encoder"]["use"]
    ev = train(run)["eval"]
    assert ev["variant"] == f"local/{name}" and ev["random_init"] is not None and ev["trained"] is not None
