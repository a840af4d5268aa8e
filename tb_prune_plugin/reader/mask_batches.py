"""Decoding a mask series' records in step order, a batch of records at a time.

The blobs of a batch are read together (in parallel), so few large batches read faster than
many small ones, and the next batch's while a batch decodes; a batch's masks are held at once,
so its size is bounded in bytes. A delta record decodes from its chain, forward: records in
step order decode each delta once.
"""

# Records in the first batch, before the size of a mask is known.
FIRST_BATCH = 4

# At most this many records in a batch...
MAX_BATCH = 64

# ...and at most as many as masks of this many bytes (packed, 1 bit per weight) hold.
BATCH_BYTES = 8 << 20


def decoded_in_order(packed_masks, records, read_ahead=None):
    """Yields `(datum, PackedMask or None)` for each of `records` in their order.

    `packed_masks(batch, started)` decodes a list of records (None for one that does not
    decode, as `Masks._packed_masks`), `started` being what `read_ahead(batch)` answered when
    the batch before it was about to be decoded (None without `read_ahead`): the blobs of the
    next batch are read while a batch decodes. The first batch has `FIRST_BATCH` records; the
    next ones as many as `BATCH_BYTES` of masks as large as the largest decoded so far, between
    `FIRST_BATCH` and `MAX_BATCH`.
    """
    start, size, largest = 0, FIRST_BATCH, 0
    batch = records[:size]
    started = read_ahead(batch) if read_ahead and batch else None
    while batch:
        end = start + len(batch)
        following = records[end : end + size]
        started_next = read_ahead(following) if read_ahead and following else None
        masks = packed_masks(batch, started)
        yield from zip(batch, masks)
        largest = max([largest] + [m.nbytes for m in masks if m is not None])
        if largest:
            size = max(FIRST_BATCH, min(MAX_BATCH, BATCH_BYTES // largest))
        start, batch, started = end, following, started_next
