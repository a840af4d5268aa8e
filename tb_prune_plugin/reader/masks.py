"""The masks: their listing, headers and payloads read through the data provider, decoded
into `mask_codec.PackedMask`s kept in one cache, and the /mask views built from them kept in
another (so that the plugin asks for a view in one call).

Every payload becomes a `PackedMask` in `_decode_record` only, in step order within a
request: a format whose records depend on the previous one (delta-coded masks) decodes there.
"""

import bisect
import logging

from tensorboard import errors
from tensorboard.data import provider

from tb_prune_plugin import mask_codec, metadata
from tb_prune_plugin.reader import mask_batches, mask_headers
from tb_prune_plugin.reader.mask_blobs import MaskBlobs
from tb_prune_plugin.reader.records import (
    PLUGIN_NAME,
    MaskAtStep,
    MaskRecord,
    blob_keys,
    blob_or_raise,
    by_step,
    not_superseded,
)

logger = logging.getLogger("tb_prune_plugin.reader")

# Parsed mask headers (shape, encoding, kept count) kept by blob key and wall time, so that
# /mask_steps reads no blob for a record it has seen (about 300 bytes each).
MASK_HEADER_CACHE_ENTRIES = 50_000

# Decoded masks, still packed (1 bit per weight), kept for repeated /mask requests (zoom, pan,
# the next step), in bytes: 32 masks of 4096x4096 weights.
MASK_CACHE_BYTES = 1 << 26

# The last blob sequence listing of each mask series (a few hundred bytes a record), from which
# the masks a /mask request will need are read while its fresh listing is read.
MASK_LISTING_CACHE_ENTRIES = 1024

# /mask views kept for repeated requests (the Masks view's zoom, pan and scrubbing), in bytes
# of their grids and unit sparsities: about 56 of the Masks view's 512x512 diff answers.
MASK_VIEW_CACHE_BYTES = 64 << 20

# Blobs (mask headers and payloads) read at once from the data provider: a mask diff reads two
# records of two blobs each, and /mask_steps a header per record it has not seen. TensorBoard's
# data providers are thread-safe (its WSGI server serves requests in threads).
BLOB_READ_THREADS = 8


def _step(datum):
    return datum.step


def mask_nbytes(mask):
    """The bytes a `PackedMask` holds (the mask cache's measure)."""
    return mask.nbytes


def view_bytes(view):
    """The bytes a /mask view holds in grids (base64) and unit sparsities (the view cache's
    measure)."""
    size = sum(len(view.get(k, "")) for k in ("kept", "newly_pruned", "regrown"))
    return size + 24 * len(view["unit_sparsity"])


class Masks(MaskBlobs):
    """The `PruningReader` methods that read masks (a mixin, as `RunIndex`)."""

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
        data = by_step(not_superseded(raw, contents.starts))
        if downsample is None:
            self._listing_cache.put((experiment_id, run, tag), data)
        return data

    def _blob_sequence(self, ctx, experiment_id, run, tag, downsample=None):
        """The data of one blob sequence series, as the provider sends it (one call)."""
        data = self._nudger.call(
            self._provider.read_blob_sequences,
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
            header_key, payload_key = blob_keys(datum)
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
                header = blob_or_raise(blobs[header_key])
            else:
                header = self._read_blob(ctx, header_key)
            parsed = mask_codec.parse_header(header)
            self._header_cache.put(cache_key, parsed)
        return parsed

    def _packed_masks(self, ctx, run, tag, data, skipped=None, series=None, started=None):
        """The decoded mask (`mask_codec.PackedMask`, cached, shared) of each blob sequence
        datum of `data`, or None (warned) for one that does not decode.

        The blobs of the masks not in the cache are read at once; a header whose parse is
        cached (from /mask_steps) is not read again. Blob keys name experiment, run, tag,
        step and index; with the wall time, a record rewritten at the same step (a resumed
        training) is another entry. A delta record's chain is found in `series` (the
        series' data by step; by default `data` by step): `_delta_mask`. `started`: reads
        started ahead (`_start_reads`), collected rather than made again.
        """
        if series is None:
            series = sorted(data, key=_step)
        keys, masks, wanted = [], [], []
        for datum in data:
            try:
                header_key, payload_key = blob_keys(datum)
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
        wanted += self._chains_wanted(data, keys, masks, series)
        blobs = self._read_blobs(ctx, wanted, started) if wanted else {}
        for i in sorted(range(len(data)), key=lambda i: data[i].step):  # in step order
            if keys[i] is None or masks[i] is not None:
                continue
            datum = data[i]
            masks[i] = self._mask_cache.get(keys[i])  # decoded meanwhile, in a delta's chain
            if masks[i] is not None:
                continue
            try:
                masks[i] = self._decode_record(ctx, datum, keys[i], blobs, series)
            except (mask_codec.MaskDecodeError, errors.NotFoundError) as e:
                self._skip_mask(run, tag, datum.step, e, skipped)
                continue
            self._mask_cache.put(keys[i], masks[i])
        return masks

    def _read_ahead(self, ctx, data):
        """Starts reading the blobs of the records of `data` whose mask is not in the cache:
        the `started` of a later `_packed_masks(data)`."""
        uncached = []
        for datum in data:
            try:
                key = (*blob_keys(datum), datum.wall_time)
            except mask_codec.MaskDecodeError:
                continue  # said when the record is decoded
            if self._mask_cache.get(key) is None:
                uncached.append(datum)
        return self._start_reads(ctx, self._unread_keys(uncached))

    def _chains_wanted(self, data, keys, masks, series):
        """The blob keys of the chains of the delta records of `data` to decode whose header
        is cached (read from the mask_header series, or by /mask_steps): read with the
        records' own blobs rather than after them."""
        wanted = []
        for datum, key, mask in zip(data, keys, masks):
            parsed = (
                None
                if key is None or mask is not None
                else self._header_cache.get((key[0], datum.wall_time))
            )
            if parsed is not None and parsed.kind == mask_codec.KIND_DELTA:
                try:
                    wanted += self._unread_keys(self._chain_todo(parsed, datum, series)[3])
                except mask_codec.MaskDecodeError:
                    continue  # said when the record is decoded
        return wanted

    def _decode_record(self, ctx, datum, key, blobs, series):
        """The `PackedMask` of mask record `datum` (`key`: its header key, payload key and wall
        time; `blobs`: blobs read for it; `series`: the series' data by step, where a delta
        record's chain is found). The one place where a record's payload becomes a mask:
        `_packed_masks` calls it in step order.

        Raises:
          MaskDecodeError, NotFoundError: the record cannot be read.
        """
        header_key, payload_key, wall_time = key
        parsed = self._parsed_header(ctx, header_key, wall_time, blobs)
        payload = blob_or_raise(blobs[payload_key])
        if parsed.kind == mask_codec.KIND_DELTA:
            return self._delta_mask(ctx, datum, parsed, payload, series, blobs)
        return mask_codec.decode_packed(None, payload, parsed_header=parsed)

    def _chain_todo(self, parsed, datum, series):
        """`(chain, start, base, todo)` of delta record `datum` (header `parsed`): the records
        of `series` from its chain's keyframe to its base, the index and mask of the latest
        of them in the mask cache (-1 and None if none), and the records to decode after it.
        MaskDecodeError if the base is not in `series`."""
        # `series` is by step: the chain is a slice of it.
        chain = series[
            bisect.bisect_left(series, parsed.keyframe_step, key=_step) : bisect.bisect_left(
                series, datum.step, key=_step
            )
        ]
        if not chain or chain[-1].step != parsed.base_step:
            raise mask_codec.MaskDecodeError(
                "the mask delta's base, the record of step %d, is missing (not read, or not "
                "in TensorBoard's sample of the series: see --samples_per_plugin)"
                % parsed.base_step
            )
        start, base = len(chain), None
        while base is None and start > 0:
            start -= 1
            base = self._mask_cache.get((*blob_keys(chain[start]), chain[start].wall_time))
        return chain, start, base, chain[start + 1 :] if base is not None else chain

    def _unread_keys(self, data):
        """The blob keys to read to decode the records of `data`: every payload, and the
        headers not in the header cache."""
        return [
            k
            for d in data
            for h, p in [blob_keys(d)]
            for k in (h, p)
            if k == p or self._header_cache.get((h, d.wall_time)) is None
        ]

    def _delta_mask(self, ctx, datum, parsed, payload, series, blobs):
        """The mask of delta record `datum` (header `parsed`): the delta applied to its base,
        decoded from the records of `series` since the chain's keyframe, from the latest one
        in the cache on (their blobs read at once). It and its base are cached: scrubbing
        forward applies one delta a step. MaskDecodeError if a record of the chain is missing
        or does not decode. `blobs`: blobs read already (the chain's, read with the record's).
        """
        chain, start, base, todo = self._chain_todo(parsed, datum, series)
        keys = [blob_keys(d) for d in todo]
        missing = [k for k in self._unread_keys(todo) if k not in blobs]
        if missing:
            blobs = {**blobs, **self._read_blobs(ctx, missing)}
        records = [
            (d.step, self._parsed_header(ctx, h, d.wall_time, blobs), blob_or_raise(blobs[p]))
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
        data = self._mask_data_with_headers(ctx, experiment_id, contents, tag, downsample)
        # The headers not seen before (nor in the mask_header series), read at once.
        blobs = self._read_blobs(ctx, mask_headers.uncached(self._header_cache, data))
        records = []
        for datum in data:
            record = self._mask_record(ctx, run, tag, datum, skipped, blobs)
            if record is not None:
                records.append(record)
        return records

    def _mask_data_with_headers(self, ctx, experiment_id, contents, tag, downsample=None):
        """`_mask_data`, with the headers of its records put in the header cache from the
        mask_header series (a header blob is then read only for a record the series lacks).
        The series is read at the same time as the listing for a series not listed before,
        and after it when more than `BLOB_READ_THREADS` records' headers are not cached (a
        listed series' new records are few: their header blobs are read)."""
        vectors = None
        if self._listing_cache.get((experiment_id, contents.name, tag)) is None:
            vectors = self._header_vectors(ctx, experiment_id, contents, tag, downsample)
        data = self._mask_data(ctx, experiment_id, contents, tag, downsample)
        if (
            vectors is None
            and len(mask_headers.uncached(self._header_cache, data)) > BLOB_READ_THREADS
        ):
            vectors = self._header_vectors(ctx, experiment_id, contents, tag, downsample)
        if vectors is not None:
            mask_headers.cache_header_vectors(self._header_cache, data, vectors.result())
        return data

    def _header_vectors(self, ctx, experiment_id, contents, mask_tag, downsample=None):
        """`mask_headers.read_in` the pool, by this reader's tensor reads."""

        def read(runs, tags):
            return self._read_tensors(ctx, experiment_id, runs, tags, downsample)

        return mask_headers.read_in(self._pool(), read, contents, mask_tag)

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
        if previous is None:  # the headers of a series not listed before, with the listing
            return tag, self._mask_data_with_headers(ctx, experiment_id, contents, tag)
        if prefetch_step is None:
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
        for datum, mask in mask_batches.decoded_in_order(
            lambda batch, started: self._packed_masks(ctx, run, tag, batch, None, data, started),
            data,
            lambda batch: self._read_ahead(ctx, batch),
        ):
            if mask is not None:
                result[datum.step] = mask.unpack()
        return result

    def mask_view(self, ctx, experiment_id, run, weight, step, view_key, build):
        """The view of the mask in force at `step` that `build(MaskAtStep)` makes (a dict, such
        as a /mask body), reused while the mask records at or before `step` are the same.

        `view_key` names what else the view depends on (region, grid size, diff): views are
        kept by it, `run`, `weight` and the step and wall time of every mask record at or
        before `step` (a reused view reads no blob). The masks in force at `step` by the last
        listing are read while the listing is. A reused view gets `requested_step` = `step`.

        Raises:
          NotFoundError: unknown run or weight, or no mask at or before `step`.
        """
        mask_data = self.mask_data(ctx, experiment_id, run, weight, prefetch_step=step)
        records = tuple((d.step, d.wall_time) for d in mask_data[1] if d.step <= step)
        key = (experiment_id, run, weight, records, view_key)
        view = self._view_cache.get(key)
        if view is not None:
            return dict(view, requested_step=step)
        view = build(self.mask_at(ctx, experiment_id, run, weight, step, mask_data))
        self._view_cache.put(key, view)
        return view
