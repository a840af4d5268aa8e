"""The position code of mask deltas: ascending flat positions as gaps in unsigned LEB128 varints.

A delta's payload (before zlib) is the positions where a mask differs from its base,
ascending, each stored as its gap (the position minus the previous one minus 1, the first
from -1) in an unsigned LEB128 varint: 7 bits a byte, low bits first, the high bit set on
every byte of a value but its last. A position fits in 31 bits, so a gap takes at most
`MAX_VARINT_BYTES` bytes. docs/format.md fixes the format; `mask_codec` uses this module.

Decoding works on whole arrays: a byte's weight within its value comes from its place
after the value's first byte, and the positions are the running sum of every byte's
weighted bits plus one per value before it (no loop over values; one pass per place for
the few values longer than a byte).
"""

import numpy as np

# A position fits in 31 bits (mask_codec.MAX_MASK_ENTRIES), so a gap takes at most 5 bytes.
MAX_VARINT_BYTES = 5


class PositionsError(ValueError):
    """A varint stream that is not `count` complete values of at most 5 bytes each."""


def encode_gaps(positions):
    """The varint bytes of ascending non-negative int64 `positions` (each below 2**35), as
    gaps."""
    values = np.diff(np.asarray(positions, dtype=np.int64), prepend=-1) - 1
    lengths = np.ones(len(values), dtype=np.int64)
    for k in range(1, MAX_VARINT_BYTES):
        lengths += values >= (1 << (7 * k))
    out = np.empty(int(lengths.sum()), dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    for k in range(int(lengths.max(initial=0))):
        sel = lengths > k if k else slice(None)
        byte = ((values[sel] >> (7 * k)) & 0x7F).astype(np.uint8)
        byte |= np.where(lengths[sel] > k + 1, 0x80, 0).astype(np.uint8)
        out[starts[sel] + k] = byte
    return out.tobytes()


def decode_positions(data, count):
    """The `count` ascending positions (int64) whose gaps varint bytes `data` holds.

    Raises:
      PositionsError: `data` holds another number of complete values, or a value longer
        than `MAX_VARINT_BYTES` bytes.
    """
    b = np.frombuffer(data, dtype=np.uint8)
    more = b >= 0x80  # bytes followed by another byte of their value
    ends = np.flatnonzero(~more)
    if len(ends) != count or (len(b) and more[-1]):
        raise PositionsError(
            "holds %d complete positions in %d bytes, its header says %d"
            % (len(ends), len(b), count)
        )
    if len(ends) == len(b):  # every gap below 128: one byte each
        weighted = b.astype(np.int64)
    else:
        weighted = (b & 0x7F).astype(np.int64)
        shifts = np.zeros(len(b), dtype=np.int8)
        continued = np.flatnonzero(more)
        # The bytes at place k >= 1 of their value follow the continued bytes at place k - 1;
        # the first place's continued bytes are those not preceded by a continued byte.
        at_place = continued[(continued == 0) | ~more[continued - 1]]
        for k in range(1, MAX_VARINT_BYTES + 1):
            at_place = at_place + 1
            if k == MAX_VARINT_BYTES:
                raise PositionsError("holds a position gap longer than 5 bytes")
            shifts[at_place] = 7 * k
            at_place = at_place[more[at_place]]
            if not len(at_place):
                break
        weighted <<= shifts
    return np.cumsum(weighted)[ends] + np.arange(count, dtype=np.int64)
