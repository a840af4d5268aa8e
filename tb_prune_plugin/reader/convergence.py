"""Mask convergence: how far each recorded mask of a weight is from the last one.

The distance of a mask from the last recorded mask of its weight is the number of entries
where the two differ (the Hamming distance), as a fraction of the mask's size. Its curve over
the steps shows when a run's masks settle: the early-bird step is the first recorded step from
which that fraction stays under `EARLY_BIRD_FRACTION` to the end (the last mask is at distance
0, so every run with a mask has one). A mask of another shape than the last (a weight resized
between trainings) has no distance, and the early-bird step comes after it.

The distances are counted on the packed masks (`mask_codec.PackedMask`: XOR and a popcount per
byte), never unpacked, and the masks are decoded through the reader's mask cache a batch of
records at a time in step order (`mask_batches`: a delta-coded chain decodes forward), so the
memory held is bounded by a batch whatever the number of records. A result is kept per run,
weight and last record.
"""

import dataclasses
from typing import List, Optional

import numpy as np
from tensorboard import errors

from tb_prune_plugin import mask_codec
from tb_prune_plugin.reader import mask_batches

# The early-bird point: the first step from which the distance to the last mask stays under
# this fraction of the mask's size.
EARLY_BIRD_FRACTION = 0.01


def mask_distance(a, b):
    """The number of entries where `PackedMask`s `a` and `b` (of one shape) differ."""
    if a.shape != b.shape:
        raise ValueError("cannot compare masks of shapes %s and %s" % (a.shape, b.shape))
    # The padding bits of the last byte are 0 in both, so they never count.
    return mask_codec.count_bits(np.bitwise_xor(a.bits, b.bits))


def early_bird_index(fractions, limit=EARLY_BIRD_FRACTION):
    """The first index from which every value of `fractions` is a number under `limit`
    (None values break the run), or None if the last one is not."""
    index = None
    for i in range(len(fractions) - 1, -1, -1):
        if fractions[i] is None or not fractions[i] < limit:
            break
        index = i
    return index


@dataclasses.dataclass(frozen=True)
class Convergence:
    """The distance of each decodable mask record of a weight from the last one.

    Attributes:
      steps: the steps of the mask records, ascending.
      differing: per step, the entries that differ from the last mask (None: another shape).
      fractions: `differing / size` per step (None: another shape).
      size: the number of entries of the last mask.
      shape: the last mask's shape.
      early_bird_step: the first step from which `fractions` stays under `limit`.
      limit: the early-bird fraction (`EARLY_BIRD_FRACTION`).
      unreadable: how many mask records could not be decoded (left out).
    """

    steps: List[int]
    differing: List[Optional[int]]
    fractions: List[Optional[float]]
    size: int
    shape: tuple
    early_bird_step: Optional[int]
    limit: float
    unreadable: int


def _result(steps, differing, last, unreadable):
    size = last.size
    fractions = [None if d is None else d / size if size else 0.0 for d in differing]
    index = early_bird_index(fractions)
    return Convergence(
        steps=list(steps),
        differing=list(differing),
        fractions=fractions,
        size=size,
        shape=last.shape,
        early_bird_step=None if index is None else steps[index],
        limit=EARLY_BIRD_FRACTION,
        unreadable=unreadable,
    )


class MaskConvergence:
    """The `PruningReader` method for mask convergence (a mixin, as `Masks`)."""

    def mask_convergence(self, ctx, experiment_id, run, weight):
        """The `Convergence` of `weight`'s mask records in `run`, or None if it has no
        decodable mask record.

        Kept while the series' last record (step and wall time) and record count stay the
        same: a new record, or a resumed training, computes it again.

        Raises:
          NotFoundError: unknown run or weight.
        """
        tag, data = self.mask_data(ctx, experiment_id, run, weight)
        if not data:
            return None
        key = ("convergence", experiment_id, run, weight, len(data))
        key += (data[-1].step, data[-1].wall_time)
        result = self._analysis_cache.get(key)
        if result is None:
            result = self._convergence(ctx, experiment_id, run, weight, (tag, data))
            self._analysis_cache.put(key, result)
        return result or None

    def _convergence(self, ctx, experiment_id, run, weight, mask_data):
        """`mask_convergence` computed (False: no decodable mask): the last decodable mask
        first, then the distances in step order, a batch at a time (`mask_batches`), only the last
        mask held throughout."""
        tag, data = mask_data
        try:
            at = self.mask_at(ctx, experiment_id, run, weight, data[-1].step, mask_data)
        except errors.NotFoundError:
            return False
        last = at.packed
        todo = [d for d in data if d.step <= at.step]
        steps, differing = [], []
        for datum, mask in mask_batches.decoded_in_order(
            lambda batch, started: self._packed_masks(ctx, run, tag, batch, None, data, started),
            todo,
            lambda batch: self._read_ahead(ctx, batch),
        ):
            if mask is not None:
                steps.append(datum.step)
                differing.append(mask_distance(mask, last) if mask.shape == last.shape else None)
        return _result(steps, differing, last, unreadable=len(data) - len(steps))

    def mask_convergence_many(self, ctx, experiment_id, runs, weight):
        """`({run: Convergence}, [missing run])` for `weight` in each of `runs`: the runs
        without the weight, or without a decodable mask of it, are listed in `missing`."""
        found, missing = {}, []
        for run in runs:
            try:
                result = self.mask_convergence(ctx, experiment_id, run, weight)
            except errors.NotFoundError:
                result = None
            if result is None:
                missing.append(run)
            else:
                found[run] = result
        return found, missing
