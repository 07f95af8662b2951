"""ACT-JEPA's parts through jepakit's contract suite (datasets are only checked as configs: building them runs
the simulator, which test_data.py does at toy size)."""

from __future__ import annotations

from jepakit.testing.contracts import check_plugin

META = {"obs_dim": 39, "act_dim": 4, "state_groups": [4, 7, 7, 4, 7, 7, 3]}
TINY = {
    "actjepa/obs-encoder": {"embed_dim": 16, "depth": 1, "num_heads": 2, "_input_shape": (5, 45), "_meta": META},
    "actjepa/act-jepa": {
        "decoder_dim": 16,
        "decoder_depth": 1,
        "predictor_dim": 16,
        "predictor_depth": 1,
        "num_heads": 2,
    },
}


def test_plugin_meets_the_contracts():
    checked = check_plugin("actjepa", tiny=TINY)
    assert sorted(checked) == sorted(
        [
            "actjepa/obs-encoder",
            "actjepa/metaworld-demos",
            "actjepa/trajectories",
            "actjepa/act-jepa",
            "actjepa/actjepa",
            "actjepa/actjepa-tiny",
            "actjepa/bench",
        ]
    )
