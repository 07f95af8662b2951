"""V-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state

TINY = {
    "vjepa/video-vit": {"embed_dim": 32, "depth": 1, "num_heads": 2, "patch_size": 4, "_input_shape": (1, 4, 16, 16)},
    "vjepa/tube": {"_grid": (4, 4, 4)},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("vjepa", tiny=TINY)
    assert set(checked) == {
        "vjepa/video-vit",
        "vjepa/tube",
        "vjepa/moving-digits",
        "vjepa/video-folder",
        "vjepa/real-footage",
        "vjepa/vjepa-tiny-footage",
        "vjepa/vjepa",
        "vjepa/vjepa-tiny",
        "vjepa/vjepa-tiny-plain",
        "vjepa/bench",
    }


def test_masker_settings_meet_the_contract():
    spec = isolated_state().registry.get("maskers", "vjepa/tube")
    for tiny in (
        {"_grid": (8, 14, 14)},
        {"generator": "long", "_grid": (2, 6, 6)},
        {"temporal_scale": (0.5, 1.0), "_grid": (4, 4, 4)},
    ):
        check_masker(spec, tiny)
