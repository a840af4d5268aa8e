"""The on-disk format: plugin metadata, masks (mask_codec) and record writers (summary)."""

import json
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorboard.compat.proto import summary_pb2, types_pb2
from tensorboard.util import tensor_util

from tb_prune_plugin import mask_codec, metadata, summary

# Metadata ------------------------------------------------------------------------------------

KIND_ARGS = {
    metadata.KIND_WEIGHT_STATS: dict(weight="dense/kernel", fields=metadata.WEIGHT_STATS_FIELDS),
    metadata.KIND_WEIGHT_HISTOGRAM: dict(weight="enc/dense_1/kernel"),
    metadata.KIND_MASK: dict(weight="conv/kernel"),
    metadata.KIND_MASK_HEADER: dict(weight="conv/kernel"),
    metadata.KIND_MODEL_STATS: dict(fields=metadata.MODEL_STATS_FIELDS),
    metadata.KIND_RUN_CONFIG: dict(),
    metadata.KIND_METRIC: dict(metric="val_accuracy", scope="epoch"),
    metadata.KIND_STRIPPED_SIZE: dict(fields=metadata.STRIPPED_SIZE_FIELDS),
    metadata.KIND_SENSITIVITY: dict(weight="conv/kernel"),
}


def _content(**parsed):
    return json.dumps(parsed).encode("utf-8")


@pytest.mark.parametrize("kind", sorted(metadata.KINDS))
def test_metadata_round_trip_every_kind(kind):
    args = KIND_ARGS[kind]
    meta = metadata.create_summary_metadata(kind, **args)
    assert meta.plugin_data.plugin_name == "pruning"
    assert meta.data_class == metadata.KINDS[kind]
    record = metadata.parse_plugin_metadata(meta.plugin_data.content)
    assert record == metadata.RecordMetadata(
        version=2,
        kind=kind,
        weight=args.get("weight"),
        fields=tuple(args["fields"]) if "fields" in args else None,
        metric=args.get("metric"),
        scope=args.get("scope"),
    )


def test_metadata_content_is_compact_json():
    meta = metadata.create_summary_metadata(metadata.KIND_MASK, weight="dense/kernel")
    assert meta.plugin_data.content == b'{"version":2,"kind":"mask","weight":"dense/kernel"}'


def test_metadata_data_class_of_masks_is_blob_sequence():
    assert metadata.KINDS[metadata.KIND_MASK] == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    others = set(metadata.KINDS) - {metadata.KIND_MASK}
    assert {metadata.KINDS[k] for k in others} == {summary_pb2.DATA_CLASS_TENSOR}


def test_create_metadata_unknown_kind_raises():
    with pytest.raises(ValueError, match="unknown record kind 'masks'"):
        metadata.create_summary_metadata("masks")


@pytest.mark.parametrize("kind", metadata.WEIGHT_KINDS)
def test_create_metadata_per_weight_kind_without_weight_raises(kind):
    with pytest.raises(ValueError, match="needs the weight's path"):
        metadata.create_summary_metadata(kind)


@pytest.mark.parametrize("metric,scope", [("loss", "step"), ("", "epoch"), (None, "batch")])
def test_create_metadata_metric_without_name_or_scope_raises(metric, scope):
    with pytest.raises(ValueError, match="metric name and a scope"):
        metadata.create_summary_metadata(metadata.KIND_METRIC, metric=metric, scope=scope)


@pytest.mark.parametrize(
    "content,message",
    [
        ("not bytes", "must be bytes, got str"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{version: 1}", "not UTF-8 JSON"),
        (b"[1]", "must be a JSON object, got \\[1\\]"),
        (_content(kind="mask", weight="w"), "no valid format version"),
        (_content(version="1", kind="mask", weight="w"), "no valid format version"),
        (_content(version=True, kind="mask", weight="w"), "no valid format version"),
        (_content(version=0, kind="mask", weight="w"), "no valid format version"),
        (_content(version=1, kind="masks", weight="w"), "unknown record kind 'masks'"),
        (_content(version=1, kind="mask"), "a mask record has no weight path"),
        (_content(version=1, kind="mask", weight=""), "a mask record has no weight path"),
        (_content(version=1, kind="weight_stats", weight="w", fields="size"), "fields must be"),
        (_content(version=1, kind="model_stats", fields=[1, 2]), "fields must be"),
        (_content(version=1, kind="metric", metric="loss"), "needs metric and scope"),
        (_content(version=1, kind="metric", metric="loss", scope="step"), "needs metric and"),
    ],
)
def test_parse_metadata_invalid_content_raises_format_error(content, message):
    with pytest.raises(metadata.FormatError, match=message):
        metadata.parse_plugin_metadata(content)


def test_parse_metadata_newer_version_raises_newer_format_error():
    with pytest.raises(metadata.NewerFormatError, match="format version 3 is newer") as info:
        metadata.parse_plugin_metadata(_content(version=3, kind="something_new"))
    assert info.value.version == 3
    assert isinstance(info.value, metadata.FormatError)


def test_parse_metadata_ignores_unknown_keys_of_version_1():
    record = metadata.parse_plugin_metadata(
        _content(version=1, kind="run_config", weight="ignored", extra=[1])
    )
    assert record == metadata.RecordMetadata(version=1, kind="run_config")


def test_parse_metadata_accepts_bytearray():
    record = metadata.parse_plugin_metadata(bytearray(_content(version=1, kind="model_stats")))
    assert record == metadata.RecordMetadata(version=1, kind="model_stats")


# Mask codec ----------------------------------------------------------------------------------


def _round_trip(mask):
    header, payload = mask_codec.encode_mask(mask)
    decoded = mask_codec.decode_mask(header, payload)
    assert decoded.dtype == np.bool_
    assert decoded.shape == mask.shape
    np.testing.assert_array_equal(decoded, mask)
    return json.loads(header), payload


@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 4, 5), (2, 0, 3, 3)])
def test_mask_codec_empty_mask_round_trip(shape):
    header, payload = _round_trip(np.zeros(shape, dtype=bool))
    assert header == {"kind": "keyframe", "shape": list(shape), "encoding": "packbits", "kept": 0}
    assert payload == b""


def test_mask_codec_all_pruned_round_trip():
    header, payload = _round_trip(np.zeros([64, 32], dtype=bool))
    assert header == {"kind": "keyframe", "shape": [64, 32], "encoding": "packbits-zlib", "kept": 0}
    assert len(payload) < 64 * 32 // 8


def test_mask_codec_nothing_pruned_round_trip():
    header, payload = _round_trip(np.ones([3, 3, 16, 8], dtype=bool))
    assert header == {
        "kind": "keyframe",
        "shape": [3, 3, 16, 8],
        "encoding": "packbits-zlib",
        "kept": 1152,
    }
    assert zlib.decompress(payload) == b"\xff" * 144


@pytest.mark.parametrize("shape", [(1,), (7,), (9,), (3, 5), (5, 3, 7), (1, 1, 1, 13)])
def test_mask_codec_odd_sizes_round_trip(shape):
    mask = np.arange(np.prod(shape)).reshape(shape) % 3 == 1
    header, _ = _round_trip(mask)
    assert header["kept"] == int(mask.sum())


def test_mask_codec_rank_0_round_trip():
    for value in (True, False):
        header, _ = _round_trip(np.array(value))
        assert header["shape"] == [] and header["kept"] == int(value)


def test_mask_codec_bit_order_is_row_major_msb_first():
    mask = np.array([[1, 0, 0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]], dtype=bool)
    header, payload = mask_codec.encode_mask(mask)
    assert json.loads(header)["encoding"] == "packbits"
    assert payload == b"\x80\x80\x00"


def test_mask_codec_half_dense_random_mask_falls_back_to_raw():
    mask = np.random.default_rng(7).random([128, 64]) < 0.5
    header, payload = _round_trip(mask)
    assert header["encoding"] == "packbits"
    assert payload == np.packbits(mask.reshape(-1)).tobytes()


def test_mask_codec_sparse_mask_is_compressed():
    mask = np.random.default_rng(3).random([256, 128]) < 0.1
    header, payload = _round_trip(mask)
    assert header["encoding"] == "packbits-zlib"
    assert len(payload) < 256 * 128 // 8 * 0.7


def test_mask_codec_non_bool_mask_raises_type_error():
    with pytest.raises(TypeError, match="dtype float32"):
        mask_codec.encode_mask(np.ones([2, 2], dtype=np.float32))


def _header(**fields):
    base = {"shape": [4, 4], "encoding": "packbits", "kept": 16}
    base.update(fields)
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    "header,message",
    [
        (b"\x80", "not UTF-8 JSON"),
        (b"shape", "not UTF-8 JSON"),
        (b"[4, 4]", "must be a JSON object"),
        (_header(shape=None), "invalid shape: None"),
        (_header(shape=[4, -1]), "invalid shape: \\[4, -1\\]"),
        (_header(shape=[4, True]), "invalid shape"),
        (_header(shape=[4.0, 4]), "invalid shape"),
        (_header(shape=[1 << 20, 1 << 12]), "larger than 2147483648 entries"),
        (_header(encoding="rle"), "unknown mask encoding 'rle'"),
        (_header(kept=17), "invalid kept count: 17"),
        (_header(kept=-1), "invalid kept count: -1"),
        (_header(kept="16"), "invalid kept count: '16'"),
    ],
)
def test_mask_codec_invalid_header_raises(header, message):
    with pytest.raises(mask_codec.MaskDecodeError, match=message):
        mask_codec.decode_mask(header, b"\xff\xff")


def test_mask_codec_truncated_raw_payload_raises():
    with pytest.raises(mask_codec.MaskDecodeError, match="holds 1 bytes, shape \\[4, 4\\] needs 2"):
        mask_codec.decode_mask(_header(), b"\xff")


def test_mask_codec_long_raw_payload_raises():
    with pytest.raises(mask_codec.MaskDecodeError, match="holds 3 bytes"):
        mask_codec.decode_mask(_header(), b"\xff\xff\xff")


def test_mask_codec_truncated_zlib_payload_raises():
    header, payload = mask_codec.encode_mask(np.zeros([64, 64], dtype=bool))
    with pytest.raises(
        mask_codec.MaskDecodeError, match="holds \\d+ bytes|not valid zlib|not one complete zlib"
    ):
        mask_codec.decode_mask(header, payload[:4])


@pytest.mark.parametrize("cut", [1, 4])
def test_mask_codec_zlib_payload_missing_last_bytes_raises(cut):
    """Regression: decode_mask did not check that the zlib stream ended (eof, no unused data),
    so a payload missing its checksum bytes decoded."""
    header, payload = mask_codec.encode_mask(np.zeros([64, 64], dtype=bool))
    with pytest.raises(mask_codec.MaskDecodeError):
        mask_codec.decode_mask(header, payload[:-cut])


def test_mask_codec_zlib_payload_with_trailing_bytes_raises():
    """Regression: bytes appended after the zlib stream were silently ignored."""
    header, payload = mask_codec.encode_mask(np.zeros([64, 64], dtype=bool))
    with pytest.raises(mask_codec.MaskDecodeError):
        mask_codec.decode_mask(header, payload + b"\x00")


def test_mask_codec_garbage_zlib_payload_raises():
    with pytest.raises(mask_codec.MaskDecodeError, match="not valid zlib data"):
        mask_codec.decode_mask(_header(encoding="packbits-zlib"), b"not zlib at all")


def test_mask_codec_kept_count_mismatch_raises():
    with pytest.raises(mask_codec.MaskDecodeError, match="keeps 15 weights, header says 16"):
        mask_codec.decode_mask(_header(), b"\xff\xfe")


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        dtype=np.bool_,
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
    )
)
def test_mask_codec_round_trip_any_mask(mask):
    _round_trip(mask)


@settings(max_examples=60, deadline=None)
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=40),
    sparsity=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_mask_codec_round_trip_any_sparsity(shape, sparsity, seed):
    mask = np.random.default_rng(seed).random(shape) >= sparsity
    header, payload = _round_trip(mask)
    assert header["kept"] == int(mask.sum())
    # Never more than one bit per weight.
    assert len(payload) <= (mask.size + 7) // 8


# Record writers ------------------------------------------------------------------------------


def test_weight_stats_record_is_float64_vector_in_field_order():
    values = {f: float(i) for i, f in enumerate(metadata.WEIGHT_STATS_FIELDS)}
    value = summary.weight_stats("dense/kernel", values)
    assert value.tag == "pruning/dense/kernel/weight_stats"
    assert value.tensor.dtype == types_pb2.DT_DOUBLE
    np.testing.assert_array_equal(
        tensor_util.make_ndarray(value.tensor), np.arange(len(metadata.WEIGHT_STATS_FIELDS))
    )
    record = metadata.parse_plugin_metadata(value.metadata.plugin_data.content)
    assert record.fields == metadata.WEIGHT_STATS_FIELDS


def test_weight_stats_record_missing_field_raises():
    with pytest.raises(ValueError, match="lacks \\['nonfinite'\\]"):
        summary.weight_stats("w", {f: 0.0 for f in metadata.WEIGHT_STATS_FIELDS[:-1]})


def test_mask_record_is_header_and_payload_strings():
    mask = np.array([[True, False], [False, False]])
    value = summary.mask("dense/kernel", mask, with_metadata=False)
    assert value.tag == "pruning/dense/kernel/mask"
    assert not value.HasField("metadata")
    header, payload = tensor_util.make_ndarray(value.tensor).tolist()
    np.testing.assert_array_equal(mask_codec.decode_mask(header, payload), mask)


def test_histogram_record_is_lo_hi_counts():
    value = summary.weight_histogram("dense/kernel", 0.0, 0.5, [3, 0, 1])
    assert tensor_util.make_ndarray(value.tensor).tolist() == [0.0, 0.5, 3.0, 0.0, 1.0]


def test_run_config_record_is_sorted_json_string():
    value = summary.run_config({"method": "manual", "a": [1]})
    assert tensor_util.make_ndarray(value.tensor).item() == b'{"a": [1], "method": "manual"}'
