"""Encoding of pruning masks: bit-packing plus zlib, chosen by measurement.

A mask is a boolean array (True = weight kept). `encode_mask` packs it
row-major (C order) into bits with `numpy.packbits` (first element in the most
significant bit) and compresses the bytes with zlib level 1; when zlib does not
shrink them (a mask near 50% density is incompressible), the packed bits are
stored as they are. So a mask never costs more than 1 bit per weight plus a
small header, and a 90%-sparse magnitude mask costs about 0.58 bits per weight
(figures in docs/format.md).

The header is a JSON object: {"shape": [...], "encoding": "packbits-zlib" or
"packbits", "kept": <number of True entries>}. Empty masks (a zero in the shape)
encode to an empty payload.

`decode_packed` checks a record as `decode_mask` does but keeps the bits packed
(`PackedMask`, 1 bit per weight): the dashboard reduces packed masks to grids
without unpacking them (`mask_layout`).
"""

import json
import zlib

import numpy as np

# Level 1 is 6x faster than 6 on a 90%-sparse mask (3 ms against 20 ms per 1M weights, on the
# training thread whenever a mask changes) for 0.583 against 0.563 bits per weight.
ZLIB_LEVEL = 1
ENCODING_ZLIB = "packbits-zlib"
ENCODING_RAW = "packbits"
ENCODINGS = (ENCODING_ZLIB, ENCODING_RAW)

# Largest mask the decoder accepts, to bound memory on hostile input.
MAX_MASK_ENTRIES = 1 << 31


class MaskDecodeError(ValueError):
    """An encoded mask that cannot be decoded (corrupt, truncated or too large)."""


def encode_mask(mask):
    """Encodes a boolean mask; returns `(header_bytes, payload_bytes)`."""
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError("a mask must be a boolean array, got dtype %s" % mask.dtype)
    packed = np.packbits(mask.reshape(-1)).tobytes()
    compressed = zlib.compress(packed, ZLIB_LEVEL)
    if len(compressed) < len(packed):
        encoding, payload = ENCODING_ZLIB, compressed
    else:
        encoding, payload = ENCODING_RAW, packed
    header = {"shape": [int(d) for d in mask.shape], "encoding": encoding, "kept": int(mask.sum())}
    return json.dumps(header, separators=(",", ":")).encode("utf-8"), payload


def parse_header(header_bytes):
    """Parses and checks a mask header; returns `(shape tuple, encoding, kept)`."""
    try:
        header = json.loads(bytes(header_bytes).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise MaskDecodeError("mask header is not UTF-8 JSON: %s" % e) from None
    if not isinstance(header, dict):
        raise MaskDecodeError("mask header must be a JSON object, got %r" % (header,))
    shape = header.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise MaskDecodeError("mask header has an invalid shape: %r" % (shape,))
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if size > MAX_MASK_ENTRIES:
        raise MaskDecodeError(
            "mask of shape %s is larger than %d entries" % (shape, MAX_MASK_ENTRIES)
        )
    encoding = header.get("encoding")
    if encoding not in ENCODINGS:
        raise MaskDecodeError("unknown mask encoding %r; known: %s" % (encoding, ENCODINGS))
    kept = header.get("kept")
    if not isinstance(kept, int) or not 0 <= kept <= size:
        raise MaskDecodeError("mask header has an invalid kept count: %r" % (kept,))
    return tuple(shape), encoding, kept


def popcount(a):
    """uint8 array of the set bits of each byte of uint8 array `a`."""
    if _BITWISE_COUNT is not None:
        return _BITWISE_COUNT(a)
    return _POPCOUNT_TABLE[a]


_BITWISE_COUNT = getattr(np, "bitwise_count", None)  # numpy >= 2.0
_POPCOUNT_TABLE = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(
    axis=1, dtype=np.uint8
)


class PackedMask:
    """A checked mask, still packed: 1 bit per weight, as `numpy.packbits` lays it out.

    Attributes:
      shape: the mask's shape (a tuple).
      bits: read-only uint8 [(size + 7) // 8]: the mask in C order, first entry in the
        most significant bit; the padding bits of the last byte are 0.
      kept: the number of set entries.
    """

    def __init__(self, shape, bits, kept):
        self.shape = tuple(shape)
        self.bits = bits
        self.kept = int(kept)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self):
        return self.bits.nbytes

    def unpack(self):
        """A new (writable) boolean array of the mask's shape."""
        bits = np.unpackbits(self.bits, count=self.size).view(np.bool_)
        return bits.reshape(self.shape)


def decode_packed(header_bytes, payload, parsed_header=None):
    """Decodes `(header_bytes, payload)` into a `PackedMask`, checking it as `decode_mask` does.

    `parsed_header`, `parse_header(header_bytes)`'s answer if the caller has it (the
    header bytes are then not used).
    """
    if parsed_header is None:
        parsed_header = parse_header(header_bytes)
    shape, encoding, kept = parsed_header
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    nbytes = (size + 7) // 8
    payload = bytes(payload)
    if encoding == ENCODING_ZLIB:
        try:
            decompressor = zlib.decompressobj()
            # max_length bounds memory on hostile input; one byte more detects overlong data.
            packed = decompressor.decompress(payload, nbytes + 1)
        except zlib.error as e:
            raise MaskDecodeError("mask payload is not valid zlib data: %s" % e) from None
        if not decompressor.eof or decompressor.unused_data or decompressor.unconsumed_tail:
            raise MaskDecodeError(
                "mask payload is not one complete zlib stream (truncated or with trailing bytes)"
            )
    else:
        packed = payload
    if len(packed) != nbytes:
        raise MaskDecodeError(
            "mask payload holds %d bytes, shape %s needs %d" % (len(packed), list(shape), nbytes)
        )
    bits = np.frombuffer(packed, dtype=np.uint8)
    if size % 8:
        # Padding bits are not part of the mask (numpy.unpackbits with a count ignores them).
        bits = bits.copy()
        bits[-1] &= (0xFF << (8 - size % 8)) & 0xFF
    bits.flags.writeable = False
    found = int(popcount(bits).sum(dtype=np.int64))
    if found != kept:
        raise MaskDecodeError("mask payload keeps %d weights, header says %d" % (found, kept))
    return PackedMask(shape, bits, kept)


def decode_mask(header_bytes, payload):
    """Decodes `(header_bytes, payload)` back into a boolean array of the recorded shape."""
    return decode_packed(header_bytes, payload).unpack()
