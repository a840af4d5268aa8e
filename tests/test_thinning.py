"""Thinning of long series (tb_prune_plugin.thinning) and the routes' max_points parameter."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tb_prune_plugin import thinning


def test_thin_indices_short_series_sent_whole():
    assert thinning.thin_indices(5, 5).tolist() == [0, 1, 2, 3, 4]


def test_thin_indices_evenly_spaced_with_first_and_last():
    assert thinning.thin_indices(10, 4).tolist() == [0, 3, 6, 9]


def test_thin_indices_keeps_points_that_must_not_be_lost():
    keep = np.zeros(100, dtype=bool)
    keep[[37, 38]] = True
    indices = thinning.thin_indices(100, 10, keep).tolist()
    assert {0, 37, 38, 99} <= set(indices) and len(indices) == 10


def test_thin_indices_too_many_to_keep_are_thinned_like_the_rest():
    keep = np.ones(100, dtype=bool)
    assert thinning.thin_indices(100, 5, keep).tolist() == [0, 25, 50, 74, 99]


def test_thin_indices_one_point_is_the_last():
    assert thinning.thin_indices(7, 1).tolist() == [6]


@given(st.integers(0, 5000), st.integers(1, 300), st.data())
def test_thin_indices_bounded_sorted_unique_with_ends(count, max_points, data):
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=count, max_size=count)), bool)
    indices = thinning.thin_indices(count, max_points, keep)
    assert len(indices) <= max_points and len(indices) == min(count, max_points)
    assert (np.diff(indices) > 0).all()
    if count:
        assert indices[-1] == count - 1
        if max_points >= 2:
            assert indices[0] == 0
        if count > max_points and 0 < keep.sum() <= max_points - 2:
            assert set(np.flatnonzero(keep)) <= set(indices.tolist())
