"""Computes every recorded figure of a model's prunable weights in one `tf.function` call.

The work runs where the weights live (one traced graph, no per-weight Python
or host copies of weights); only small vectors and the boolean masks come back
to the host. Effective weights are `where(mask, weight, 0)`: TF-MOT re-applies
the mask only in the next forward pass, so right after an optimizer step the
raw variable still holds values at pruned positions; the effective weights are
what the pruned (stripped) model computes with.
"""

import math

import numpy as np
import tensorflow as tf

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


def _as_tensor(variable):
    # A Keras 3 variable holds its tf.Variable in `.value`; a tf.Variable's `.value` is a method.
    value = getattr(variable, "value", None)
    if value is not None and not callable(value):
        variable = value
    return tf.convert_to_tensor(variable)


def _mask_counts(maskf, shape):
    """(pruned units fraction, pruned inputs fraction, kept count) from a 0/1 float mask.

    Two reductions of the mask (per output unit, per input channel) give all three; the kept
    count is summed in int64 from per-unit counts, which float32 holds exactly.
    """
    if len(shape) < 2 or not all(shape):
        nan = tf.constant(_NAN, tf.float64)
        return nan, nan, tf.cast(tf.reduce_sum(tf.cast(maskf, tf.float64)), tf.int64)
    rank = len(shape)
    per_unit = tf.reduce_sum(maskf, axis=list(range(rank - 1)))
    per_input = tf.reduce_sum(maskf, axis=[a for a in range(rank) if a != rank - 2])
    units = tf.reduce_mean(tf.cast(tf.equal(per_unit, 0.0), tf.float64))
    inputs = tf.reduce_mean(tf.cast(tf.equal(per_input, 0.0), tf.float64))
    return units, inputs, tf.reduce_sum(tf.cast(per_unit, tf.int64))


def _move_input_axis(mask, shape, last):
    """The mask with the input axis (second to last) moved first (or last), as 2-D."""
    rank = len(shape)
    others = [i for i in range(rank) if i != rank - 2]
    if last:
        return tf.reshape(tf.transpose(mask, others + [rank - 2]), [-1, shape[-2]])
    return tf.reshape(tf.transpose(mask, [rank - 2] + others), [shape[-2], -1])


def _nm_compliance(mask, shape, m_by_n):
    """Fraction of groups of n consecutive input-channel weights with at most n - m kept.

    Groups run along the input channel, as TF-MOT builds them (weights rearranged
    to [out * kernel, in]); a last partial group is padded with pruned entries.
    """
    if m_by_n is None or len(shape) < 2 or not all(shape):
        return tf.constant(_NAN, tf.float64)
    zeros, n = m_by_n
    rows = _move_input_axis(mask, shape, last=True)
    pad = (-shape[-2]) % n
    if pad:
        rows = tf.pad(rows, [[0, 0], [0, pad]], constant_values=False)
    kept = tf.reduce_sum(tf.cast(tf.reshape(rows, [-1, n]), tf.int32), axis=1)
    return tf.reduce_mean(tf.cast(kept <= n - zeros, tf.float64))


def _block_sparsity(mask, shape, block):
    if block is None or len(shape) != 2 or not all(shape):
        return tf.constant(_NAN, tf.float64)
    bh, bw = block
    pad_r, pad_c = (-shape[0]) % bh, (-shape[1]) % bw
    padded = tf.pad(mask, [[0, pad_r], [0, pad_c]], constant_values=False)
    blocks = tf.reshape(padded, [(shape[0] + pad_r) // bh, bh, (shape[1] + pad_c) // bw, bw])
    none_kept = tf.logical_not(tf.reduce_any(blocks, axis=[1, 3]))
    return tf.reduce_mean(tf.cast(none_kept, tf.float64))


def _schedule_values(pw):
    """(target_sparsity, should_prune) as float64 tensors; NaN when no schedule applies."""
    if pw.wrapper is None:
        return tf.constant(_NAN, tf.float64), tf.constant(_NAN, tf.float64)
    step = tf.convert_to_tensor(pw.wrapper.pruning_step)
    if pw.sparsity_m_by_n is not None:
        # TF-MOT sets an N:M mask once, at pruning step 1, whatever the schedule says.
        zeros, n = pw.sparsity_m_by_n
        return (
            tf.constant(zeros / n, tf.float64),
            tf.cast(tf.equal(step, 1), tf.float64),
        )
    should_prune, target = pw.wrapper.pruning_schedule(step)
    return tf.cast(target, tf.float64), tf.cast(should_prune, tf.float64)


class Measurer:
    """Measures a fixed list of `PrunableWeight`s (and the model's other weights).

    Args:
      weights: the `discovery.PrunableWeight`s to measure.
      other_variables: the model's remaining parameters, counted for model-wide figures.
      histogram_bins: number of equal bins of the |w| histogram of kept weights.
      masks: optional dict weight path -> user mask (variable, tensor or callable
        returning one; non-zero = kept) for manual pruning with explicit masks.
    """

    def __init__(self, weights, other_variables, histogram_bins=30, masks=None):
        self.weights = list(weights)
        self.other_variables = list(other_variables)
        self.histogram_bins = int(histogram_bins)
        self._user_masks = dict(masks or {})
        self._fn = tf.function(self._compute, autograph=False)

    def _mask_of(self, pw, w):
        """(mask as float32 0/1, whether the weights are already zero where it is 0)."""
        user = self._user_masks.get(pw.path)
        if user is not None:
            value = user() if callable(user) and not hasattr(user, "shape") else user
            value = tf.cast(_as_tensor(value), tf.float32)
            return tf.cast(tf.not_equal(value, 0.0), tf.float32), False
        if pw.mask_variable is not None:
            # TF-MOT's masks hold 0 and 1; the raw weights may be non-zero where they are 0.
            return tf.cast(_as_tensor(pw.mask_variable), tf.float32), False
        return tf.cast(tf.not_equal(w, 0.0), tf.float32), True

    def _weight_figures(self, pw):
        shape = pw.shape
        size = pw.size
        w = tf.cast(_as_tensor(pw.variable), tf.float32)
        maskf, zero_where_pruned = self._mask_of(pw, w)
        eff = w if zero_where_pruned else w * maskf
        flat = tf.reshape(eff, [-1])
        units, inputs, nonzeros = _mask_counts(maskf, shape)
        mask = tf.not_equal(maskf, 0.0) if (pw.sparsity_m_by_n or pw.block_size) else None
        target, should_prune = _schedule_values(pw)
        if pw.threshold_variable is not None and pw.sparsity_m_by_n is None:
            threshold = tf.cast(_as_tensor(pw.threshold_variable), tf.float64)
        else:  # manual pruning has none; TF-MOT's N:M threshold is a dummy value
            threshold = tf.constant(_NAN, tf.float64)
        if size:
            # The signed sum in float64 (a mean near zero needs it); the other passes in float32.
            total = tf.reduce_sum(tf.cast(flat, tf.float64))
            # Sums of non-negative terms cancel nothing: float32 is exact enough (about 1e-7).
            squares = tf.cast(tf.reduce_sum(tf.square(flat)), tf.float64)
            absf = tf.abs(flat)
            l1 = tf.cast(tf.reduce_sum(absf), tf.float64)
            mean = total / size
            std = tf.sqrt(tf.maximum(squares / size - tf.square(mean), 0.0))
            wmin = tf.cast(tf.reduce_min(flat), tf.float64)
            wmax = tf.cast(tf.reduce_max(flat), tf.float64)
            l2 = tf.sqrt(squares)
            # NaN and Inf reach every sum; only then are they counted and kept out.
            all_finite = tf.math.is_finite(squares)
            nonfinite = tf.cond(
                all_finite,
                lambda: tf.constant(0, tf.int64),
                lambda: tf.math.count_nonzero(
                    tf.logical_not(tf.math.is_finite(flat)), dtype=tf.int64
                ),
            )
            absf = tf.cond(
                all_finite,
                lambda: absf,
                lambda: tf.where(tf.math.is_finite(absf), absf, tf.zeros_like(absf)),
            )
            hi = tf.reduce_max(absf)
            counts = tf.histogram_fixed_width(
                absf, tf.stack([0.0, tf.maximum(hi, 1e-30)]), nbins=self.histogram_bins
            )
            # Pruned and non-finite entries were counted as 0 in the first bin; take them out.
            not_kept = tf.cast(size - nonzeros, tf.int32) + tf.cast(nonfinite, tf.int32)
            counts = tf.tensor_scatter_nd_sub(counts, [[0]], tf.reshape(not_kept, [1]))
        else:
            nonfinite = tf.constant(0, tf.int64)
            mean = std = wmin = wmax = tf.constant(_NAN, tf.float64)
            l1 = l2 = tf.constant(0.0, tf.float64)
            hi = tf.constant(0.0, tf.float32)
            counts = tf.zeros([self.histogram_bins], tf.int32)
        vector = tf.stack(
            [
                tf.cast(nonzeros, tf.float64),
                target,
                should_prune,
                threshold,
                mean,
                std,
                wmin,
                wmax,
                l1,
                l2,
                units,
                inputs,
                _nm_compliance(mask, shape, pw.sparsity_m_by_n),
                _block_sparsity(mask, shape, pw.block_size),
                tf.cast(nonfinite, tf.float64),
                tf.cast(hi, tf.float64),
            ]
        )
        return vector, counts, maskf

    def _compute(self):
        vectors, histograms, masks = [], [], []
        for pw in self.weights:
            vector, counts, mask = self._weight_figures(pw)
            vectors.append(vector)
            histograms.append(counts)
            masks.append(mask)
        other_nonzeros = tf.constant(0, tf.int64)
        for v in self.other_variables:
            other_nonzeros += tf.math.count_nonzero(_as_tensor(v), dtype=tf.int64)
        if vectors:
            return tf.stack(vectors), tf.stack(histograms), masks, other_nonzeros
        return (
            tf.zeros([0, len(DEVICE_FIELDS)], tf.float64),
            tf.zeros([0, self.histogram_bins], tf.int32),
            masks,
            other_nonzeros,
        )

    def measure(self):
        """Runs the graph; returns `(figures [W, F], histograms [W, B], masks, other_nonzeros)`.

        `figures` columns follow `DEVICE_FIELDS`; `masks` is a list of bool ndarrays.
        """
        vectors, histograms, masks, other_nonzeros = self._fn()
        return (
            vectors.numpy(),
            histograms.numpy(),
            [m.numpy() != 0 for m in masks],
            int(other_nonzeros.numpy()),
        )


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
