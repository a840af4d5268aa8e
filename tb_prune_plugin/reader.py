"""Reads pruning records back through a TensorBoard data provider.

`PruningReader` wraps any `tensorboard.data.provider.DataProvider` (the Python
`MultiplexerDataProvider` or the gRPC client of the Rust data server) and returns
plain Python and NumPy objects: the plugin's routes and notebooks build on it.
What a time series holds is decided by its parsed plugin metadata
(`metadata.parse_plugin_metadata`), never by its tag.

Data that cannot be read is skipped, never fatal: a series of a newer format
version is skipped with one warning naming run, tag and version; a corrupt series
or record (metadata that does not parse, a vector of the wrong length, a mask that
does not decode, ...) is skipped with one warning naming it.

`load(logdir)` reads a whole log directory into dataclasses for notebooks.

This module never imports TensorFlow (TensorBoard's event loading may).
"""

import collections
import concurrent.futures
import dataclasses
import json
import logging
import threading
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
from tensorboard import errors
from tensorboard.compat.proto import summary_pb2
from tensorboard.data import provider

from tb_prune_plugin import mask_codec, metadata, provider_reads, restarts, summary

logger = logging.getLogger(__name__)

PLUGIN_NAME = metadata.PLUGIN_NAME

# Number of points asked from the data provider per series: enough for every step.
# Both providers accept any non-negative int and keep at most what was ingested.
DOWNSAMPLE_ALL = 10**9

# The index of runs and tags (which pruning series each run holds: two listing calls to the
# data provider, each a gRPC round trip of about 44 ms with the Rust data server) is reused by
# the routes that read data for at most this many seconds (the frontend polls /runs every 30 s).
# Data is always read fresh; a run, weight or series kind missing from a reused index is looked
# up again at once. `runs()` (the /runs route) always lists afresh and renews the index.
INDEX_MAX_AGE_SECONDS = 30.0
INDEX_CACHE_ENTRIES = 32

# Parsed mask headers (shape, encoding, kept count) kept by blob key and wall time, so that
# /mask_steps reads no blob for a record it has seen (about 300 bytes each).
MASK_HEADER_CACHE_ENTRIES = 50_000

# Decoded masks, still packed (1 bit per weight), kept for repeated /mask requests (zoom, pan,
# the next step), in bytes: 32 masks of 4096x4096 weights.
MASK_CACHE_BYTES = 1 << 26

# The last blob sequence listing of each mask series (a few hundred bytes a record), from which
# the masks a /mask request will need are read while its fresh listing is read.
MASK_LISTING_CACHE_ENTRIES = 1024

# Blobs (mask headers and payloads) read at once from the data provider: a mask diff reads two
# records of two blobs each, and /mask_steps a header per record it has not seen. TensorBoard's
# data providers are thread-safe (its WSGI server serves requests in threads).
BLOB_READ_THREADS = 8

# Kinds stored as tensors, and as blob sequences (see `metadata.KINDS`).
_TENSOR_KINDS = frozenset(
    k for k, dc in metadata.KINDS.items() if dc == summary_pb2.DATA_CLASS_TENSOR
)
_BLOB_KINDS = frozenset(
    k for k, dc in metadata.KINDS.items() if dc == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
)


@dataclasses.dataclass
class RunContents:
    """The pruning time series of one run, found from their plugin metadata.

    Attributes:
      name: the run name.
      weights: weight path -> {kind: tag} for the per-weight kinds.
      model_stats_tag: the tag of the model_stats series, or None.
      run_config_tag: the tag of the run_config record, or None.
      metrics: scope ("epoch"/"batch") -> metric name -> tag.
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
    run_config_tag: Optional[str] = None
    metrics: Dict[str, Dict[str, str]] = dataclasses.field(default_factory=dict)
    records: Dict[str, metadata.RecordMetadata] = dataclasses.field(default_factory=dict)
    last_step: Optional[int] = None
    configs_read: bool = False
    config: Optional[dict] = None
    config_wall_time: Optional[float] = None
    starts: Tuple[np.ndarray, np.ndarray] = dataclasses.field(default_factory=lambda: _NO_STARTS)


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
        return _read_only(self.packed.unpack())

    @property
    def previous_mask(self):
        """The previous mask as `mask` (None for the first record)."""
        if self.previous_packed is None:
            return None
        return _read_only(self.previous_packed.unpack())


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
    """The last model_stats record of one run (for the overview)."""

    run: str
    step: Optional[int]
    stats: Dict[str, float]


class PruningReader:
    """Reads pruning data of the `pruning` plugin through a TensorBoard data provider.

    Every method takes a `tensorboard.context.RequestContext` and an experiment id, as
    TensorBoard's data providers do, and returns plain Python and NumPy objects.
    Unknown runs and weights raise `tensorboard.errors.NotFoundError` whose message
    quotes the name that was asked for.

    Example:

        reader = PruningReader(context.data_provider)
        series = reader.weight_series(ctx, experiment_id, "run_a", "dense/kernel")
        series.fields["sparsity"][series.steps == 100]
    """

    def __init__(
        self, data_provider, *, downsample=DOWNSAMPLE_ALL, index_max_age=INDEX_MAX_AGE_SECONDS
    ):
        self._provider = data_provider
        self._downsample = downsample
        self._warned = set()
        self._mask_cache = _MaskCache(MASK_CACHE_BYTES)
        self._index_cache = _IndexCache(index_max_age, INDEX_CACHE_ENTRIES)
        self._header_cache = _LruCache(MASK_HEADER_CACHE_ENTRIES)
        self._listing_cache = _LruCache(MASK_LISTING_CACHE_ENTRIES)
        self._blob_pool = None
        self._blob_pool_lock = threading.Lock()

    # Warnings ---------------------------------------------------------------------------------

    def _warn_once(self, key, message, *args):
        if key in self._warned:
            return
        self._warned.add(key)
        logger.warning(message, *args)

    # Index ------------------------------------------------------------------------------------

    def runs(self, ctx, experiment_id, runs=None, skipped=None):
        """Returns {run name: `RunContents`} for the runs holding pruning data, sorted by name.

        Always lists the data provider's series (and renews the index the other methods
        reuse for `INDEX_MAX_AGE_SECONDS`), and reads the runs' run_config records (their
        configs and trainings' starts; one provider call for all runs). The result is
        shared: do not change it.

        Args:
          runs: restrict to these run names (None: all runs).
          skipped: a list to which a `SkippedSeries` is appended for every series left
            out because its format version is newer than this code reads (the log
            warning is written once per series; this list is filled on every call).
        """
        # The three provider calls at once: through the Rust data server each one waits about
        # 44 ms whatever it reads (docs/performance.md, section 3), and these need not wait
        # for each other. The run configs are read by their tag, before the listing says
        # which runs hold them.
        configs = self._pool().submit(self._read_config_series, ctx, experiment_id, runs)
        result = self._list(ctx, experiment_id, runs, skipped)
        self._read_configs(ctx, experiment_id, result.values(), configs.result())
        return result

    def _read_config_series(self, ctx, experiment_id, runs):
        """{run: {tag: data}} of the run_config series of `runs` (None: every run), or None if
        the provider fails on them (then each run's configs are read as the index says)."""
        try:
            return self._provider_read(
                ctx, experiment_id, runs, [summary.RUN_CONFIG_TAG], self._downsample
            )
        except Exception:  # noqa: BLE001 - read again, one run at a time, with its warnings
            return None

    def _list(self, ctx, experiment_id, runs=None, skipped=None):
        """`runs` without reading the run configs (`RunContents.configs_read` False)."""
        rtf = provider.RunTagFilter(runs=runs) if runs is not None else None
        blob_listing = self._pool().submit(
            self._provider.list_blob_sequences,
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            run_tag_filter=rtf,
        )
        try:
            tensors = self._provider.list_tensors(
                ctx, experiment_id=experiment_id, plugin_name=PLUGIN_NAME, run_tag_filter=rtf
            )
        finally:
            blobs = blob_listing.result()
        result = {}
        for listing, allowed_kinds in ((tensors, _TENSOR_KINDS), (blobs, _BLOB_KINDS)):
            for run, tags in listing.items():
                for tag in sorted(tags):
                    time_series = tags[tag]
                    record = self._parse(run, tag, time_series.plugin_content, skipped)
                    if record is None:
                        continue
                    if record.kind not in allowed_kinds:
                        self._warn_once(
                            ("data_class", run, tag),
                            "skipping pruning series run %r, tag %r: a %s record stored with "
                            "the wrong data class",
                            run,
                            tag,
                            record.kind,
                        )
                        continue
                    contents = result.setdefault(run, RunContents(name=run))
                    if not self._add(contents, tag, record):
                        continue
                    if time_series.max_step is not None:
                        step = int(time_series.max_step)
                        if contents.last_step is None or step > contents.last_step:
                            contents.last_step = step
        result = {name: result[name] for name in sorted(result)}
        self._index_cache.put(experiment_id, runs, result)
        return result

    def _read_configs(self, ctx, experiment_id, contents_list, prefetched=None):
        """Reads the run_config records of the `RunContents` of `contents_list` whose configs
        were not read (one provider call for all; none if every one was) into them.

        `prefetched`: the run_config series already read (`_read_config_series`); the runs
        it lacks are read now.
        """
        todo = [c for c in contents_list if not c.configs_read]
        with_config = [c for c in todo if c.run_config_tag is not None]
        data = {}
        if prefetched is not None:
            data = {
                c.name: prefetched[c.name]
                for c in with_config
                if c.run_config_tag in prefetched.get(c.name, {})
            }
        missing = [c for c in with_config if c.name not in data]
        if missing:
            data.update(
                self._read_tensors(
                    ctx,
                    experiment_id,
                    sorted(c.name for c in missing),
                    sorted({c.run_config_tag for c in missing}),
                )
            )
        for contents in with_config:
            tag = contents.run_config_tag
            configs = data.get(contents.name, {}).get(tag, [])
            contents.starts = self._starts(contents.name, tag, configs)
            kept = _by_step(_not_superseded(configs, contents.starts))
            contents.config = self._latest_config(contents.name, tag, kept)
            if configs:
                contents.config_wall_time = max(d.wall_time for d in configs)
        for contents in todo:
            contents.configs_read = True

    def _index(self, ctx, experiment_id, runs, complete=None):
        """`runs(ctx, experiment_id, runs)`, reusing a listing at most `index_max_age` old.

        `complete(index)` says whether the reused index has what the caller needs; when it
        says False, the series are listed afresh.
        """
        index = self._index_cache.get(experiment_id, runs)
        if index is not None and (complete is None or complete(index)):
            return index
        return self._list(ctx, experiment_id, runs=runs)

    def run(self, ctx, experiment_id, run, weight=None, kind=None):
        """Returns the `RunContents` of `run`; NotFoundError if it holds no pruning data.

        With `weight` (and `kind`), a reused index that lacks that weight of the run (or its
        series of that kind) is listed afresh.
        """

        def complete(index):
            if run not in index:
                return False
            if weight is None:
                return True
            tags = index[run].weights.get(weight)
            return tags is not None and (kind is None or kind in tags)

        found = self._index(ctx, experiment_id, [run], complete).get(run)
        if found is None:
            raise errors.NotFoundError("no pruning data for run %r" % (run,))
        return found

    def _parse(self, run, tag, content, skipped=None):
        try:
            return metadata.parse_plugin_metadata(content)
        except metadata.NewerFormatError as e:
            if skipped is not None:
                skipped.append(SkippedSeries(run, tag, e.version))
            self._warn_once(
                ("version", run, tag, e.version),
                "skipping pruning series run %r, tag %r: format version %r is newer than this "
                "tb_prune_plugin reads (%d); upgrade tb_prune_plugin to see it",
                run,
                tag,
                e.version,
                metadata.FORMAT_VERSION,
            )
        except metadata.FormatError as e:
            self._warn_once(
                ("metadata", run, tag),
                "skipping pruning series run %r, tag %r: invalid plugin metadata: %s",
                run,
                tag,
                e,
            )
        return None

    def _add(self, contents, tag, record):
        """Files `tag` under its role in `contents`; False (with a warning) on a duplicate."""
        kind = record.kind
        if kind in metadata.PER_WEIGHT_KINDS:
            existing = contents.weights.get(record.weight, {}).get(kind)
        elif kind == metadata.KIND_METRIC:
            existing = contents.metrics.get(record.scope, {}).get(record.metric)
        elif kind == metadata.KIND_MODEL_STATS:
            existing = contents.model_stats_tag
        else:
            existing = contents.run_config_tag
        if existing is not None:
            self._warn_once(
                ("duplicate", contents.name, tag),
                "skipping pruning series run %r, tag %r: its %s record duplicates tag %r",
                contents.name,
                tag,
                kind,
                existing,
            )
            return False
        if kind in metadata.PER_WEIGHT_KINDS:
            contents.weights.setdefault(record.weight, {})[kind] = tag
        elif kind == metadata.KIND_METRIC:
            contents.metrics.setdefault(record.scope, {})[record.metric] = tag
        elif kind == metadata.KIND_MODEL_STATS:
            contents.model_stats_tag = tag
        else:
            contents.run_config_tag = tag
        contents.records[tag] = record
        return True

    def weight_tags(self, ctx, experiment_id, run, weight, kind=None):
        """Returns `(RunContents, {kind: tag})` of `weight` in `run`; NotFoundError if there is
        no such weight. With `kind`, a reused index without that kind of series of the weight
        is listed afresh (a series that appeared since is found)."""
        contents = self.run(ctx, experiment_id, run, weight, kind)
        tags = contents.weights.get(weight)
        if tags is None:
            raise errors.NotFoundError(
                "run %r has no pruning data for weight %r (weights: %s)"
                % (run, weight, ", ".join(sorted(contents.weights)) or "none")
            )
        return contents, tags

    # Tensor series ----------------------------------------------------------------------------

    def _provider_read(self, ctx, experiment_id, runs, tags, downsample):
        """The data provider's read_tensors of `runs` x `tags` (None: all), decoded a series at
        a time (`provider_reads`)."""
        return provider_reads.read_tensors(
            self._provider,
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=downsample,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )

    def _read_tensors(self, ctx, experiment_id, runs, tags, downsample=None):
        """read_tensors over `runs` x `tags`; a series the provider fails on is skipped."""
        downsample = self._downsample if downsample is None else downsample
        try:
            return self._provider_read(ctx, experiment_id, runs, tags, downsample)
        except (ValueError, TypeError) as e:
            # A corrupt tensor makes the provider fail the whole call: retry one by one.
            if len(runs) == 1 and len(tags) == 1:
                self._warn_once(
                    ("tensor", runs[0], tags[0]),
                    "skipping pruning series run %r, tag %r: its tensors do not decode: %s",
                    runs[0],
                    tags[0],
                    e,
                )
                return {}
            result = {}
            for run in runs:
                for tag in tags:
                    part = self._read_tensors(ctx, experiment_id, [run], [tag], downsample)
                    for r, by_tag in part.items():
                        result.setdefault(r, {}).update(by_tag)
            return result

    def _read_current(self, ctx, experiment_id, index, runs, tags, downsample=None):
        """read_tensors of `tags` over `runs`, and in the same provider call the runs'
        run_config series, whose start marks drop the records a later training superseded
        (`restarts`; TensorBoard's Python loader has dropped them already, its Rust data
        server keeps those of a series the later training did not write again at or after
        their step).

        Returns:
          `(data, sent, starts)`: {run: {tag: [datum]}} without the superseded records,
          {run: {tag: number of data the provider sent}} (to tell a sampled series), and
          {run: the runs' `restarts.training_starts`}.
        """
        config_tags = {index[r].run_config_tag for r in runs if index[r].run_config_tag}
        read = sorted(set(tags) | config_tags)
        answer = self._read_tensors(ctx, experiment_id, sorted(runs), read, downsample)
        data, sent, starts = {}, {}, {}
        for run in runs:
            by_tag = answer.get(run, {})
            config_tag = index[run].run_config_tag
            starts[run] = self._starts(run, config_tag, by_tag.get(config_tag, []))
            data[run] = {t: _not_superseded(by_tag[t], starts[run]) for t in tags if t in by_tag}
            sent[run] = {t: len(by_tag[t]) for t in tags if t in by_tag}
        return data, sent, starts

    def _starts(self, run, config_tag, configs):
        """`restarts.training_starts` of the run_config data `configs` (those with start_step)."""
        marks = [d for d in configs if "start_step" in (self._config(run, config_tag, d) or {})]
        return restarts.training_starts(*_steps_and_wall_times(marks))

    def _series_data(self, ctx, experiment_id, contents, tag, downsample=None):
        """The data of one tensor series of run `contents`, sorted by step, the last datum per
        step kept, without the records a later training superseded."""
        index = {contents.name: contents}
        data = self._read_current(ctx, experiment_id, index, [contents.name], [tag], downsample)
        return _by_step(data[0][contents.name].get(tag, []))

    def _vector_series_of(self, run, tag, data, record, default_fields):
        """The `Series` of a vector series' data (sorted by step); bad records are skipped."""
        fields = record.fields if record.fields is not None else default_fields
        arrays = [datum.numpy for datum in data]
        shape = (len(fields),)
        if all(
            type(a) is np.ndarray and a.dtype == np.float64 and a.shape == shape for a in arrays
        ):
            # Every record as written: stacked at once (20,000 records in a few ms).
            steps = [datum.step for datum in data]
            rows = arrays
        else:
            steps, rows = [], []
            for datum in data:
                vector = self._vector(run, tag, datum, len(fields))
                if vector is not None:
                    steps.append(datum.step)
                    rows.append(vector)
        matrix = np.array(rows, dtype=np.float64).reshape(len(rows), len(fields))
        return Series(
            steps=np.array(steps, dtype=np.int64),
            fields={name: matrix[:, i].copy() for i, name in enumerate(fields)},
        )

    def _vector(self, run, tag, datum, length):
        """The datum as a float64 vector of `length` entries, or None (warned) if it is not."""
        array = np.asarray(datum.numpy)
        if array.dtype.kind not in "fiu" or array.shape != (length,):
            self._warn_once(
                ("datum", run, tag, datum.step),
                "skipping pruning record run %r, tag %r, step %d: expected %d numbers, "
                "got dtype %s shape %s",
                run,
                tag,
                datum.step,
                length,
                array.dtype,
                array.shape,
            )
            return None
        return array.astype(np.float64)

    def _sample_size(self, max_points):
        """The downsample asked of the provider when at most `max_points` steps are sent.

        One more than `max_points`, so that a longer series shows as one (None: every step).
        """
        if max_points is None:
            return self._downsample
        return min(self._downsample, max_points + 1)

    def weight_series(self, ctx, experiment_id, run, weight, max_points=None):
        """The weight_stats records of `weight` as a `Series` (fields of `WEIGHT_STATS_FIELDS`).

        A weight without weight_stats records gives a series with no steps. With
        `max_points`, a series of more than `max_points` steps is sampled by the data
        provider (see `Series.sampled`).
        """
        contents, _ = self.weight_tags(
            ctx, experiment_id, run, weight, metadata.KIND_WEIGHT_STATS
        )  # NotFoundError
        index = {run: contents}
        return self._weight_series(ctx, experiment_id, index, [run], weight, max_points)[0][run]

    def model_series(self, ctx, experiment_id, run, max_points=None):
        """The model_stats records of `run` as a `Series` (fields of `MODEL_STATS_FIELDS`);
        `max_points` as for `weight_series`."""
        index = {run: self.run(ctx, experiment_id, run)}  # NotFoundError
        return self._model_series(ctx, experiment_id, index, [run], max_points)[0][run]

    def weight_series_many(self, ctx, experiment_id, runs, weight, max_points=None):
        """The weight_stats records of `weight` in each of `runs`, read in one provider call.

        With `max_points`, the provider is asked for one more step than that: a series that
        has more is the provider's sample (`Series.sampled`), whose `mask_change_steps` are
        then read from the mask records' steps (one more call for all such series).

        Returns:
          `({run: Series}, [missing run])`: a `Series` (possibly with no steps) for every run
          of `runs` that has pruning data for `weight`, in the order of `runs`; the others
          (unknown runs, runs without the weight) are listed in `missing`, in that order.
        """
        index = self._index(
            ctx,
            experiment_id,
            list(runs),
            lambda index: all(r in index and weight in index[r].weights for r in runs),
        )
        return self._weight_series(ctx, experiment_id, index, runs, weight, max_points)

    def _weight_series(self, ctx, experiment_id, index, runs, weight, max_points):
        found, missing, tags = {}, [], {}
        for run in runs:
            weight_tags = index[run].weights.get(weight) if run in index else None
            if weight_tags is None:
                missing.append(run)
                continue
            found[run] = None
            tag = weight_tags.get(metadata.KIND_WEIGHT_STATS)
            if tag is not None:
                tags[run] = tag
        asked = self._sample_size(max_points)
        data, sent, starts = {}, {}, {}
        if tags:
            data, sent, starts = self._read_current(
                ctx, experiment_id, index, sorted(tags), sorted(set(tags.values())), asked
            )
        sampled_masks = []
        for run in found:
            tag = tags.get(run)
            if tag is None:
                found[run] = _empty_series(metadata.WEIGHT_STATS_FIELDS)
                continue
            series = self._read_vector_series(
                run,
                tag,
                (data, sent),
                index[run].records[tag],
                metadata.WEIGHT_STATS_FIELDS,
                asked,
            )
            found[run] = series
            if series.sampled:
                mask_tag = index[run].weights[weight].get(metadata.KIND_MASK)
                if mask_tag is None:
                    series.mask_change_steps = np.zeros(0, dtype=np.int64)
                else:
                    sampled_masks.append((run, mask_tag))
        if sampled_masks:
            steps = self._blob_sequence_steps(ctx, experiment_id, sampled_masks, starts)
            for run, mask_tag in sampled_masks:
                found[run].mask_change_steps = steps[(run, mask_tag)]
        return found, missing

    def model_series_many(self, ctx, experiment_id, runs, max_points=None):
        """The model_stats records of each of `runs`, read in one provider call.

        Returns:
          `({run: Series}, [missing run])` as `weight_series_many`; a run is missing when it
          holds no pruning data (a run without model_stats records gets a `Series` with no
          steps).
        """
        index = self._index(ctx, experiment_id, list(runs), lambda i: all(r in i for r in runs))
        return self._model_series(ctx, experiment_id, index, runs, max_points)

    def _model_series(self, ctx, experiment_id, index, runs, max_points):
        found, missing, tags = {}, [], {}
        for run in runs:
            if run not in index:
                missing.append(run)
                continue
            found[run] = None
            if index[run].model_stats_tag is not None:
                tags[run] = index[run].model_stats_tag
        asked = self._sample_size(max_points)
        data = ({}, {})
        if tags:
            data = self._read_current(
                ctx, experiment_id, index, sorted(tags), sorted(set(tags.values())), asked
            )[:2]
        for run in found:
            tag = tags.get(run)
            if tag is None:
                found[run] = _empty_series(metadata.MODEL_STATS_FIELDS)
                continue
            found[run] = self._read_vector_series(
                run, tag, data, index[run].records[tag], metadata.MODEL_STATS_FIELDS, asked
            )
        return found, missing

    def _read_vector_series(self, run, tag, read, record, default_fields, asked):
        """The `Series` of run `run`, tag `tag` of `read`, the `(data, sent)` of a
        `_read_current` answer for `asked` points."""
        data, sent = read
        raw = data.get(run, {}).get(tag, [])
        series = self._vector_series_of(run, tag, _by_step(raw), record, default_fields)
        series.sampled = sent.get(run, {}).get(tag, 0) >= asked
        return series

    def _blob_sequence_steps(self, ctx, experiment_id, pairs, starts):
        """{(run, tag): int64 steps} of blob sequence series `pairs`, in one provider call,
        without the records a later training superseded (`starts`: {run: training starts})."""
        data = self._provider.read_blob_sequences(
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=self._downsample,
            run_tag_filter=provider.RunTagFilter(
                runs=sorted({r for r, _ in pairs}), tags=sorted({t for _, t in pairs})
            ),
        )
        return {
            (r, t): np.array(
                sorted({d.step for d in _not_superseded(data.get(r, {}).get(t, []), starts[r])}),
                np.int64,
            )
            for r, t in pairs
        }

    def histograms(self, ctx, experiment_id, run, weight, max_points=None):
        """The weight_histogram records of `weight` as a `HistogramSeries`.

        With `max_points`, a series of more than `max_points` histograms is the provider's
        sample (`HistogramSeries.sampled`). The thresholds come from the weight_stats
        records, read in the same provider call with the same sample size (the providers
        then pick the same steps of two series recorded at the same steps); when that
        sample misses a step, the whole weight_stats series is read.
        """
        contents, tags = self.weight_tags(
            ctx, experiment_id, run, weight, metadata.KIND_WEIGHT_HISTOGRAM
        )
        steps, lo, hi, counts = [], [], [], []
        tag = tags.get(metadata.KIND_WEIGHT_HISTOGRAM)
        stats_tag = tags.get(metadata.KIND_WEIGHT_STATS)
        asked = self._sample_size(max_points)
        data, sent = {}, {}
        if tag is not None:
            read = sorted(t for t in (tag, stats_tag) if t is not None)
            data, sent, _ = self._read_current(
                ctx, experiment_id, {run: contents}, [run], read, asked
            )
        raw = data.get(run, {}).get(tag, []) if tag is not None else []
        for datum in _by_step(raw):
            array = np.asarray(datum.numpy)
            if array.dtype.kind not in "fiu" or array.ndim != 1 or array.shape[0] < 3:
                self._warn_once(
                    ("datum", run, tag, datum.step),
                    "skipping pruning record run %r, tag %r, step %d: a histogram needs lo, hi "
                    "and at least one count, got dtype %s shape %s",
                    run,
                    tag,
                    datum.step,
                    array.dtype,
                    array.shape,
                )
                continue
            array = array.astype(np.float64)
            steps.append(datum.step)
            lo.append(array[0])
            hi.append(array[1])
            counts.append(np.nan_to_num(array[2:]).round().astype(np.int64))
        steps = np.array(steps, dtype=np.int64)
        threshold = np.full(len(steps), np.nan)
        if len(steps) and stats_tag is not None:
            stats = self._read_vector_series(
                run,
                stats_tag,
                (data, sent),
                contents.records[stats_tag],
                metadata.WEIGHT_STATS_FIELDS,
                asked,
            )
            if stats.sampled and not set(steps.tolist()) <= set(stats.steps.tolist()):
                stats = self.weight_series(ctx, experiment_id, run, weight)
            if "threshold" in stats.fields:
                by_step = dict(zip(stats.steps.tolist(), stats.fields["threshold"].tolist()))
                threshold = np.array([by_step.get(s, np.nan) for s in steps.tolist()])
        return HistogramSeries(
            steps=steps,
            lo=np.array(lo, dtype=np.float64),
            hi=np.array(hi, dtype=np.float64),
            counts=counts,
            threshold=threshold,
            sampled=sent.get(run, {}).get(tag, 0) >= asked,
        )

    def metrics(self, ctx, experiment_id, run, max_points=None):
        """The metric records of `run`: {scope: {metric name: `MetricSeries`}}.

        Every scope of `metadata.METRIC_SCOPES` is present (possibly empty). With
        `max_points`, a metric of more than `max_points` steps is the provider's sample
        (`MetricSeries.sampled`), as for `weight_series`.
        """
        contents = self.run(ctx, experiment_id, run)
        result = {scope: {} for scope in metadata.METRIC_SCOPES}
        tag_to_name = {
            tag: (scope, name)
            for scope, names in contents.metrics.items()
            for name, tag in names.items()
        }
        if not tag_to_name:
            return result
        # The run_config records mark where each training started: read in the same call.
        config_tag = contents.run_config_tag
        tags = sorted(tag_to_name) + ([config_tag] if config_tag else [])
        asked = self._sample_size(max_points)
        data = self._read_tensors(ctx, experiment_id, [run], tags, asked).get(run, {})
        marks = [
            d
            for d in data.get(config_tag, [])
            if "start_step" in (self._config(run, config_tag, d) or {})
        ]
        starts = restarts.training_starts(*_steps_and_wall_times(marks))
        for tag, (scope, name) in sorted(tag_to_name.items()):
            steps, values = [], []
            raw = data.get(tag, [])
            for datum in _by_step(_not_superseded(raw, starts)):
                array = np.asarray(datum.numpy)
                if array.dtype.kind not in "fiu" or array.size != 1:
                    self._warn_once(
                        ("datum", run, tag, datum.step),
                        "skipping pruning record run %r, tag %r, step %d: a metric must be one "
                        "number, got dtype %s shape %s",
                        run,
                        tag,
                        datum.step,
                        array.dtype,
                        array.shape,
                    )
                    continue
                steps.append(datum.step)
                values.append(float(array.reshape(-1)[0]))
            result[scope][name] = MetricSeries(
                steps=np.array(steps, dtype=np.int64),
                values=np.array(values, dtype=np.float64),
                sampled=len(raw) >= asked,
            )
        return result

    def run_config(self, ctx, experiment_id, run):
        """The run's run_config record as a dict (the latest one), or None if it has none."""
        contents = self.run(ctx, experiment_id, run)
        return self._configs(ctx, experiment_id, {run: contents}).get(run)

    def run_configs(self, ctx, experiment_id, runs):
        """{run: run_config dict or None} for the `RunContents` values of `runs` (no provider
        call for those `runs` returned: their configs were read with them)."""
        self._read_configs(ctx, experiment_id, runs)
        return {c.name: c.config for c in runs}

    def _configs(self, ctx, experiment_id, contents_by_run):
        result = {run: None for run in contents_by_run}
        tags = sorted({c.run_config_tag for c in contents_by_run.values() if c.run_config_tag})
        with_config = {r: c for r, c in contents_by_run.items() if c.run_config_tag}
        if not with_config:
            return result
        data = self._read_current(ctx, experiment_id, with_config, list(with_config), tags)[0]
        for run, contents in with_config.items():
            tag = contents.run_config_tag
            result[run] = self._latest_config(run, tag, _by_step(data[run].get(tag, [])))
        return result

    def _latest_config(self, run, tag, data):
        """The config of the last valid run_config datum of `data` (sorted by step), or None."""
        for datum in reversed(data):
            config = self._config(run, tag, datum)
            if config is not None:
                return config
        return None

    def _config(self, run, tag, datum):
        array = np.asarray(datum.numpy)
        try:
            if array.size != 1:
                raise ValueError("expected one string, got shape %s" % (array.shape,))
            text = array.reshape(-1)[0]
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            config = json.loads(text)
            if not isinstance(config, dict):
                raise ValueError("expected a JSON object, got %r" % (config,))
            return config
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            self._warn_once(
                ("datum", run, tag, datum.step),
                "skipping pruning record run %r, tag %r, step %d: invalid run config: %s",
                run,
                tag,
                datum.step,
                e,
            )
            return None

    # Masks ------------------------------------------------------------------------------------

    def _mask_data(self, ctx, experiment_id, contents, tag, downsample=None, meanwhile=None):
        """The blob sequence data of mask series `tag` of run `contents`, by step (the last
        datum per step), without the records a later training superseded.

        A blob sequence cannot be read in one provider call with the run_config series: the
        trainings' starts are those read with the index, or, if the index was listed without
        them, read now at the same time as the blob sequence (two calls at once).
        `meanwhile()` is called while the provider calls are under way.
        """
        run = contents.name
        pool = self._pool()
        configs = None
        if not contents.configs_read:
            configs = pool.submit(self._read_configs, ctx, experiment_id, [contents])
        if configs is None and meanwhile is None:
            raw = self._blob_sequence(ctx, experiment_id, run, tag, downsample)
        else:
            listing = pool.submit(self._blob_sequence, ctx, experiment_id, run, tag, downsample)
            if meanwhile is not None:
                meanwhile()
            raw = listing.result()
        if configs is not None:
            configs.result()
        data = _by_step(_not_superseded(raw, contents.starts))
        if downsample is None:
            self._listing_cache.put((experiment_id, run, tag), data)
        return data

    def _blob_sequence(self, ctx, experiment_id, run, tag, downsample=None):
        """The data of one blob sequence series, as the provider sends it (one call)."""
        data = self._provider.read_blob_sequences(
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=self._downsample if downsample is None else downsample,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=[tag]),
        )
        return data.get(run, {}).get(tag, [])

    def _mask_record(self, ctx, run, tag, datum, skipped=None, blobs=None):
        """The `MaskRecord` of a blob sequence datum, or None (warned) if it is corrupt.

        The reason a record is skipped is appended to `skipped` (a list) when given.
        `blobs` holds blobs already read ({blob key: bytes or the error reading it}).
        """
        try:
            header_key, payload_key = _blob_keys(datum)
            shape, encoding, kept = self._parsed_header(ctx, header_key, datum.wall_time, blobs)
        except (mask_codec.MaskDecodeError, errors.NotFoundError) as e:
            self._skip_mask(run, tag, datum.step, e, skipped)
            return None
        return MaskRecord(datum.step, shape, kept, encoding, header_key, payload_key)

    def _skip_mask(self, run, tag, step, error, skipped):
        self._warn_once(
            ("datum", run, tag, step),
            "skipping pruning mask run %r, tag %r, step %d: %s",
            run,
            tag,
            step,
            error,
        )
        if skipped is not None:
            skipped.append(str(error))

    def _parsed_header(self, ctx, header_key, wall_time, blobs=None):
        """`mask_codec.parse_header` of a record's header blob, cached by key and wall time
        (read from `blobs` when it is there, else from the data provider)."""
        cache_key = (header_key, wall_time)
        parsed = self._header_cache.get(cache_key)
        if parsed is None:
            if blobs is not None and header_key in blobs:
                header = _blob_or_raise(blobs[header_key])
            else:
                header = self._read_blob(ctx, header_key)
            parsed = mask_codec.parse_header(header)
            self._header_cache.put(cache_key, parsed)
        return parsed

    def _read_blob(self, ctx, blob_key):
        """The bytes of one blob; MaskDecodeError if the provider cannot give them.

        The Python provider indexes the record's tensor, which fails on a record of an
        unexpected shape; such a record is corrupt, not a reason to fail the request.
        TensorBoard's Rust data server (0.7) cannot parse the blob keys it made itself
        for a run or tag holding `"`, `\\` or a control character, and says
        InvalidArgumentError: those masks cannot be read, and the request goes on.
        """
        try:
            blob = self._provider.read_blob(ctx, blob_key=blob_key)
        except (IndexError, ValueError, TypeError) as e:
            raise mask_codec.MaskDecodeError("blob cannot be read: %r" % (e,)) from None
        except errors.InvalidArgumentError as e:
            raise mask_codec.MaskDecodeError(
                "TensorBoard's data provider cannot read the blob: %s" % (e,)
            ) from None
        if not isinstance(blob, (bytes, bytearray)):
            raise mask_codec.MaskDecodeError(
                "blob is not a byte string but %s" % type(blob).__name__
            )
        return bytes(blob)

    def _read_blobs(self, ctx, blob_keys):
        """{blob key: bytes, or the MaskDecodeError or NotFoundError reading it raised} for
        `blob_keys`, read at once: up to `BLOB_READ_THREADS` provider calls in flight."""
        keys = list(dict.fromkeys(blob_keys))

        def read(key):
            try:
                return self._read_blob(ctx, key)
            except (mask_codec.MaskDecodeError, errors.NotFoundError) as e:
                return e

        if len(keys) < 2:
            return {key: read(key) for key in keys}
        return dict(zip(keys, self._pool().map(read, keys)))

    def _pool(self):
        """The threads that read from the data provider. Their tasks make provider calls and
        submit no tasks themselves, so they never wait for each other."""
        with self._blob_pool_lock:
            if self._blob_pool is None:
                self._blob_pool = concurrent.futures.ThreadPoolExecutor(
                    BLOB_READ_THREADS, thread_name_prefix="pruning_blobs"
                )
            return self._blob_pool

    def _packed_masks(self, ctx, run, tag, data, skipped=None, series=None):
        """The decoded mask (`mask_codec.PackedMask`, cached, shared) of each blob sequence
        datum of `data`, or None (warned) for one that does not decode.

        The blobs of the masks not in the cache are read at once; a header whose parse is
        cached (from /mask_steps) is not read again. Blob keys name experiment, run, tag,
        step and index; with the wall time, a record rewritten at the same step (a resumed
        training) is another entry. A delta record's chain is found in `series` (the
        series' data by step; by default `data`): `_delta_mask`.
        """
        keys, masks, wanted = [], [], []
        for datum in data:
            try:
                header_key, payload_key = _blob_keys(datum)
            except mask_codec.MaskDecodeError as e:
                self._skip_mask(run, tag, datum.step, e, skipped)
                keys.append(None)
                masks.append(None)
                continue
            key = (header_key, payload_key, datum.wall_time)
            keys.append(key)
            masks.append(self._mask_cache.get(key))
            if masks[-1] is None:
                if self._header_cache.get((header_key, datum.wall_time)) is None:
                    wanted.append(header_key)
                wanted.append(payload_key)
        blobs = self._read_blobs(ctx, wanted) if wanted else {}
        for i, datum in enumerate(data):
            if keys[i] is None or masks[i] is not None:
                continue
            header_key, payload_key, _ = keys[i]
            masks[i] = self._mask_cache.get(keys[i])  # decoded meanwhile, in a delta's chain
            if masks[i] is not None:
                continue
            try:
                parsed = self._parsed_header(ctx, header_key, datum.wall_time, blobs)
                payload = _blob_or_raise(blobs[payload_key])
                if parsed.kind == mask_codec.KIND_DELTA:
                    chain = data if series is None else series
                    masks[i] = self._delta_mask(ctx, datum, parsed, payload, chain)
                else:
                    masks[i] = mask_codec.decode_packed(None, payload, parsed_header=parsed)
            except (mask_codec.MaskDecodeError, errors.NotFoundError) as e:
                self._skip_mask(run, tag, datum.step, e, skipped)
                continue
            self._mask_cache.put(keys[i], masks[i])
        return masks

    def _delta_mask(self, ctx, datum, parsed, payload, series):
        """The mask of delta record `datum` (header `parsed`): the delta applied to its base,
        decoded from the records of `series` since the chain's keyframe, from the latest one
        in the cache on (their blobs read at once). It and its base are cached: scrubbing
        forward applies one delta a step. MaskDecodeError if a record of the chain is missing
        or does not decode.
        """
        chain = [d for d in series if parsed.keyframe_step <= d.step < datum.step]
        if not chain or chain[-1].step != parsed.base_step:
            raise mask_codec.MaskDecodeError(
                "the mask delta's base, the record of step %d, is missing (not read, or not "
                "in TensorBoard's sample of the series: see --samples_per_plugin)"
                % parsed.base_step
            )
        start, base = len(chain), None
        while base is None and start > 0:
            start -= 1
            base = self._mask_cache.get((*_blob_keys(chain[start]), chain[start].wall_time))
        todo = chain[start + 1 :] if base is not None else chain
        keys = [_blob_keys(d) for d in todo]
        blobs = self._read_blobs(
            ctx,
            [
                k
                for (h, p), d in zip(keys, todo)
                for k in (h, p)
                if k == p or self._header_cache.get((h, d.wall_time)) is None
            ],
        )
        records = [
            (d.step, self._parsed_header(ctx, h, d.wall_time, blobs), _blob_or_raise(blobs[p]))
            for (h, p), d in zip(keys, todo)
        ]
        masks = mask_codec.decode_chain(
            records + [(datum.step, parsed, payload)],
            base=None if base is None else (chain[start].step, base),
            keep=2,  # the base too: /mask compares with it
        )
        for (h, p), d, mask in zip(keys, todo, masks):
            if mask is not None:
                self._mask_cache.put((h, p, d.wall_time), mask)
        return masks[-1]

    def mask_records(self, ctx, experiment_id, run, weight, downsample=None, skipped=None):
        """The `MaskRecord`s of `weight` by step (headers checked, payloads not decoded).

        Records whose header cannot be read are left out (warned); the reason for each is
        appended to `skipped` (a list) when given.
        """
        contents, tags = self.weight_tags(ctx, experiment_id, run, weight, metadata.KIND_MASK)
        tag = tags.get(metadata.KIND_MASK)
        if tag is None:
            return []
        return self._mask_records(ctx, experiment_id, contents, tag, downsample, skipped)

    def _mask_records(self, ctx, experiment_id, contents, tag, downsample=None, skipped=None):
        run = contents.name
        data = self._mask_data(ctx, experiment_id, contents, tag, downsample)
        # The headers not seen before, read at once.
        blobs = self._read_blobs(
            ctx,
            [
                d.values[0].blob_key
                for d in data
                if len(d.values) == 2
                and self._header_cache.get((d.values[0].blob_key, d.wall_time)) is None
            ],
        )
        records = []
        for datum in data:
            record = self._mask_record(ctx, run, tag, datum, skipped, blobs)
            if record is not None:
                records.append(record)
        return records

    def mask_steps(self, ctx, experiment_id, run, weight, skipped=None):
        """[(step, shape)] of the masks recorded for `weight`, by step (see `mask_records`)."""
        records = self.mask_records(ctx, experiment_id, run, weight, skipped=skipped)
        return [(r.step, r.shape) for r in records]

    def mask_data(self, ctx, experiment_id, run, weight, prefetch_step=None):
        """`(tag, data)`: the mask series' tag (None if none) and its blob sequence data by
        step (`provider.BlobSequenceDatum`s: step, wall time, blob keys), in one provider call.

        With `prefetch_step`, while that call is under way, the two masks `mask_at` would
        read at that step by the series' previous listing are read and decoded into the
        mask cache. The fresh data decides what is used: the cache is keyed by blob keys and
        wall times, so a mask that changed since is read again.

        Raises:
          NotFoundError: unknown run or weight.
        """
        contents, tags = self.weight_tags(ctx, experiment_id, run, weight, metadata.KIND_MASK)
        tag = tags.get(metadata.KIND_MASK)
        if not tag:
            return tag, []
        previous = self._listing_cache.get((experiment_id, run, tag))
        if prefetch_step is None or previous is None:
            return tag, self._mask_data(ctx, experiment_id, contents, tag)

        def prefetch():
            try:
                self._packed_masks(
                    ctx,
                    run,
                    tag,
                    [d for d in reversed(previous) if d.step <= prefetch_step][:2],
                    series=previous,
                )
            except Exception:  # noqa: BLE001 - the same reads are made again, and fail there
                logger.debug("mask prefetch failed", exc_info=True)

        return tag, self._mask_data(ctx, experiment_id, contents, tag, meanwhile=prefetch)

    def mask_at(self, ctx, experiment_id, run, weight, step, mask_data=None):
        """The mask in force at `step` as a `MaskAtStep`.

        That is the latest mask record at or before `step`, plus the record before it.
        Records that do not decode are skipped (with a warning). The masks are read-only:
        they are shared with later requests through a small cache, keyed by the records'
        blob keys and wall times (a record seen before is not read again).

        Args:
          mask_data: `mask_data(...)`'s answer, if the caller has it (saves a provider call).

        Raises:
          NotFoundError: unknown run or weight, or no mask recorded at or before `step`.
        """
        if mask_data is None:
            mask_data = self.mask_data(ctx, experiment_id, run, weight)
        tag, data = mask_data
        found = []  # (step, mask) of the latest two decodable records at or before `step`
        unreadable = []
        candidates = [d for d in reversed(data) if d.step <= step]
        while candidates and len(found) < 2:
            batch, candidates = candidates[: 2 - len(found)], candidates[2 - len(found) :]
            masks = self._packed_masks(ctx, run, tag, batch, unreadable, data)
            for datum, mask in zip(batch, masks):
                if mask is not None:
                    found.append((datum.step, mask))
        if not found and unreadable:
            raise errors.NotFoundError(
                "no readable mask of weight %r in run %r at or before step %r: %d recorded "
                "masks could not be read (%s)" % (weight, run, step, len(unreadable), unreadable[0])
            )
        if not found:
            first = ", first at step %d" % data[0].step if data else ""
            raise errors.NotFoundError(
                "no mask of weight %r in run %r at or before step %r%s" % (weight, run, step, first)
            )
        previous = found[1] if len(found) > 1 else (None, None)
        return MaskAtStep(
            requested_step=step,
            step=found[0][0],
            packed=found[0][1],
            previous_step=previous[0],
            previous_packed=previous[1],
        )

    def masks(self, ctx, experiment_id, run, weight):
        """{step: decoded bool mask} of every decodable mask record of `weight` (new,
        writable arrays)."""
        tag, data = self.mask_data(ctx, experiment_id, run, weight)
        result = {}
        # A few records at a time: their blobs are read at once.
        for start in range(0, len(data), BLOB_READ_THREADS // 2):
            batch = data[start : start + BLOB_READ_THREADS // 2]
            for datum, mask in zip(batch, self._packed_masks(ctx, run, tag, batch, None, data)):
                if mask is not None:
                    result[datum.step] = mask.unpack()
        return result

    # Overview ---------------------------------------------------------------------------------

    def overview(self, ctx, experiment_id, runs=None):
        """The last recorded state of every weight and of every run's model figures.

        Args:
          runs: run names to include (None: all runs with pruning data). An unknown run
            raises NotFoundError.

        Returns:
          `([WeightSummary] sorted by run and weight, [RunSummary] sorted by run)`.
        """
        index = self._index(ctx, experiment_id, runs, lambda i: all(r in i for r in runs or ()))
        for run in runs or ():
            if run not in index:
                raise errors.NotFoundError("no pruning data for run %r" % (run,))
        # The latest datum of every tensor series (stats and run config) in one provider call
        # (the providers always keep the latest datum when downsampling to 1), not a few calls
        # per weight: each call costs a round trip to TensorBoard's data server. Shapes come
        # from the run config; only weights it does not give a shape for read their latest
        # mask record's header (one more call, and one per such weight).
        tensor_pairs = []
        for run, contents in index.items():
            for tags in contents.weights.values():
                if metadata.KIND_WEIGHT_STATS in tags:
                    tensor_pairs.append((run, tags[metadata.KIND_WEIGHT_STATS]))
            if contents.model_stats_tag is not None:
                tensor_pairs.append((run, contents.model_stats_tag))
            if contents.run_config_tag is not None:
                tensor_pairs.append((run, contents.run_config_tag))
        latest_vectors = self._latest_tensors(ctx, experiment_id, tensor_pairs)
        self._read_configs(ctx, experiment_id, index.values())
        starts = self._current_starts(ctx, experiment_id, index, latest_vectors)
        # A latest datum a later training superseded is not the last state: the whole series
        # is read instead (below, as for a latest datum that is not valid).
        latest_vectors = {
            (run, tag): _not_superseded(data, starts[run])
            for (run, tag), data in latest_vectors.items()
        }
        config_shapes = {
            run: self._config_shapes(run, contents.run_config_tag, latest_vectors)
            for run, contents in index.items()
        }
        mask_pairs = [
            (run, tags[metadata.KIND_MASK])
            for run, contents in index.items()
            for weight, tags in contents.weights.items()
            if metadata.KIND_MASK in tags and weight not in config_shapes[run]
        ]
        latest_masks = self._latest_blob_sequences(ctx, experiment_id, mask_pairs, starts)
        weights, models = [], []
        for run, contents in index.items():
            for weight in sorted(contents.weights):
                tags = contents.weights[weight]
                step, stats = self._last_vector(
                    ctx,
                    experiment_id,
                    contents,
                    tags.get(metadata.KIND_WEIGHT_STATS),
                    metadata.WEIGHT_STATS_FIELDS,
                    latest_vectors,
                )
                shape = config_shapes[run].get(weight)
                mask_tag = tags.get(metadata.KIND_MASK)
                if shape is None and mask_tag is not None:
                    latest = latest_masks.get((run, mask_tag), [])
                    records = [self._mask_record(ctx, run, mask_tag, d) for d in latest[-1:]]
                    records = [r for r in records if r is not None]
                    if not records:  # the last record is corrupt or superseded: all of them
                        current = dataclasses.replace(contents, starts=starts[run])
                        records = self._mask_records(ctx, experiment_id, current, mask_tag)
                    if records:
                        shape = records[-1].shape
                weights.append(WeightSummary(run, weight, shape, step, stats))
            step, stats = self._last_vector(
                ctx,
                experiment_id,
                contents,
                contents.model_stats_tag,
                metadata.MODEL_STATS_FIELDS,
                latest_vectors,
            )
            models.append(RunSummary(run, step, stats))
        return weights, models

    def _config_shapes(self, run, tag, latest):
        """{weight path: shape} from the run's latest run_config record in `latest` ({} if
        none, or if it does not list shapes as the monitor writes them)."""
        if tag is None:
            return {}
        shapes = {}
        for datum in latest.get((run, tag), [])[-1:]:
            config = self._config(run, tag, datum)
            entries = config.get("weights") if config is not None else None
            for entry in entries if isinstance(entries, list) else ():
                if not isinstance(entry, dict):
                    continue
                path, shape = entry.get("path"), entry.get("shape")
                if isinstance(path, str) and _is_shape(shape):
                    shapes[path] = tuple(shape)
        return shapes

    def _latest_tensors(self, ctx, experiment_id, pairs):
        """{(run, tag): [latest datum]} for tensor series `pairs`, in one provider call."""
        if not pairs:
            return {}
        runs, tags = sorted({r for r, _ in pairs}), sorted({t for _, t in pairs})
        data = self._read_tensors(ctx, experiment_id, runs, tags, downsample=1)
        return {(r, t): _by_step(data.get(r, {}).get(t, [])) for r, t in pairs}

    def _current_starts(self, ctx, experiment_id, index, latest):
        """{run: training starts} of the runs of `index`: those read with the index, unless
        the latest run_config datum in `latest` ({(run, tag): [datum]}) is newer than every
        run_config record the index saw (a training started since): those runs' run_config
        series are read again (one provider call for all)."""
        starts, stale = {}, {}
        for run, contents in index.items():
            starts[run] = contents.starts
            newest = [d.wall_time for d in latest.get((run, contents.run_config_tag), [])]
            seen = contents.config_wall_time
            if newest and (seen is None or newest[-1] > seen):
                stale[run] = contents
        if stale:
            tags = sorted({c.run_config_tag for c in stale.values()})
            data = self._read_tensors(ctx, experiment_id, sorted(stale), tags)
            for run, contents in stale.items():
                tag = contents.run_config_tag
                starts[run] = self._starts(run, tag, data.get(run, {}).get(tag, []))
        return starts

    def _latest_blob_sequences(self, ctx, experiment_id, pairs, starts):
        """{(run, tag): [latest datum]} for blob sequence series `pairs`, in one provider call;
        empty for a series whose latest datum a later training superseded (`starts`: {run:
        training starts})."""
        if not pairs:
            return {}
        data = self._provider.read_blob_sequences(
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=1,
            run_tag_filter=provider.RunTagFilter(
                runs=sorted({r for r, _ in pairs}), tags=sorted({t for _, t in pairs})
            ),
        )
        return {
            (r, t): _not_superseded(_by_step(data.get(r, {}).get(t, [])), starts[r])
            for r, t in pairs
        }

    def _last_vector(self, ctx, experiment_id, contents, tag, default_fields, latest):
        """(step, {field: value}) of the last valid record of a vector series, or (None, {}).

        `latest` maps (run, tag) to the series' latest datum; the whole series is read only
        when that one is not valid.
        """
        if tag is None:
            return None, {}
        record = contents.records[tag]
        fields = record.fields if record.fields is not None else default_fields
        for data in (latest.get((contents.name, tag), []), None):
            if data is None:
                data = self._series_data(ctx, experiment_id, contents, tag)
            for datum in reversed(data):
                vector = self._vector(contents.name, tag, datum, len(fields))
                if vector is not None:
                    return datum.step, dict(zip(fields, vector.tolist()))
        return None, {}


class _IndexCache:
    """Run indexes (`PruningReader.runs` results) by experiment and run filter, each reused for
    at most `max_age` seconds; at most `max_entries` of them, least recently stored out first.

    An index of all runs also answers for any subset of them.
    """

    def __init__(self, max_age, max_entries):
        self._max_age = max_age
        self._max_entries = max_entries
        self._entries = collections.OrderedDict()  # key -> (monotonic time, index)
        self._lock = threading.Lock()

    @staticmethod
    def _key(experiment_id, runs):
        return (experiment_id, None if runs is None else tuple(sorted(set(runs))))

    def put(self, experiment_id, runs, index):
        if self._max_age <= 0:
            return
        key = self._key(experiment_id, runs)
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (time.monotonic(), index)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def get(self, experiment_id, runs):
        """The index for `runs` (None: all) if one at most `max_age` old is kept, else None."""
        if self._max_age <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            for key in (self._key(experiment_id, runs), self._key(experiment_id, None)):
                entry = self._entries.get(key)
                if entry is None or now - entry[0] > self._max_age:
                    continue
                index = entry[1]
                if key[1] is None and runs is not None:
                    wanted = set(runs)
                    index = {name: c for name, c in index.items() if name in wanted}
                return index
        return None


class _LruCache:
    """Values by key, least recently used out first, at most `limit` in all, each value
    counting `size(value)` (1 by default: at most `limit` values). A value larger than the
    limit is not kept. Thread-safe."""

    def __init__(self, limit, size=None):
        self._limit = limit
        self._size = size or (lambda value: 1)
        self._values = collections.OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key, value):
        size = self._size(value)
        if size > self._limit:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._total -= self._size(old)
            self._values[key] = value
            self._total += size
            while self._total > self._limit:
                _, evicted = self._values.popitem(last=False)
                self._total -= self._size(evicted)


class _MaskCache(_LruCache):
    """Decoded masks by key, least recently used out first, at most `max_bytes` of their
    `nbytes` in all. Thread-safe."""

    def __init__(self, max_bytes):
        super().__init__(max_bytes, size=lambda mask: mask.nbytes)


def _blob_keys(datum):
    """(header key, payload key) of a mask record; MaskDecodeError if it is not two blobs."""
    if len(datum.values) != 2:
        raise mask_codec.MaskDecodeError(
            "expected 2 blobs (header, payload), got %d" % len(datum.values)
        )
    return datum.values[0].blob_key, datum.values[1].blob_key


def _blob_or_raise(blob):
    """A `_read_blobs` value: the bytes, or its error raised."""
    if isinstance(blob, Exception):
        raise blob
    return blob


def _read_only(array):
    array.flags.writeable = False
    return array


def _is_shape(value):
    return isinstance(value, list) and all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in value
    )


def _steps_and_wall_times(data):
    return [d.step for d in data], [d.wall_time for d in data]


_NO_STARTS = restarts.training_starts([], [])


def _not_superseded(data, starts):
    """`data` without the records a later training superseded (see `restarts`).

    TensorBoard's Python loader has dropped them already; the Rust data server keeps a
    killed training's record of a series the resumed one did not write again at or
    before that step, such as an epoch metric.
    """
    keep = restarts.kept(*_steps_and_wall_times(data), starts)
    return [d for d, k in zip(data, keep) if k]


def _by_step(data):
    """Data sorted by step, keeping the last datum written at each step."""
    by_step = {}
    for datum in data:
        by_step[datum.step] = datum
    return [by_step[s] for s in sorted(by_step)]


def _empty_series(fields):
    return Series(
        steps=np.zeros(0, dtype=np.int64),
        fields={name: np.zeros(0, dtype=np.float64) for name in fields},
    )


# Notebook convenience ------------------------------------------------------------------------


@dataclasses.dataclass
class Weight:
    """Everything recorded for one pruned weight.

    Attributes:
      name: the weight path, e.g. "dense/kernel".
      steps: steps of the weight_stats records (int64).
      fields: weight_stats field name -> values aligned with `steps` (float64, NaN: n/a).
      masks: step -> decoded bool mask, for every recorded mask.
      histograms: the |w| histograms of the kept weights.
    """

    name: str
    steps: np.ndarray
    fields: Dict[str, np.ndarray]
    masks: Dict[int, np.ndarray]
    histograms: HistogramSeries


@dataclasses.dataclass
class Run:
    """Everything recorded for one run.

    Attributes:
      name: the run name (directory relative to the log directory; "." for the root).
      config: the run_config record (None if none was written).
      weights: weight path -> `Weight`.
      model: the model_stats records as a `Series`.
      metrics: scope ("epoch"/"batch") -> metric name -> `MetricSeries`.
    """

    name: str
    config: Optional[dict]
    weights: Dict[str, Weight]
    model: Series
    metrics: Dict[str, Dict[str, MetricSeries]]


@dataclasses.dataclass
class Experiment:
    """The pruning data of a log directory: run name -> `Run`."""

    logdir: str
    runs: Dict[str, Run]


def load(logdir):
    """Reads every pruning record under `logdir` into an `Experiment` (for notebooks).

    Every sample is kept (no downsampling). Example:

        exp = load("logs/")
        w = exp.runs["tfmot_poly"].weights["dense/kernel"]
        plt.plot(w.steps, w.fields["sparsity"])
    """
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider as mux_data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={PLUGIN_NAME: 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    reader = PruningReader(mux_data_provider.MultiplexerDataProvider(multiplexer, str(logdir)))
    ctx, eid = context.RequestContext(), ""
    index = reader.runs(ctx, eid)
    configs = reader.run_configs(ctx, eid, index.values())
    runs = {}
    for name, contents in index.items():
        weights = {}
        for weight in sorted(contents.weights):
            series = reader.weight_series(ctx, eid, name, weight)
            weights[weight] = Weight(
                name=weight,
                steps=series.steps,
                fields=series.fields,
                masks=reader.masks(ctx, eid, name, weight),
                histograms=reader.histograms(ctx, eid, name, weight),
            )
        runs[name] = Run(
            name=name,
            config=configs[name],
            weights=weights,
            model=reader.model_series(ctx, eid, name),
            metrics=reader.metrics(ctx, eid, name),
        )
    return Experiment(logdir=str(logdir), runs=runs)
