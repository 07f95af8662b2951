"""FPS, kNN grouping and the sequencer, checked against brute force on small clouds."""

from __future__ import annotations

import torch
from jepakit_pointjepa.geometry import (
    farthest_point_sample,
    iterative_nearest_order,
    knn_groups,
    pseudo_random_order,
    sequence,
)


def cloud(b: int = 3, p: int = 200, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, p, 3, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_fps_starts_at_point_zero_and_each_pick_is_farthest_from_the_chosen_set():
    x = cloud()
    idx = farthest_point_sample(x, 10)
    assert idx.shape == (3, 10) and bool((idx[:, 0] == 0).all())
    for b in range(3):
        for i in range(1, 10):
            d = torch.cdist(x[b], x[b, idx[b, :i]]).min(dim=1).values  # [P] distance to the chosen set
            assert int(idx[b, i]) == int(d.argmax())


def test_knn_groups_hold_the_nearest_points_relative_to_their_centre():
    x = cloud(2, 100)
    centres = x[:, :5]
    groups = knn_groups(x, centres, 7)
    assert groups.shape == (2, 5, 7, 3)
    for b in range(2):
        for g in range(5):
            want = torch.cdist(centres[b, g][None], x[b])[0].sort().values[:7]
            torch.testing.assert_close(
                groups[b, g].norm(dim=-1).sort().values, want, atol=1e-3, rtol=0
            )  # cdist rounding


def test_sequencer_starts_at_min_coordinate_sum_and_steps_to_the_nearest_unvisited_centre():
    c = cloud(2, 30, seed=1)
    order = iterative_nearest_order(c)
    for b in range(2):
        o = order[b].tolist()
        assert sorted(o) == list(range(30)) and o[0] == int(c[b].sum(-1).argmin())
        for i in range(1, 30):
            rest = [j for j in range(30) if j not in o[:i]]
            d = (c[b, rest] - c[b, o[i - 1]]).norm(dim=-1)
            assert o[i] == rest[int(d.argmin())]


def test_sequenced_neighbours_are_closer_in_space_than_a_random_order():
    c = cloud(4, 64, seed=2)
    step = {}
    for name in ("nearest", "random"):
        s = torch.gather(c, 1, sequence(c, name)[..., None].expand(-1, -1, 3))
        step[name] = float((s[:, 1:] - s[:, :-1]).norm(dim=-1).mean())
    assert step["nearest"] < 0.5 * step["random"]


def test_random_order_is_a_permutation_and_a_function_of_the_cloud_alone():
    c = cloud(2, 40, seed=3)
    a, b = pseudo_random_order(c), pseudo_random_order(c.clone())
    assert torch.equal(a, b) and all(sorted(r.tolist()) == list(range(40)) for r in a)
    assert not torch.equal(a, iterative_nearest_order(c))
