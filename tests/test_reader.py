"""reader.PruningReader and reader.load on log directories written with the real record writers."""

import json
import logging
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from tensorboard import errors
from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import mask_codec, metadata, reader, summary

NAN = math.nan
READER_LOGGER = "tb_prune_plugin.reader"


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    logdir = str(tmp_path_factory.mktemp("demo"))
    lb.write_demo_logdir(logdir)
    # A run without pruning data: only an ordinary scalar, whose tag looks like ours.
    with lb.RunWriter(os.path.join(logdir, "scalars_only")) as w:
        w.add(0, [summary.scalar("pruning/dense/kernel/sparsity", 0.5)])
    return logdir


@pytest.fixture(scope="module")
def demo(demo_logdir):
    return reader.PruningReader(lb.local_data_provider(demo_logdir))


CTX = lb.request_context()


def _fresh_reader(logdir):
    return reader.PruningReader(lb.local_data_provider(logdir))


def _warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == READER_LOGGER]


def _value(tag, tensor, meta=None):
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if meta is not None:
        value.metadata.CopyFrom(meta)
    return value


def _float64(values):
    array = np.asarray(values, dtype="<f8")
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_DOUBLE,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in array.shape]
        ),
        tensor_content=array.tobytes(),
    )


def _strings(strings):
    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(strings))]
        ),
        string_val=list(strings),
    )


def _raw_metadata(content, data_class):
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="pruning", content=content),
        data_class=data_class,
    )


# Index ---------------------------------------------------------------------------------------


def test_runs_lists_runs_with_pruning_data_sorted(demo):
    assert list(demo.runs(CTX, "")) == ["alpha", "beta/manual"]


def test_runs_index_series_by_metadata(demo):
    alpha = demo.runs(CTX, "")["alpha"]
    assert alpha.weights == {
        "dense/bias": {
            "weight_stats": "pruning/dense/bias/weight_stats",
            "mask": "pruning/dense/bias/mask",
        },
        "dense/kernel": {
            "weight_stats": "pruning/dense/kernel/weight_stats",
            "weight_histogram": "pruning/dense/kernel/weight_histogram",
            "mask": "pruning/dense/kernel/mask",
        },
    }
    assert alpha.metrics == {
        "epoch": {
            "loss": "pruning/metrics/epoch/loss",
            "val_accuracy": "pruning/metrics/epoch/val_accuracy",
        },
        "batch": {"loss": "pruning/metrics/batch/loss"},
    }
    assert alpha.model_stats_tag == "pruning/model_stats"
    assert alpha.run_config_tag == "pruning/run_config"
    assert alpha.last_step == 30
    beta = demo.runs(CTX, "")["beta/manual"]
    assert beta.weights == {
        "conv/kernel": {
            "weight_stats": "pruning/conv/kernel/weight_stats",
            "mask": "pruning/conv/kernel/mask",
        }
    }
    assert (beta.metrics, beta.model_stats_tag, beta.run_config_tag, beta.last_step) == (
        {},
        None,
        None,
        5,
    )


def test_runs_filter_by_run_name(demo):
    assert list(demo.runs(CTX, "", runs=["beta/manual", "nope"])) == ["beta/manual"]


def test_runs_take_weight_from_metadata_not_tag(tmp_path):
    odd = summary.mask("enc/dense/kernel", np.ones([2, 2], dtype=bool))
    odd.tag = "my_own_tag"
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [odd])
    contents = _fresh_reader(tmp_path).run(CTX, "", "r")
    assert contents.weights == {"enc/dense/kernel": {"mask": "my_own_tag"}}


def test_run_unknown_raises_not_found(demo):
    with pytest.raises(errors.NotFoundError, match="no pruning data for run 'scalars_only'"):
        demo.run(CTX, "", "scalars_only")


def test_weight_unknown_raises_not_found_naming_known_weights(demo):
    with pytest.raises(
        errors.NotFoundError,
        match="run 'alpha' has no pruning data for weight 'dense/kernel:0' "
        "\\(weights: dense/bias, dense/kernel\\)",
    ):
        demo.weight_series(CTX, "", "alpha", "dense/kernel:0")


# Series --------------------------------------------------------------------------------------


def test_weight_series_has_every_field_aligned_with_steps(demo):
    series = demo.weight_series(CTX, "", "alpha", "dense/kernel")
    assert series.steps.tolist() == [0, 10, 20, 30]
    assert series.steps.dtype == np.int64
    assert list(series.fields) == list(metadata.WEIGHT_STATS_FIELDS)
    f = {k: v.tolist() for k, v in series.fields.items()}
    assert f["size"] == [6.0] * 4
    assert f["nonzeros"] == [6.0, 4.0, 3.0, 3.0]
    assert f["sparsity"] == [0.0, 1 / 3, 0.5, 0.5]
    assert f["target_sparsity"] == [0.0, 0.3, 0.5, 0.5]
    assert f["should_prune"] == [0.0, 1.0, 1.0, 0.0]
    assert f["mask_changed"] == [1.0, 1.0, 1.0, 0.0]
    np.testing.assert_array_equal(series.fields["threshold"], [NAN, 0.1, 0.2, 0.2])
    assert np.isnan(series.fields["l2"]).all()


def test_weight_series_without_stats_records_is_empty(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(3, [summary.mask("w", np.ones([2], dtype=bool))])
    series = _fresh_reader(tmp_path).weight_series(CTX, "", "r", "w")
    assert series.steps.tolist() == []
    assert set(series.fields) == set(metadata.WEIGHT_STATS_FIELDS)


def test_weight_series_same_step_twice_keeps_last(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(1, [summary.weight_stats("w", lb.stats(size=4, nonzeros=4))])
        w.add(2, [summary.weight_stats("w", lb.stats(size=4, nonzeros=3))])
        w.add(2, [summary.weight_stats("w", lb.stats(size=4, nonzeros=2))])
    series = _fresh_reader(tmp_path).weight_series(CTX, "", "r", "w")
    assert series.steps.tolist() == [1, 2]
    assert series.fields["nonzeros"].tolist() == [4.0, 2.0]


def test_weight_series_uses_field_names_from_metadata(tmp_path):
    meta = metadata.create_summary_metadata(
        metadata.KIND_WEIGHT_STATS, weight="w", fields=("size", "sparsity", "new_field")
    )
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/w/weight_stats", _float64([8, 0.5, 7]), meta)])
    series = _fresh_reader(tmp_path).weight_series(CTX, "", "r", "w")
    assert {k: v.tolist() for k, v in series.fields.items()} == {
        "size": [8.0],
        "sparsity": [0.5],
        "new_field": [7.0],
    }


def test_model_series_exact(demo):
    series = demo.model_series(CTX, "", "alpha")
    assert series.steps.tolist() == [0, 10, 20, 30]
    assert list(series.fields) == list(metadata.MODEL_STATS_FIELDS)
    assert series.fields["global_sparsity"].tolist() == [0.0, 0.25, 0.375, 0.375]
    assert series.fields["prunable_nonzeros"].tolist() == [8.0, 6.0, 5.0, 5.0]
    assert series.fields["sparse_bytes"].tolist() == [30.0] * 4


def test_model_series_of_run_without_model_stats_is_empty(demo):
    series = demo.model_series(CTX, "", "beta/manual")
    assert series.steps.tolist() == []
    assert list(series.fields) == list(metadata.MODEL_STATS_FIELDS)


def test_histograms_with_threshold_at_same_step(demo):
    h = demo.histograms(CTX, "", "alpha", "dense/kernel")
    assert h.steps.tolist() == [0, 20]
    assert h.lo.tolist() == [0.0, 0.0]
    assert h.hi.tolist() == [0.5, 0.6]
    assert [c.tolist() for c in h.counts] == [[4, 2], [1, 2]]
    assert h.counts[0].dtype == np.int64
    np.testing.assert_array_equal(h.threshold, [NAN, 0.2])


def test_histograms_of_weight_without_histograms_is_empty(demo):
    h = demo.histograms(CTX, "", "alpha", "dense/bias")
    assert (h.steps.tolist(), h.counts, h.threshold.tolist()) == ([], [], [])


def test_metrics_by_scope_and_name(demo):
    metrics = demo.metrics(CTX, "", "alpha")
    flat = {
        (scope, name): (s.steps.tolist(), s.values.tolist())
        for scope, by_name in metrics.items()
        for name, s in by_name.items()
    }
    assert flat == {
        ("epoch", "loss"): ([10, 30], [1.5, 0.5]),
        ("epoch", "val_accuracy"): ([30], [0.75]),
        ("batch", "loss"): ([5, 15, 25], [2.0, 1.0, 0.25]),
    }


def test_metrics_of_run_without_metrics_has_empty_scopes(demo):
    assert demo.metrics(CTX, "", "beta/manual") == {"epoch": {}, "batch": {}}


def test_run_config_is_the_written_dict(demo):
    assert demo.run_config(CTX, "", "alpha") == lb.ALPHA_CONFIG


def test_run_config_of_run_without_config_is_none(demo):
    assert demo.run_config(CTX, "", "beta/manual") is None


# Masks ---------------------------------------------------------------------------------------


def test_mask_steps_with_shapes(demo):
    assert demo.mask_steps(CTX, "", "alpha", "dense/kernel") == [
        (0, (3, 2)),
        (10, (3, 2)),
        (20, (3, 2)),
    ]
    assert demo.mask_steps(CTX, "", "beta/manual", "conv/kernel") == [
        (0, (1, 2, 2, 3)),
        (5, (1, 2, 2, 3)),
    ]


def test_mask_at_between_records_is_latest_before_with_previous(demo):
    at = demo.mask_at(CTX, "", "alpha", "dense/kernel", 25)
    assert (at.requested_step, at.step, at.previous_step) == (25, 20, 10)
    np.testing.assert_array_equal(at.mask, lb.ALPHA_MASKS[20])
    np.testing.assert_array_equal(at.previous_mask, lb.ALPHA_MASKS[10])
    assert at.mask.dtype == np.bool_


def test_mask_at_record_step_is_that_record(demo):
    at = demo.mask_at(CTX, "", "alpha", "dense/kernel", 10)
    assert (at.step, at.previous_step) == (10, 0)
    np.testing.assert_array_equal(at.mask, lb.ALPHA_MASKS[10])


def test_mask_at_first_record_has_no_previous(demo):
    at = demo.mask_at(CTX, "", "alpha", "dense/kernel", 9)
    assert (at.step, at.previous_step, at.previous_mask) == (0, None, None)


def test_mask_at_after_last_record_is_last_mask(demo):
    at = demo.mask_at(CTX, "", "beta/manual", "conv/kernel", 10**12)
    assert at.step == 5
    np.testing.assert_array_equal(at.mask, lb.BETA_MASKS[5])


def test_mask_at_before_first_record_raises_not_found(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(7, [summary.mask("w", np.ones([2], dtype=bool))])
    with pytest.raises(
        errors.NotFoundError,
        match="no mask of weight 'w' in run 'r' at or before step 6, first at step 7",
    ):
        _fresh_reader(tmp_path).mask_at(CTX, "", "r", "w", 6)


def test_mask_at_weight_without_masks_raises_not_found(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.weight_stats("w", lb.stats(size=1))])
    with pytest.raises(errors.NotFoundError, match="no mask of weight 'w' in run 'r'"):
        _fresh_reader(tmp_path).mask_at(CTX, "", "r", "w", 0)


def test_masks_decodes_every_record(demo):
    masks = demo.masks(CTX, "", "alpha", "dense/kernel")
    assert sorted(masks) == [0, 10, 20]
    for step, mask in masks.items():
        np.testing.assert_array_equal(mask, lb.ALPHA_MASKS[step])


# Overview ------------------------------------------------------------------------------------


def test_overview_last_state_of_every_weight_and_run(demo):
    weights, runs = demo.overview(CTX, "")
    assert [(w.run, w.weight, w.shape, w.step) for w in weights] == [
        ("alpha", "dense/bias", (2,), 30),
        ("alpha", "dense/kernel", (3, 2), 30),
        ("beta/manual", "conv/kernel", (1, 2, 2, 3), 5),
    ]
    assert weights[1].stats["nonzeros"] == 3.0 and weights[1].stats["threshold"] == 0.2
    assert weights[2].stats["sparsity"] == 1 - 8 / 12
    assert [(r.run, r.step) for r in runs] == [("alpha", 30), ("beta/manual", None)]
    assert runs[0].stats["global_sparsity"] == 0.375
    assert runs[1].stats == {}


class CountingProvider:
    """A real data provider that counts the calls made to it, by method name."""

    def __init__(self, provider):
        self._provider = provider
        self.calls = []

    def __getattr__(self, name):
        method = getattr(self._provider, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted

    def reads(self):
        return [c for c in self.calls if c.startswith("read_")]


def test_weight_series_many_one_read_for_all_runs(tmp_path):
    for run, sparsity in (("a", 0.25), ("b", 0.5), ("c", 0.75)):
        with lb.RunWriter(tmp_path / run) as w:
            for step in (0, 10):
                w.add(step, [summary.weight_stats("k", lb.stats(sparsity=sparsity + step))])
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    series, missing = reader.PruningReader(counting).weight_series_many(
        CTX, "", ["c", "zz", "a", "b"], "k"
    )
    assert counting.reads() == ["read_tensors"]
    assert missing == ["zz"]
    assert list(series) == ["c", "a", "b"]
    assert [series[r].fields["sparsity"].tolist() for r in series] == [
        [0.75, 10.75],
        [0.25, 10.25],
        [0.5, 10.5],
    ]
    assert [series[r].steps.tolist() for r in series] == [[0, 10]] * 3


def test_model_series_many_one_read_for_all_runs(demo_logdir):
    counting = CountingProvider(lb.local_data_provider(demo_logdir))
    series, missing = reader.PruningReader(counting).model_series_many(
        CTX, "", ["alpha", "beta/manual", "gamma"]
    )
    assert counting.reads() == ["read_tensors"]
    assert missing == ["gamma"]
    assert series["alpha"].fields["global_sparsity"].tolist() == [0.0, 0.25, 0.375, 0.375]
    assert series["beta/manual"].steps.tolist() == []


def _reloadable_provider(logdir):
    from tensorboard.backend.event_processing import data_provider as mux_data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={metadata.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return multiplexer, mux_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))


def test_overview_shapes_from_run_config_in_one_read(tmp_path):
    config = {"weights": [{"path": "k", "shape": [2, 3]}, {"path": "gone", "shape": [9]}]}
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(0, [summary.run_config(config), summary.mask("k", np.ones((2, 3), bool))])
        w.add(0, [summary.mask("m", np.ones(4, bool))])
        for weight in ("k", "m"):
            w.add(5, [summary.weight_stats(weight, lb.stats(size=6.0))])
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    pruning = reader.PruningReader(counting)
    pruning.runs(CTX, "")
    counting.calls.clear()
    weights, _ = pruning.overview(CTX, "", runs=["a"])
    assert [(w.weight, w.shape, w.step) for w in weights] == [("k", (2, 3), 5), ("m", (4,), 5)]
    # k's shape is the config's; only m (not in the config) reads its latest mask's header.
    assert counting.calls == ["read_tensors", "read_blob_sequences", "read_blob"]


def test_overview_every_shape_in_run_config_makes_one_provider_call(tmp_path):
    config = {"weights": [{"path": "k", "shape": [2, 3]}]}
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(0, [summary.run_config(config), summary.mask("k", np.ones((2, 3), bool))])
        w.add(
            5,
            [
                summary.weight_stats("k", lb.stats(size=6.0)),
                summary.model_stats(lb.model_stats(global_sparsity=0.5)),
            ],
        )
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    pruning = reader.PruningReader(counting)
    pruning.runs(CTX, "")
    counting.calls.clear()
    weights, runs = pruning.overview(CTX, "", runs=["a"])
    assert counting.calls == ["read_tensors"]
    assert [(w.shape, w.stats["size"]) for w in weights] == [((2, 3), 6.0)]
    assert [(r.step, r.stats["global_sparsity"]) for r in runs] == [(5, 0.5)]


def _listed_then(calls):
    """The calls after a listing of the run/tag index, which starts `calls`: the two listing
    calls, made at once (either may be first), then the rest."""
    assert sorted(calls[:2]) == ["list_blob_sequences", "list_tensors"], calls
    return calls[2:]


def test_index_reused_steps_read_fresh_new_weight_listed_at_once(tmp_path):
    """The run/tag index is reused (no listing calls), yet new steps show at once and a
    weight the reused index lacks is listed afresh instead of being a 404."""
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(0, [summary.weight_stats("k", lb.stats(sparsity=0.0))])
    multiplexer, provider = _reloadable_provider(tmp_path)
    counting = CountingProvider(provider)
    pruning = reader.PruningReader(counting, index_max_age=3600)
    assert pruning.weight_series(CTX, "", "a", "k").steps.tolist() == [0]
    assert _listed_then(counting.calls) == ["read_tensors"]
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(1, [summary.weight_stats("k", lb.stats(sparsity=0.5))])
        w.add(1, [summary.weight_stats("new", lb.stats(sparsity=0.25))])
    multiplexer.Reload()
    counting.calls.clear()
    series = pruning.weight_series(CTX, "", "a", "k")
    assert (series.steps.tolist(), series.fields["sparsity"].tolist()) == ([0, 1], [0.0, 0.5])
    assert counting.calls == ["read_tensors"]
    counting.calls.clear()
    assert pruning.weight_series(CTX, "", "a", "new").fields["sparsity"].tolist() == [0.25]
    assert _listed_then(counting.calls) == ["read_tensors"]
    with pytest.raises(errors.NotFoundError, match="no pruning data for run 'b'"):
        pruning.weight_series(CTX, "", "b", "k")
    # A kind of series that appears for a known weight (its first mask) is found at once too.
    assert pruning.mask_steps(CTX, "", "a", "k") == []
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(2, [summary.mask("k", np.array([True, False]))])
    multiplexer.Reload()
    counting.calls.clear()
    assert pruning.mask_steps(CTX, "", "a", "k") == [(2, (2,))]
    assert _listed_then(counting.calls)[:1] == ["read_blob_sequences"]


def test_index_older_than_max_age_is_listed_again(tmp_path):
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(0, [summary.weight_stats("k", lb.stats(sparsity=0.0))])
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    reused = reader.PruningReader(counting, index_max_age=3600)
    never = reader.PruningReader(counting, index_max_age=0)
    for pruning, lists in ((reused, 2), (never, 4)):
        counting.calls.clear()
        pruning.weight_series(CTX, "", "a", "k")
        pruning.model_series(CTX, "", "a")
        assert len([c for c in counting.calls if c.startswith("list_")]) == lists


def test_long_series_read_as_samples_in_one_call_each(tmp_path):
    """Issue 5: with max_points, a long series is the provider's sample, read in one call;
    the histograms' thresholds come from the same call when both series have the same steps."""
    from tests.test_plugin_routes import write_long_runs

    write_long_runs(tmp_path)
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    pruning = reader.PruningReader(counting)
    pruning.runs(CTX, "")
    for run, calls in (
        ("long", ["read_tensors"]),
        ("sparse_hist", ["read_tensors", "read_tensors"]),  # then all of weight_stats
    ):
        counting.calls.clear()
        h = pruning.histograms(CTX, "", run, "k", max_points=10)
        assert counting.calls == calls
        assert (len(h.steps), h.sampled) == (11, True)
        assert h.threshold.tolist() == (h.steps / 7).tolist()
    counting.calls.clear()
    series = pruning.weight_series(CTX, "", "long", "k", max_points=10)
    assert counting.calls == ["read_tensors", "read_blob_sequences"]
    assert (len(series.steps), series.sampled) == (11, True)
    assert series.fields["sparsity"].tolist() == (series.steps / 1000).tolist()
    assert series.mask_change_steps.tolist() == [0, 50, 100, 150, 200, 250]
    counting.calls.clear()
    loss = pruning.metrics(CTX, "", "long", max_points=10)["batch"]["loss"]
    assert counting.calls == ["read_tensors"]
    assert (len(loss.steps), loss.sampled) == (11, True)
    assert loss.values.tolist() == (1.0 / (loss.steps + 1)).tolist()
    counting.calls.clear()
    whole = pruning.weight_series(CTX, "", "long", "k", max_points=300)
    assert counting.calls == ["read_tensors"]
    assert (len(whole.steps), whole.sampled, whole.mask_change_steps) == (300, False, None)


def test_mask_steps_read_each_header_once(demo_logdir):
    counting = CountingProvider(lb.local_data_provider(demo_logdir))
    pruning = reader.PruningReader(counting, index_max_age=3600)
    first = pruning.mask_steps(CTX, "", "alpha", "dense/kernel")
    assert counting.calls.count("read_blob") == 3
    counting.calls.clear()
    assert pruning.mask_steps(CTX, "", "alpha", "dense/kernel") == first
    assert counting.calls == ["read_blob_sequences"]
    assert [s for s, _ in first] == [0, 10, 20]


def test_overview_of_chosen_runs(demo):
    weights, runs = demo.overview(CTX, "", runs=["beta/manual"])
    assert [w.weight for w in weights] == ["conv/kernel"]
    assert [r.run for r in runs] == ["beta/manual"]


def test_overview_unknown_run_raises_not_found(demo):
    with pytest.raises(errors.NotFoundError, match="no pruning data for run 'gamma'"):
        demo.overview(CTX, "", runs=["alpha", "gamma"])


def test_overview_last_record_corrupt_uses_previous(tmp_path, caplog):
    meta = metadata.create_summary_metadata(
        metadata.KIND_WEIGHT_STATS, weight="w", fields=metadata.WEIGHT_STATS_FIELDS
    )
    good = summary.weight_stats("w", lb.stats(size=4, nonzeros=1), with_metadata=False)
    with lb.RunWriter(tmp_path / "r", keep_all_metadata=True) as w:
        w.add(0, [_value("pruning/w/weight_stats", good.tensor, meta)])
        w.add(1, [_value("pruning/w/weight_stats", _float64([1.0, 2.0]))])
    weights, _ = _fresh_reader(tmp_path).overview(CTX, "")
    assert (weights[0].step, weights[0].stats["nonzeros"]) == (0, 1.0)
    assert _warnings(caplog) == [
        "skipping pruning record run 'r', tag 'pruning/w/weight_stats', step 1: expected 21 "
        "numbers, got dtype float64 shape (2,)"
    ]


# Unreadable data -----------------------------------------------------------------------------


def test_newer_format_version_skipped_with_one_warning(tmp_path, caplog):
    newer = _raw_metadata(
        b'{"version":3,"kind":"weight_stats","weight":"w"}', summary_pb2.DATA_CLASS_TENSOR
    )
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/w/weight_stats_v3", _float64([1.0]), newer)])
        w.add(0, [summary.weight_stats("w", lb.stats(size=1))])
    pruning_reader = _fresh_reader(tmp_path)
    with caplog.at_level(logging.WARNING, logger=READER_LOGGER):
        for _ in range(3):
            assert pruning_reader.run(CTX, "", "r").weights == {
                "w": {"weight_stats": "pruning/w/weight_stats"}
            }
    assert _warnings(caplog) == [
        "skipping pruning series run 'r', tag 'pruning/w/weight_stats_v3': format version 3 is "
        "newer than this tb_prune_plugin reads (2); upgrade tb_prune_plugin to see it"
    ]


def test_run_with_only_newer_format_records_is_not_listed(tmp_path, caplog):
    newer = _raw_metadata(b'{"version":7,"kind":"hologram"}', summary_pb2.DATA_CLASS_TENSOR)
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/hologram", _float64([1.0]), newer)])
    assert _fresh_reader(tmp_path).runs(CTX, "") == {}
    assert len(_warnings(caplog)) == 1 and "format version 7" in _warnings(caplog)[0]


def test_invalid_metadata_skipped_with_warning(tmp_path, caplog):
    broken = _raw_metadata(b"{not json", summary_pb2.DATA_CLASS_TENSOR)
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/broken", _float64([1.0]), broken)])
        w.add(0, [summary.weight_stats("w", lb.stats(size=1))])
    assert list(_fresh_reader(tmp_path).run(CTX, "", "r").weights) == ["w"]
    (message,) = _warnings(caplog)
    assert message.startswith(
        "skipping pruning series run 'r', tag 'pruning/broken': invalid plugin metadata: "
        "plugin content is not UTF-8 JSON"
    )


def test_record_with_wrong_data_class_skipped_with_warning(tmp_path, caplog):
    as_tensor = metadata.create_summary_metadata(metadata.KIND_MASK, weight="w")
    as_tensor.data_class = summary_pb2.DATA_CLASS_TENSOR
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/w/mask", _strings([b"{}", b""]), as_tensor)])
        w.add(0, [summary.weight_stats("w", lb.stats(size=1))])
    assert _fresh_reader(tmp_path).run(CTX, "", "r").weights == {
        "w": {"weight_stats": "pruning/w/weight_stats"}
    }
    assert _warnings(caplog) == [
        "skipping pruning series run 'r', tag 'pruning/w/mask': a mask record stored with the "
        "wrong data class"
    ]


def test_duplicate_series_of_one_weight_skipped_with_warning(tmp_path, caplog):
    second = summary.weight_stats("w", lb.stats(size=2))
    second.tag = "pruning/w/weight_stats_again"
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.weight_stats("w", lb.stats(size=1)), second])
    series = _fresh_reader(tmp_path).weight_series(CTX, "", "r", "w")
    assert series.fields["size"].tolist() == [1.0]
    assert _warnings(caplog) == [
        "skipping pruning series run 'r', tag 'pruning/w/weight_stats_again': its weight_stats "
        "record duplicates tag 'pruning/w/weight_stats'"
    ]


def test_vector_of_wrong_length_skipped_with_one_warning(tmp_path, caplog):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.weight_stats("w", lb.stats(size=3))])
        w.add(1, [_value("pruning/w/weight_stats", _float64([1.0, 2.0, 3.0]))])
        w.add(2, [summary.weight_stats("w", lb.stats(size=5), with_metadata=False)])
    pruning_reader = _fresh_reader(tmp_path)
    for _ in range(2):
        series = pruning_reader.weight_series(CTX, "", "r", "w")
        assert series.steps.tolist() == [0, 2]
        assert series.fields["size"].tolist() == [3.0, 5.0]
    assert _warnings(caplog) == [
        "skipping pruning record run 'r', tag 'pruning/w/weight_stats', step 1: expected 21 "
        "numbers, got dtype float64 shape (3,)"
    ]


def test_tensor_that_does_not_decode_skips_series_with_warning(tmp_path, caplog):
    meta = metadata.create_summary_metadata(metadata.KIND_MODEL_STATS)
    truncated = _float64([1.0] * 7)
    truncated.tensor_content = truncated.tensor_content[:5]
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/model_stats", truncated, meta)])
        w.add(0, [summary.metric("epoch", "loss", 0.5)])
    pruning_reader = _fresh_reader(tmp_path)
    assert pruning_reader.model_series(CTX, "", "r").steps.tolist() == []
    assert pruning_reader.overview(CTX, "")[1][0].stats == {}
    (message,) = _warnings(caplog)
    assert message.startswith(
        "skipping pruning series run 'r', tag 'pruning/model_stats': its tensors do not decode"
    )


def test_histogram_too_short_skipped_with_warning(tmp_path, caplog):
    meta = metadata.create_summary_metadata(metadata.KIND_WEIGHT_HISTOGRAM, weight="w")
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/w/weight_histogram", _float64([0.0, 1.0]), meta)])
        w.add(1, [summary.weight_histogram("w", 0.0, 1.0, [2], with_metadata=False)])
    h = _fresh_reader(tmp_path).histograms(CTX, "", "r", "w")
    assert h.steps.tolist() == [1] and [c.tolist() for c in h.counts] == [[2]]
    assert len(_warnings(caplog)) == 1


def test_metric_not_a_number_skipped_with_warning(tmp_path, caplog):
    meta = metadata.create_summary_metadata(metadata.KIND_METRIC, metric="loss", scope="batch")
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/metrics/batch/loss", _strings([b"x"]), meta)])
        w.add(1, [summary.metric("batch", "loss", 0.5, with_metadata=False)])
    loss = _fresh_reader(tmp_path).metrics(CTX, "", "r")["batch"]["loss"]
    assert (loss.steps.tolist(), loss.values.tolist()) == ([1], [0.5])
    assert len(_warnings(caplog)) == 1


def test_run_config_not_json_skipped_with_warning(tmp_path, caplog):
    meta = metadata.create_summary_metadata(metadata.KIND_RUN_CONFIG)
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [_value("pruning/run_config", _strings([b"{oops"]), meta)])
    assert _fresh_reader(tmp_path).run_config(CTX, "", "r") is None
    (message,) = _warnings(caplog)
    assert message.startswith(
        "skipping pruning record run 'r', tag 'pruning/run_config', step 0: invalid run config"
    )


def test_mask_with_corrupt_payload_skipped_for_previous(tmp_path, caplog):
    good = np.array([True, False, True, True])
    header, payload = mask_codec.encode_mask(good)
    bad_header = json.dumps({"shape": [4], "encoding": "packbits", "kept": 1}).encode()
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("w", good)])
        w.add(10, [_value("pruning/w/mask", _strings([bad_header, payload]))])
    pruning_reader = _fresh_reader(tmp_path)
    at = pruning_reader.mask_at(CTX, "", "r", "w", 15)
    assert (at.step, at.previous_step) == (0, None)
    np.testing.assert_array_equal(at.mask, good)
    assert _warnings(caplog) == [
        "skipping pruning mask run 'r', tag 'pruning/w/mask', step 10: mask payload keeps 3 "
        "weights, header says 1"
    ]
    assert sorted(pruning_reader.masks(CTX, "", "r", "w")) == [0]


def test_mask_with_invalid_header_left_out_of_mask_steps(tmp_path, caplog):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("w", np.ones([2, 2], dtype=bool))])
        w.add(5, [_value("pruning/w/mask", _strings([b"not json", b""]))])
        w.add(6, [_value("pruning/w/mask", _strings([b"{}"]))])
    pruning_reader = _fresh_reader(tmp_path)
    assert pruning_reader.mask_steps(CTX, "", "r", "w") == [(0, (2, 2))]
    assert pruning_reader.mask_at(CTX, "", "r", "w", 6).step == 0
    messages = _warnings(caplog)
    assert len(messages) == 2
    assert messages[0].startswith("skipping pruning mask run 'r', tag 'pruning/w/mask', step 5: ")
    assert messages[1] == (
        "skipping pruning mask run 'r', tag 'pruning/w/mask', step 6: expected 2 blobs (header, "
        "payload), got 1"
    )


# load() --------------------------------------------------------------------------------------


def test_load_returns_plain_dataclasses(demo_logdir):
    exp = reader.load(demo_logdir)
    assert exp.logdir == demo_logdir
    assert list(exp.runs) == ["alpha", "beta/manual"]
    alpha = exp.runs["alpha"]
    assert alpha.name == "alpha" and alpha.config == lb.ALPHA_CONFIG
    assert list(alpha.weights) == ["dense/bias", "dense/kernel"]
    kernel = alpha.weights["dense/kernel"]
    assert kernel.name == "dense/kernel"
    assert kernel.steps.tolist() == [0, 10, 20, 30]
    assert kernel.fields["nonzeros"].tolist() == [6.0, 4.0, 3.0, 3.0]
    assert sorted(kernel.masks) == [0, 10, 20]
    for step, mask in kernel.masks.items():
        np.testing.assert_array_equal(mask, lb.ALPHA_MASKS[step])
    assert kernel.histograms.steps.tolist() == [0, 20]
    assert alpha.model.fields["global_sparsity"].tolist() == [0.0, 0.25, 0.375, 0.375]
    assert alpha.metrics["epoch"]["val_accuracy"].values.tolist() == [0.75]
    beta = exp.runs["beta/manual"]
    assert (beta.config, beta.model.steps.tolist(), beta.metrics) == (
        None,
        [],
        {"epoch": {}, "batch": {}},
    )


def test_load_keeps_every_step(tmp_path):
    with lb.RunWriter(tmp_path / "long") as w:
        for step in range(300):
            values = [summary.weight_stats("w", lb.stats(size=1, nonzeros=step % 2))]
            if step % 3 == 0:
                values.append(summary.mask("w", np.array([step % 2 == 1])))
            w.add(step, values)
    weight = reader.load(str(tmp_path)).runs["long"].weights["w"]
    assert weight.steps.tolist() == list(range(300))
    assert sorted(weight.masks) == list(range(0, 300, 3))


def test_reader_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import tb_prune_plugin.mask_layout, tb_prune_plugin.plugin, tb_prune_plugin.reader\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_mask_at_masks_are_read_only_and_reused(demo):
    first = demo.mask_at(CTX, "", "alpha", "dense/kernel", 25)
    again = demo.mask_at(CTX, "", "alpha", "dense/kernel", 20)
    assert again.packed is first.packed and again.previous_packed is first.previous_packed
    assert not first.packed.bits.flags.writeable
    assert not first.mask.flags.writeable
    with pytest.raises(ValueError):
        first.mask[0, 0] = True


def test_masks_for_notebooks_are_writable(demo):
    assert all(m.flags.writeable for m in demo.masks(CTX, "", "alpha", "dense/kernel").values())


def test_mask_cache_evicts_least_recently_used():
    cache = reader.LruCache(10, size=lambda mask: mask.nbytes)
    a, b, c = np.zeros(4, bool), np.zeros(4, bool), np.zeros(4, bool)
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # "b" is now the least recently used
    cache.put("c", c)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (a, None, c)
    cache.put("huge", np.zeros(11, bool))
    assert cache.get("huge") is None


def test_mask_record_of_wrong_rank_skipped_with_warning(tmp_path, caplog):
    """Regression: the Python provider's read_blob raised IndexError on a [1, 2] string tensor."""
    header, payload = mask_codec.encode_mask(np.ones([2], dtype=bool))
    rank_2 = _strings([header, payload])
    rank_2.tensor_shape.CopyFrom(
        tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in (1, 2)]
        )
    )
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("w", np.array([True, False]))])
        w.add(1, [_value("pruning/w/mask", rank_2)])
    pruning_reader = _fresh_reader(tmp_path)
    assert pruning_reader.mask_steps(CTX, "", "r", "w") == [(0, (2,))]
    assert pruning_reader.mask_at(CTX, "", "r", "w", 1).step == 0
    assert _warnings(caplog) == [
        "skipping pruning mask run 'r', tag 'pruning/w/mask', step 1: blob is not a byte string "
        "but ndarray"
    ]
