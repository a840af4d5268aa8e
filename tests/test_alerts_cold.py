"""The first /alerts request reads every weight_stats series as columns (issue 10: the first
/alerts at ResNet-50 size was far over its bar of 1.5x /scalars): each series' tensors decoded
from the wire at once (`provider_reads.series_columns`), the superseded and repeated records
dropped on arrays (`series.current_columns`) and the `Series` cut from one matrix. These tests
pin that this gives exactly what the per-record path gives (the same bytes, NaN fields
included), and the same alerts (on the trained runs of tests/test_alerts.py, there), through a
real Rust data server (TensorBoard's `--load_fast` loader).
"""

import numpy as np
import pytest
from tensorboard.data.proto import data_provider_pb2
from tensorboard.util import tensor_util

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import metadata, provider_reads, reader, restarts, summary
from tb_prune_plugin.reader import alerts, records, series
from tests.test_provider_reads import _odd_value

CTX = lb.request_context()
STATS = metadata.WEIGHT_STATS_FIELDS


@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """A run whose second training (later wall times) starts at step 21 and writes weight "a"
    again at 24 and 28 (28 twice: the second is the one kept), weight "odd" (not written again)
    changing shape
    at step 5; every record has NaN fields (the unset ones of `lb.stats`)."""
    logdir = tmp_path_factory.mktemp("restarted")
    with lb.RunWriter(logdir / "r") as w:
        w.add(0, [summary.run_config({"method": "manual", "start_step": 0})])
        for step in range(0, 31, 5):
            stats = summary.weight_stats("a", lb.stats(sparsity=step / 100, size=8.0))
            odd = summary.weight_stats("odd", lb.stats(sparsity=0.5))
            if step == 5:
                odd = _odd_value(odd.tag, np.arange(3.0), odd)
            w.add(step, [stats, odd])
    with lb.RunWriter(logdir / "r") as w:
        later = lb.WALL_TIME + 100
        w.add(21, [summary.run_config({"start_step": 21})], wall_time=later)
        for step, sparsity in ((24, 0.9), (28, 0.8), (28, 0.7)):
            stats = summary.weight_stats("a", lb.stats(sparsity=sparsity, size=8.0))
            w.add(step, [stats], wall_time=later + step + sparsity)
    return logdir, lb.rust_data_provider(logdir)


def _bytes(s):
    return s.steps.tobytes(), {name: values.tobytes() for name, values in s.fields.items()}


def _both_paths(pruning, index, run, tag):
    """The `Series` of `tag` read as columns, and read record by record (the lists path)."""
    out = []
    for columns in (True, False):
        read = pruning._read_current(CTX, "", index, [run], [tag], columns=columns)[:2]
        record = index[run].records[tag]
        out.append(pruning._read_vector_series(run, tag, read, record, STATS, 10**9))
    return out


def test_columns_give_the_per_record_series_byte_for_byte(restarted):
    _, rust = restarted
    pruning = reader.PruningReader(rust)
    index = pruning.runs(CTX, "")
    as_columns, per_record = _both_paths(pruning, index, "r", "pruning/a/weight_stats")
    assert as_columns.steps.tolist() == [0, 5, 10, 15, 20, 24, 28]
    sparsity = [0.0, 0.05, 0.1, 0.15, 0.2, 0.9, 0.7]
    assert as_columns.fields["sparsity"].tolist() == sparsity
    assert np.isnan(as_columns.fields["threshold"]).all()
    assert _bytes(as_columns) == _bytes(per_record)
    # The series whose second record has another shape: that record is skipped either way.
    as_columns, per_record = _both_paths(pruning, index, "r", "pruning/odd/weight_stats")
    assert as_columns.steps.tolist() == [0, 10, 15, 20]  # 25 and 30: superseded at 21
    assert _bytes(as_columns) == _bytes(per_record)


def _response(rust, tags):
    request = data_provider_pb2.ReadTensorsRequest(experiment_id="")
    request.plugin_filter.plugin_name = metadata.PLUGIN_NAME
    request.run_tag_filter.tags.names[:] = tags
    request.downsample.num_points = 10**9
    return rust._stub.ReadTensors(request)


def test_series_decoded_at_once_only_when_every_tensor_is_alike(restarted):
    _, rust = restarted
    response = _response(rust, ["pruning/a/weight_stats", "pruning/odd/weight_stats"])
    decoded = {t.tag_name: t.data for t in response.runs[0].tags}
    data = decoded["pruning/a/weight_stats"]
    columns = provider_reads.series_columns(data)
    assert columns.data is None and columns.values.shape == (len(data.value), len(STATS))
    one_by_one = np.stack([tensor_util.make_ndarray(t) for t in data.value])
    assert columns.values.tobytes() == one_by_one.tobytes()
    assert (columns.steps.tolist(), columns.wall_times.tolist()) == (
        list(data.step),
        list(data.wall_time),
    )
    odd = provider_reads.series_columns(decoded["pruning/odd/weight_stats"])
    assert odd.values is None and [d.numpy.shape for d in odd.data][:2] == [(len(STATS),), (3,)]


def test_tensor_with_another_field_is_not_cut_from_the_wire():
    """A tensor with one more field than the first (here `version_number`) has other wire
    bytes: the series is then decoded tensor by tensor, to the same values."""
    tensors = [tensor_util.make_tensor_proto(np.arange(3.0) + i) for i in range(3)]
    data = data_provider_pb2.TensorData(step=[1, 2, 3], wall_time=[1.0, 2.0, 3.0], value=tensors)
    assert provider_reads._packed_values(data).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    data.value[2].version_number = 1
    assert provider_reads._packed_values(data) is None
    columns = provider_reads.series_columns(data)
    assert columns.values.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    # Another dtype of the same size: the same length on the wire, another dtype byte.
    data.value[2].CopyFrom(tensor_util.make_tensor_proto(np.arange(3, dtype=np.int64)))
    assert len(data.value[2].SerializeToString()) == len(data.value[0].SerializeToString())
    assert provider_reads._packed_values(data) is None
    columns = provider_reads.series_columns(data)
    assert columns.values is None
    assert [(d.numpy.dtype, d.numpy.tolist()) for d in columns.data] == [
        (np.float64, [0, 1, 2]),
        (np.float64, [1, 2, 3]),
        (np.int64, [0, 1, 2]),
    ]
    # A tensor whose content is not its shape's fails as in TensorBoard's client.
    data.value[1].tensor_content = data.value[1].tensor_content[:16]
    with pytest.raises(ValueError, match="cannot reshape"):
        provider_reads.series_columns(data)


def test_current_columns_keep_what_by_step_and_not_superseded_keep(restarted):
    _, rust = restarted
    answer = provider_reads.read_tensor_columns(
        rust,
        CTX,
        experiment_id="",
        plugin_name=metadata.PLUGIN_NAME,
        downsample=10**9,
        run_tag_filter=None,
    )["r"]
    starts = reader.PruningReader(rust)._starts(
        "r", "pruning/run_config", answer["pruning/run_config"].datums()
    )
    a = answer["pruning/a/weight_stats"]
    kept = series.current_columns(a, starts)
    expected = records.by_step(records.not_superseded(a.datums(), starts))
    assert kept.steps.tolist() == [d.step for d in expected] == [0, 5, 10, 15, 20, 24, 28]
    assert kept.wall_times.tolist() == [d.wall_time for d in expected]
    assert kept.values.tobytes() == np.stack([d.numpy for d in expected]).tobytes()


def test_packed_scalars_decoded_at_once_as_zero_dimensional_arrays():
    """A series of packed scalars (shape []) is one array of n values; `datums` gives each as
    the 0-d array TensorBoard's client gives (not a NumPy scalar)."""
    tensors = []
    for value in (1.5, float("nan"), -2.0):
        tensor = tensor_util.make_tensor_proto(np.float32(value))
        tensor.tensor_content = np.float32(value).tobytes()
        del tensor.float_val[:]
        tensors.append(tensor)
    data = data_provider_pb2.TensorData(step=[4, 5, 6], wall_time=[1.0, 2.0, 3.0], value=tensors)
    columns = provider_reads.series_columns(data)
    assert columns.values.dtype == np.float32 and columns.values.shape == (3,)
    datums = columns.datums()
    theirs = [tensor_util.make_ndarray(t) for t in tensors]
    assert [(type(d.numpy), d.numpy.shape, d.numpy.tobytes()) for d in datums] == [
        (np.ndarray, (), t.tobytes()) for t in theirs
    ]
    assert [(d.step, d.wall_time) for d in datums] == [(4, 1.0), (5, 2.0), (6, 3.0)]


def test_current_columns_keep_the_last_record_of_a_step_in_its_order():
    """Records of one step kept in the order written (TensorBoard's Python loader keeps them
    all): the last of each step is kept, as `by_step` keeps it, and those a later training
    superseded are dropped first."""
    steps = np.array([5, 0, 5, 10, 7, 10, 3], dtype=np.int64)
    wall_times = np.array([1.0, 0.0, 2.0, 3.0, 4.0, 9.0, 8.0])
    values = np.arange(14.0).reshape(7, 2)
    columns = provider_reads.TensorColumns(steps=steps, wall_times=wall_times, values=values)
    starts = restarts.training_starts([7], [8.0])  # a training from step 7 at wall time 8
    kept = series.current_columns(columns, starts)
    expected = records.by_step(records.not_superseded(columns.datums(), starts))
    assert kept.steps.tolist() == [d.step for d in expected] == [0, 3, 5, 10]
    assert kept.values.tolist() == [d.numpy.tolist() for d in expected]
    assert kept.values.tolist() == [[2.0, 3.0], [12.0, 13.0], [4.0, 5.0], [10.0, 11.0]]


def _loop_effective_targets(target, should_prune):
    """The record-by-record rule the vectorized `effective_targets` replaced."""
    if np.isnan(should_prune).all():
        return target
    result, current = np.full(len(target), np.nan), np.nan
    for i, prune in enumerate(should_prune):
        if prune == 1:
            current = target[i]
        result[i] = current
    return result


def _loop_first_streak(behind):
    """(start, length) of the first run of `BEHIND_TARGET_RECORDS` or more True, record by
    record (None: none): the rule the vectorized `_behind_target_alerts` replaced."""
    start = None
    for i, flag in enumerate(list(behind) + [False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= alerts.BEHIND_TARGET_RECORDS:
                return start, i - start
            start = None
    return None


@pytest.mark.parametrize("seed", range(40))
def test_vectorized_targets_and_streaks_are_the_record_by_record_rules(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    target = np.where(rng.random(n) < 0.2, np.nan, rng.random(n).round(2))
    should_prune = rng.choice([0.0, 1.0, np.nan], size=n, p=[0.6, 0.3, 0.1])
    if seed % 5 == 0:
        should_prune[:] = np.nan  # manual pruning: no schedule
    sparsity = np.where(rng.random(n) < 0.1, np.nan, rng.random(n).round(2))
    fields = dict(target_sparsity=target, should_prune=should_prune, sparsity=sparsity)
    fields["size"] = np.full(n, 10.0)
    s = records.Series(steps=np.arange(n, dtype=np.int64) * 10, fields=fields)
    got = alerts.effective_targets(s)
    assert got.tobytes() == _loop_effective_targets(target, should_prune).tobytes()
    with np.errstate(invalid="ignore"):
        behind = sparsity < got - alerts.BEHIND_TARGET_POINTS
    streak = _loop_first_streak(behind.tolist())
    found = alerts._behind_target_alerts("r", "w", s)
    if streak is None:
        assert found == []
    else:
        start, length = streak
        assert [(a.step, a.count, a.value) for a in found] == [
            (start * 10, length, float(sparsity[start]))
        ]
