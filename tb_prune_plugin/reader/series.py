"""The tensor series: weight_stats and model_stats vectors, histograms and metrics, read a
provider call for many runs at once, sampled by the provider when `max_points` is given."""

import numpy as np
from tensorboard.data import provider

from tb_prune_plugin import metadata, provider_reads, restarts
from tb_prune_plugin.reader.records import (
    PLUGIN_NAME,
    HistogramSeries,
    MetricSeries,
    Series,
    by_step,
    empty_series,
    not_superseded,
)


def current_columns(columns, starts):
    """The `TensorColumns` without the records a later training superseded (`starts`), sorted
    by step, the last record of each step kept: `by_step(not_superseded(data, starts))` on
    columns."""
    kept = np.flatnonzero(restarts.kept(columns.steps, columns.wall_times, starts))
    order = kept[np.argsort(columns.steps[kept], kind="stable")]
    steps = columns.steps[order]
    last_of_step = np.append(steps[1:] != steps[:-1], True) if len(steps) else np.zeros(0, bool)
    return columns.take(order[last_of_step])


def metric_tags(contents, scopes):
    """{tag: (scope, metric name)} of the metrics of `contents` (a `RunContents`) in `scopes`."""
    return {
        tag: (scope, name)
        for scope, names in contents.metrics.items()
        if scope in scopes
        for name, tag in names.items()
    }


class TensorSeries:
    """The `PruningReader` methods that read tensor series (a mixin, as `RunIndex`)."""

    def _provider_read(self, ctx, experiment_id, runs, tags, downsample, columns=False):
        """The data provider's read_tensors of `runs` x `tags` (None: all), decoded a series at
        a time (`provider_reads`); with `columns`, each series as `TensorColumns`."""
        read = provider_reads.read_tensor_columns if columns else provider_reads.read_tensors
        return self._nudger.call(
            read,
            self._provider,
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=downsample,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=tags),
        )

    def _read_tensors(self, ctx, experiment_id, runs, tags, downsample=None, columns=False):
        """read_tensors over `runs` x `tags`; a series the provider fails on is skipped."""
        downsample = self._downsample if downsample is None else downsample
        try:
            return self._provider_read(ctx, experiment_id, runs, tags, downsample, columns)
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
                    part = self._read_tensors(ctx, experiment_id, [run], [tag], downsample, columns)
                    for r, by_tag in part.items():
                        result.setdefault(r, {}).update(by_tag)
            return result

    def _read_current(self, ctx, experiment_id, index, runs, tags, downsample=None, columns=False):
        """read_tensors of `tags` over `runs`, and in the same provider call the runs'
        run_config series, whose start marks drop the records a later training superseded
        (`restarts`; TensorBoard's Python loader has dropped them already, its Rust data
        server keeps those of a series the later training did not write again at or after
        their step).

        Returns:
          `(data, sent, starts)`: {run: {tag: [datum]}} without the superseded records (with
          `columns`: {run: {tag: `TensorColumns`}} without them, sorted by step, the last
          record of each step kept, as `by_step` keeps it), {run: {tag: number of data the
          provider sent}} (to tell a sampled series), and {run: the runs'
          `restarts.training_starts`}.
        """
        config_tags = {index[r].run_config_tag for r in runs if index[r].run_config_tag}
        read = sorted(set(tags) | config_tags)
        answer = self._read_tensors(ctx, experiment_id, sorted(runs), read, downsample, columns)
        data, sent, starts = {}, {}, {}
        for run in runs:
            by_tag = answer.get(run, {})
            config_tag = index[run].run_config_tag
            configs = by_tag.get(config_tag, [])
            configs = configs.datums() if columns and config_tag in by_tag else configs
            starts[run] = self._starts(run, config_tag, configs)
            current = current_columns if columns else not_superseded
            data[run] = {t: current(by_tag[t], starts[run]) for t in tags if t in by_tag}
            sent[run] = {
                t: len(by_tag[t].steps if columns else by_tag[t]) for t in tags if t in by_tag
            }
        return data, sent, starts

    def _series_data(self, ctx, experiment_id, contents, tag, downsample=None):
        """The data of one tensor series of run `contents`, sorted by step, the last datum per
        step kept, without the records a later training superseded."""
        index = {contents.name: contents}
        data = self._read_current(ctx, experiment_id, index, [contents.name], [tag], downsample)
        return by_step(data[0][contents.name].get(tag, []))

    def _vector_series_of(self, run, tag, data, record, default_fields):
        """The `Series` of a vector series' data (sorted by step); bad records are skipped."""
        fields = record.fields if record.fields is not None else default_fields
        arrays = [datum.numpy for datum in data]
        shape = (len(fields),)
        if all(
            type(a) is np.ndarray and a.dtype == np.float64 and a.shape == shape for a in arrays
        ):
            # Every record as written: stacked at once, not checked one by one.
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

    def _vector_series_of_columns(self, run, tag, columns, record, default_fields):
        """`_vector_series_of` the `TensorColumns` of a `current_columns` answer: its float64
        vectors of the fields' length taken as the matrix at once."""
        fields = record.fields if record.fields is not None else default_fields
        matrix = columns.values
        if matrix is None or matrix.dtype != np.float64 or matrix.shape[1:] != (len(fields),):
            return self._vector_series_of(run, tag, columns.datums(), record, default_fields)
        return Series(
            steps=columns.steps.copy(),
            fields={name: matrix[:, i].copy() for i, name in enumerate(fields)},
        )

    def _vector(self, run, tag, datum, length):
        """The datum as a float64 vector of `length` entries, or None (warned) if it is not."""
        array = np.asarray(datum.numpy)
        if array.dtype.kind not in "fiu" or array.shape != (length,):
            self._skip_datum(run, tag, datum, "expected %d numbers" % length, array)
            return None
        return array.astype(np.float64)

    def _skip_datum(self, run, tag, datum, expected, array):
        """Warns once that a record is skipped: what was `expected`, and what `array` is."""
        self._warn_once(
            ("datum", run, tag, datum.step),
            "skipping pruning record run %r, tag %r, step %d: %s, got dtype %s shape %s",
            run,
            tag,
            datum.step,
            expected,
            array.dtype,
            array.shape,
        )

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

    def stripped_size_series(self, ctx, experiment_id, run):
        """The stripped_size records of `run` as a `Series` (fields of `STRIPPED_SIZE_FIELDS`)."""
        index = {run: self.run(ctx, experiment_id, run)}  # NotFoundError
        return self._model_series(
            ctx, experiment_id, index, [run], None, metadata.KIND_STRIPPED_SIZE
        )[0][run]

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
                found[run] = empty_series(metadata.WEIGHT_STATS_FIELDS)
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

    def _model_series(self, ctx, experiment_id, index, runs, max_points, kind=None):
        """model_stats (or, with `kind` KIND_STRIPPED_SIZE, stripped_size) series of `runs`."""
        stripped = kind == metadata.KIND_STRIPPED_SIZE
        default_fields = metadata.STRIPPED_SIZE_FIELDS if stripped else metadata.MODEL_STATS_FIELDS
        found, missing, tags = {}, [], {}
        for run in runs:
            if run not in index:
                missing.append(run)
                continue
            found[run] = None
            tag = index[run].stripped_size_tag if stripped else index[run].model_stats_tag
            if tag is not None:
                tags[run] = tag
        asked = self._sample_size(max_points)
        data = ({}, {})
        if tags:
            data = self._read_current(
                ctx, experiment_id, index, sorted(tags), sorted(set(tags.values())), asked
            )[:2]
        for run in found:
            tag = tags.get(run)
            if tag is None:
                found[run] = empty_series(default_fields)
                continue
            found[run] = self._read_vector_series(
                run, tag, data, index[run].records[tag], default_fields, asked
            )
        return found, missing

    def _read_vector_series(self, run, tag, read, record, default_fields, asked):
        """The `Series` of run `run`, tag `tag` of `read`, the `(data, sent)` of a
        `_read_current` answer for `asked` points."""
        data, sent = read
        raw = data.get(run, {}).get(tag, [])
        if isinstance(raw, provider_reads.TensorColumns):
            series = self._vector_series_of_columns(run, tag, raw, record, default_fields)
        else:
            series = self._vector_series_of(run, tag, by_step(raw), record, default_fields)
        series.sampled = sent.get(run, {}).get(tag, 0) >= asked
        return series

    def _blob_sequence_steps(self, ctx, experiment_id, pairs, starts):
        """{(run, tag): int64 steps} of blob sequence series `pairs`, in one provider call,
        without the records a later training superseded (`starts`: {run: training starts})."""
        data = self._nudger.call(
            self._provider.read_blob_sequences,
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
                sorted({d.step for d in not_superseded(data.get(r, {}).get(t, []), starts[r])}),
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
        for datum in by_step(raw):
            array = np.asarray(datum.numpy)
            if array.dtype.kind not in "fiu" or array.ndim != 1 or array.shape[0] < 3:
                expected = "a histogram needs lo, hi and at least one count"
                self._skip_datum(run, tag, datum, expected, array)
                continue
            array = array.astype(np.float64)
            steps.append(datum.step)
            lo.append(array[0])
            hi.append(array[1])
            counts.append(np.nan_to_num(array[2:]).round().astype(np.int64))
        steps = np.array(steps, dtype=np.int64)
        threshold = np.full(len(steps), np.nan)
        if len(steps) and stats_tag is not None:
            read = (data, sent, asked)
            threshold = self._thresholds(
                ctx, experiment_id, contents, weight, stats_tag, read, steps
            )
        return HistogramSeries(
            steps=steps,
            lo=np.array(lo, dtype=np.float64),
            hi=np.array(hi, dtype=np.float64),
            counts=counts,
            threshold=threshold,
            sampled=sent.get(run, {}).get(tag, 0) >= asked,
        )

    def _thresholds(self, ctx, experiment_id, contents, weight, stats_tag, read, steps):
        """The weight's thresholds at `steps` from its weight_stats series `stats_tag` in `read`
        (`(data, sent, asked)` of a `_read_current`), or from the whole series when that sample
        misses one of `steps` (NaN where none)."""
        run, (data, sent, asked) = contents.name, read
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
        if "threshold" not in stats.fields:
            return np.full(len(steps), np.nan)
        at_step = dict(zip(stats.steps.tolist(), stats.fields["threshold"].tolist()))
        return np.array([at_step.get(s, np.nan) for s in steps.tolist()])

    def metrics(self, ctx, experiment_id, run, max_points=None, scopes=metadata.METRIC_SCOPES):
        """The metric records of `run`: {scope: {metric name: `MetricSeries`}}.

        Every scope of `metadata.METRIC_SCOPES` is present (possibly empty); only those of
        `scopes` are read (the alerts read the epoch metrics alone). With
        `max_points`, a metric of more than `max_points` steps is the provider's sample
        (`MetricSeries.sampled`), as for `weight_series`.
        """
        contents = self.run(ctx, experiment_id, run)
        tag_to_name = metric_tags(contents, scopes)
        if not tag_to_name:
            return {scope: {} for scope in metadata.METRIC_SCOPES}
        # The run_config records mark where each training started: read in the same call.
        asked = self._sample_size(max_points)
        index, tags = {run: contents}, sorted(tag_to_name)
        data, sent, _ = self._read_current(ctx, experiment_id, index, [run], tags, asked)
        return self._metric_series(run, tag_to_name, data[run], sent[run], asked)

    def _metric_series(self, run, tag_to_name, data, sent, asked):
        """{scope: {metric name: `MetricSeries`}} of the metrics `tag_to_name` ({tag: (scope,
        name)}) of run `run`: `data` {tag: [datum]} without superseded records and `sent`
        {tag: number of data the provider sent}, of a `_read_current` for `asked` points."""
        result = {scope: {} for scope in metadata.METRIC_SCOPES}
        for tag, (scope, name) in sorted(tag_to_name.items()):
            steps, values = [], []
            for datum in by_step(data.get(tag, [])):
                array = np.asarray(datum.numpy)
                if array.dtype.kind not in "fiu" or array.size != 1:
                    self._skip_datum(run, tag, datum, "a metric must be one number", array)
                    continue
                steps.append(datum.step)
                values.append(float(array.reshape(-1)[0]))
            result[scope][name] = MetricSeries(
                steps=np.array(steps, dtype=np.int64),
                values=np.array(values, dtype=np.float64),
                sampled=sent.get(tag, 0) >= asked,
            )
        return result
