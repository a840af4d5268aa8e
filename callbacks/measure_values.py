"""The weight statistics and the pruning schedule's values in the measuring graph.

Split from `measure` (which builds the graph): the passes over a weight's values (sums, extremes,
the |w| histogram) and the schedule's target and pruning flag for every wrapped weight.
"""

import tensorflow as tf

_NAN = float("nan")


def _as_tensor(variable):
    # A Keras 3 variable holds its tf.Variable in `.value`; a tf.Variable's `.value` is a method.
    value = getattr(variable, "value", None)
    if value is not None and not callable(value):
        variable = value
    return tf.convert_to_tensor(variable)


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


# TF-MOT's own schedules, whose values are elementwise in the step: one call of such a schedule
# answers for every weight it prunes (each wrapper has its own step variable).
_VECTOR_SCHEDULES = ("PolynomialDecay", "ConstantSparsity")


def _schedule_group(pw):
    """A key shared by the weights whose schedule can be computed in one call, else None."""
    if pw.wrapper is None or pw.sparsity_m_by_n is not None:
        return None
    schedule = pw.wrapper.pruning_schedule
    cls = type(schedule)
    if cls.__name__ not in _VECTOR_SCHEDULES or not cls.__module__.startswith(
        "tensorflow_model_optimization."
    ):
        return None
    try:
        return cls, repr(sorted(schedule.get_config()["config"].items()))
    except Exception:  # noqa: BLE001 - an unexpected config: computed weight by weight
        return None


def schedule_columns(weights):
    """(target_sparsity [W], should_prune [W]) as float64 vectors in the order of `weights`.

    Weights pruned by equal TF-MOT schedules share one call of the schedule on the vector of
    their steps (a graph of many small ops costs per op: one call per weight would add some
    twenty ops each); any other schedule is called per weight (`_schedule_values`).
    """
    groups, order, pieces = {}, [], []
    for i, pw in enumerate(weights):
        key = _schedule_group(pw)
        if key is None:
            order.append([i])
            target, should_prune = _schedule_values(pw)
            pieces.append((tf.reshape(target, [1]), tf.reshape(should_prune, [1])))
        else:
            groups.setdefault(key, []).append(i)
    for indices in groups.values():
        steps = tf.stack([tf.convert_to_tensor(weights[i].wrapper.pruning_step) for i in indices])
        should_prune, target = weights[indices[0]].wrapper.pruning_schedule(steps)
        n = len(indices)
        order.append(indices)
        pieces.append(
            (
                tf.broadcast_to(tf.cast(target, tf.float64), [n]),
                tf.broadcast_to(tf.cast(should_prune, tf.float64), [n]),
            )
        )
    flat_order = [i for indices in order for i in indices]
    if flat_order == list(range(len(weights))):
        return tf.concat([p[0] for p in pieces], 0), tf.concat([p[1] for p in pieces], 0)
    position = [0] * len(weights)
    for at, i in enumerate(flat_order):
        position[i] = at
    return (
        tf.gather(tf.concat([p[0] for p in pieces], 0), position),
        tf.gather(tf.concat([p[1] for p in pieces], 0), position),
    )


# Row length of a large weight's float32 partial sums (see `_signed_sum`).
SUM_ROW = 256


def _signed_sum(values):
    """The sum of a 1-D float32 tensor as a float64 scalar, in one pass over the values.

    A mean near zero needs more than one float32 accumulator over millions of terms, but a
    cast to float64 first writes (and reads again) a copy twice the values' size, which costs
    several times the pass itself on a large weight. Instead, rows of `SUM_ROW` values are
    summed in float32 (an error of about 1e-9 of the sum of |x|), and those partial sums,
    with the few values left over, in float64.
    """
    n = values.shape[0]
    if n is None:  # gathered kept weights: as many as the mask keeps
        n = tf.size(values)
    elif n % SUM_ROW == 0:  # a known size: no values left over
        rows = tf.reshape(values, [n // SUM_ROW, SUM_ROW])
        return tf.reduce_sum(tf.cast(tf.reduce_sum(rows, axis=1), tf.float64))
    rows = n // SUM_ROW
    head = tf.reshape(values[: rows * SUM_ROW], [rows, SUM_ROW])
    partial = tf.reduce_sum(tf.cast(tf.reduce_sum(head, axis=1), tf.float64))
    return partial + tf.reduce_sum(tf.cast(values[rows * SUM_ROW :], tf.float64))


def _finite_parts(values, squares, absf, wmin, wmax):
    """(non-finite count, |w| with non-finite values as 0, max finite |w|) of a weight's
    values: NaN and Inf reach every sum, so only when the sum of squares is not finite are
    they counted and kept out; else max |w| is max(|min|, |max|), without a pass over |w|.
    One branch for the three (each branch of a graph costs some ops of its own)."""

    def finite():
        return tf.constant(0, tf.int64), absf, tf.maximum(tf.abs(wmin), tf.abs(wmax))

    def not_finite():
        kept = tf.where(tf.math.is_finite(absf), absf, tf.zeros_like(absf))
        count = tf.math.count_nonzero(tf.logical_not(tf.math.is_finite(values)), dtype=tf.int64)
        return count, kept, tf.maximum(tf.reduce_max(kept), 0.0)

    return tf.cond(tf.math.is_finite(squares), finite, not_finite)


def _value_figures(values, size, gathered, pruned_in_values, bins):
    """(nonfinite, mean, std, min, max, l1, l2, max |w|, |w| histogram counts) of a weight's
    effective values: `value_parts` and `histogram` together."""
    *figures, absf, not_kept = value_parts(values, size, gathered, pruned_in_values)
    if absf is None:
        return (*figures, tf.zeros([bins], tf.int32))
    return (*figures, histogram(absf, figures[-1], not_kept, bins))


def value_parts(values, size, gathered, pruned_in_values):
    """(nonfinite, mean, std, min, max, l1, l2, max |w|, |w|, entries of |w| that are not kept
    weights) of a weight's effective values; the last two are what `histogram` takes (None
    for an empty weight). `gathered`: `values` holds the kept weights alone (pruned ones are
    the zeros of the effective weights); else every weight, `pruned_in_values` of them pruned
    zeros."""
    if not size:
        nan = tf.constant(_NAN, tf.float64)
        zero = tf.constant(0.0, tf.float64)
        hi = tf.constant(0.0, tf.float32)
        return tf.constant(0, tf.int64), nan, nan, nan, nan, zero, zero, hi, None, None
    total = _signed_sum(values)
    # Sums of non-negative terms cancel nothing: float32 is exact enough (about 1e-7).
    # l2_loss is sum(x**2) / 2 in one pass (square then sum would write a squared copy).
    squares = tf.cast(2.0 * tf.nn.l2_loss(values), tf.float64)
    absf = tf.abs(values)
    l1 = tf.cast(tf.reduce_sum(absf), tf.float64)
    mean = total / size
    std = tf.sqrt(tf.maximum(squares / size - tf.square(mean), 0.0))
    wmin = tf.reduce_min(values)
    wmax = tf.reduce_max(values)
    if gathered:
        # Only kept weights were gathered: an empty reduction is +-inf, and with
        # pruned weights the effective weights hold 0.
        some_pruned = tf.size(values) < size
        wmin = tf.where(some_pruned, tf.minimum(wmin, 0.0), wmin)
        wmax = tf.where(some_pruned, tf.maximum(wmax, 0.0), wmax)
    nonfinite, absf, hi = _finite_parts(values, squares, absf, wmin, wmax)
    wmin, wmax = tf.cast(wmin, tf.float64), tf.cast(wmax, tf.float64)
    l2 = tf.sqrt(squares)
    not_kept = pruned_in_values + tf.cast(nonfinite, tf.int32)
    return nonfinite, mean, std, wmin, wmax, l1, l2, hi, absf, not_kept


def histogram_counts(absf, hi, bins):
    """The `bins` counts of `absf` (|w| with non-finite values as 0) over [0, max(hi, 1e-30)],
    its first bin holding the entries that are not kept weights as well (see `histogram`)."""
    return tf.histogram_fixed_width(absf, tf.stack([0.0, tf.maximum(hi, 1e-30)]), nbins=bins)


def histogram(absf, hi, not_kept, bins):
    """The `bins` counts of the |w| histogram over [0, max(hi, 1e-30)] of `absf` (|w| with
    non-finite values as 0), less `not_kept` entries of the first bin (pruned zeros and
    non-finite values, which `absf` holds as 0)."""
    counts = histogram_counts(absf, hi, bins)
    return tf.tensor_scatter_nd_sub(counts, [[0]], tf.reshape(not_kept, [1]))
