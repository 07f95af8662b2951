"""I-JEPA's parts through jepakit's reusable contract suite (the paper variant is only resolved, never built)."""

from __future__ import annotations

import pytest

from jepakit.testing.contracts import check_masker, check_plugin, isolated_state


def test_plugin_meets_the_contracts():
    checked = check_plugin("ijepa")
    assert set(checked) == {
        "ijepa/multiblock",
        "ijepa/ijepa",
        "ijepa/ijepa-tiny",
        "ijepa/ijepa-tiny-plain",
        "ijepa/ijepa-fmnist",
        "ijepa/bench",
    }


@pytest.mark.parametrize(
    "tiny",
    [
        {"min_keep": 4, "_grid": (8, 8)},  # the tiny variants' grid
        {"min_keep": 4, "_grid": (8, 8), "reference_quirks": True},
        {"allow_overlap": True},
        {"num_context": 2, "num_targets": 2, "_grid": (12, 16)},
    ],
)
def test_masker_settings_meet_the_contract(tiny):
    check_masker(isolated_state().registry.get("maskers", "ijepa/multiblock"), tiny)


def test_a_grid_too_small_for_the_defaults_is_reported_as_a_build_failure():
    with pytest.raises(AssertionError, match=r'masker "ijepa/multiblock" failed the "build" check'):
        check_plugin("ijepa", tiny={"ijepa/multiblock": {"_grid": (8, 8)}})
