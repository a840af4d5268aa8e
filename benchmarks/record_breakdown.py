"""Where one record's time goes: the parts of `Measurer.measure()` timed apart, against the floor.

`real_models.py` measures one record against one read pass of every recorded weight and mask
(the floor, issue 10's target: a record at most 2x it). When a record misses, this says which
part costs what: each part is its own `tf.function` over the measurer's weights, computed as
`callbacks/measure.py` computes it (large weights, `GATHER_MIN_SIZE` or more, compare the mask
with the kept one and gather the kept weights; small ones multiply by the mask), built from the
measure module's public pieces (`_as_tensor`, `_value_figures`, `GATHER_MIN_SIZE`) and plain
TensorFlow ops, so that a change inside `Measurer` does not break it (a weight without a
TF-MOT mask variable is read as `w != 0`, as measure does without a user mask). A part the
measure module no longer offers is left out, not guessed.

Each part returns one scalar (every output it computes feeds it), except the host copy of the
masks, which returns them. The parts take turns with one `measure()` and the floor for `rounds`
rounds (alternating order); each part's time is a ratio to the floor of its round. The parts
overlap (the statistics part holds the sums and the histogram) and each pays one call's fixed
cost, as the floor does, so they do not add up to the record.
"""

import time

from overhead import _summary  # median, min, max, n: as real_models.py's other figures


def _weights(measurer):
    """Per recorded weight: (variable, flat mask source as measure reads it, large?, values)
    where values are the effective weights a record's statistics run over (kept weights
    gathered for large weights; the mask-multiplied weights for small ones), computed once."""
    import tensorflow as tf

    from tb_prune_plugin.callbacks import measure

    large = getattr(measure, "GATHER_MIN_SIZE", 1 << 18)
    out = []
    for pw in measurer.weights:
        flat = tf.reshape(tf.cast(measure._as_tensor(pw.variable), tf.float32), [-1])
        if pw.mask_variable is not None:
            source = tf.reshape(tf.cast(measure._as_tensor(pw.mask_variable), tf.float32), [-1])
            mask = tf.not_equal(source, 0.0)
        else:
            source = mask = tf.not_equal(flat, 0.0)
        if pw.size >= large:
            values = tf.gather_nd(flat, tf.where(mask))
        else:
            values = tf.math.multiply_no_nan(flat, tf.cast(mask, tf.float32))
        out.append((pw, source, mask, pw.size >= large, values))
    return out


def _graph(fn):
    """A tf.function of `fn` with one scalar out, whatever the part computes: every output is
    computed (each feeds the scalar) and none is copied out, as the record returns small
    stacked vectors."""
    import tensorflow as tf

    def one():
        outputs = tf.nest.flatten(fn())
        return tf.add_n(
            [tf.reduce_sum(tf.cast(tf.reshape(x, [-1])[:1], tf.float64)) for x in outputs]
        )

    return tf.function(one, autograph=False)


def _mask_source(pw):
    """The flat mask as measure reads it: TF-MOT's mask as float32, else `w != 0`."""
    import tensorflow as tf

    from tb_prune_plugin.callbacks import measure

    if pw.mask_variable is not None:
        return tf.reshape(tf.cast(measure._as_tensor(pw.mask_variable), tf.float32), [-1])
    return tf.not_equal(tf.reshape(measure._as_tensor(pw.variable), [-1]), 0.0)


def _as_mask(source):
    import tensorflow as tf

    return source if source.dtype == tf.bool else tf.not_equal(source, 0.0)


def _weight(pw):
    import tensorflow as tf

    from tb_prune_plugin.callbacks import measure

    return tf.reshape(tf.cast(measure._as_tensor(pw.variable), tf.float32), [-1])


def _mask_parts(weights):
    """The parts that read the masks and the weights: compare, gather, tf.where, multiply."""
    import tensorflow as tf

    big = [(pw, source, mask) for pw, source, mask, large, _ in weights if large]
    kept = {id(pw): tf.where(mask) for pw, _, mask in big}
    small = [(pw, mask) for pw, _, mask, large, _ in weights if not large]
    out = {}
    if big:
        out["mask comparison with the kept mask (large weights)"] = _graph(
            lambda: tf.reduce_any(
                tf.stack([tf.reduce_any(tf.not_equal(_mask_source(pw), s)) for pw, s, _ in big])
            )
        )
        out["gather of the kept weights (large weights)"] = _graph(
            lambda: [tf.gather_nd(_weight(pw), kept[id(pw)]) for pw, _, _ in big]
        )
        out["kept indices of a changed mask, tf.where (large weights)"] = _graph(
            lambda: [tf.where(_as_mask(_mask_source(pw))) for pw, _, _ in big]
        )
    if small:
        out["weights times mask (small weights)"] = _graph(
            lambda: [
                tf.math.multiply_no_nan(_weight(pw), tf.cast(m, tf.float32)) for pw, m in small
            ]
        )
    return out


def _value_parts(weights, bins):
    """The parts over the effective values: the sums, the other reductions, the histogram."""
    import tensorflow as tf

    values = [v for *_, v in weights if v.shape[0]]
    his = [(v, tf.reduce_max(tf.abs(v))) for v in values]
    return {
        "float64 sum of the values": _graph(
            lambda: tf.add_n([tf.reduce_sum(tf.cast(v, tf.float64)) for v in values])
        ),
        "sum of squares, sum of magnitudes, min, max": _graph(
            lambda: [
                [
                    tf.reduce_sum(tf.square(v)),
                    tf.reduce_sum(tf.abs(v)),
                    tf.reduce_min(v),
                    tf.reduce_max(v),
                ]
                for v in values
            ]
        ),
        "histogram of magnitudes": _graph(
            lambda: [
                tf.histogram_fixed_width(
                    tf.abs(v), tf.stack([0.0, tf.maximum(hi, 1e-30)]), nbins=bins
                )
                for v, hi in his
            ]
        ),
    }


def _statistics_part(weights, bins):
    """measure._value_figures over every weight's values, or None when measure no longer
    offers it with this signature (left out, not guessed)."""
    import tensorflow as tf

    from tb_prune_plugin.callbacks import measure

    figures = getattr(measure, "_value_figures", None)
    if figures is None:
        return None
    pruned = [
        tf.constant(0 if large else pw.size - int(tf.math.count_nonzero(m)), tf.int32)
        for pw, _, m, large, _ in weights
    ]
    stats = _graph(
        lambda: [
            figures(v, pw.size, large, n, bins) for (pw, _, _, large, v), n in zip(weights, pruned)
        ]
    )
    try:
        stats()
    except (TypeError, ValueError):
        return None
    return stats


def parts(measurer):
    """{part name: callable running that part once} for `measurer`'s weights."""
    import tensorflow as tf

    weights = _weights(measurer)
    out = _mask_parts(weights)
    out.update(_value_parts(weights, measurer.histogram_bins))
    stats = _statistics_part(weights, measurer.histogram_bins)
    if stats is not None:
        out["all statistics and the histogram (measure._value_figures)"] = stats
    masks = tf.function(lambda: [_as_mask(_mask_source(pw)) for pw, *_ in weights], autograph=False)
    out["every mask copied to the host (as at a change)"] = lambda: [m.numpy() for m in masks()]
    return out


def breakdown(measurer, floor, rounds):
    """The parts of one record, `measure()` and `floor` (a callable: one read pass) in turns;
    {"parts": {name: {"ms", "ratio"}}, "record_ms", "floor_ms", "record_ratio"}."""
    calls = dict(parts(measurer))
    calls["record"] = measurer.measure
    calls["floor"] = floor
    for call in calls.values():  # tracing
        call()
    times = {key: [] for key in calls}
    order = list(calls)
    for r in range(rounds):
        for key in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            result = calls[key]()
            if hasattr(result, "numpy"):
                result.numpy()
            times[key].append((time.perf_counter() - start) * 1e3)
    floor_ms = times.pop("floor")

    def entry(key):
        return {
            "ms": _summary(times[key]),
            "ratio": _summary([a / b for a, b in zip(times[key], floor_ms)]),
        }

    record = entry("record")
    return {
        "parts": {key: entry(key) for key in times if key != "record"},
        "record_ms": record["ms"],
        "record_ratio": record["ratio"],
        "floor_ms": _summary(floor_ms),
        "rounds": rounds,
    }
