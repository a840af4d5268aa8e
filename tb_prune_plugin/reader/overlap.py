"""Cross-run mask overlap: how alike the kept sets of one weight are in different runs.

For runs whose weight has the same path and shape, the overlap of two masks is the
intersection over union of their kept sets, |A & B| / |A | B| (None when both keep nothing).
It is given for the last recorded mask of each run, as a runs x runs matrix, and over steps
for each pair of runs: at every step of the union of the two runs' mask records, from the
first step at which both have a mask, the masks in force there (the latest record at or before
the step, as /mask shows it) are compared. Runs are grouped by the shape of their last mask;
a step at which the two masks in force differ in shape is left out of their pair.

The counts are taken on the packed masks (`mask_codec.PackedMask`: AND / OR and a popcount per
byte). The runs' records are walked together in step order, decoded through the reader's mask
cache a batch at a time per run (`mask_batches`: a delta-coded chain decodes forward), holding
one mask per run: memory stays bounded by a batch per run whatever the number of records. A
result is kept per weight and the last record (step, wall time) and record count of every run
it compares.

`mask_compare` gives the three sets of one pair at one step (kept in both, only in A, only in
B) for the /mask route's `compare_run`.
"""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
from tensorboard import errors

from tb_prune_plugin import mask_codec
from tb_prune_plugin.reader import mask_batches

OVER_STEPS = "mask in force at each step of the union of both runs' mask records"


def kept_overlap(a, b):
    """`(|A & B|, |A | B|)` of the kept entries of `PackedMask`s `a` and `b` (one shape)."""
    if a.shape != b.shape:
        raise ValueError("cannot compare masks of shapes %s and %s" % (a.shape, b.shape))
    count = mask_codec.count_bits
    return count(np.bitwise_and(a.bits, b.bits)), count(np.bitwise_or(a.bits, b.bits))


def iou(intersection, union):
    """`intersection / union`, None when the union is empty (both masks keep nothing)."""
    return intersection / union if union else None


def mask_compare(a, b):
    """`(both, only_a, only_b)`: `PackedMask`s of the entries kept in both `a` and `b`, only
    in `a`, only in `b` (one shape; the padding bits stay 0)."""
    kept = kept_overlap(a, b)[0]
    both = np.bitwise_and(a.bits, b.bits)
    only_a = np.bitwise_and(a.bits, np.invert(b.bits))
    only_b = np.bitwise_and(b.bits, np.invert(a.bits))
    return (
        mask_codec.PackedMask(a.shape, both, kept),
        mask_codec.PackedMask(a.shape, only_a, a.kept - kept),
        mask_codec.PackedMask(a.shape, only_b, b.kept - kept),
    )


@dataclasses.dataclass
class PairOverlap:
    """The overlap of two runs' masks in force at each step where both have one (of the
    group's shape): `steps`, `intersection`, `union` and `iou` aligned."""

    runs: Tuple[str, str]
    steps: List[int] = dataclasses.field(default_factory=list)
    intersection: List[int] = dataclasses.field(default_factory=list)
    union: List[int] = dataclasses.field(default_factory=list)
    iou: List[Optional[float]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class OverlapGroup:
    """Runs whose last mask of the weight has one shape, and their overlaps.

    Attributes:
      shape, size: the masks' shape and number of entries.
      runs: the runs, in the order asked.
      last_steps: the step of each run's last readable mask.
      kept: the kept count of each run's last mask.
      intersection, union: runs x runs matrices of the last masks' |A & B| and |A | B|.
      iou: runs x runs matrix of the last masks' IoU (None: both keep nothing).
      pairs: the `PairOverlap` over steps of each pair (i < j, in row order).
    """

    shape: tuple
    size: int
    runs: List[str]
    last_steps: List[int]
    kept: List[int]
    intersection: List[List[int]]
    union: List[List[int]]
    iou: List[List[Optional[float]]]
    pairs: List[PairOverlap]


def _last_matrices(masks):
    n = len(masks)
    inter = [[0] * n for _ in range(n)]
    union = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            inter[i][j], union[i][j] = kept_overlap(masks[i], masks[j])
            inter[j][i], union[j][i] = inter[i][j], union[i][j]
    ious = [[iou(inter[i][j], union[i][j]) for j in range(n)] for i in range(n)]
    return inter, union, ious


class MaskOverlap:
    """The `PruningReader` methods for cross-run overlap (a mixin, as `Masks`)."""

    def mask_overlap(self, ctx, experiment_id, runs, weight):
        """`([OverlapGroup], [missing run])` for `weight` in `runs`: the runs without the
        weight or without a readable mask of it are listed in `missing`; the others are
        grouped by the shape of their last mask (groups in order of their first run)."""
        listings, missing = {}, []
        for run in runs:
            try:
                tag, data = self.mask_data(ctx, experiment_id, run, weight)
            except errors.NotFoundError:
                tag, data = None, []
            if data:
                listings[run] = (tag, data)
            else:
                missing.append(run)
        key = ("overlap", experiment_id, weight)
        key += tuple((r, len(d), d[-1].step, d[-1].wall_time) for r, (_, d) in listings.items())
        result = self._analysis_cache.get(key)
        if result is None:
            result = self._overlap(ctx, listings)
            self._analysis_cache.put(key, result)
        groups, unreadable = result
        return groups, missing + [r for r in runs if r in unreadable]

    def _run_masks(self, ctx, run, tag, data):
        """Yields `(step, PackedMask)` of `run`'s decodable records in step order, decoding
        a batch at a time (`mask_batches`)."""
        for datum, mask in mask_batches.decoded_in_order(
            lambda batch, started: self._packed_masks(ctx, run, tag, batch, None, data, started),
            data,
            lambda batch: self._read_ahead(ctx, batch),
        ):
            if mask is not None:
                yield datum.step, mask

    def _overlap(self, ctx, listings):
        """`(groups, {runs without a readable mask})`: all runs' records walked together in
        step order, one mask in force per run, the pairs compared at each step."""
        streams = {r: self._run_masks(ctx, r, tag, data) for r, (tag, data) in listings.items()}
        pending = {r: next(s, None) for r, s in streams.items()}
        current: Dict[str, Tuple[int, object]] = {}
        pairs = {}  # (run a, run b) -> PairOverlap, for the pairs seen with one shape
        while any(p is not None for p in pending.values()):
            step = min(p[0] for p in pending.values() if p is not None)
            changed = set()
            for run, p in pending.items():
                if p is not None and p[0] == step:
                    current[run] = p
                    changed.add(run)
                    pending[run] = next(streams[run], None)
            names = [r for r in listings if r in current]
            _compare_at(step, names, changed, current, pairs)
        unreadable = {r for r in listings if r not in current}
        return _groups(listings, current, pairs), unreadable


def _compare_at(step, names, changed, current, pairs):
    """Appends to `pairs` the overlap at `step` of every two of `names`' masks in force there
    (`current`) that have one shape, for the pairs one of whose runs recorded a mask at `step`
    (in `changed`): a pair's steps are the union of its two runs' records."""
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            mask_a, mask_b = current[a][1], current[b][1]
            if (a not in changed and b not in changed) or mask_a.shape != mask_b.shape:
                continue
            pair = pairs.setdefault((a, b), PairOverlap((a, b)))
            inter, union = kept_overlap(mask_a, mask_b)
            pair.steps.append(step)
            pair.intersection.append(inter)
            pair.union.append(union)
            pair.iou.append(iou(inter, union))


def _groups(listings, current, pairs):
    """The `OverlapGroup`s of the runs with a mask (in `listings` order) by last shape."""
    by_shape = {}
    for run in listings:
        if run in current:
            by_shape.setdefault(current[run][1].shape, []).append(run)
    groups = []
    for shape, names in by_shape.items():
        masks = [current[r][1] for r in names]
        inter, union, ious = _last_matrices(masks)
        group_pairs = []
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                group_pairs.append(pairs.get((a, b)) or PairOverlap((a, b)))
        groups.append(
            OverlapGroup(
                shape=shape,
                size=masks[0].size,
                runs=names,
                last_steps=[current[r][0] for r in names],
                kept=[m.kept for m in masks],
                intersection=inter,
                union=union,
                iou=ious,
                pairs=group_pairs,
            )
        )
    return groups
