"""The reader's record classes (what its methods return) and the helpers on provider data
that every part of the reader shares (sorting by step, dropping superseded records)."""

import dataclasses
from typing import Dict, List, Optional, Tuple

import numpy as np
from tensorboard.compat.proto import summary_pb2

from tb_prune_plugin import mask_codec, metadata, restarts

PLUGIN_NAME = metadata.PLUGIN_NAME

# Number of points asked from the data provider per series: enough for every step.
# Both providers accept any non-negative int and keep at most what was ingested.
DOWNSAMPLE_ALL = 10**9

# Kinds stored as tensors, and as blob sequences (see `metadata.KINDS`).
TENSOR_KINDS = frozenset(
    k for k, dc in metadata.KINDS.items() if dc == summary_pb2.DATA_CLASS_TENSOR
)
BLOB_KINDS = frozenset(
    k for k, dc in metadata.KINDS.items() if dc == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
)


@dataclasses.dataclass
class RunContents:
    """The pruning time series of one run, found from their plugin metadata.

    Attributes:
      name: the run name.
      weights: weight path -> {kind: tag} for the per-weight kinds.
      model_stats_tag: the tag of the model_stats series, or None.
      stripped_size_tag: the tag of the stripped_size series, or None.
      run_config_tag: the tag of the run_config record, or None.
      metrics: scope ("epoch"/"batch") -> metric name -> tag.
      sensitivity: weight path -> tag of its sensitivity scan record.
      records: tag -> parsed `metadata.RecordMetadata`.
      last_step: the largest step of any pruning series of the run (None if unknown).
      configs_read: whether the next three were read (by `runs`, or when a read needs them).
      config: the latest valid run_config record (None: none).
      config_wall_time: the latest wall time of a run_config record (None: none).
      starts: where each training of the run started, from the run_config records
        (`restarts.training_starts`): the records of a series the reader cannot read in
        one provider call with the run_config series (blob sequences) are filtered with
        these.
    """

    name: str
    weights: Dict[str, Dict[str, str]] = dataclasses.field(default_factory=dict)
    model_stats_tag: Optional[str] = None
    stripped_size_tag: Optional[str] = None
    run_config_tag: Optional[str] = None
    metrics: Dict[str, Dict[str, str]] = dataclasses.field(default_factory=dict)
    sensitivity: Dict[str, str] = dataclasses.field(default_factory=dict)
    records: Dict[str, metadata.RecordMetadata] = dataclasses.field(default_factory=dict)
    last_step: Optional[int] = None
    configs_read: bool = False
    config: Optional[dict] = None
    config_wall_time: Optional[float] = None
    starts: Tuple[np.ndarray, np.ndarray] = dataclasses.field(default_factory=lambda: NO_STARTS)


@dataclasses.dataclass(frozen=True)
class SkippedSeries:
    """A pruning series left out because a newer tb_prune_plugin wrote it."""

    run: str
    tag: str
    version: int


@dataclasses.dataclass
class Series:
    """Vector records by step: `fields[name][i]` is the value at `steps[i]` (NaN: n/a)."""

    steps: np.ndarray  # int64 [n]
    fields: Dict[str, np.ndarray]  # name -> float64 [n]
    # True when the series has more steps than were asked for and `steps` is the data
    # provider's sample of them (the last step always, the others chosen at random).
    sampled: bool = False
    # The steps of the weight's mask records (where the mask changed), for a sampled
    # weight_stats series (None otherwise: they are the steps where `mask_changed` is 1).
    mask_change_steps: Optional[np.ndarray] = None


@dataclasses.dataclass
class HistogramSeries:
    """|w| histograms of the kept weights by step.

    `counts[i]` holds equal bins over `[lo[i], hi[i]]`; `threshold[i]` is the
    weight's threshold from its weight_stats record at the same step (NaN if none).
    """

    steps: np.ndarray  # int64 [n]
    lo: np.ndarray  # float64 [n]
    hi: np.ndarray  # float64 [n]
    counts: List[np.ndarray]  # n arrays of int64 counts
    threshold: np.ndarray  # float64 [n]
    sampled: bool = False  # as `Series.sampled`


@dataclasses.dataclass
class MetricSeries:
    """A training metric by step."""

    steps: np.ndarray  # int64 [n]
    values: np.ndarray  # float64 [n]
    sampled: bool = False  # as `Series.sampled`


@dataclasses.dataclass
class MaskRecord:
    """One recorded mask, not yet decoded: its step, header and blob keys."""

    step: int
    shape: Tuple[int, ...]
    kept: int
    encoding: str
    header_key: str
    payload_key: str


@dataclasses.dataclass
class MaskAtStep:
    """The mask in force at `requested_step` and the mask recorded before it.

    `step` is the step of the latest mask record at or before `requested_step`;
    `previous_step`/`previous_packed` are the record before that (None for the first).
    The masks are `mask_codec.PackedMask`s shared through the reader's cache;
    `mask` and `previous_mask` unpack them into read-only boolean arrays.
    """

    requested_step: int
    step: int
    packed: mask_codec.PackedMask
    previous_step: Optional[int]
    previous_packed: Optional[mask_codec.PackedMask]

    @property
    def mask(self):
        """The mask as a read-only bool array in the recorded shape (unpacked at each use)."""
        return read_only(self.packed.unpack())

    @property
    def previous_mask(self):
        """The previous mask as `mask` (None for the first record)."""
        if self.previous_packed is None:
            return None
        return read_only(self.previous_packed.unpack())


@dataclasses.dataclass
class WeightSummary:
    """The last recorded state of one weight (for the overview)."""

    run: str
    weight: str
    shape: Optional[Tuple[int, ...]]  # run config, else latest mask record (None: neither)
    step: Optional[int]  # of the last weight_stats record (None: none)
    stats: Dict[str, float]  # that record's fields (empty: none)


@dataclasses.dataclass
class RunSummary:
    """The last model_stats record of one run (for the overview), and its last stripped_size
    record (`stripped_step` None and `stripped` empty when it has none)."""

    run: str
    step: Optional[int]
    stats: Dict[str, float]
    stripped_step: Optional[int] = None
    stripped: Dict[str, float] = dataclasses.field(default_factory=dict)


def blob_keys(datum):
    """(header key, payload key) of a mask record; MaskDecodeError if it is not two blobs."""
    if len(datum.values) != 2:
        raise mask_codec.MaskDecodeError(
            "expected 2 blobs (header, payload), got %d" % len(datum.values)
        )
    return datum.values[0].blob_key, datum.values[1].blob_key


def blob_or_raise(blob):
    """A `_read_blobs` value: the bytes, or its error raised."""
    if isinstance(blob, Exception):
        raise blob
    return blob


def read_only(array):
    array.flags.writeable = False
    return array


def is_shape(value):
    return isinstance(value, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    )


def steps_and_wall_times(data):
    return [d.step for d in data], [d.wall_time for d in data]


NO_STARTS = restarts.training_starts([], [])


def not_superseded(data, starts):
    """`data` without the records a later training superseded (see `restarts`).

    TensorBoard's Python loader has dropped them already; the Rust data server keeps a
    killed training's record of a series the resumed one did not write again at or
    before that step, such as an epoch metric.
    """
    keep = restarts.kept(*steps_and_wall_times(data), starts)
    return [d for d, k in zip(data, keep) if k]


def datum_text(datum):
    """The one string of a string-scalar record (run_config, sensitivity), decoded from UTF-8;
    ValueError (or UnicodeDecodeError) saying what it holds instead."""
    array = np.asarray(datum.numpy)
    if array.size != 1:
        raise ValueError("expected one string, got shape %s" % (array.shape,))
    text = array.reshape(-1)[0]
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise ValueError("expected a string, got %s" % type(text).__name__)
    return text


def by_step(data):
    """Data sorted by step, keeping the last datum written at each step."""
    by_step = {}
    for datum in data:
        by_step[datum.step] = datum
    return [by_step[s] for s in sorted(by_step)]


def empty_series(fields):
    return Series(
        steps=np.zeros(0, dtype=np.int64),
        fields={name: np.zeros(0, dtype=np.float64) for name in fields},
    )
