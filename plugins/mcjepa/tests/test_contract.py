"""MC-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

from jepakit.testing.contracts import check_encoder, check_plugin, isolated_state

TINY = {
    "mcjepa/convnext-pyramid": {"dims": (8, 16), "depths": (1, 2), "_input_shape": (1, 2, 16, 16)},
    "mcjepa/joint": {"corr_radius": 1, "head_dims": (8,), "expander_dims": (16, 16)},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("mcjepa", tiny=TINY)
    assert sorted(checked) == sorted(
        [
            "mcjepa/convnext-pyramid",
            "mcjepa/flow-digits",
            "mcjepa/joint",
            "mcjepa/mcjepa",
            "mcjepa/mcjepa-tiny",
            "mcjepa/bench",
        ]
    )


def test_encoder_reads_single_images_too():
    spec = isolated_state().registry.get("encoders", "mcjepa/convnext-pyramid")
    check_encoder(spec, {"dims": (8, 8, 16), "depths": (1, 1, 1), "kernel_size": 3, "_input_shape": (3, 16, 16)})
