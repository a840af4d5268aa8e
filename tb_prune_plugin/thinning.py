"""Thinning long series for charts: which recorded steps a response sends.

A run recorded at every step for 100,000 steps has 100,000 points per series;
a chart is a few hundred pixels wide. Routes send at most `max_points` of
them: evenly spaced over the series, always the first and the last, and the
points that must not be lost (such as the steps where a mask changed) as long
as they fit.
"""

import numpy as np


def thin(count, max_points, keep=None):
    """`thin_indices`, where `max_points` None means every point: the one thinning of every
    series a route sends."""
    if max_points is None:
        return np.arange(count, dtype=np.int64)
    return thin_indices(count, max_points, keep)


def thin_indices(count, max_points, keep=None):
    """Sorted indices (int64) of at most `max_points` of `count` points.

    Args:
      count: number of points in the series.
      max_points: at most this many indices (>= 2 unless `count` is smaller).
      keep: optional boolean array of length `count`: points to send in any case,
        when there are no more of them than `max_points` (otherwise they are
        thinned like the rest).
    """
    if count <= max_points:
        return np.arange(count, dtype=np.int64)
    if max_points < 2:
        return np.array([count - 1], dtype=np.int64)[:max_points]
    chosen = np.zeros(count, dtype=bool)
    chosen[[0, count - 1]] = True
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if 0 < keep.sum() <= max_points - 2:
            chosen |= keep
    room = max_points - int(chosen.sum())
    if room > 0:
        even = np.unique(np.linspace(0, count - 1, room + 2).round().astype(np.int64))
        free = even[~chosen[even]]
        chosen[free[:room]] = True
        room = max_points - int(chosen.sum())
    if room > 0:  # rounding made some evenly spaced points coincide: spread the rest likewise
        rest = np.flatnonzero(~chosen)
        chosen[rest[np.linspace(0, len(rest) - 1, room).round().astype(np.int64)]] = True
    return np.flatnonzero(chosen)
