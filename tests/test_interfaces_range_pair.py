"""jepakit.interfaces.range_pair: the one [low, high] check the plugins' config dataclasses use."""

from __future__ import annotations

import pytest

from jepakit.interfaces import range_pair


def test_accepts_and_normalises_pairs():
    assert range_pair("s", [0.2, 1], 0.0, 1.0) == (0.2, 1.0)
    assert range_pair("s", (0.0, 0.0), 0.0, 1.0) == (0.0, 0.0)  # closed low end by default
    assert range_pair("a", ("0.5", 3), 0.0, float("inf"), open_low=True) == (0.5, 3.0)


@pytest.mark.parametrize(
    ("value", "open_low", "bound"),
    [
        ((0.0, 0.5), True, "0.0 < low"),  # the open low end
        ((-0.1, 0.5), False, "0.0 <= low"),
        ((0.6, 0.5), False, "<= high <="),  # low above high
        ((0.2, 1.5), False, "high <= 1.0"),
        ((0.1,), False, "[low, high] pair"),
        ((0.1, 0.2, 0.3), False, "[low, high] pair"),
    ],
)
def test_rejects_with_the_bound_in_the_message(value, open_low, bound):
    with pytest.raises(ValueError, match="^scale must be a") as err:
        range_pair("scale", value, 0.0, 1.0, open_low=open_low)
    assert bound in str(err.value)


def test_non_numbers_say_so():
    with pytest.raises(ValueError, match="pair of numbers"):
        range_pair("scale", ["a", "b"], 0.0, 1.0)
    with pytest.raises(ValueError, match="pair of numbers"):
        range_pair("scale", 0.5, 0.0, 1.0)
