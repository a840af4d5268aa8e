"""Mask headers from the mask_header series: every mask record's header in one tensor read.

The monitor writes, beside each mask record (a blob sequence of header and payload), the
same header as an int64 vector in the weight's mask_header series, at the same step in the
same event (docs/format.md). A reader that lists a weight's masks reads that series in one
provider call instead of one header blob per record; a record the series does not hold at
its step and wall time (logs written before the series, format version 1, a sampled
series), or whose vector does not check, has its header blob read as before.
"""

from tb_prune_plugin import mask_codec, metadata


def header_tag(contents, mask_tag):
    """The tag of the mask_header series beside mask series `mask_tag` of run `contents`
    (a `RunContents`), or None (not written, or not listed yet)."""
    record = contents.records.get(mask_tag)
    if record is None:
        return None
    return contents.weights.get(record.weight, {}).get(metadata.KIND_MASK_HEADER)


def read_in(pool, read_tensors, contents, mask_tag):
    """A future of `header_vectors` of the mask_header series beside `mask_tag`, read in
    `pool` by `read_tensors(runs, tags)`; None if the run has no such series."""
    tag = header_tag(contents, mask_tag)
    if tag is None:
        return None
    return pool.submit(header_vectors, read_tensors, contents.name, tag)


def uncached(header_cache, data):
    """The header blob keys of the mask records of `data` whose header is not in
    `header_cache`."""
    return [
        d.values[0].blob_key
        for d in data
        if len(d.values) == 2 and header_cache.get((d.values[0].blob_key, d.wall_time)) is None
    ]


def header_vectors(read_tensors, run, tag):
    """{(step, wall time): int64 header vector} of mask_header series `tag` of `run`, from
    `read_tensors(runs, tags)` (the reader's, one provider call); empty if it cannot be read."""
    answer = read_tensors([run], [tag])
    return {(d.step, d.wall_time): d.numpy for d in answer.get(run, {}).get(tag, [])}


def cache_header_vectors(header_cache, data, vectors):
    """Puts in `header_cache` (keyed by header blob key and wall time) the header of each
    mask record of `data` (blob sequence data) that `vectors` holds at the record's step and
    wall time. A vector that does not check is left out: the record's header blob is read
    instead, and decides."""
    for datum in data:
        if len(datum.values) != 2:
            continue
        key = (datum.values[0].blob_key, datum.wall_time)
        vector = vectors.get((datum.step, datum.wall_time))
        if vector is None or header_cache.get(key) is not None:
            continue
        try:
            header_cache.put(key, mask_codec.header_from_vector(vector))
        except mask_codec.MaskDecodeError:
            continue
