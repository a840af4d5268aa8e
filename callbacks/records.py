"""The summary values of one recorded step, built from one measure of the weights.

`StepRecords` keeps what a record depends on from earlier records: each weight's mask at
the previous record (for churn: newly pruned, regrown) and which masks the current event
file already holds (a mask is written when it changed, and again in a new event file).
Masks are encoded in one place, `StepRecords.mask_value`.
"""

import math

import numpy as np

from tb_prune_plugin import metadata, summary
from tb_prune_plugin.callbacks import mask_delta, measure

_FIELD_INDEX = {name: i for i, name in enumerate(measure.DEVICE_FIELDS)}
# weight_stats fields the measuring graph computes as they are recorded; the others are
# derived here (sparsity, churn) or come from the schedule (target, should_prune).
_COPIED_FIELDS = tuple(
    name
    for name in metadata.WEIGHT_STATS_FIELDS
    if name in _FIELD_INDEX and name not in ("nonzeros", "target_sparsity", "should_prune")
)


class StepRecords:
    """Builds the summary values of recorded steps for a list of `PrunableWeight`s.

    Args:
      target_sparsity: the monitor's `target_sparsity` argument (manual pruning targets).
      time_series_scalars: also build sparsity, target and threshold as ordinary scalars.
    """

    def __init__(self, target_sparsity=None, time_series_scalars=True):
        self.target_sparsity = target_sparsity
        self.time_series_scalars = time_series_scalars
        self.weights = []
        self.model_constants = None
        self.prev_masks = {}  # path -> mask at the previous recorded step (for churn)
        self.masks_on_disk = set()  # paths whose current mask is in the current event file
        self.mask_deltas = mask_delta.MaskDeltaEncoder()  # keyframe or delta, per mask record

    def set_weights(self, weights, model_constants):
        """Records `weights` from now on (another model): its first record carries every mask.

        The previous masks stay for churn: NaN where shapes differ.
        """
        self.weights = list(weights)
        self.model_constants = model_constants
        self.masks_on_disk = set()

    def keep_masks(self, masks):
        """Takes `masks` (one per weight) as the previous record's, without writing them."""
        for w, mask in zip(self.weights, masks):
            self.prev_masks[w.path] = mask

    def forget_masks_on_disk(self):
        """The event file lost records (or is new): the next record carries every mask."""
        self.masks_on_disk = set()

    def mask_value(self, path, mask, step, writer):
        """The `Summary.Value` of one weight's mask at recorded step `step`, a keyframe or a
        delta from its previous record (`mask_delta`); a keyframe when the current event file
        does not hold the weight's mask yet.

        The only place a mask is encoded for writing.
        """
        keyframe = path not in self.masks_on_disk
        return self.mask_deltas.record(path, mask, step, writer, keyframe=keyframe)

    def weight_values(self, step, measured, writer=None):
        """The summary values of every weight and of the model at `step`.

        `measured` is what `Measurer.measure()` returned for this step; `writer` the
        `GuardedWriter` the values go to (whether a mask delta's base may be lost to it).
        """
        figures, histograms, masks, other_nonzeros = measured
        values = []
        prunable_nonzeros = 0
        sparse_bytes = self.model_constants["other_dense_bytes"]
        for i, w in enumerate(self.weights):
            row, mask = figures[i], masks[i]
            nonzeros = int(row[_FIELD_INDEX["nonzeros"]])
            prunable_nonzeros += nonzeros
            sparse_bytes += nonzeros * measure.itemsize(w.variable) + measure.packed_mask_bytes(
                w.size
            )
            newly, regrown, changed = self._churn(w.path, mask)
            target, should_prune = self._target(w, step, row)
            stats = _weight_stats(w, row, nonzeros, target, should_prune)
            stats.update(newly_pruned=newly, regrown=regrown, mask_changed=1.0 if changed else 0.0)
            stats["nonfinite"] = row[_FIELD_INDEX["nonfinite"]]
            values.append(summary.weight_stats(w.path, stats))
            if histograms is not None:  # None: this record carries no histograms
                values.append(
                    summary.weight_histogram(
                        w.path, 0.0, row[_FIELD_INDEX["histogram_hi"]], histograms[i]
                    )
                )
            if changed or w.path not in self.masks_on_disk:
                mask_value = self.mask_value(w.path, mask, step, writer)
                values += [mask_value, summary.mask_header(w.path, mask_value)]
                self.masks_on_disk.add(w.path)
            if self.time_series_scalars:
                values.extend(
                    scalar_values(
                        w.path,
                        sparsity=stats["sparsity"],
                        target_sparsity=target,
                        threshold=stats["threshold"],
                    )
                )
        values.extend(self._model_values(prunable_nonzeros, other_nonzeros, sparse_bytes))
        return values

    def _churn(self, path, mask):
        """(newly pruned, regrown, changed) of `mask` against the previous record's."""
        prev = self.prev_masks.get(path)
        self.prev_masks[path] = mask
        if prev is None or prev.shape != mask.shape:
            return float("nan"), float("nan"), True
        if prev is mask or np.array_equal(prev, mask):
            # The measurer hands back the same array when the mask did not change.
            return 0, 0, False
        return int(np.count_nonzero(prev & ~mask)), int(np.count_nonzero(~prev & mask)), True

    def _model_values(self, prunable_nonzeros, other_nonzeros, sparse_bytes):
        constants = self.model_constants
        prunable_size = constants["prunable_size"]
        global_sparsity = 1.0 - prunable_nonzeros / prunable_size if prunable_size else float("nan")
        model = {
            "global_sparsity": global_sparsity,
            "prunable_size": prunable_size,
            "prunable_nonzeros": prunable_nonzeros,
            "model_size": constants["model_size"],
            "model_nonzeros": other_nonzeros + prunable_nonzeros,
            "dense_bytes": constants["dense_bytes"],
            "sparse_bytes": sparse_bytes,
        }
        values = [summary.model_stats(model)]
        if self.time_series_scalars and not math.isnan(global_sparsity):
            values.append(summary.scalar(summary.GLOBAL_SPARSITY_TAG, global_sparsity))
        return values

    def _target(self, w, step, row):
        if w.wrapper is not None:
            return row[_FIELD_INDEX["target_sparsity"]], row[_FIELD_INDEX["should_prune"]]
        target = self.target_sparsity
        if isinstance(target, dict):
            target = target.get(w.path)
        if callable(target):
            target = target(step)
        if target is None:
            return float("nan"), float("nan")
        return float(target), float("nan")


def _weight_stats(w, row, nonzeros, target, should_prune):
    stats = {name: row[_FIELD_INDEX[name]] for name in _COPIED_FIELDS}
    stats.update(
        size=w.size,
        nonzeros=nonzeros,
        sparsity=1.0 - nonzeros / w.size if w.size else float("nan"),
        target_sparsity=target,
        should_prune=should_prune,
        kept_mean_abs=row[_FIELD_INDEX["l1"]] / nonzeros if nonzeros else float("nan"),
    )
    return stats


def scalar_values(path, **named):
    """Time Series scalars `<prefix><path>/<name>` of the non-NaN `named` values."""
    out = []
    for name, value in named.items():
        if value is None or math.isnan(value):
            continue
        tag = "%s%s/%s" % (summary.TAG_PREFIX, path, name)
        out.append(summary.scalar(tag, value))
    return out


def metric_values(scope, logs):
    """Keras's scalar metrics in `logs` as `scope` ("batch" or "epoch") metric values."""
    values = []
    for name, value in sorted(logs.items()):
        try:
            number = float(np.asarray(value))
        except (TypeError, ValueError):
            continue  # not a scalar metric
        values.append(summary.metric(scope, name, number))
    return values
