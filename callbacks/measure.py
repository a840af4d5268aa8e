"""Computes every recorded figure of a model's prunable weights in one `tf.function` call.

The work runs where the weights live (one traced graph, no per-weight Python
or host copies of weights); only small vectors, and a mask when it changed,
come back to the host. Effective weights are `where(mask, weight, 0)`: TF-MOT
re-applies the mask only in the next forward pass, so right after an optimizer
step the raw variable still holds values at pruned positions; the effective
weights are what the pruned (stripped) model computes with.

Masks change rarely (TF-MOT: at the schedule's pruning steps; manual pruning:
when the user prunes), weights at every step. So for each large weight
(`GATHER_MIN_SIZE` weights or more) the graph keeps, on the device, its mask as
last measured and the flat indices of its kept weights. At each call it
compares the current mask with the kept one (one pass over the mask); only when
it differs does it derive the mask's figures (kept count, pruned units and
inputs, N:M, block sparsity) and the new kept indices, and copy the mask to the
host. The weight statistics and the histogram are computed from the kept
weights alone, gathered by those indices: pruned weights are zero by definition
and are accounted for without reading them. Small weights are measured from
scratch at every call, where the fixed cost of each extra op and graph argument
would outweigh what the state saves; the figures derived from their masks, in
one branch for all of them, only when the caller does not promise that no mask
changed (`measure(masks_unchanged=True)`).
"""

import math

import numpy as np
import tensorflow as tf

from tb_prune_plugin.callbacks.mask_figures import block_sparsity, mask_counts, nm_compliance
from tb_prune_plugin.callbacks.measure_values import (  # noqa: F401  (SUM_ROW, _signed_sum: tests)
    SUM_ROW,
    _as_tensor,
    _signed_sum,
    _value_figures,
    histogram,
    histogram_counts,
    schedule_columns,
    value_parts,
)

# Order of the per-weight vector the graph returns.
DEVICE_FIELDS = (
    "nonzeros",
    "target_sparsity",
    "should_prune",
    "threshold",
    "mean",
    "std",
    "min",
    "max",
    "l1",
    "l2",
    "pruned_units_fraction",
    "pruned_inputs_fraction",
    "nm_compliance",
    "block_sparsity",
    "nonfinite",
    "histogram_hi",
)
_NAN = float("nan")


# The figures derived from the mask alone: computed when the mask changed, reused otherwise.
MASK_FIELDS = (
    "nonzeros",
    "pruned_units_fraction",
    "pruned_inputs_fraction",
    "nm_compliance",
    "block_sparsity",
)
_MASK_COLUMNS = [DEVICE_FIELDS.index(name) for name in MASK_FIELDS]
_TARGET, _SHOULD_PRUNE = DEVICE_FIELDS.index("target_sparsity"), DEVICE_FIELDS.index("should_prune")
assert _SHOULD_PRUNE == _TARGET + 1
_NONZEROS, _NONFINITE = DEVICE_FIELDS.index("nonzeros"), DEVICE_FIELDS.index("nonfinite")
_ROW_COLUMNS = [f for f in range(len(DEVICE_FIELDS)) if f not in (_TARGET, _SHOULD_PRUNE)]
_BOOLS = {}  # the graph's `force` argument as tensors, converted once, not at every call
# Weights from this size on keep their kept indices on the device and are measured from the
# gathered kept weights, mask figures only when the mask changed. Below it, branches and a
# gather cost more than they save (docs/design_figures.md).
GATHER_MIN_SIZE = 1 << 18


class Measurer:
    """Measures a fixed list of `PrunableWeight`s (and the model's other weights).

    Args:
      weights: the `discovery.PrunableWeight`s to measure.
      other_variables: the model's remaining parameters, counted for model-wide figures.
      histogram_bins: number of equal bins of the |w| histogram of kept weights.
      masks: optional dict weight path -> user mask (variable, tensor or callable
        returning one; non-zero = kept) for manual pruning with explicit masks.
      step_variable: optional integer variable (the optimizer's iterations) read in the
        same call; its value is `self.step` after each `measure()`.
    """

    def __init__(self, weights, other_variables, histogram_bins=30, masks=None, step_variable=None):
        self.weights = list(weights)
        self.other_variables = list(other_variables)
        self.histogram_bins = int(histogram_bins)
        self._user_masks = dict(masks or {})
        n = len(self.weights)
        # Only large weights keep state on the device (each argument of the graph costs some
        # tens of microseconds per call); small ones are measured from scratch.
        self._stateful = [pw for pw in self.weights if pw.size >= GATHER_MIN_SIZE]
        self._stateful_ids = {id(pw) for pw in self._stateful}
        # Per weight, the pruned zeros its measured values may hold: small weights' values are
        # all their weights, large weights' the kept ones alone.
        self._scratch_sizes = np.array(
            [0 if id(pw) in self._stateful_ids else pw.size for pw in self.weights], np.int64
        )
        self._signature = [
            tf.TensorSpec([], tf.bool),
            tf.TensorSpec([], tf.bool),
            tf.TensorSpec([], tf.bool),
            [tf.TensorSpec(None, self._mask_source_dtype(pw)) for pw in self._stateful],
            [tf.TensorSpec([None, 1], tf.int64) for _ in self._stateful],
        ]
        self.set_step_variable(step_variable)
        # Device-side state of the last measure, per weight: the mask source (as compared)
        # and the flat indices of the kept weights. None until the first measure.
        self._last_sources = None
        self._kept_indices = None
        # Host-side copies of the same measure: bool masks and the MASK_FIELDS figures.
        self._host_masks = [None] * n
        self._mask_figures = np.full((n, len(MASK_FIELDS)), np.nan)
        self.changed = [True] * n  # per weight: did the last measure see a new mask

    @property
    def reads_step(self):
        """True if `measure()` also reads the step variable."""
        return self.step_variable is not None

    def set_step_variable(self, step_variable):
        """Reads `step_variable` from now on (a new optimizer); the device state stays."""
        self.step_variable = step_variable
        self.step = None
        self._fn = tf.function(self._compute, autograph=False, input_signature=self._signature)
        self._concrete = None

    def _call(self, force, unchanged, histograms, sources, kept):
        """Runs the graph on flat arguments.

        A `tf.function` call binds its arguments to the signature again at every call; the
        traced concrete function's own flat call skips that, which is measurably cheaper
        (docs/design_figures.md). Falls back to the ordinary call where TensorFlow lacks the
        flat call.
        """
        for flag in (force, unchanged, histograms):
            if flag not in _BOOLS:
                with tf.init_scope():
                    _BOOLS[flag] = tf.constant(flag)
        if self._concrete is None:
            self._concrete = self._fn.get_concrete_function()
        call_flat = getattr(self._concrete, "_call_flat", None)
        if call_flat is None:
            return self._fn(_BOOLS[force], _BOOLS[unchanged], _BOOLS[histograms], sources, kept)
        flat = [_BOOLS[force], _BOOLS[unchanged], _BOOLS[histograms], *sources, *kept]
        return call_flat(flat, self._concrete.captured_inputs)

    def _mask_source_dtype(self, pw):
        if self._user_masks.get(pw.path) is not None or pw.mask_variable is not None:
            return tf.float32
        return tf.bool

    def _mask_source(self, pw, w):
        """The tensor a mask is read from: the mask's values (float32), or `w != 0` (bool)."""
        user = self._user_masks.get(pw.path)
        if user is not None:
            value = user() if callable(user) and not hasattr(user, "shape") else user
            return tf.cast(_as_tensor(value), tf.float32)
        if pw.mask_variable is not None:
            # TF-MOT's masks hold 0 and 1; the raw weights may be non-zero where they are 0.
            return tf.cast(_as_tensor(pw.mask_variable), tf.float32)
        return tf.not_equal(w, 0.0)

    def _mask_figures_of(self, pw, source, with_kept=True):
        """(MASK_FIELDS as a list of 5 float64 scalars, flat kept indices int64 [kept, 1],
        bool mask, 0/1 float mask, kept count int64).

        Without `with_kept`, the kept indices are an empty placeholder. The figures stay
        separate scalars: stacking them to slice them again costs two ops per figure.
        """
        shape = pw.shape
        mask = source if source.dtype == tf.bool else tf.not_equal(source, 0.0)
        mask = tf.reshape(mask, shape)
        maskf = tf.cast(mask, tf.float32)
        units, inputs, nonzeros = mask_counts(maskf, shape)
        figures = [
            tf.cast(nonzeros, tf.float64),
            units,
            inputs,
            nm_compliance(mask, shape, pw.sparsity_m_by_n),
            block_sparsity(mask, shape, pw.block_size),
        ]
        if with_kept:
            kept = tf.where(tf.reshape(mask, [-1]))  # [kept, 1]: as gather_nd takes them
        else:
            kept = tf.zeros([0, 1], tf.int64)
        return figures, kept, mask, maskf, nonzeros

    def _small_masks(self, small, force, unchanged):
        """(changed, mask figures, bool masks) of the weights measured from scratch (`small`:
        their (weight, mask source) pairs), in one branch for all of them: the figures are
        derived from the masks (and the masks copied to the host) only when a mask may have
        changed. Under the caller's promise (`unchanged`) the figures are NaN and the masks
        empty, and the host keeps the previous call's, as for large weights."""
        changed = tf.logical_not(tf.logical_and(unchanged, tf.logical_not(force)))

        def new_masks():
            parts = [self._mask_figures_of(pw, source, with_kept=False) for pw, source in small]
            return [p[0] for p in parts], [p[2] for p in parts]

        def same_masks():
            nan = tf.constant(_NAN, tf.float64)
            return (
                [[nan] * len(MASK_FIELDS) for _ in small],
                [tf.zeros([0] * len(pw.shape), tf.bool) for pw, _ in small],
            )

        figures, masks = tf.cond(changed, new_masks, same_masks)
        return changed, figures, masks

    def _effective_values(self, pw, flat, source):
        """A small weight's effective weights, flat: 0 where pruned, even where the raw
        weight is Inf or NaN. Without a mask (`w != 0`) they are the weights themselves;
        TF-MOT's mask holds 0 and 1, and TF-MOT multiplies the weights by it."""
        if source.dtype == tf.bool:
            return flat
        maskf = tf.reshape(source, [-1])
        if self._user_masks.get(pw.path) is not None:  # non-zero = kept
            maskf = tf.cast(tf.not_equal(maskf, 0.0), tf.float32)
        return tf.math.multiply_no_nan(flat, maskf)

    def _mask_part(self, pw, source, flat, force, unchanged, last_source, kept, small):
        """The mask's figures and the values the statistics are taken over: (changed, mask
        figures, kept indices, mask source and mask to keep, values). `small`: a weight
        measured from scratch's (changed, mask figures, mask) from `_small_masks`."""
        shape = pw.shape
        size = pw.size
        if last_source is None:
            changed, mask_figures, mask_out = small
            values = self._effective_values(pw, flat, source)
            return changed, mask_figures, kept, source, mask_out, values
        else:
            # One pass over the mask; an exact test (NaN in a user's mask counts as a change).
            # Skipped when the caller promised that no mask changed (`masks_unchanged`).
            differs = tf.cond(
                tf.logical_and(unchanged, tf.logical_not(force)),
                lambda: tf.constant(False),
                lambda: tf.reduce_any(tf.not_equal(source, last_source)),
            )
            changed = tf.logical_or(force, differs)

            def new_mask():
                figures, new_kept, mask, _, _ = self._mask_figures_of(pw, source)
                return figures, new_kept, tf.identity(source), mask

            def same_mask():
                nan = tf.constant(_NAN, tf.float64)
                return (
                    [nan] * len(MASK_FIELDS),
                    kept,
                    last_source,
                    tf.zeros([0] * len(shape), tf.bool),
                )

            mask_figures, kept, source_out, mask_out = tf.cond(changed, new_mask, same_mask)
            # The kept weights alone; pruned ones are zeros of the effective weights.
            # gather_nd, not gather: GatherV2 copies one element at a time, GatherNd is faster
            # here (docs/design_figures.md).
            n_kept = tf.shape(kept)[0]
            values = tf.cond(tf.equal(n_kept, size), lambda: flat, lambda: tf.gather_nd(flat, kept))
        return changed, mask_figures, kept, source_out, mask_out, values

    def _weight_figures(self, pw, read, force, unchanged, last_source, kept, small):
        size = pw.size
        w, source = read
        flat = tf.reshape(w, [-1])
        changed, mask_figures, kept, source_out, mask_out, values = self._mask_part(
            pw, source, flat, force, unchanged, last_source, kept, small
        )
        if pw.threshold_variable is not None and pw.sparsity_m_by_n is None:
            threshold = tf.cast(_as_tensor(pw.threshold_variable), tf.float64)
        else:  # manual pruning has none; TF-MOT's N:M threshold is a dummy value
            threshold = tf.constant(_NAN, tf.float64)
        # The entries of the first histogram bin that are not kept weights are taken out on
        # the host (`measure`), from the figures.
        nonfinite, mean, std, wmin, wmax, l1, l2, hi, absf, _ = value_parts(
            values, size, last_source is not None, 0
        )
        # The row of DEVICE_FIELDS; the schedule's two come from `schedule_columns`.
        row = [
            mask_figures[0],
            None,
            None,
            threshold,
            mean,
            std,
            wmin,
            wmax,
            l1,
            l2,
            mask_figures[1],
            mask_figures[2],
            mask_figures[3],
            mask_figures[4],
            tf.cast(nonfinite, tf.float64),
            tf.cast(hi, tf.float64),
        ]
        return row, (absf, hi), changed, source_out, kept, mask_out

    def _histograms(self, parts):
        """[W, bins] int32: each weight's |w| counts from its `value_parts` pieces, the first
        bin still holding the entries that are not kept weights (see `measure`)."""
        bins = self.histogram_bins
        return tf.stack(
            [
                tf.zeros([bins], tf.int32) if absf is None else histogram_counts(absf, hi, bins)
                for absf, hi in parts
            ]
        )

    def _compute(self, force, unchanged, with_histograms, last_sources, kept_indices):
        vectors, histograms, changed, sources, kept, masks = [], [], [], [], [], []
        states = iter(zip(last_sources, kept_indices))
        reads = []
        for pw in self.weights:
            w = tf.cast(_as_tensor(pw.variable), tf.float32)
            reads.append((w, self._mask_source(pw, w)))
        small = [
            (pw, r[1]) for pw, r in zip(self.weights, reads) if id(pw) not in self._stateful_ids
        ]
        if small:
            small_changed, small_figures, small_masks = self._small_masks(small, force, unchanged)
            small_parts = iter(zip(small_figures, small_masks))
        for pw, read in zip(self.weights, reads):
            stateful = id(pw) in self._stateful_ids
            last_source, kept_index = next(states) if stateful else (None, None)
            part = None if stateful else (small_changed, *next(small_parts))
            out = self._weight_figures(pw, read, force, unchanged, last_source, kept_index, part)
            vectors.append(out[0])
            histograms.append(out[1])
            changed.append(out[2])
            masks.append(out[5])
            if last_source is not None:
                sources.append(out[3])
                kept.append(out[4])
        other_nonzeros = tf.constant(0, tf.int64)
        for v in self.other_variables:
            other_nonzeros += tf.math.count_nonzero(_as_tensor(v), dtype=tf.int64)
        if vectors:
            # Column by column: the schedule's columns are computed once per schedule.
            targets, should_prune = schedule_columns(self.weights)
            columns = [tf.stack([row[f] for row in vectors]) for f in _ROW_COLUMNS]
            columns.insert(_TARGET, targets)
            columns.insert(_SHOULD_PRUNE, should_prune)
            vectors = tf.stack(columns, axis=1)
            # One branch for every histogram: a record without them skips their passes.
            histograms = tf.cond(
                with_histograms,
                lambda: self._histograms(histograms),
                lambda: tf.zeros([len(self.weights), self.histogram_bins], tf.int32),
            )
            changed = tf.stack(changed)
        else:
            vectors = tf.zeros([0, len(DEVICE_FIELDS)], tf.float64)
            histograms = tf.zeros([0, self.histogram_bins], tf.int32)
            changed = tf.zeros([0], tf.bool)
        if self.step_variable is None:
            step = tf.constant(-1, tf.int64)
        else:
            step = tf.cast(_as_tensor(self.step_variable), tf.int64)
        return vectors, histograms, changed, masks, other_nonzeros, sources, kept, step

    def measure(self, masks_unchanged=False, histograms=True):
        """Runs the graph; returns `(figures [W, F], histograms [W, B], masks, other_nonzeros)`.

        With `histograms=False` the |w| histograms are not computed (their passes are most of
        a record's time on large weights) and `histograms` is None.

        `figures` columns follow `DEVICE_FIELDS`; `masks` is a list of bool ndarrays. The mask
        of a large weight that did not change since the previous call is the very same
        ndarray object as then; `self.changed` is False for those (True for the others,
        including every small weight without the promise below: their masks are copied,
        and compared by the caller).

        `masks_unchanged=True` is the caller's promise that no mask changed since the previous
        call (for TF-MOT: no pruning step of any schedule in between; the schedule and the
        step say so without reading a mask). Large weights then skip the pass comparing their
        mask with the previous one, and small weights the passes deriving figures from their
        masks: the mask figures and host masks of every weight (and large weights' kept
        weights) are those of the previous call, and `self.changed` is False for all. With a
        broken promise the figures taken from the masks (and the histograms' first bins) are
        those of the previous masks. Ignored at the first call.
        """
        force = self._last_sources is None
        if force:
            dummies = [tf.zeros([], self._mask_source_dtype(pw)) for pw in self._stateful]
            kept = [tf.zeros([0, 1], tf.int64) for _ in self._stateful]
        else:
            dummies, kept = self._last_sources, self._kept_indices
        with_histograms = bool(histograms)
        vectors, histograms, changed, masks, other_nonzeros, sources, kept, step = self._call(
            force, bool(masks_unchanged) and not force, with_histograms, dummies, kept
        )
        if self.step_variable is not None:
            self.step = int(step.numpy())
        self._last_sources, self._kept_indices = sources, kept
        figures = vectors.numpy()
        self.changed = changed.numpy().tolist()
        for i, is_new in enumerate(self.changed):
            if is_new:
                self._host_masks[i] = masks[i].numpy()
                self._mask_figures[i] = figures[i, _MASK_COLUMNS]
            else:
                figures[i, _MASK_COLUMNS] = self._mask_figures[i]
        if with_histograms:
            # The first bin less what is not a kept weight: pruned zeros and non-finite values.
            histograms = histograms.numpy()
            scratch = self._scratch_sizes
            pruned = scratch - np.where(scratch > 0, figures[:, _NONZEROS], 0).astype(np.int64)
            histograms[:, 0] -= (pruned + figures[:, _NONFINITE].astype(np.int64)).astype(np.int32)
        else:
            histograms = None
        return figures, histograms, list(self._host_masks), int(other_nonzeros.numpy())


def itemsize(variable):
    """Bytes per element of a variable's dtype."""
    dtype = getattr(variable, "dtype", "float32")
    try:
        return tf.as_dtype(dtype).size
    except TypeError:
        return np.dtype(str(dtype)).itemsize


def packed_mask_bytes(size):
    """Bytes of a 1-bit-per-weight mask."""
    return math.ceil(size / 8)
