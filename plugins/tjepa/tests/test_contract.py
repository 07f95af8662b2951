"""T-JEPA's parts through jepakit's contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state

#: a toy table: 3 numbers and 2 categories (4 and 3 codes, 0 = missing), plus one [REG] token
META = {"columns": ["a", "b", "c", "d", "e"], "cardinalities": [0, 0, 4, 0, 3]}
TINY = {
    "tjepa/transformer": {"embed_dim": 32, "depth": 1, "num_heads": 2, "_input_shape": (5,), "_meta": META},
    "tjepa/columns": {"context_share": [0.2, 0.4], "target_share": [0.2, 0.4], "_grid": (6,), "_meta": META},
    "tjepa/predictor": {"embed_dim": 16, "depth": 1, "num_heads": 2, "_grid": (6,), "_embed_dim": 32},
    "tjepa/mlp-probe": {"epochs": 5},
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("tjepa", tiny=TINY)
    assert set(checked) == {
        "tjepa/transformer",
        "tjepa/columns",
        "tjepa/predictor",
        "tjepa/adult",
        "tjepa/table",
        "tjepa/mlp-probe",
        "tjepa/jepa",
        "tjepa/tjepa",
        "tjepa/tjepa-tiny",
        "tjepa/tjepa-tiny-noreg",
        "tjepa/bench",
    }


def test_masker_settings_meet_the_contract():
    spec = isolated_state().registry.get("maskers", "tjepa/columns")
    for tiny in (
        {"_grid": (15,), "_meta": {"columns": list("abcdefghijklmn")}},  # Adult: 14 columns + 1 [REG]
        {"context_share": [0.1, 0.9], "target_share": [0.1, 0.9], "num_targets": 2, "_grid": (10,)},  # no [REG]
        {"context_share": [0.5, 0.5], "target_share": [0.5, 0.5], "_grid": (5,), "_meta": {"columns": ["a", "b"]}},
    ):
        check_masker(spec, tiny)
