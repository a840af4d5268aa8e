"""The figures derived from a mask alone, in the measuring graph (`measure`): kept count,
pruned units and inputs, N:M compliance and block sparsity. Computed when a mask changed."""

import tensorflow as tf

_NAN = float("nan")


def mask_counts(maskf, shape):
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


def nm_compliance(mask, shape, m_by_n):
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


def block_sparsity(mask, shape, block):
    if block is None or len(shape) != 2 or not all(shape):
        return tf.constant(_NAN, tf.float64)
    bh, bw = block
    pad_r, pad_c = (-shape[0]) % bh, (-shape[1]) % bw
    padded = tf.pad(mask, [[0, pad_r], [0, pad_c]], constant_values=False)
    blocks = tf.reshape(padded, [(shape[0] + pad_r) // bh, bh, (shape[1] + pad_c) // bw, bw])
    none_kept = tf.logical_not(tf.reduce_any(blocks, axis=[1, 3]))
    return tf.reduce_mean(tf.cast(none_kept, tf.float64))
