"""`provider_reads.read_tensors` answers exactly what TensorBoard's gRPC client answers.

A real Rust data server (TensorBoard's `SubprocessServerDataIngester`, as `tensorboard
--load_fast=true` starts it) over a log directory with every kind of tensor record, packed and
not, one series whose records change shape, and one with a record of another dtype.
"""

import numpy as np
import pytest
from tensorboard import context
from tensorboard.compat.proto import summary_pb2
from tensorboard.data import provider

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import metadata, provider_reads, reader, summary

CTX = context.RequestContext()
ALL = 10**7


def _odd_value(tag, array, like):
    """A Summary.Value of tag `tag` holding `array`, with the metadata of the record `like`."""
    from tensorboard.util import tensor_util

    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(array))
    value.metadata.CopyFrom(like.metadata)
    return value


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(GrpcDataProvider of a real data server, its log dir)."""
    logdir = tmp_path_factory.mktemp("provider_reads")
    stats = summary.weight_stats("odd", lb.stats(sparsity=0.5))
    odd = [
        stats,
        # Another shape, then another dtype: such a series is decoded tensor by tensor.
        _odd_value(stats.tag, np.arange(3.0), stats),
        _odd_value(stats.tag, np.arange(len(metadata.WEIGHT_STATS_FIELDS)), stats),
    ]
    for run, sparsity in (("a", 0.25), ("b/nested", 0.5)):
        with lb.RunWriter(logdir / run) as w:
            w.add(0, [summary.run_config({"method": "tfmot", "start_step": 0})])
            for step in range(6):
                w.add(
                    step,
                    [
                        summary.weight_stats("k", lb.stats(sparsity=sparsity + step / 100)),
                        summary.weight_histogram("k", 0.0, 1.0 + step, [step, 1, 2]),
                        summary.metric("batch", "loss", 1.0 / (step + 1)),
                    ]
                    + odd[step : step + 1],
                )
    return lb.rust_data_provider(logdir), logdir


def _read(read, data_provider, **filters):
    return read(
        data_provider,
        CTX,
        experiment_id="",
        plugin_name=reader.PLUGIN_NAME,
        downsample=ALL,
        run_tag_filter=provider.RunTagFilter(**filters) if filters else None,
    )


def _tensorboards(data_provider, ctx, **kwargs):
    return data_provider.read_tensors(ctx, **kwargs)


def _contents(array):
    return array.tolist() if array.dtype == object else array.tobytes()


def _as_comparable(answer):
    """Everything of an answer, arrays as (dtype, shape, bytes): equal means identical."""
    return {
        run: {
            tag: [
                (d.step, d.wall_time, d.numpy.dtype.str, d.numpy.shape, _contents(d.numpy))
                for d in data
            ]
            for tag, data in by_tag.items()
        }
        for run, by_tag in answer.items()
    }


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"runs": ["b/nested"]},
        {"tags": ["pruning/k/weight_stats", "pruning/odd/weight_stats"]},
        {"runs": ["a", "nope"], "tags": ["pruning/run_config", "pruning/metrics/batch/loss"]},
    ],
)
def test_same_answer_as_tensorboards_client(served, filters):
    data_provider, _ = served
    ours = _read(provider_reads.read_tensors, data_provider, **filters)
    theirs = _read(_tensorboards, data_provider, **filters)
    assert _as_comparable(ours) == _as_comparable(theirs)
    assert [list(by_tag) for by_tag in ours.values()] == [
        list(by_tag) for by_tag in theirs.values()
    ]
    assert list(ours) == list(theirs)
    if not filters:
        assert sorted(ours) == ["a", "b/nested"]
        assert sorted(ours["a"]) == [
            "pruning/k/weight_histogram",
            "pruning/k/weight_stats",
            "pruning/metrics/batch/loss",
            "pruning/odd/weight_stats",
            "pruning/run_config",
        ]
        odd = ours["a"]["pruning/odd/weight_stats"]
        assert [(d.step, d.numpy.dtype, d.numpy.shape) for d in odd] == [
            (0, np.float64, (len(metadata.WEIGHT_STATS_FIELDS),)),
            (1, np.float64, (3,)),
            (2, np.int64, (len(metadata.WEIGHT_STATS_FIELDS),)),
        ]


def test_packed_series_decoded_together_as_writable_rows(served):
    data_provider, _ = served
    ours = _read(provider_reads.read_tensors, data_provider, runs=["a"])["a"]
    stats = ours["pruning/k/weight_stats"]
    rows = [d.numpy for d in stats]
    # One array for the series: each row is a view of it, and writing one changes no other.
    assert all(r.base is not None and r.base is rows[0].base for r in rows)
    assert [r.flags.writeable for r in rows] == [True] * 6
    sparsity = metadata.WEIGHT_STATS_FIELDS.index("sparsity")
    assert [r[sparsity] for r in rows] == [0.25 + step / 100 for step in range(6)]
    rows[0][sparsity] = -1.0
    assert rows[1][sparsity] == 0.26
    # The series with another shape and dtype was decoded one tensor at a time.
    odd = [d.numpy for d in ours["pruning/odd/weight_stats"]]
    assert [r.base is None or r.base is not odd[0].base for r in odd[1:]] == [True, True]


def test_any_other_provider_is_asked_itself(tmp_path):
    """The Python loader's provider is no gRPC client: its own read_tensors answers."""
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(3, [summary.weight_stats("k", lb.stats(sparsity=0.5))])
    local = lb.local_data_provider(tmp_path)
    ours = _read(provider_reads.read_tensors, local)
    assert _as_comparable(ours) == _as_comparable(_read(_tensorboards, local))
    assert [d.step for d in ours["a"]["pruning/k/weight_stats"]] == [3]


def test_failed_request_gets_tensorboards_error():
    """A request that fails (here: no data server at the address) is made again through
    TensorBoard's client, so the caller gets the client's own error."""
    import socket

    import grpc
    from tensorboard.data import grpc_provider

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = "127.0.0.1:%d" % s.getsockname()[1]
    channel = grpc.insecure_channel(address)
    dead = grpc_provider.GrpcDataProvider(address, grpc_provider.make_stub(channel))
    errors = []
    for read in (provider_reads.read_tensors, _tensorboards):
        with pytest.raises(grpc.RpcError) as raised:
            _read(read, dead)
        errors.append((type(raised.value), raised.value.code()))
    assert errors == [(errors[1][0], grpc.StatusCode.UNAVAILABLE)] * 2
