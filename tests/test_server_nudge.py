"""`server_nudge`: reads from a real Rust data server, nudged while in flight.

TensorBoard's data server holds a small ReadBlob answer until the client acknowledges the frame
before it (Nagle's algorithm against the client's delayed acknowledgement); the reader sends a
trivial request while a read is in flight so that the answer goes out at once. What it saves is
measured in docs/performance.md; here: the bytes and masks read are exactly those written, a
read in flight is nudged, the nudging stops when nothing is read, and the Python loader's
provider is read as it is.
"""

import threading
import time

import numpy as np
import pytest
from tensorboard import context
from tensorboard.data import provider

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import reader, server_nudge, summary
from tb_prune_plugin.reader import mask_batches

CTX = context.RequestContext()
WEIGHT = "dense/kernel"
BIG = "big/kernel"


def _masks():
    """{step: mask} of WEIGHT: a keyframe at 0, deltas at 1 to 4 (1% of the entries flipped
    each), a keyframe at 5 and a delta at 6."""
    rng = np.random.default_rng(7)
    mask = rng.random((128, 256)) < 0.5
    masks = {0: mask.copy()}
    for step in range(1, 7):
        flip = rng.choice(mask.size, mask.size // 100, replace=False)
        mask.reshape(-1)[flip] ^= True
        masks[step] = mask.copy()
    return masks


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(GrpcDataProvider of a real data server, Python loader's provider, {step: mask}, the
    big weight's mask)."""
    logdir = tmp_path_factory.mktemp("blob_reads")
    masks = _masks()
    # 4096 x 1024 entries, half kept at random: a keyframe of about half a megabyte, whose
    # read takes longer than a nudge's pause.
    big = np.random.default_rng(8).random((4096, 1024)) < 0.5
    with lb.RunWriter(logdir / "run") as w:
        for step, mask in masks.items():
            if step in (0, 5):
                value = summary.mask(WEIGHT, mask)
            else:
                keyframe = 0 if step < 5 else 5
                value = summary.mask_delta(WEIGHT, masks[step - 1], mask, step - 1, keyframe)
            extra = [summary.mask(BIG, big)] if step == 0 else []
            w.add(step, [value, summary.mask_header(WEIGHT, value)] + extra)
    grpc = lb.rust_data_provider(logdir)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _blob_keys(grpc, WEIGHT):
        time.sleep(0.2)
    return grpc, lb.local_data_provider(logdir), masks, big


def _blob_keys(data_provider, weight):
    """The blob keys of `weight`'s mask records, by step."""
    found = data_provider.read_blob_sequences(
        CTX,
        experiment_id="",
        plugin_name=reader.PLUGIN_NAME,
        downsample=10**6,
        run_tag_filter=provider.RunTagFilter(runs=["run"], tags=["pruning/%s/mask" % weight]),
    )
    data = found.get("run", {}).get("pruning/%s/mask" % weight, [])
    return {d.step: [v.blob_key for v in d.values] for d in data}


def _nudge_threads():
    return [t for t in threading.enumerate() if t.name == "tb_prune_plugin-server-nudges"]


def test_blobs_read_are_the_providers_bytes(served):
    grpc, _, masks, _ = served
    blobs = server_nudge.BlobReader(grpc)
    keys = _blob_keys(grpc, WEIGHT)
    assert sorted(keys) == sorted(masks)
    for header_key, payload_key in keys.values():
        for key in (header_key, payload_key):
            assert blobs.read(CTX, key) == grpc.read_blob(CTX, blob_key=key)


def test_masks_read_through_the_data_server_are_the_masks_written(served):
    """Keyframes and delta chains (one across the second keyframe) decode to the exact masks
    written, with every blob read nudged."""
    grpc, _, masks, _ = served
    read = reader.PruningReader(grpc).masks(CTX, "", "run", WEIGHT)
    assert sorted(read) == sorted(masks)
    for step, mask in masks.items():
        np.testing.assert_array_equal(read[step], mask)


def test_a_read_in_flight_is_nudged_and_the_nudging_stops(served):
    grpc, _, _, big = served
    blobs = server_nudge.BlobReader(grpc)
    assert blobs.nudger.nudged
    (_, payload_key) = _blob_keys(grpc, BIG)[0]
    assert blobs.read(CTX, payload_key) == grpc.read_blob(CTX, blob_key=payload_key)
    assert blobs.nudger.nudges >= 1
    deadline = time.monotonic() + 10
    while _nudge_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _nudge_threads() == []
    sent = blobs.nudger.nudges
    time.sleep(0.05)
    assert blobs.nudger.nudges == sent


def test_the_python_loaders_provider_is_read_as_it_is(served):
    _, local, masks, _ = served
    blobs = server_nudge.BlobReader(local)
    assert not blobs.nudger.nudged
    (header_key, payload_key) = _blob_keys(local, WEIGHT)[3]
    assert blobs.read(CTX, payload_key) == local.read_blob(CTX, blob_key=payload_key)
    assert blobs.nudger.nudges == 0
    assert _nudge_threads() == []


class _Sized:
    nbytes = 1 << 20  # a mask of 1 MiB packed: batches of BATCH_BYTES // 1 MiB = 8 records


def test_batches_read_ahead_while_the_batch_before_decodes():
    """`mask_batches.decoded_in_order`: the next batch's reads start before a batch decodes,
    each batch decodes with the reads started for it, and batches grow to the byte bound."""
    events = []

    def packed_masks(batch, started):
        events.append(("decode", batch[0], len(batch), started))
        return [_Sized()] * len(batch)

    def read_ahead(batch):
        events.append(("read", batch[0], len(batch)))
        return "reads from %d" % batch[0]

    records = list(range(30))
    out = list(mask_batches.decoded_in_order(packed_masks, records, read_ahead))
    assert [datum for datum, _ in out] == records
    assert mask_batches.BATCH_BYTES // _Sized.nbytes == 8
    assert events == [
        ("read", 0, 4),
        ("read", 4, 4),
        ("decode", 0, 4, "reads from 0"),
        ("read", 8, 8),
        ("decode", 4, 4, "reads from 4"),
        ("read", 16, 8),
        ("decode", 8, 8, "reads from 8"),
        ("read", 24, 6),
        ("decode", 16, 8, "reads from 16"),
        ("decode", 24, 6, "reads from 24"),
    ]


def test_every_payload_is_read_once_and_no_header_blob(served):
    """With the mask_header series, decoding every record reads each payload blob once (read
    ahead, collected, never read again) and no header blob."""
    grpc, _, masks, _ = served
    counting = _CountingProvider(grpc)
    decoded = reader.PruningReader(counting).masks(CTX, "", "run", WEIGHT)
    assert sorted(decoded) == sorted(masks)
    payloads = [payload for _, payload in _blob_keys(grpc, WEIGHT).values()]
    assert sorted(counting.read) == sorted(payloads)


class _CountingProvider:
    """The data server's provider, its read_blob calls listed."""

    def __init__(self, inner):
        self._inner = inner
        self.read = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read_blob(self, ctx, blob_key):
        self.read.append(blob_key)
        return self._inner.read_blob(ctx, blob_key=blob_key)


class _CheckingProvider:
    """The data server's provider; each call to it listed with whether the reader's nudger had
    a call in flight then."""

    METHODS = (
        "list_tensors",
        "read_tensors",
        "list_blob_sequences",
        "read_blob_sequences",
        "read_blob",
    )

    def __init__(self, inner):
        self._inner = inner
        self.nudger = None
        self.calls = []

    def __getattr__(self, name):
        method = getattr(self._inner, name)
        if name not in self.METHODS:
            return method

        def checked(*args, **kwargs):
            self.calls.append((name, self.nudger._in_flight > 0))
            return method(*args, **kwargs)

        return checked


def test_every_call_of_the_reader_to_the_data_server_is_nudged(served):
    grpc, _, masks, _ = served
    checking = _CheckingProvider(grpc)
    r = reader.PruningReader(checking)
    checking.nudger = r._nudger
    assert r._nudger.nudged and r._blob_reader.nudger is r._nudger
    assert r.mask_steps(CTX, "", "run", WEIGHT) == [(s, (128, 256)) for s in sorted(masks)]
    assert sorted(r.masks(CTX, "", "run", WEIGHT)) == sorted(masks)
    assert r.mask_convergence(CTX, "", "run", WEIGHT).steps == sorted(masks)
    r.overview(CTX, "")
    r.alerts(CTX, "")
    assert {name for name, _ in checking.calls} == set(_CheckingProvider.METHODS)
    assert [call for call in checking.calls if not call[1]] == []


def test_a_call_through_a_nudger_without_a_data_server_is_made_as_it_is(served):
    _, local, _, _ = served
    nudger = server_nudge.Nudger(local)
    assert not nudger.nudged
    assert nudger.call(lambda a, b=0: (a, b), 1, b=2) == (1, 2)
    assert nudger.nudges == 0
