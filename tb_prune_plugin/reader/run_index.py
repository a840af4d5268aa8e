"""The run index: which pruning series each run holds (from their plugin metadata, never their
tags), the runs' run_config records and where each of their trainings started (`restarts`)."""

import json

from tensorboard import errors
from tensorboard.data import provider

from tb_prune_plugin import metadata, restarts
from tb_prune_plugin.reader.records import (
    BLOB_KINDS,
    PLUGIN_NAME,
    TENSOR_KINDS,
    RunContents,
    SkippedSeries,
    by_step,
    datum_text,
    not_superseded,
    steps_and_wall_times,
)


class RunIndex:
    """The `PruningReader` methods that list runs and read their run configs (a mixin: the
    reader's state is set up by `PruningReader.__init__`)."""

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
        # The three provider calls at once: through the Rust data server each one waits a fixed
        # time whatever it reads (docs/performance.md, section 3), and these need not wait
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
                ctx, experiment_id, runs, [metadata.RUN_CONFIG_TAG], self._downsample
            )
        except Exception:  # noqa: BLE001 - read again, one run at a time, with its warnings
            return None

    def _list(self, ctx, experiment_id, runs=None, skipped=None):
        """`runs` without reading the run configs (`RunContents.configs_read` False)."""
        rtf = provider.RunTagFilter(runs=runs) if runs is not None else None
        blob_listing = self._pool().submit(
            self._nudger.call,
            self._provider.list_blob_sequences,
            ctx,
            experiment_id=experiment_id,
            plugin_name=PLUGIN_NAME,
            run_tag_filter=rtf,
        )
        try:
            tensors = self._nudger.call(
                self._provider.list_tensors,
                ctx,
                experiment_id=experiment_id,
                plugin_name=PLUGIN_NAME,
                run_tag_filter=rtf,
            )
        finally:
            blobs = blob_listing.result()
        result = {}
        for listing, allowed_kinds in ((tensors, TENSOR_KINDS), (blobs, BLOB_KINDS)):
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
            kept = by_step(not_superseded(configs, contents.starts))
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
        elif kind == metadata.KIND_STRIPPED_SIZE:
            existing = contents.stripped_size_tag
        elif kind == metadata.KIND_SENSITIVITY:
            existing = contents.sensitivity.get(record.weight)
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
        elif kind == metadata.KIND_STRIPPED_SIZE:
            contents.stripped_size_tag = tag
        elif kind == metadata.KIND_SENSITIVITY:
            contents.sensitivity[record.weight] = tag
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
            result[run] = self._latest_config(run, tag, by_step(data[run].get(tag, [])))
        return result

    def _latest_config(self, run, tag, data):
        """The config of the last valid run_config datum of `data` (sorted by step), or None."""
        for datum in reversed(data):
            config = self._config(run, tag, datum)
            if config is not None:
                return config
        return None

    def _config(self, run, tag, datum):
        try:
            config = json.loads(datum_text(datum))
            if not isinstance(config, dict):
                raise ValueError("expected a JSON object, got %r" % (config,))
            return config
        except (ValueError, TypeError, UnicodeDecodeError) as e:
            self._skip_invalid(run, tag, datum, "run config", e)
            return None

    def _skip_invalid(self, run, tag, datum, what, error):
        """Warns once that the record of `run`, `tag` at the datum's step is skipped: it is not
        a valid `what` (`error` says why)."""
        self._warn_once(
            ("datum", run, tag, datum.step),
            "skipping pruning record run %r, tag %r, step %d: invalid %s: %s",
            run,
            tag,
            datum.step,
            what,
            error,
        )

    def _starts(self, run, config_tag, configs):
        """`restarts.training_starts` of the run_config data `configs` (those with start_step)."""
        marks = [d for d in configs if "start_step" in (self._config(run, config_tag, d) or {})]
        return restarts.training_starts(*steps_and_wall_times(marks))
