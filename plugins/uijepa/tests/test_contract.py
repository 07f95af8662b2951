"""UI-JEPA's parts through jepakit's contract suite, and its composition from the V-JEPA plugin's parts."""

from __future__ import annotations

from jepakit.framework.compose import resolve_run
from jepakit.testing.contracts import check_plugin, isolated_state


def test_plugin_meets_the_contracts():
    checked = check_plugin("uijepa")
    assert set(checked) == {
        "uijepa/ui-sessions",
        "uijepa/session-file",
        "uijepa/intent",
        "uijepa/uijepa",
        "uijepa/uijepa-tiny",
        "uijepa/bench",
    }


def test_encoder_and_masker_come_from_the_vjepa_plugin():
    state = isolated_state()
    for variant in ("uijepa/uijepa", "uijepa/uijepa-tiny"):
        run = resolve_run({"variant": variant}, state)
        assert (run.parts["encoder"].spec.name, run.parts["encoder"].spec.plugin) == ("vjepa/video-vit", "vjepa")
        assert (run.parts["masker"].spec.name, run.parts["masker"].spec.plugin) == ("vjepa/tube", "vjepa")
        assert run.parts["method"].spec.name == "uijepa/intent"
        masker = run.parts["masker"].cfg  # temporal masking: whole frames over a span of the clip
        assert tuple(masker.short_scale) == (1.0, 1.0) and masker.generator == "short"
