"""TI-JEPA's parts through jepakit's contract suite, and its composition from core's and I-JEPA's parts."""

from __future__ import annotations

from jepakit.framework.compose import resolve_run
from jepakit.testing.contracts import check_plugin, isolated_state


def test_plugin_meets_the_contracts():
    checked = check_plugin("tijepa")
    # "tijepa/tijepa" is both the method and the paper's variant (two kinds, one name)
    assert sorted(checked) == [
        "tijepa/bench",
        "tijepa/captioned-shapes",
        "tijepa/pair-file",
        "tijepa/tijepa",
        "tijepa/tijepa",
        "tijepa/tijepa-tiny",
    ]


def test_image_tower_and_masker_are_composed_by_name():
    state = isolated_state()
    for variant in ("tijepa/tijepa", "tijepa/tijepa-tiny"):
        run = resolve_run({"variant": variant}, state)
        assert run.parts["encoder"].spec.name == "core/vit"
        assert (run.parts["masker"].spec.name, run.parts["masker"].spec.plugin) == ("ijepa/multiblock", "ijepa")
        assert run.parts["method"].spec.name == "tijepa/tijepa"
        assert run.losses["energy"].spec.name == "core/l2"  # the paper's energy: latent L2
    paper = resolve_run({"variant": "tijepa/tijepa"}, state).parts["method"].cfg
    assert paper.freeze_image and paper.freeze_text  # "selective freezing" of the pretrained towers
