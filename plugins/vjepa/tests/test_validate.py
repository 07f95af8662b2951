"""`jepakit validate` checks V-JEPA's parts without tensors: the clip shape reaches the encoder's check, the
tubelet grid reaches the tube masker's, so settings that fail at build time fail in validate first."""

from __future__ import annotations

import pytest

from jepakit.errors import JepakitError
from jepakit.framework.checks import check_run
from jepakit.framework.compose import resolve_run
from jepakit.framework.plugins import load_plugins


@pytest.fixture(scope="module")
def state():
    return load_plugins()


@pytest.mark.parametrize(
    "overrides,needle",
    [
        (["encoder.tubelet_size=3"], "tubelet_size: 3 does not divide the clip length 8"),
        (["encoder.patch_size=5"], "patch_size: 5 does not divide the frame size 16x16"),
        (["masker.min_keep=60"], "min_keep = 60 cannot be met: a 4x4x4 grid holds 64 tokens"),
    ],
)
def test_validate_refuses_what_the_build_would(state, overrides, needle):
    with pytest.raises(JepakitError, match=needle):
        check_run(resolve_run({"variant": "vjepa/vjepa-tiny"}, state, overrides))


def test_the_presets_pass(state):
    for variant in ("vjepa/vjepa-tiny", "vjepa/vjepa", "vjepa/vjepa-tiny-footage"):
        check_run(resolve_run({"variant": variant}, state, []))
