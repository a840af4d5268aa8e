"""Decoding a mask series' records in step order, a batch of records at a time.

The blobs of a batch are read together (in parallel), so few large batches read faster than
many small ones; a batch's masks are held at once, so its size is bounded in bytes. A delta
record decodes from its chain, forward: records in step order decode each delta once.
"""

# Records in the first batch, before the size of a mask is known.
FIRST_BATCH = 4

# At most this many records in a batch...
MAX_BATCH = 64

# ...and at most as many as masks of this many bytes (packed, 1 bit per weight) hold.
BATCH_BYTES = 8 << 20


def decoded_in_order(packed_masks, records):
    """Yields `(datum, PackedMask or None)` for each of `records` in their order.

    `packed_masks(batch)` decodes a list of records (None for one that does not decode, as
    `Masks._packed_masks`). The first batch has `FIRST_BATCH` records; the next ones as many as
    `BATCH_BYTES` of masks as large as the largest decoded so far, between `FIRST_BATCH` and
    `MAX_BATCH`.
    """
    start, size, largest = 0, FIRST_BATCH, 0
    while start < len(records):
        batch = records[start : start + size]
        masks = packed_masks(batch)
        yield from zip(batch, masks)
        start += len(batch)
        largest = max([largest] + [m.nbytes for m in masks if m is not None])
        if largest:
            size = max(FIRST_BATCH, min(MAX_BATCH, BATCH_BYTES // largest))
