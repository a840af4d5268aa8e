"""The overview: the last recorded state of every weight and of every run's model figures,
from the latest datum of each series (one provider call), not whole series."""

import dataclasses

from tensorboard import errors
from tensorboard.data import provider

from tb_prune_plugin import metadata
from tb_prune_plugin.reader.records import (
    PLUGIN_NAME,
    RunSummary,
    WeightSummary,
    by_step,
    is_shape,
    not_superseded,
)


class Overview:
    """The `PruningReader` methods of the overview (a mixin, as `RunIndex`)."""

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
        latest_vectors = self._latest_tensors(ctx, experiment_id, _tensor_pairs(index))
        self._read_configs(ctx, experiment_id, index.values())
        starts = self._current_starts(ctx, experiment_id, index, latest_vectors)
        # A latest datum a later training superseded is not the last state: the whole series
        # is read instead (below, as for a latest datum that is not valid).
        latest_vectors = {
            (run, tag): not_superseded(data, starts[run])
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
        shapes = (config_shapes, latest_masks, starts)
        return self._summaries(ctx, experiment_id, index, latest_vectors, shapes)

    def _summaries(self, ctx, experiment_id, index, latest_vectors, shapes):
        """`overview`'s answer from the latest data it read; `shapes` is `(config shapes by
        run, latest mask data by (run, tag), training starts by run)`."""
        config_shapes, latest_masks, starts = shapes
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
                    shape = self._mask_shape(
                        ctx, experiment_id, contents, mask_tag, latest_masks, starts[run]
                    )
                weights.append(WeightSummary(run, weight, shape, step, stats))
            step, stats = self._last_vector(
                ctx,
                experiment_id,
                contents,
                contents.model_stats_tag,
                metadata.MODEL_STATS_FIELDS,
                latest_vectors,
            )
            stripped_step, stripped = self._last_vector(
                ctx,
                experiment_id,
                contents,
                contents.stripped_size_tag,
                metadata.STRIPPED_SIZE_FIELDS,
                latest_vectors,
            )
            models.append(RunSummary(run, step, stats, stripped_step, stripped))
        return weights, models

    def _mask_shape(self, ctx, experiment_id, contents, mask_tag, latest_masks, starts):
        """The shape of the weight's latest readable mask record (None: none): the latest
        datum's in `latest_masks`, else (corrupt or superseded) from all of them."""
        run = contents.name
        latest = latest_masks.get((run, mask_tag), [])
        records = [self._mask_record(ctx, run, mask_tag, d) for d in latest[-1:]]
        records = [r for r in records if r is not None]
        if not records:  # the last record is corrupt or superseded: all of them
            current = dataclasses.replace(contents, starts=starts)
            records = self._mask_records(ctx, experiment_id, current, mask_tag)
        return records[-1].shape if records else None

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
                if isinstance(path, str) and is_shape(shape):
                    shapes[path] = tuple(shape)
        return shapes

    def _latest_tensors(self, ctx, experiment_id, pairs):
        """{(run, tag): [latest datum]} for tensor series `pairs`, in one provider call."""
        if not pairs:
            return {}
        runs, tags = sorted({r for r, _ in pairs}), sorted({t for _, t in pairs})
        data = self._read_tensors(ctx, experiment_id, runs, tags, downsample=1)
        return {(r, t): by_step(data.get(r, {}).get(t, [])) for r, t in pairs}

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
        data = self._nudger.call(
            self._provider.read_blob_sequences,
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            downsample=1,
            run_tag_filter=provider.RunTagFilter(
                runs=sorted({r for r, _ in pairs}), tags=sorted({t for _, t in pairs})
            ),
        )
        return {
            (r, t): not_superseded(by_step(data.get(r, {}).get(t, [])), starts[r]) for r, t in pairs
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


def _tensor_pairs(index):
    """[(run, tag)] of the weight_stats, model_stats, stripped_size and run_config series of
    `index`."""
    pairs = []
    for run, contents in index.items():
        for tags in contents.weights.values():
            if metadata.KIND_WEIGHT_STATS in tags:
                pairs.append((run, tags[metadata.KIND_WEIGHT_STATS]))
        if contents.model_stats_tag is not None:
            pairs.append((run, contents.model_stats_tag))
        if contents.stripped_size_tag is not None:
            pairs.append((run, contents.stripped_size_tag))
        if contents.run_config_tag is not None:
            pairs.append((run, contents.run_config_tag))
    return pairs
