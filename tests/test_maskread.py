"""Mask reads at real size: the mask_header series (one tensor read lists every mask record's
header) and the position code's vectorized decoding.

Trainings that pin the header series written by the monitor are in
tests/test_mask_deltas_training.py.
"""

import json
import logging

import numpy as np
import pytest

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import mask_codec, mask_positions, reader, summary
from tb_prune_plugin.callbacks import mask_delta


class CountingProvider:
    """A data provider that counts the blob reads it passes on to the real one."""

    def __init__(self, provider):
        self._provider = provider
        self.blob_reads = []
        self.tensor_reads = []

    def read_blob(self, ctx, *, blob_key):
        self.blob_reads.append(blob_key)
        return self._provider.read_blob(ctx, blob_key=blob_key)

    def read_tensors(self, ctx, **kwargs):
        self.tensor_reads.append(sorted(kwargs["run_tag_filter"].tags or ()))
        return self._provider.read_tensors(ctx, **kwargs)

    def __getattr__(self, name):
        return getattr(self._provider, name)


def _gradual_masks(n, shape=(4, 75), seed=0):
    size = int(np.prod(shape))
    order = np.random.default_rng(seed).permutation(size)
    out = []
    for i in range(n):
        mask = np.ones(size, dtype=bool)
        mask[order[: size // 30 * i]] = False
        out.append(mask.reshape(shape))
    return out


def _write(run_dir, records, headers=True, interval=4):
    """Writes `records` [(step, mask)] of weight "w" as the monitor does (keyframes, deltas,
    and with `headers` the mask_header series beside them)."""
    encoder = mask_delta.MaskDeltaEncoder(keyframe_interval=interval)
    with lb.RunWriter(run_dir) as w:
        for step, mask in records:
            value = encoder.record("w", mask, step)
            w.add(step, [value, summary.mask_header("w", value)] if headers else [value])


def test_header_vector_round_trips_every_header_kind():
    """The header series holds what the blob header says: every field of a keyframe (both
    encodings), a delta and a version-1 header comes back equal from its vector."""
    base, mask = _gradual_masks(3)[1:]
    headers = [
        mask_codec.encode_mask(np.eye(40, dtype=bool))[0],
        mask_codec.encode_mask(np.random.default_rng(1).random((9, 7)) < 0.5)[0],
        mask_codec.encode_delta(base, mask, 12, 3)[0],
        b'{"shape": [2, 3], "encoding": "packbits-zlib", "kept": 4}',
    ]
    assert [json.loads(h).get("encoding") for h in headers] == [
        "packbits-zlib",
        "packbits",
        "gaps-varint-zlib",
        "packbits-zlib",
    ]
    for header in headers:
        parsed = mask_codec.parse_header(header)
        vector = mask_codec.header_vector(header)
        from_vector = mask_codec.header_from_vector(vector)
        assert tuple(from_vector) == tuple(parsed) and vars(from_vector) == vars(parsed)
    assert mask_codec.header_vector(headers[2]).tolist() == [
        1,
        2,
        int(mask.sum()),
        12,
        3,
        int((base & ~mask).sum()),
        0,
        4,
        75,
    ]


@pytest.mark.parametrize(
    "vector, message",
    [
        ([0, 0], "is not one"),
        ([2, 0, 1, -1, -1, -1, -1, 3], "is not one"),
        ([0, 3, 1, -1, -1, -1, -1, 3], "is not one"),
        ([0, 0, 4, -1, -1, -1, -1, 3], "invalid kept count: 4"),
        ([1, 2, 1, -1, 0, 1, 0, 3], "invalid fields"),
        ([1, 0, 1, 1, 0, 1, 0, 3], "unknown mask delta encoding 'packbits-zlib'"),
        ([0, 0, 1, -1, -1, -1, -1, -3], "invalid shape"),
    ],
)
def test_header_vector_refused_when_not_a_header(vector, message):
    with pytest.raises(mask_codec.MaskDecodeError, match=message):
        mask_codec.header_from_vector(np.array(vector, dtype=np.int64))


def test_mask_steps_read_no_header_blob_with_the_header_series(tmp_path):
    """Bug guarded: /mask_steps read one header blob per mask record (992 provider calls for
    the largest kernel of a ResNet-50-size run). With the mask_header series it reads none,
    and /mask then reads only payloads; steps, shapes and masks are exact."""
    masks = _gradual_masks(11)
    _write(tmp_path / "r", list(enumerate(masks)))
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    pruning_reader = reader.PruningReader(provider)
    ctx = lb.request_context()
    assert pruning_reader.mask_steps(ctx, "", "r", "w") == [(s, (4, 75)) for s in range(11)]
    assert provider.blob_reads == []
    at = pruning_reader.mask_at(ctx, "", "r", "w", 10)
    np.testing.assert_array_equal(at.mask, masks[10])
    np.testing.assert_array_equal(at.previous_mask, masks[9])
    # The payloads of the chain of step 10 (keyframe 8, deltas 9 and 10); no header blob.
    data = pruning_reader.mask_data(ctx, "", "r", "w")[1]
    payloads = {d.step: d.values[1].blob_key for d in data}
    assert sorted(provider.blob_reads) == sorted(payloads[s] for s in (8, 9, 10))
    for step in range(11):
        np.testing.assert_array_equal(
            pruning_reader.mask_at(ctx, "", "r", "w", step).mask, masks[step]
        )


def test_cold_mask_reads_only_its_chains_payloads_each_once(tmp_path):
    """Bug guarded: a first /mask at the end of a chain read the header and payload of its
    record and the record before, then the headers and payloads of the chain: with the
    mask_header series, read with the listing, it reads the chain's payloads only, each
    once, and the masks are exact."""
    masks = _gradual_masks(12)
    _write(tmp_path / "r", list(enumerate(masks)))
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    pruning_reader = reader.PruningReader(provider)
    ctx = lb.request_context()
    at = pruning_reader.mask_at(ctx, "", "r", "w", 11)
    np.testing.assert_array_equal(at.mask, masks[11])
    np.testing.assert_array_equal(at.previous_mask, masks[10])
    payloads = {
        d.step: d.values[1].blob_key for d in pruning_reader.mask_data(ctx, "", "r", "w")[1]
    }
    assert sorted(provider.blob_reads) == sorted(payloads[s] for s in (8, 9, 10, 11))


def test_mask_steps_again_reads_no_header_series_nor_blob(tmp_path):
    """Bug guarded: /mask_steps read the mask_header series at every request (a second
    provider call each time: warm, 1.26x /scalars at ResNet-50 size). Once listed, the
    headers are cached: a second /mask_steps reads neither the series nor a blob."""
    masks = _gradual_masks(11)
    _write(tmp_path / "r", list(enumerate(masks)))
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    pruning_reader = reader.PruningReader(provider)
    ctx = lb.request_context()
    steps = pruning_reader.mask_steps(ctx, "", "r", "w")
    assert provider.tensor_reads.count(["pruning/w/mask_header"]) == 1
    assert pruning_reader.mask_steps(ctx, "", "r", "w") == steps
    assert provider.tensor_reads.count(["pruning/w/mask_header"]) == 1
    assert provider.blob_reads == []


def test_logs_without_the_header_series_read_headers_from_blobs(tmp_path):
    """Logs written before the mask_header series (and version-1 logs) list their masks from
    the header blobs, exactly as before: one blob read per record."""
    masks = _gradual_masks(6)
    _write(tmp_path / "r", list(enumerate(masks)), headers=False)
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    pruning_reader = reader.PruningReader(provider)
    ctx = lb.request_context()
    assert pruning_reader.mask_steps(ctx, "", "r", "w") == [(s, (4, 75)) for s in range(6)]
    assert len(provider.blob_reads) == 6
    for step in range(6):
        np.testing.assert_array_equal(
            pruning_reader.mask_at(ctx, "", "r", "w", step).mask, masks[step]
        )


def test_header_series_that_disagrees_is_not_trusted_over_a_missing_record(tmp_path, caplog):
    """A header vector is used only for the record at its own step and wall time: records
    the series lacks (here step 3, written without it) read their header blob, and a
    corrupt vector (step 4) falls back to its blob; every mask stays exact."""
    masks = _gradual_masks(6)
    encoder = mask_delta.MaskDeltaEncoder(keyframe_interval=4)
    with lb.RunWriter(tmp_path / "r") as w:
        for step, mask in enumerate(masks):
            value = encoder.record("w", mask, step)
            header = summary.mask_header("w", value)
            if step == 4:
                header.tensor.tensor_content = np.array([7, 0, 0], "<i8").tobytes()
                header.tensor.tensor_shape.dim[0].size = 3
            w.add(step, [value] if step == 3 else [value, header])
    provider = CountingProvider(lb.local_data_provider(tmp_path))
    pruning_reader = reader.PruningReader(provider)
    ctx = lb.request_context()
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin.reader"):
        steps = pruning_reader.mask_steps(ctx, "", "r", "w")
    assert steps == [(s, (4, 75)) for s in range(6)]
    assert len(provider.blob_reads) == 2  # the header blobs of steps 3 and 4
    for step in range(6):
        np.testing.assert_array_equal(
            pruning_reader.mask_at(ctx, "", "r", "w", step).mask, masks[step]
        )


@pytest.mark.parametrize("gap_bytes", [1, 2, 3, 4, 5])
def test_positions_decode_gaps_of_each_length_among_short_ones(gap_bytes):
    """Bug guarded: a vectorized decoder that gives every byte after a continued byte the
    second place's weight (7 bits) misreads gaps of 3 bytes or more; mixed with 1-byte
    gaps, each length decodes exactly."""
    rng = np.random.default_rng(gap_bytes)
    gaps = rng.integers(0, 128, size=200)
    long_gap = (1 << (7 * (gap_bytes - 1))) + 12345 % (1 << (7 * (gap_bytes - 1)) or 1)
    gaps[[0, 57, 58, 199]] = long_gap if gap_bytes > 1 else 5
    positions = np.cumsum(gaps + 1) - 1
    data = mask_positions.encode_gaps(positions)
    assert len(data) == 200 + 4 * (gap_bytes - 1)
    np.testing.assert_array_equal(mask_positions.decode_positions(data, 200), positions)
