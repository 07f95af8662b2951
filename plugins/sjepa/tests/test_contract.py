"""S-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

from jepakit_sjepa.montage import channel_set

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state

_, POS = channel_set("1020-19")
META = {"ch_pos": POS[:8].tolist()}  # 8 electrodes: a toy cap
CONV = [[8, 8, 4], [16, 2, 2]]  # 64 samples -> 7 tokens per channel
TINY = {
    "sjepa/eeg-transformer": {
        "conv_layers": CONV,
        "embed_dim": 32,
        "depth": 1,
        "num_heads": 2,
        "channel_dims": 12,
        "_input_shape": (8, 64),
        "_meta": META,
    },
    "sjepa/spatial": {"_grid": (8, 3), "_meta": META},
    "sjepa/decoder": {
        "embed_dim": 24,
        "depth": 1,
        "num_heads": 2,
        "channel_dims": 12,
        "_grid": (8, 3),
        "_embed_dim": 32,
        "_meta": META,
    },
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("sjepa", tiny=TINY)
    assert set(checked) == {
        "sjepa/eeg-transformer",
        "sjepa/spatial",
        "sjepa/decoder",
        "sjepa/sim-eeg",
        "sjepa/eeg-files",
        "sjepa/contextual",
        "sjepa/post-local",
        "sjepa/pre-local",
        "sjepa/jepa",
        "sjepa/sjepa",
        "sjepa/sjepa-tiny",
        "sjepa/bench",
    }


def test_masker_settings_meet_the_contract():
    spec = isolated_state().registry.get("maskers", "sjepa/spatial")
    for tiny in (
        {"diameters": [0.4], "_grid": (19, 4), "_meta": {"ch_pos": POS.tolist()}},
        {"diameters": [1.2], "min_context_channels": 1, "_grid": (8, 1), "_meta": META},
    ):
        check_masker(spec, tiny)
