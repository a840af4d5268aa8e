"""One writer function per kind of pruning record; each returns a `Summary.Value` proto.

These functions fix the encoding of every record (format version 2). They need
only TensorBoard's protos and NumPy, so the Keras callbacks and the tests build
records with them and hand the serialized `Summary` to any event writer.

Tags (run = the monitor's `log_dir`; `<w>` = weight path such as `dense/kernel`):

| tag                              | kind             | value                                    |
|----------------------------------|------------------|------------------------------------------|
| `pruning/<w>/weight_stats`       | weight_stats     | float64 `[len(WEIGHT_STATS_FIELDS)]`     |
| `pruning/<w>/weight_histogram`   | weight_histogram | float64 `[2 + B]`: lo, hi, B counts      |
| `pruning/<w>/mask`               | mask             | string `[2]`: header JSON, payload       |
| `pruning/model_stats`            | model_stats      | float64 `[len(MODEL_STATS_FIELDS)]`      |
| `pruning/run_config`             | run_config       | string scalar: JSON                      |
| `pruning/stripped_size`          | stripped_size    | float64 `[len(STRIPPED_SIZE_FIELDS)]`    |
| `pruning/metrics/<scope>/<name>` | metric           | float64 scalar                           |
| `pruning/<w>/sensitivity`        | sensitivity      | string scalar: JSON (`sensitivity`)      |

Ordinary TensorBoard scalars (plugin `scalars`, shown by the Time Series dashboard) are written
beside them: `pruning/<w>/sparsity`, `pruning/<w>/target_sparsity`, `pruning/<w>/threshold`
and `pruning/global_sparsity`.

Edge cases:
- weight_stats: entries that do not apply are NaN (see `metadata.WEIGHT_STATS_FIELDS`).
  An empty weight (size 0) has sparsity NaN. All pruned: nonzeros 0, sparsity 1,
  kept_mean_abs NaN. Nothing pruned: sparsity 0.
- weight_histogram: |w| of the kept weights in B equal bins over [lo, hi] =
  [0, max kept |w|]; the last bin includes hi. With no kept weight, lo = hi = 0
  and all counts are 0. Counts are exact integers stored as float64.
- mask: written only when the mask differs from the previous recorded one (and
  at a monitor's first record); the mask at any step is the latest record at or
  before it. A record is a keyframe (`mask`, the whole mask) or a delta
  (`mask_delta`, its change from the weight's previous mask record); the encodings
  are `mask_codec`'s, and when to write which is decided by the monitor
  (`callbacks/mask_delta.py`). An empty mask, all pruned or nothing pruned needs
  no special case in either.
- sensitivity: one record per scanned weight, at step 0, written by `sensitivity_scan`
  (not by the monitor): JSON with equal-length lists `sparsities`, `pruned_fractions` and
  one list per metric; a value that is not finite is written as Python's json writes it
  (`NaN`, `Infinity`). Sparsity 0 in the data-free mode removes nothing: its value is NaN.
- Metadata (plugin name, kind, fields) is attached to the first value of each
  tag in an event file only, as TensorBoard's own writers do; pass
  `with_metadata=False` after that.
"""

import functools
import json

import numpy as np
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from tb_prune_plugin import mask_codec, metadata

# The tags are defined with the format (`metadata`); kept here for the writers' callers.
TAG_PREFIX = metadata.TAG_PREFIX
SCALAR_PLUGIN_NAME = "scalars"  # TensorBoard's scalars plugin; fixed by TensorBoard


def weight_tag(weight, kind):
    """The tag of a per-weight record, for example `pruning/dense/kernel/mask`."""
    return "%s%s/%s" % (TAG_PREFIX, weight, kind)


def metric_tag(scope, name):
    """The tag of a metric record, for example `pruning/metrics/epoch/val_accuracy`."""
    return "%smetrics/%s/%s" % (TAG_PREFIX, scope, name)


MODEL_STATS_TAG = metadata.MODEL_STATS_TAG
RUN_CONFIG_TAG = metadata.RUN_CONFIG_TAG
GLOBAL_SPARSITY_TAG = metadata.GLOBAL_SPARSITY_TAG
STRIPPED_SIZE_TAG = metadata.STRIPPED_SIZE_TAG


@functools.lru_cache(maxsize=4096)
def _metadata(kind, **kwargs):
    """`metadata.create_summary_metadata`, built once per tag: records are written at every
    step, and `_value` copies it. Never modify the returned proto."""
    return metadata.create_summary_metadata(kind, **kwargs)


def _shape(dims):
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in dims]
    )


def _float64_tensor(values):
    array = np.asarray(values, dtype="<f8")
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_DOUBLE, tensor_shape=_shape(array.shape), tensor_content=array.tobytes()
    )


def _string_tensor(strings, shape):
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, tensor_shape=_shape(shape), string_val=list(strings)
    )


def _value(tag, tensor, meta):
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if meta is not None:
        value.metadata.CopyFrom(meta)
    return value


def weight_stats(weight, values, *, with_metadata=True):
    """A weight_stats record: `values` maps every name in `WEIGHT_STATS_FIELDS` to a float."""
    fields = metadata.WEIGHT_STATS_FIELDS
    missing = [f for f in fields if f not in values]
    if missing:
        raise ValueError("weight_stats for %r lacks %s" % (weight, missing))
    meta = (
        _metadata(metadata.KIND_WEIGHT_STATS, weight=weight, fields=fields)
        if with_metadata
        else None
    )
    vector = [float(values[f]) for f in fields]
    return _value(weight_tag(weight, metadata.KIND_WEIGHT_STATS), _float64_tensor(vector), meta)


def weight_stats_from_vector(weight, vector, *, with_metadata=True):
    """Like `weight_stats`, from a vector already in `WEIGHT_STATS_FIELDS` order."""
    vector = np.asarray(vector, dtype=np.float64)
    if vector.shape != (len(metadata.WEIGHT_STATS_FIELDS),):
        raise ValueError(
            "weight_stats vector for %r has shape %s, expected (%d,)"
            % (weight, vector.shape, len(metadata.WEIGHT_STATS_FIELDS))
        )
    meta = (
        _metadata(metadata.KIND_WEIGHT_STATS, weight=weight, fields=metadata.WEIGHT_STATS_FIELDS)
        if with_metadata
        else None
    )
    return _value(weight_tag(weight, metadata.KIND_WEIGHT_STATS), _float64_tensor(vector), meta)


def weight_histogram(weight, lo, hi, counts, *, with_metadata=True):
    """A weight_histogram record: |w| of kept weights, `counts` in equal bins over [lo, hi]."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1)
    if not counts.size:
        raise ValueError("weight_histogram for %r needs at least one bin" % weight)
    meta = _metadata(metadata.KIND_WEIGHT_HISTOGRAM, weight=weight) if with_metadata else None
    vector = np.concatenate([[float(lo), float(hi)], counts])
    return _value(weight_tag(weight, metadata.KIND_WEIGHT_HISTOGRAM), _float64_tensor(vector), meta)


def mask(weight, mask_array, *, with_metadata=True):
    """A mask keyframe record: the boolean mask of `weight`, encoded by `mask_codec`."""
    header, payload = mask_codec.encode_mask(np.asarray(mask_array))
    return _mask_value(weight, header, payload, with_metadata)


def mask_delta(weight, base, mask_array, base_step, keyframe_step, *, with_metadata=True):
    """A mask delta record: boolean `mask_array` of `weight` as its change from `base`, the
    mask of the weight's previous mask record (at `base_step`, in the chain of deltas that
    starts with the keyframe at `keyframe_step`)."""
    header, payload = mask_codec.encode_delta(base, mask_array, base_step, keyframe_step)
    return _mask_value(weight, header, payload, with_metadata)


def mask_header(weight, mask_value, *, with_metadata=True):
    """The mask_header record of mask record `mask_value` (`mask` or `mask_delta`'s answer),
    written beside it at the same step: its header as an int64 vector
    (`mask_codec.header_vector`), so that a reader lists every mask record's shape and kind
    in one tensor read instead of one blob read per record."""
    meta = _metadata(metadata.KIND_MASK_HEADER, weight=weight) if with_metadata else None
    vector = mask_codec.header_vector(mask_value.tensor.string_val[0])
    return _value(
        weight_tag(weight, metadata.KIND_MASK_HEADER),
        tensor_pb2.TensorProto(
            dtype=types_pb2.DT_INT64,
            tensor_shape=_shape(vector.shape),
            tensor_content=vector.astype("<i8").tobytes(),
        ),
        meta,
    )


def _mask_value(weight, header, payload, with_metadata):
    meta = _metadata(metadata.KIND_MASK, weight=weight) if with_metadata else None
    return _value(
        weight_tag(weight, metadata.KIND_MASK), _string_tensor([header, payload], [2]), meta
    )


def _model_vector(kind, values, with_metadata):
    """A model-wide vector record of `kind` (model_stats or stripped_size): `values` maps every
    name of the kind's fields to a float."""
    tag, fields = {
        metadata.KIND_MODEL_STATS: (MODEL_STATS_TAG, metadata.MODEL_STATS_FIELDS),
        metadata.KIND_STRIPPED_SIZE: (STRIPPED_SIZE_TAG, metadata.STRIPPED_SIZE_FIELDS),
    }[kind]
    missing = [f for f in fields if f not in values]
    if missing:
        raise ValueError("%s lacks %s" % (kind, missing))
    meta = _metadata(kind, fields=fields) if with_metadata else None
    return _value(tag, _float64_tensor([float(values[f]) for f in fields]), meta)


def model_stats(values, *, with_metadata=True):
    """A model_stats record: `values` maps every name in `MODEL_STATS_FIELDS` to a float."""
    return _model_vector(metadata.KIND_MODEL_STATS, values, with_metadata)


def stripped_size(values, *, with_metadata=True):
    """A stripped_size record: `values` maps every name in `STRIPPED_SIZE_FIELDS` to a number."""
    return _model_vector(metadata.KIND_STRIPPED_SIZE, values, with_metadata)


def run_config(config):
    """A run_config record: a JSON-serializable dict describing the run, written once."""
    text = json.dumps(config, sort_keys=True, default=str)
    meta = _metadata(metadata.KIND_RUN_CONFIG)
    return _value(RUN_CONFIG_TAG, _string_tensor([text.encode("utf-8")], []), meta)


def metric(scope, name, value, *, with_metadata=True):
    """A metric record: a training metric Keras reported (scope "epoch" or "batch")."""
    meta = _metadata(metadata.KIND_METRIC, metric=name, scope=scope) if with_metadata else None
    return _value(metric_tag(scope, name), _float64_tensor(float(value)), meta)


SENSITIVITY_STRUCTURES = metadata.SENSITIVITY_STRUCTURES
SENSITIVITY_MODES = metadata.SENSITIVITY_MODES
DATA_FREE_METRIC = metadata.DATA_FREE_METRIC


def sensitivity(weight, *, shape, structure, mode, sparsities, pruned_fractions, metrics):
    """A sensitivity record: one weight's scan (`callbacks.sensitivity_scan`).

    Args:
      weight: the weight path.
      shape: the weight's shape (its size weights the layers in an allocation).
      structure: "magnitude" (single weights, smallest |w| first) or "filters" (whole output
        units, last axis, smallest L1 norm first).
      mode: "evaluate" (`metrics` are the compiled model's, as `evaluate(return_dict=True)`
        names them) or "data_free" (one metric, `DATA_FREE_METRIC`: the mean |w| of the
        weights removed at each level, NaN where none is).
      sparsities: the asked sparsity levels, increasing.
      pruned_fractions: the fraction of the weight's entries zeroed at each level (with
        filters, whole units are removed, so it can differ from the asked level).
      metrics: metric name -> one value per level.
    """
    if structure not in SENSITIVITY_STRUCTURES or mode not in SENSITIVITY_MODES:
        raise ValueError(
            "a sensitivity record needs structure in %s and mode in %s, got %r, %r"
            % (SENSITIVITY_STRUCTURES, SENSITIVITY_MODES, structure, mode)
        )
    n = len(sparsities)
    columns = {"pruned_fractions": pruned_fractions}
    columns.update({"metric %r" % name: values for name, values in metrics.items()})
    for what, values in columns.items():
        if len(values) != n:
            raise ValueError(
                "sensitivity of %r: %s has %d values for %d sparsities"
                % (weight, what, len(values), n)
            )
    content = {
        "shape": [int(d) for d in shape],
        "structure": structure,
        "mode": mode,
        "sparsities": [float(x) for x in sparsities],
        "pruned_fractions": [float(x) for x in pruned_fractions],
        "metrics": {str(k): [float(x) for x in v] for k, v in metrics.items()},
    }
    text = json.dumps(content, sort_keys=True)
    meta = _metadata(metadata.KIND_SENSITIVITY, weight=weight)
    return _value(
        weight_tag(weight, metadata.KIND_SENSITIVITY),
        _string_tensor([text.encode("utf-8")], []),
        meta,
    )


_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=SCALAR_PLUGIN_NAME),
    data_class=summary_pb2.DATA_CLASS_SCALAR,
)


def scalar(tag, value, *, with_metadata=True):
    """An ordinary TensorBoard scalar (plugin `scalars`), shown by the Time Series dashboard."""
    meta = _SCALAR_METADATA if with_metadata else None
    return _value(
        tag,
        tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape=_shape([]), float_val=[float(value)]
        ),
        meta,
    )
