"""The owner of tb_prune_plugin's on-disk format: plugin name, format version and metadata.

Every record the monitor writes is a TensorBoard summary value whose
`SummaryMetadata.plugin_data.plugin_name` is `PLUGIN_NAME` and whose
`plugin_data.content` is a small UTF-8 JSON object created by
`create_summary_metadata` and read back by `parse_plugin_metadata`:

    {"version": 2, "kind": "weight_stats", "weight": "dense/kernel",
     "fields": ["size", "nonzeros", ...]}

`kind` is one of `KINDS`; `weight` names the pruned weight (layer path plus
weight name, for example `encoder/dense_1/kernel`) for the per-weight kinds;
`fields` lists the meaning of each entry of a vector record; `metric` and
`scope` name a training metric. Every summary also sets `data_class`, without
which TensorBoard's data layer silently drops third-party summaries.

Compatibility promise: data written by a released version of tb_prune_plugin
stays readable by every later version. A format change bumps `FORMAT_VERSION`
and adds a branch to `parse_plugin_metadata` that migrates the old form; data
of a version newer than this code is reported (`NewerFormatError`) and skipped
by the reader, never misread. The full format is described in docs/format.md.
"""

import dataclasses
import json
from typing import Optional, Tuple

from tensorboard.compat.proto import summary_pb2

PLUGIN_NAME = "pruning"

# The tags the writers give records (`summary.py`): the reader finds series by their plugin
# metadata, never by tag, except the run_config series, which it reads before listing.
TAG_PREFIX = PLUGIN_NAME + "/"
MODEL_STATS_TAG = TAG_PREFIX + "model_stats"
RUN_CONFIG_TAG = TAG_PREFIX + "run_config"
GLOBAL_SPARSITY_TAG = TAG_PREFIX + "global_sparsity"
STRIPPED_SIZE_TAG = TAG_PREFIX + "stripped_size"

# Version 1: the first released format; every mask record is a whole mask.
# Version 2: a mask record may be a delta from the weight's previous mask record
#   (`mask_codec`, docs/format.md). The plugin content has the same fields as version 1.
FORMAT_VERSION = 2

# Kinds of record, and the data class each is stored with.
KIND_WEIGHT_STATS = "weight_stats"
KIND_WEIGHT_HISTOGRAM = "weight_histogram"
KIND_MASK = "mask"
KIND_MASK_HEADER = "mask_header"
KIND_MODEL_STATS = "model_stats"
KIND_RUN_CONFIG = "run_config"
KIND_METRIC = "metric"
KIND_STRIPPED_SIZE = "stripped_size"
KIND_SENSITIVITY = "sensitivity"

KINDS = {
    KIND_WEIGHT_STATS: summary_pb2.DATA_CLASS_TENSOR,
    KIND_WEIGHT_HISTOGRAM: summary_pb2.DATA_CLASS_TENSOR,
    KIND_MASK: summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
    KIND_MASK_HEADER: summary_pb2.DATA_CLASS_TENSOR,
    KIND_MODEL_STATS: summary_pb2.DATA_CLASS_TENSOR,
    KIND_RUN_CONFIG: summary_pb2.DATA_CLASS_TENSOR,
    KIND_METRIC: summary_pb2.DATA_CLASS_TENSOR,
    KIND_STRIPPED_SIZE: summary_pb2.DATA_CLASS_TENSOR,
    KIND_SENSITIVITY: summary_pb2.DATA_CLASS_TENSOR,
}
# The kinds a training's monitor records per weight (the run index's `weights`).
PER_WEIGHT_KINDS = (KIND_WEIGHT_STATS, KIND_WEIGHT_HISTOGRAM, KIND_MASK, KIND_MASK_HEADER)
# Every kind whose record names a weight: those, and a sensitivity scan's per-weight curve
# (`sensitivity_scan`, written by `summary.sensitivity`), which is not a training record.
WEIGHT_KINDS = PER_WEIGHT_KINDS + (KIND_SENSITIVITY,)
METRIC_SCOPES = ("epoch", "batch")

# The entries of a weight_stats vector, in order (format version 1).
# NaN means "not applicable" (no schedule, no threshold, first record, ...).
WEIGHT_STATS_FIELDS = (
    "size",  # number of weights
    "nonzeros",  # number of kept weights (mask true)
    "sparsity",  # 1 - nonzeros / size
    "target_sparsity",  # the schedule's target at this step (NaN: no schedule)
    "should_prune",  # 1 if the schedule updates the mask at this step, else 0 (NaN: none)
    "threshold",  # TF-MOT's threshold variable (NaN: manual pruning)
    "mean",  # of the effective weights (weight * mask)
    "std",
    "min",
    "max",
    "l1",
    "l2",
    "kept_mean_abs",  # mean |w| over the kept weights (NaN if none kept)
    "pruned_units_fraction",  # output units (last axis) with every weight pruned
    "pruned_inputs_fraction",  # input channels (axis -2) with every weight pruned
    "nm_compliance",  # fraction of N:M groups that satisfy the pattern (NaN: no N:M)
    "block_sparsity",  # fraction of blocks entirely pruned (NaN: no blocks set)
    "newly_pruned",  # weights pruned since the previous recorded mask (NaN: first)
    "regrown",  # weights kept again since the previous recorded mask (NaN: first)
    "mask_changed",  # 1 if the mask differs from the previous recorded one
    "nonfinite",  # number of NaN or Inf weights
)

# A sensitivity record's "structure" (how entries were removed: single weights by magnitude, or
# whole output units by L1 norm) and "mode" (the compiled model evaluated, or data-free).
SENSITIVITY_STRUCTURES = ("magnitude", "filters")
SENSITIVITY_MODES = ("evaluate", "data_free")
# The one metric of a data-free scan: the mean |w| of the removed entries.
DATA_FREE_METRIC = "mean_abs_removed"

# The entries of a model_stats vector, in order (format version 1).
MODEL_STATS_FIELDS = (
    "global_sparsity",  # 1 - prunable_nonzeros / prunable_size
    "prunable_size",
    "prunable_nonzeros",
    "model_size",  # all weights of the model, pruning bookkeeping excluded
    "model_nonzeros",
    "dense_bytes",  # bytes of all weights stored dense
    "sparse_bytes",  # bytes with pruned weights stored sparse (values + 1-bit mask)
)

# The entries of a stripped_size vector (written at the end of training): the model as it
# ships, pruning wrappers stripped, saved as HDF5 without optimizer, and that file gzipped.
STRIPPED_SIZE_FIELDS = (
    "saved_bytes",  # the saved HDF5 file
    "gzip_bytes",  # the file gzipped (deflate level 6, gzip's default), as TF-MOT's guides compare
)


class FormatError(ValueError):
    """Plugin metadata that is not a valid tb_prune_plugin record."""


class NewerFormatError(FormatError):
    """Plugin metadata written by a newer tb_prune_plugin than this one."""

    def __init__(self, version):
        self.version = version
        super().__init__(
            "pruning data of format version %r is newer than this tb_prune_plugin "
            "understands (%d); upgrade tb_prune_plugin to read it" % (version, FORMAT_VERSION)
        )


@dataclasses.dataclass(frozen=True)
class RecordMetadata:
    """What a record's plugin metadata says about it."""

    version: int
    kind: str
    weight: Optional[str] = None
    fields: Optional[Tuple[str, ...]] = None
    metric: Optional[str] = None
    scope: Optional[str] = None


def create_summary_metadata(kind, *, weight=None, fields=None, metric=None, scope=None):
    """Returns the `SummaryMetadata` for one record of `kind`.

    Args:
      kind: one of `KINDS`.
      weight: the weight path, required for the per-weight kinds.
      fields: the names of a vector record's entries (weight_stats, model_stats).
      metric: the metric's name, for `KIND_METRIC`.
      scope: "epoch" or "batch", for `KIND_METRIC`.
    """
    if kind not in KINDS:
        raise ValueError("unknown record kind %r; expected one of %s" % (kind, sorted(KINDS)))
    content = {"version": FORMAT_VERSION, "kind": kind}
    if kind in WEIGHT_KINDS:
        if not weight:
            raise ValueError("a %s record needs the weight's path" % kind)
        content["weight"] = weight
    if fields is not None:
        content["fields"] = list(fields)
    if kind == KIND_METRIC:
        if not metric or scope not in METRIC_SCOPES:
            raise ValueError(
                "a metric record needs a metric name and a scope in %s, got %r, %r"
                % (METRIC_SCOPES, metric, scope)
            )
        content["metric"] = metric
        content["scope"] = scope
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(
            plugin_name=PLUGIN_NAME,
            content=json.dumps(content, separators=(",", ":")).encode("utf-8"),
        ),
        data_class=KINDS[kind],
    )


def parse_plugin_metadata(content):
    """Parses `plugin_data.content` of a pruning record into a `RecordMetadata`.

    Raises:
      NewerFormatError: the record was written by a newer format version.
      FormatError: the content is not a pruning record of any known version.
    """
    if not isinstance(content, (bytes, bytearray)):
        raise FormatError("plugin content must be bytes, got %s" % type(content).__name__)
    parsed = json_object(content, "plugin content", FormatError)
    version = parsed.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError("plugin content has no valid format version: %r" % (parsed,))
    if version > FORMAT_VERSION:
        raise NewerFormatError(version)
    if version == 1:
        return _parse_v1(parsed)
    if version == 2:
        return _parse_v2(parsed)
    raise FormatError("unhandled format version %d" % version)  # unreachable until v3


def json_object(data, what, error):
    """`data` (UTF-8 JSON bytes) parsed into a dict; else raises `error` saying that `what` is
    not UTF-8 JSON or not a JSON object. The plugin content and the mask header are read so."""
    try:
        parsed = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise error("%s is not UTF-8 JSON: %s" % (what, e)) from None
    if not isinstance(parsed, dict):
        raise error("%s must be a JSON object, got %r" % (what, parsed))
    return parsed


def _parse_v1(parsed):
    """Version 1: masks are whole masks; a reader of version 2 reads them as keyframes (their
    mask header has no "kind"), so no migration is needed."""
    return _parse_content(parsed, 1)


def _parse_v2(parsed):
    """Version 2: the fields of version 1; its mask records may be deltas."""
    return _parse_content(parsed, 2)


def _parse_content(parsed, version):
    kind = parsed.get("kind")
    if kind not in KINDS:
        raise FormatError("unknown record kind %r" % (kind,))
    weight = parsed.get("weight")
    if kind in WEIGHT_KINDS and not (isinstance(weight, str) and weight):
        raise FormatError("a %s record has no weight path: %r" % (kind, parsed))
    fields = parsed.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise FormatError("fields must be a list of strings: %r" % (fields,))
        fields = tuple(fields)
    metric = scope = None
    if kind == KIND_METRIC:
        metric, scope = parsed.get("metric"), parsed.get("scope")
        if not (isinstance(metric, str) and metric) or scope not in METRIC_SCOPES:
            raise FormatError("a metric record needs metric and scope: %r" % (parsed,))
    return RecordMetadata(
        version=version,
        kind=kind,
        weight=weight if kind in WEIGHT_KINDS else None,
        fields=fields,
        metric=metric,
        scope=scope,
    )
