"""A-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state

#: A 1/8-second front end: 16 frames x 16 mel bins, so patch 4 gives a 4 x 4 (time x frequency) grid.
FRONTEND = {"sample_rate": 8000, "n_mels": 16, "frames": 16, "win_ms": 8.0, "hop_ms": 8.0, "f_min": 0.0, "f_max": 0.0}
META = {"frontend": FRONTEND, "logmel_mean": -4.0, "logmel_std": 2.5}
TINY = {
    "ajepa/spectrogram-vit": {
        "embed_dim": 32,
        "depth": 1,
        "num_heads": 2,
        "patch_size": 4,
        "_input_shape": (1, 15 * 64),
        "_meta": META,
    },
    "ajepa/curriculum": {"min_keep": 2, "_grid": (4, 4)},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("ajepa", tiny=TINY)
    assert set(checked) == {
        "ajepa/spectrogram-vit",
        "ajepa/curriculum",
        "ajepa/spoken-digits",
        "ajepa/audio-folder",
        "ajepa/soundfont-instruments",
        "ajepa/human-digits",
        "ajepa/ajepa-tiny-instruments",
        "ajepa/ajepa",
        "ajepa/ajepa-tiny",
        "ajepa/ajepa-tiny-plain",
        "ajepa/bench",
    }


def test_masker_settings_meet_the_contract():
    spec = isolated_state().registry.get("maskers", "ajepa/curriculum")
    for tiny in (
        {"_grid": (64, 8)},
        {"_grid": (8, 8), "curriculum": (0.0, 0.0)},
        {"_grid": (8, 8), "curriculum": (1.0, 1.0)},
        {"_grid": (3, 5), "min_keep": 1, "time_prob": 1.0, "curriculum": (0.0, 0.5)},
    ):
        check_masker(spec, tiny, seeds=8)
