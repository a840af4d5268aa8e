"""Delta-coded masks (format version 2): the codec's round trips and checks, the writer's
keyframe rule, and the reader on chains, missing bases and version-1 logs.

Trainings that pin the masks read against the mask variables are in
tests/test_mask_deltas_training.py.
"""

import json
import logging
import os
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import mask_codec, mask_workers, reader
from tb_prune_plugin.callbacks import mask_delta

FIXTURE_V1 = os.path.join(os.path.dirname(__file__), "fixtures", "format_v1")
FIXTURE_V1_MASKS = os.path.join(
    os.path.dirname(__file__), "fixtures", "format_v1_expected_masks.npz"
)

# Codec ----------------------------------------------------------------------------------------

_SHAPES = hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=9)


@settings(max_examples=60, deadline=None)
@given(shape=_SHAPES, seeds=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=5))
def test_chain_round_trip_random_masks_of_ranks_1_to_4(shape, seeds):
    masks = [np.random.default_rng(s).random(shape) < (s % 7) / 6 for s in seeds]
    records = [(0,) + mask_codec.encode_mask(masks[0])]
    for i in range(1, len(masks)):
        header, payload = mask_codec.encode_delta(masks[i - 1], masks[i], i - 1, 0)
        records.append((i, header, payload))
    decoded = mask_codec.decode_chain(records)
    assert [m.shape for m in decoded] == [tuple(shape)] * len(masks)
    for got, want in zip(decoded, masks):
        np.testing.assert_array_equal(got.unpack(), want)
        assert got.kept == int(want.sum())
    # Only the last two: the deltas before them are applied to one unpacked copy.
    last_two = mask_codec.decode_chain(records, keep=2)
    assert last_two[:-2] == [None] * max(0, len(masks) - 2)
    for got, want in zip(last_two[-2:], masks[-2:]):
        np.testing.assert_array_equal(got.unpack(), want)
        assert got.kept == int(want.sum()) and not got.bits.flags.writeable


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (9, 1, 3), (2, 3, 5, 7), (0, 4), (1000003,)])
def test_delta_round_trip_odd_shapes_and_header(shape):
    rng = np.random.default_rng(len(shape))
    base = rng.random(shape) < 0.5
    mask = base.copy()
    flips = rng.random(shape) < 0.1
    mask[flips] = ~mask[flips]
    header, payload = mask_codec.encode_delta(base, mask, 7, 3)
    parsed = mask_codec.parse_header(header)
    assert json.loads(header) == {
        "kind": "delta",
        "shape": list(shape),
        "encoding": "gaps-varint-zlib",
        "kept": int(mask.sum()),
        "base_step": 7,
        "keyframe_step": 3,
        "newly_pruned": int((base & ~mask).sum()),
        "regrown": int((~base & mask).sum()),
    }
    assert tuple(parsed) == (shape, "gaps-varint-zlib", int(mask.sum()))
    got = mask_codec.apply_delta(
        mask_codec.decode_packed(*mask_codec.encode_mask(base)), payload, parsed
    )
    np.testing.assert_array_equal(got.unpack(), mask)


def test_delta_gaps_of_every_varint_length_round_trip():
    """Positions far apart take 1 to 5 varint bytes per gap."""
    mask = np.zeros(1 << 30, dtype=bool)  # a 1 Gi-entry mask costs 1 GiB: 5 positions only
    positions = [0, 1, 200, 20_000, 3_000_000, (1 << 30) - 1]
    mask[positions] = True
    header, payload = mask_codec.encode_delta(np.zeros_like(mask), mask, 0, 0)
    assert len(zlib.decompress(payload)) == 1 + 1 + 2 + 3 + 4 + 5
    base = mask_codec.PackedMask(mask.shape, np.zeros(1 << 27, dtype=np.uint8), 0)
    got = mask_codec.apply_delta(base, payload, mask_codec.parse_header(header))
    assert got.kept == len(positions)
    np.testing.assert_array_equal(np.flatnonzero(np.unpackbits(got.bits)), positions)


def _delta(base, mask, **header_changes):
    header, payload = mask_codec.encode_delta(base, mask, 1, 0)
    header = json.loads(header)
    header.update(header_changes)
    return mask_codec.parse_header(json.dumps(header).encode()), payload


_BASE = np.array([True, True, False, False, True, False, True, True, False])
_MASK = np.array([True, False, False, True, True, False, True, False, False])


def _packed(mask):
    return mask_codec.decode_packed(*mask_codec.encode_mask(mask))


@pytest.mark.parametrize(
    "payload_change, header_changes, message",
    [
        (lambda p: p[:-2], {}, "not one complete zlib stream"),
        (lambda p: p + b"\x00", {}, "not one complete zlib stream"),
        (lambda p: b"junk", {}, "not valid zlib data"),
        (lambda p: zlib.compress(b"\x80\x80"), {}, "holds 0 complete positions in 2 bytes"),
        (
            lambda p: zlib.compress(b"\x00" * 4),
            {},
            "holds 4 complete positions in 4 bytes, its header says 3",
        ),
        (lambda p: zlib.compress(b"\x00\x00\x20"), {}, "changes position 34 of a mask of 9"),
        (lambda p: zlib.compress(b"\x00\x00\x80\x80\x80\x80\x80\x01"), {}, "longer than 5 bytes"),
        (lambda p: p, {"kept": 5}, "prunes 2 kept weights and keeps 4, its header says 2 and 5"),
        (lambda p: p, {"newly_pruned": 1, "regrown": 2}, "prunes 2 kept weights and keeps"),
        (lambda p: p, {"regrown": 2}, "holds 3 complete positions in 3 bytes, its header says 4"),
        (lambda p: zlib.compress(b"\x00" * 1000), {}, "not one complete zlib stream"),
    ],
)
def test_corrupt_delta_raises_mask_decode_error(payload_change, header_changes, message):
    parsed, payload = _delta(_BASE, _MASK, **header_changes)
    with pytest.raises(mask_codec.MaskDecodeError, match=message):
        mask_codec.apply_delta(_packed(_BASE), payload_change(payload), parsed)


def test_delta_on_another_base_is_refused():
    parsed, payload = _delta(_BASE, _MASK)
    with pytest.raises(mask_codec.MaskDecodeError, match="does not fit its base"):
        mask_codec.apply_delta(_packed(~_BASE), payload, parsed)
    with pytest.raises(
        mask_codec.MaskDecodeError, match=r"shape \[9\] on a base of shape \[3, 3\]"
    ):
        mask_codec.apply_delta(_packed(_BASE.reshape(3, 3)), payload, parsed)


@pytest.mark.parametrize(
    "header, message",
    [
        ({"kind": "delta", "encoding": "packbits"}, "unknown mask delta encoding 'packbits'"),
        ({"kind": "hologram"}, "unknown mask record kind 'hologram'"),
        ({"kind": "delta", "base_step": -1}, "invalid fields"),
        ({"kind": "delta", "base_step": None}, "invalid fields"),
        ({"kind": "delta", "regrown": True}, "invalid fields"),
        ({"kind": "delta", "newly_pruned": 2**40}, "changes 1099511627777 entries of a mask of 9"),
        ({"kind": "delta", "keyframe_step": 5}, "keyframe step 5 is after its base step 1"),
        ({"kind": "delta", "shape": [1 << 20, 1 << 12]}, "larger than 2147483648 entries"),
    ],
)
def test_hostile_delta_headers_refused(header, message):
    good = json.loads(mask_codec.encode_delta(_BASE, _MASK, 1, 0)[0])
    with pytest.raises(mask_codec.MaskDecodeError, match=message):
        mask_codec.parse_header(json.dumps(dict(good, **header)).encode())


def test_delta_needs_its_base():
    header, payload = mask_codec.encode_delta(_BASE, _MASK, 4, 0)
    with pytest.raises(mask_codec.MaskDecodeError, match="cannot be decoded without its base"):
        mask_codec.decode_mask(header, payload)
    keyframe = mask_codec.encode_mask(_BASE)
    with pytest.raises(
        mask_codec.MaskDecodeError,
        match="made from the record of step 4, which is not the record before it \\(step 3\\)",
    ):
        mask_codec.decode_chain([(3,) + keyframe, (5, header, payload)])
    with pytest.raises(
        mask_codec.MaskDecodeError,
        match="step 5 is made from the record of step 4, which is missing",
    ):
        mask_codec.decode_chain([(5, header, payload)])


def test_version_1_header_reads_as_keyframe():
    header = b'{"shape":[3,3],"encoding":"packbits","kept":2}'
    parsed = mask_codec.parse_header(header)
    assert (parsed.kind, tuple(parsed)) == ("keyframe", ((3, 3), "packbits", 2))
    mask = mask_codec.decode_mask(header, bytes([0b10000000, 0b10000000]))
    assert mask.reshape(-1).tolist() == [True] + [False] * 7 + [True]


# Writer's keyframe rule ------------------------------------------------------------------------


def _kinds(values):
    return [json.loads(v.tensor.string_val[0]).get("kind") for v in values]


def test_encoder_keyframes_first_every_interval_and_at_shape_change():
    encoder = mask_delta.MaskDeltaEncoder(keyframe_interval=3)
    masks = [m.reshape(-1) for m in _gradual_masks(7, size=4096)] + [np.ones(65, bool)] * 2
    values = [encoder.record("w", m, step) for step, m in enumerate(masks)]
    assert _kinds(values) == ["keyframe", "delta", "delta"] * 2 + ["keyframe"] * 2 + ["delta"]
    headers = [json.loads(v.tensor.string_val[0]) for v in values]
    assert [(h.get("base_step"), h.get("keyframe_step")) for h in headers] == [
        (None, None),
        (0, 0),
        (1, 0),
        (None, None),
        (3, 3),
        (4, 3),
        (None, None),
        (None, None),
        (7, 7),
    ]


def test_encoder_keyframe_when_asked_or_step_not_after_base_or_change_large():
    encoder = mask_delta.MaskDeltaEncoder()
    mask = np.arange(4096) % 3 == 0
    values = [
        encoder.record("w", mask, 0),
        encoder.record("w", mask, 5),
        encoder.record("w", mask, 5),  # the same step again: a rewritten record
        encoder.record("w", mask, 6, keyframe=True),
        # Half the weights change at random: the keyframe is smaller.
        encoder.record("w", np.random.default_rng(0).random(4096) < 0.5, 7),
        encoder.record("v", mask, 7),
    ]
    assert _kinds(values) == ["keyframe", "delta", "keyframe", "keyframe", "keyframe", "keyframe"]


# Reader -----------------------------------------------------------------------------------------


def _write_chain(run_dir, masks, skip=(), encoder=None):
    encoder = encoder or mask_delta.MaskDeltaEncoder(keyframe_interval=4)
    with lb.RunWriter(run_dir) as w:
        for step, mask in enumerate(masks):
            value = encoder.record("w", mask, step)
            if step not in skip:
                w.add(step, [value])


def _gradual_masks(n, size=300, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(size)
    out = []
    for i in range(n):
        mask = np.ones(size, dtype=bool)
        mask[order[: size // 30 * i]] = False
        out.append(mask.reshape(4, -1))
    return out


def test_reader_decodes_chains_across_keyframes_at_every_step(tmp_path):
    masks = _gradual_masks(11)
    _write_chain(tmp_path / "r", masks)
    pruning_reader = reader.PruningReader(lb.local_data_provider(tmp_path))
    ctx = lb.request_context()
    # In decreasing step order first (cold chains), then every step again (cached).
    for step in list(range(10, -1, -1)) + list(range(11)):
        at = pruning_reader.mask_at(ctx, "", "r", "w", step)
        np.testing.assert_array_equal(at.mask, masks[step])
        if step:
            np.testing.assert_array_equal(at.previous_mask, masks[step - 1])
    loaded = reader.load(str(tmp_path)).runs["r"].weights["w"].masks
    assert sorted(loaded) == list(range(11))
    for step, mask in loaded.items():
        np.testing.assert_array_equal(mask, masks[step])


def test_delta_whose_base_is_missing_skips_that_step_with_a_notice(tmp_path, caplog):
    """Step 5's record (a delta) is not in the log: step 6, made from it, and step 7, made
    from step 6, are skipped with a warning naming the missing base; steps 0 to 4 and the
    chain from the keyframe at 8 read."""
    masks = _gradual_masks(10)
    _write_chain(tmp_path / "r", masks, skip={5})
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin.reader"):
        loaded = reader.load(str(tmp_path)).runs["r"].weights["w"].masks
    assert sorted(loaded) == [0, 1, 2, 3, 4, 8, 9]
    for step, mask in loaded.items():
        np.testing.assert_array_equal(mask, masks[step])
    notices = [r.getMessage() for r in caplog.records if "skipping pruning mask" in r.getMessage()]
    assert notices == [
        "skipping pruning mask run 'r', tag 'pruning/w/mask', step 6: the mask delta's base, "
        "the record of step 5, is missing (not read, or not in TensorBoard's sample of the "
        "series: see --samples_per_plugin)",
        "skipping pruning mask run 'r', tag 'pruning/w/mask', step 7: the mask delta of step 6 "
        "is made from the record of step 5, which is not the record before it (step 4)",
    ]


def test_version_1_fixture_reads_with_load(tmp_path):
    """The committed log of format version 1 (tests/fixtures/make_format_v1.py) reads with its
    exact steps and masks."""
    expected = np.load(FIXTURE_V1_MASKS)
    run = reader.load(FIXTURE_V1).runs["tfmot"]
    assert sorted(run.weights) == ["hidden/kernel", "logits/kernel"]
    for weight, series in run.weights.items():
        assert series.steps.tolist() == [0, 4, 8, 12, 16]
        assert sorted(series.masks) == [0, 4, 8, 12]
        for step in (0, 4, 8, 12, 16):
            recorded = max(s for s in series.masks if s <= step)
            np.testing.assert_array_equal(
                series.masks[recorded], expected["%d:%s" % (step, weight)]
            )
    assert run.config["format_version"] == 1


@pytest.mark.parametrize("load_fast", ["true", "false"])
def test_version_1_fixture_served_by_tensorboard(load_fast):
    """The version-1 log through a real TensorBoard (Rust data server and Python loader): the
    exact mask steps, and every mask, one grid cell per weight, equal to the mask variables."""
    import base64

    from benchmarks.fixtures import browser

    expected = np.load(FIXTURE_V1_MASKS)
    with browser.TensorBoardProcess(FIXTURE_V1, ["--load_fast=" + load_fast]) as tensorboard:
        tensorboard.wait_for_runs(["tfmot"])
        route = tensorboard.url + browser.PLUGIN_PREFIX
        for weight, shape in (("hidden/kernel", (64, 24)), ("logits/kernel", (24, 10))):
            query = "?run=tfmot&weight=" + weight
            steps = browser.fetch_json(route + "/mask_steps" + query, timeout=30)["steps"]
            assert steps == [0, 4, 8, 12]
            for step in (0, 4, 8, 12, 16):
                body = browser.fetch_json(
                    route + "/mask" + query + "&step=%d&max_cells=100000" % step, timeout=30
                )
                assert (body["step"], body["shape"], body["exact"]) == (
                    min(step, 12),
                    list(shape),
                    True,
                )
                cells = np.frombuffer(base64.b64decode(body["kept"]), np.uint8)
                np.testing.assert_array_equal(
                    cells.reshape(shape[1], shape[0]) == 255, expected["%d:%s" % (step, weight)].T
                )


def test_corrupt_delta_inside_a_chain_applied_unpacked_raises():
    masks = [m.reshape(-1) for m in _gradual_masks(5, size=4096)]
    records = [(0,) + mask_codec.encode_mask(masks[0])]
    for i in range(1, 5):
        records.append((i,) + mask_codec.encode_delta(masks[i - 1], masks[i], i - 1, 0))
    header = json.loads(records[2][1])
    records[2] = (2, json.dumps(dict(header, kept=header["kept"] + 1)).encode(), records[2][2])
    with pytest.raises(mask_codec.MaskDecodeError, match=r"does not fit its base \(step 1\)"):
        mask_codec.decode_chain(records, keep=1)
    records[2] = (2, json.dumps(header).encode(), records[2][2][:-3])
    with pytest.raises(mask_codec.MaskDecodeError, match="not one complete zlib stream"):
        mask_codec.decode_chain(records, keep=1)


def _large_chain():
    """A keyframe and four deltas, then a keyframe and two deltas, of 2**21 entries: more
    payload bytes than `PARALLEL_MIN_BYTES`, so `decode_chain` prepares them on workers."""
    rng = np.random.default_rng(5)
    masks = [rng.random(1 << 21) < 0.5]
    for _ in range(6):
        mask = masks[-1].copy()
        flips = rng.random(mask.size) < 0.02
        mask[flips] = ~mask[flips]
        masks.append(mask)
    records = []
    for i, mask in enumerate(masks):
        if i in (0, 5):
            records.append((i,) + mask_codec.encode_mask(mask))
        else:
            records.append(
                (i,) + mask_codec.encode_delta(masks[i - 1], mask, i - 1, 0 if i < 5 else 5)
            )
    assert sum(len(r[2]) for r in records) >= mask_codec.PARALLEL_MIN_BYTES
    return masks, records


def test_chain_prepared_on_workers_decodes_the_same_masks(monkeypatch):
    masks, records = _large_chain()
    asked = []
    each = mask_workers.each
    monkeypatch.setattr(
        mask_workers,
        "each",
        lambda fn, calls, in_parallel: asked.append(in_parallel) or each(fn, calls, in_parallel),
    )
    for keep in (None, 2, 1):
        decoded = mask_codec.decode_chain(records, keep=keep)
        wanted = range(len(masks)) if keep is None else range(len(masks) - keep, len(masks))
        assert [i for i, m in enumerate(decoded) if m is not None] == list(wanted)
        for i in wanted:
            np.testing.assert_array_equal(decoded[i].unpack(), masks[i])
            assert decoded[i].kept == int(masks[i].sum())
    assert asked == [True, True, True]
    # A short chain stays on the caller's thread.
    mask_codec.decode_chain(records[:1])
    assert asked[-1] is False


def test_chain_prepared_on_workers_raises_its_first_bad_record_in_order():
    """The first bad record in step order is the one reported, whichever worker finished
    first; a delta whose shape differs from its chain's is refused as in order."""
    _, records = _large_chain()
    header = json.loads(records[2][1])
    bad = list(records)
    bad[2] = (2, json.dumps(dict(header, kept=header["kept"] + 1)).encode(), records[2][2])
    bad[4] = (4, records[4][1], records[4][2][:-3])
    with pytest.raises(mask_codec.MaskDecodeError, match=r"does not fit its base \(step 1\)"):
        mask_codec.decode_chain(bad, keep=1)
    bad = list(records)
    bad[0] = (0, records[0][1], records[0][2][:-3])
    with pytest.raises(mask_codec.MaskDecodeError, match="mask payload"):
        mask_codec.decode_chain(bad)
    bad = list(records)
    h3 = json.loads(records[3][1])
    bad[3] = (3, json.dumps(dict(h3, shape=[1 << 20, 2])).encode(), records[3][2])
    with pytest.raises(mask_codec.MaskDecodeError, match=r"shape \[1048576, 2\] on a base"):
        mask_codec.decode_chain(bad, keep=1)


def test_encoder_keyframe_when_a_training_start_supersedes_the_base(tmp_path):
    """With the monitor's writer: a training that starts at or before the base's step (a
    rewind: readers drop the base) or another writer gets a keyframe; a training that starts
    after the base keeps the chain."""
    from tb_prune_plugin.callbacks.writer import GuardedWriter

    writer = GuardedWriter(str(tmp_path))
    encoder = mask_delta.MaskDeltaEncoder()
    masks = [m.reshape(-1) for m in _gradual_masks(6, size=4096)]
    kinds = []
    for start, step, mask, w in (
        (0, 0, masks[0], writer),
        (None, 5, masks[1], writer),
        (3, 7, masks[2], writer),  # rewound to 3: the base of step 5 is dropped
        (None, 9, masks[3], writer),
        (12, 13, masks[4], writer),  # resumed after the base of step 9: it stays
        (None, 14, masks[5], GuardedWriter(str(tmp_path))),
    ):
        if start is not None:
            w.start_session(start)
        kinds.append(json.loads(encoder.record("w", mask, step, w).tensor.string_val[0])["kind"])
    assert kinds == ["keyframe", "delta", "keyframe", "delta", "delta", "keyframe"]
