"""`jepakit validate` wires Point-JEPA's shapes (its method declares core's wiring): a masker setting the patch grid
cannot hold fails in validate, before any tensor, as it would at build time."""

from __future__ import annotations

import pytest

from jepakit.errors import JepakitError
from jepakit.framework.checks import check_run
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins


@pytest.fixture(scope="module")
def state():
    return load_plugins()


def test_a_masker_the_patch_grid_cannot_hold_fails_validate(state):
    bad = ["masker.target_scale=[0.001,0.002]"]
    with pytest.raises(JepakitError, match=r"masker: \(32,\) patches cannot hold target runs"):
        check_run(resolve_run({"variant": "pointjepa/pointjepa-tiny"}, state, bad))


def test_the_presets_pass(state):
    for variant in ("pointjepa/pointjepa-tiny", "3djepa/3djepa-tiny"):
        check_run(resolve_run({"variant": variant}, state, []))
