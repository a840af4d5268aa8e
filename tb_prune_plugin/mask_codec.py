"""Encoding of pruning masks: keyframes (bit-packing plus zlib) and deltas, chosen by measurement.

A mask is a boolean array (True = weight kept). A mask record is either a keyframe,
the whole mask, or (format version 2) a delta, the positions where the mask differs
from the weight's previous mask record (its base). Figures are in docs/format.md.

Keyframes. `encode_mask` packs the mask
row-major (C order) into bits with `numpy.packbits` (first element in the most
significant bit) and compresses the bytes with zlib level 1; when zlib does not
shrink them (a mask near 50% density is incompressible), the packed bits are
stored as they are. So a mask never costs more than 1 bit per weight plus a
small header, and a 90%-sparse magnitude mask costs about 0.58 bits per weight
(figures in docs/format.md).

The header is a JSON object: {"kind": "keyframe", "shape": [...], "encoding":
"packbits-zlib" or "packbits", "kept": <number of True entries>}. Format version 1
wrote the same header without "kind"; such headers are read as keyframes. Empty
masks (a zero in the shape) encode to an empty payload.

Deltas (`encode_delta`). The flat (C order) positions where the mask differs from
its base, ascending, are stored as gaps (each position minus the previous one
minus 1, the first from -1) in unsigned LEB128 varints (7 bits per byte, low bits
first, high bit set on every byte but a value's last), compressed with zlib level
1. The header: {"kind": "delta", "shape": [...], "encoding": "gaps-varint-zlib",
"kept": n, "base_step": the base record's step, "keyframe_step": the step of the
keyframe the chain of deltas starts from, "newly_pruned": positions kept in the
base and pruned now, "regrown": positions pruned in the base and kept now}. The
decoder (`apply_delta`) checks the base's shape, that the positions are exactly
`newly_pruned + regrown` ascending positions inside the mask, that the base holds
`newly_pruned` of them kept, and the kept count.

`decode_packed` checks a record as `decode_mask` does but keeps the bits packed
(`PackedMask`, 1 bit per weight): the dashboard reduces packed masks to grids
without unpacking them (`mask_layout`).
"""

import json
import math
import zlib

import numpy as np

from tb_prune_plugin import mask_positions, mask_workers, metadata

# Level 1: much faster than the default 6 on the training thread, whenever a mask changes, for
# a few percent more bits (docs/design_figures.md).
ZLIB_LEVEL = 1
ENCODING_ZLIB = "packbits-zlib"
ENCODING_RAW = "packbits"
ENCODINGS = (ENCODING_ZLIB, ENCODING_RAW)
ENCODING_GAPS = "gaps-varint-zlib"
KIND_KEYFRAME = "keyframe"
KIND_DELTA = "delta"

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
    header = {
        "kind": KIND_KEYFRAME,
        "shape": [int(d) for d in mask.shape],
        "encoding": encoding,
        "kept": int(np.count_nonzero(mask)),
    }
    return _dumps(header), payload


def _dumps(header):
    return json.dumps(header, separators=(",", ":")).encode("utf-8")


class MaskHeader(tuple):
    """A checked mask header: the tuple `(shape, encoding, kept)`, as version 1 read it, with
    `kind` (`KIND_KEYFRAME` or `KIND_DELTA`) and, for a delta, `base_step`, `keyframe_step`,
    `newly_pruned` and `regrown` as attributes (None for a keyframe)."""

    def __new__(cls, shape, encoding, kept, kind=KIND_KEYFRAME, delta=None):
        self = super().__new__(cls, (tuple(shape), encoding, int(kept)))
        self.kind = kind
        delta = delta or {}
        self.base_step = delta.get("base_step")
        self.keyframe_step = delta.get("keyframe_step")
        self.newly_pruned = delta.get("newly_pruned")
        self.regrown = delta.get("regrown")
        return self

    @property
    def shape(self):
        return self[0]

    @property
    def encoding(self):
        return self[1]

    @property
    def kept(self):
        return self[2]


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_header(header_bytes):
    """Parses and checks a mask header; returns a `MaskHeader` (a `(shape, encoding, kept)`
    tuple). A header without "kind" is a keyframe of format version 1."""
    return _checked_header(metadata.json_object(header_bytes, "mask header", MaskDecodeError))


def _checked_header(header):
    """The `MaskHeader` of a mask header's fields (a dict), checked; else MaskDecodeError."""
    shape = header.get("shape")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise MaskDecodeError("mask header has an invalid shape: %r" % (shape,))
    size = math.prod(shape)
    if size > MAX_MASK_ENTRIES:
        raise MaskDecodeError(
            "mask of shape %s is larger than %d entries" % (shape, MAX_MASK_ENTRIES)
        )
    kept = header.get("kept")
    if not isinstance(kept, int) or not 0 <= kept <= size:
        raise MaskDecodeError("mask header has an invalid kept count: %r" % (kept,))
    kind = header.get("kind", KIND_KEYFRAME)  # format version 1 wrote no kind: keyframes
    encoding = header.get("encoding")
    if kind == KIND_KEYFRAME:
        if encoding not in ENCODINGS:
            raise MaskDecodeError("unknown mask encoding %r; known: %s" % (encoding, ENCODINGS))
        return MaskHeader(shape, encoding, kept)
    if kind != KIND_DELTA:
        raise MaskDecodeError(
            "unknown mask record kind %r; known: %s" % (kind, (KIND_KEYFRAME, KIND_DELTA))
        )
    if encoding != ENCODING_GAPS:
        raise MaskDecodeError(
            "unknown mask delta encoding %r; known: %s" % (encoding, (ENCODING_GAPS,))
        )
    delta = {k: header.get(k) for k in _DELTA_FIELDS}
    if not all(_is_count(v) for v in delta.values()):
        raise MaskDecodeError("mask delta header has invalid fields: %r" % (header,))
    if delta["newly_pruned"] + delta["regrown"] > size:
        raise MaskDecodeError(
            "mask delta changes %d entries of a mask of %d"
            % (delta["newly_pruned"] + delta["regrown"], size)
        )
    if not delta["keyframe_step"] <= delta["base_step"]:
        raise MaskDecodeError(
            "mask delta's keyframe step %d is after its base step %d"
            % (delta["keyframe_step"], delta["base_step"])
        )
    return MaskHeader(shape, encoding, kept, KIND_DELTA, delta)


_DELTA_FIELDS = ("base_step", "keyframe_step", "newly_pruned", "regrown")

# The mask header as a vector of int64 (the mask_header series, docs/format.md): these
# fields, then the shape's dimensions. Kind and encoding are indices into these tuples; a
# keyframe's delta fields are -1.
HEADER_VECTOR_FIELDS = ("kind", "encoding", "kept") + _DELTA_FIELDS
HEADER_VECTOR_KINDS = (KIND_KEYFRAME, KIND_DELTA)
HEADER_VECTOR_ENCODINGS = (ENCODING_ZLIB, ENCODING_RAW, ENCODING_GAPS)


def header_vector(header_bytes):
    """The int64 vector of a mask header (`HEADER_VECTOR_FIELDS`, then the shape)."""
    header = parse_header(header_bytes)
    fields = [
        HEADER_VECTOR_KINDS.index(header.kind),
        HEADER_VECTOR_ENCODINGS.index(header.encoding),
        header.kept,
    ]
    fields += [-1 if getattr(header, k) is None else getattr(header, k) for k in _DELTA_FIELDS]
    return np.array(fields + list(header.shape), dtype=np.int64)


def header_from_vector(vector):
    """The checked `MaskHeader` of a header vector (`header_vector`); MaskDecodeError if it is
    not one (too short, an unknown kind or encoding, or fields `parse_header` refuses)."""
    values = vector.tolist() if isinstance(vector, np.ndarray) else list(vector)
    n = len(HEADER_VECTOR_FIELDS)
    if len(values) < n or not 0 <= values[0] < 2 or not 0 <= values[1] < 3:
        raise MaskDecodeError("mask header vector %r is not one" % (values,))
    header = dict(zip(HEADER_VECTOR_FIELDS, values))
    header["kind"] = HEADER_VECTOR_KINDS[values[0]]
    header["encoding"] = HEADER_VECTOR_ENCODINGS[values[1]]
    header["shape"] = values[n:]
    return _checked_header(header)


def popcount(a):
    """uint8 array of the set bits of each byte of uint8 array `a`."""
    if _BITWISE_COUNT is not None:
        return _BITWISE_COUNT(a)
    return _POPCOUNT_TABLE[a]


def count_bits(a):
    """The number of set bits in uint8 array `a` (a Python int)."""
    return int(popcount(a).sum(dtype=np.int64))


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


def _inflate(payload, limit, what):
    """The zlib stream `payload` inflated, at most `limit` bytes (more is an error): bounds
    memory on hostile input, and checks that the stream is one complete zlib stream."""
    try:
        decompressor = zlib.decompressobj()
        # One byte more than allowed detects overlong data.
        data = decompressor.decompress(bytes(payload), limit + 1)
    except zlib.error as e:
        raise MaskDecodeError("%s is not valid zlib data: %s" % (what, e)) from None
    if not decompressor.eof or decompressor.unused_data or decompressor.unconsumed_tail:
        raise MaskDecodeError(
            "%s is not one complete zlib stream (truncated or with trailing bytes)" % what
        )
    return data


def decode_packed(header_bytes, payload, parsed_header=None):
    """Decodes a keyframe `(header_bytes, payload)` into a `PackedMask`, checking it as
    `decode_mask` does. A delta needs its base: `apply_delta`.

    `parsed_header`, `parse_header(header_bytes)`'s answer if the caller has it (the
    header bytes are then not used).
    """
    if parsed_header is None:
        parsed_header = parse_header(header_bytes)
    if getattr(parsed_header, "kind", KIND_KEYFRAME) != KIND_KEYFRAME:
        raise MaskDecodeError(
            "a mask delta (base step %s) cannot be decoded without its base"
            % (parsed_header.base_step,)
        )
    shape, encoding, kept = parsed_header
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    nbytes = (size + 7) // 8
    if encoding == ENCODING_ZLIB:
        packed = _inflate(payload, nbytes, "mask payload")
    else:
        packed = bytes(payload)
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
    found = count_bits(bits)
    if found != kept:
        raise MaskDecodeError("mask payload keeps %d weights, header says %d" % (found, kept))
    return PackedMask(shape, bits, kept)


def decode_mask(header_bytes, payload):
    """Decodes a keyframe `(header_bytes, payload)` into a boolean array of the recorded shape
    (a delta: `decode_chain`)."""
    return decode_packed(header_bytes, payload).unpack()


def encode_delta(base, mask, base_step, keyframe_step):
    """Encodes boolean `mask` as its change from `base` (the weight's previous mask record, at
    `base_step`, in a chain that starts with the keyframe at `keyframe_step`); returns
    `(header_bytes, payload_bytes)`."""
    base, mask = np.asarray(base), np.asarray(mask)
    if mask.dtype != np.bool_ or base.dtype != np.bool_:
        raise TypeError(
            "masks must be boolean arrays, got dtypes %s, %s" % (base.dtype, mask.dtype)
        )
    if base.shape != mask.shape:
        raise ValueError(
            "a mask delta needs a base of the mask's shape %s, got %s"
            % (list(mask.shape), list(base.shape))
        )
    flat_base = base.reshape(-1)
    positions = np.flatnonzero(flat_base != mask.reshape(-1))
    newly_pruned = int(np.count_nonzero(flat_base[positions]))
    header = {
        "kind": KIND_DELTA,
        "shape": [int(d) for d in mask.shape],
        "encoding": ENCODING_GAPS,
        "kept": int(np.count_nonzero(mask)),
        "base_step": int(base_step),
        "keyframe_step": int(keyframe_step),
        "newly_pruned": newly_pruned,
        "regrown": len(positions) - newly_pruned,
    }
    return _dumps(header), zlib.compress(mask_positions.encode_gaps(positions), ZLIB_LEVEL)


def _delta_positions(header, shape, size, payload):
    """The checked ascending flat positions a delta record changes, from its payload."""
    _check_delta_shape(header, shape)
    return _header_positions(header, size, payload)


def _check_delta_shape(header, shape):
    if getattr(header, "kind", KIND_KEYFRAME) != KIND_DELTA:
        raise MaskDecodeError("a mask delta was expected, got a keyframe's header")
    if tuple(shape) != header.shape:
        raise MaskDecodeError(
            "mask delta of shape %s on a base of shape %s" % (list(header.shape), list(shape))
        )


def _header_positions(header, size, payload):
    """A delta's positions, checked against its own header (`size` entries of its shape)."""
    count = header.newly_pruned + header.regrown
    data = _inflate(payload, count * mask_positions.MAX_VARINT_BYTES, "mask delta payload")
    try:
        positions = mask_positions.decode_positions(data, count)
    except mask_positions.PositionsError as e:
        raise MaskDecodeError("mask delta %s" % e) from None
    if count and positions[-1] >= size:
        raise MaskDecodeError(
            "mask delta changes position %d of a mask of %d entries" % (positions[-1], size)
        )
    return positions


def _kept_after(header, base_kept, newly_pruned):
    """The kept count after a delta that prunes `newly_pruned` of the base's kept weights;
    MaskDecodeError unless the header says the same (the base is the delta's)."""
    kept = base_kept - newly_pruned + (header.newly_pruned + header.regrown - newly_pruned)
    if newly_pruned != header.newly_pruned or kept != header.kept:
        raise MaskDecodeError(
            "mask delta does not fit its base (step %d): it prunes %d kept weights and keeps "
            "%d, its header says %d and %d"
            % (header.base_step, newly_pruned, kept, header.newly_pruned, header.kept)
        )
    return kept


def apply_delta(base, payload, parsed_header):
    """The `PackedMask` a delta record makes of `base` (a `PackedMask`, the mask of the
    record at the delta's `base_step`), working on the packed bits.

    Raises:
      MaskDecodeError: a corrupt or truncated delta, or one that does not fit `base` (another
        shape, positions outside the mask, kept counts that do not add up: not its base).
    """
    positions = _delta_positions(parsed_header, base.shape, base.size, payload)
    return _apply_positions(base, positions, parsed_header)


def _apply_positions(base, positions, parsed_header):
    """`apply_delta` with the delta's positions decoded (and its shape checked) already."""
    byte_index = positions >> 3
    bit = _BIT_OF_PLACE[positions & 7]
    kept = _kept_after(parsed_header, base.kept, int(np.count_nonzero(base.bits[byte_index] & bit)))
    bits = base.bits.copy()
    if len(positions):
        # Positions ascend: the bits of one byte are neighbours, distinct, so their OR is
        # their sum, taken as a difference of a running sum at the last bit of each byte.
        last = np.flatnonzero(np.append(byte_index[1:] != byte_index[:-1], True))
        total = np.diff(np.cumsum(bit, dtype=np.int32)[last], prepend=0)
        bits[byte_index[last]] ^= total.astype(np.uint8)
    bits.flags.writeable = False
    return PackedMask(base.shape, bits, kept)


# The bit of each place in a byte, as numpy.packbits orders them (first in the most significant).
_BIT_OF_PLACE = np.array([0x80 >> k for k in range(8)], dtype=np.uint8)


# Chains of this many payload bytes or more are prepared on worker threads (`mask_workers`).
PARALLEL_MIN_BYTES = 1 << 18


def _prepare(header, payload):
    """What a record decodes to without its base: a keyframe's `PackedMask`, a delta's
    positions (checked against the delta's own header; its base's shape is checked later)."""
    if header.kind == KIND_KEYFRAME:
        return decode_packed(None, payload, parsed_header=header)
    size = int(np.prod(header.shape, dtype=np.int64)) if header.shape else 1
    return _header_positions(header, size, payload)


def _prepared(records):
    """One `result()`-holder of `_prepare` per record of a chain."""
    large = len(records) > 1 and sum(len(r[2]) for r in records) >= PARALLEL_MIN_BYTES
    return mask_workers.each(_prepare, [(h, p) for _, h, p in records], large)


def _packed(shape, unpacked, kept):
    bits = np.packbits(unpacked)
    bits.flags.writeable = False
    return PackedMask(shape, bits, kept)


def decode_chain(records, base=None, keep=None):
    """The `PackedMask`s of a chain of mask records: `records` is `[(step, header, payload)]`
    in step order (header: bytes or a `MaskHeader`), each delta made from the record before
    it; the first is a keyframe, or a delta made from `base`, `(step, PackedMask)`, the
    mask of the record before the chain (decoded before).

    With `keep`, only the last `keep` masks are returned (the others are None): a run of
    deltas none of whose masks is wanted is applied to one unpacked copy of the mask, packed
    again only for the masks returned (1 byte a weight meanwhile).

    Raises:
      MaskDecodeError: a record does not decode, or a delta's base is not the record before
        it (its base is missing).
    """
    records = [
        (step, header if isinstance(header, MaskHeader) else parse_header(header), payload)
        for step, header, payload in records
    ]
    first_kept = 0 if keep is None else len(records) - keep
    masks = []
    previous_step, state = base if base is not None else (None, None)
    shape, kept = (state.shape, state.kept) if state is not None else (None, None)
    unpacked = None  # the previous mask, unpacked (uint8 0/1), while deltas are applied to it
    prepared = _prepared(records)
    for i, (step, header, _) in enumerate(records):
        wanted = i >= first_kept
        if header.kind == KIND_KEYFRAME:
            state, unpacked = prepared[i].result(), None
            shape, kept = state.shape, state.kept
        elif shape is None or header.base_step != previous_step:
            raise MaskDecodeError(
                "the mask delta of step %d is made from the record of step %d, which is %s"
                % (
                    step,
                    header.base_step,
                    "missing"
                    if shape is None
                    else "not the record before it (step %d)" % previous_step,
                )
            )
        elif unpacked is None and (
            wanted or i + 1 == len(records) or records[i + 1][1].kind != KIND_DELTA
        ):
            _check_delta_shape(header, shape)
            state = _apply_positions(state, prepared[i].result(), header)
            kept = state.kept
        else:
            if unpacked is None:
                unpacked = np.unpackbits(state.bits, count=state.size)
            _check_delta_shape(header, shape)
            positions = prepared[i].result()
            before = unpacked[positions]
            kept = _kept_after(header, kept, int(np.count_nonzero(before)))
            unpacked[positions] = before ^ 1
            state = _packed(shape, unpacked, kept) if wanted else None
        masks.append(state if wanted else None)
        previous_step = step
    return masks
