"""The sensitivity record: written by `summary.sensitivity`, parsed by the reader (no TF)."""

import json
import math

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2
from tensorboard.util import tensor_util

from tb_prune_plugin import metadata, reader, summary
from tb_prune_plugin.reader.sensitivity import parse_sensitivity
from tests import logdir_builder as lb


def _record(**overrides):
    args = dict(
        shape=(64, 12),
        structure="magnitude",
        mode="evaluate",
        sparsities=[0.0, 0.5],
        pruned_fractions=[0.0, 0.5],
        metrics={"loss": [0.25, 1.0 / 3.0], "accuracy": [0.9, float("nan")]},
    )
    args.update(overrides)
    return summary.sensitivity("hidden/kernel", **args)


def test_sensitivity_record_round_trips_exact_floats():
    value = _record()
    assert value.tag == "pruning/hidden/kernel/sensitivity"
    record = metadata.parse_plugin_metadata(value.metadata.plugin_data.content)
    assert (record.kind, record.weight) == ("sensitivity", "hidden/kernel")
    text = tensor_util.make_ndarray(value.tensor).item().decode("utf-8")
    scan = parse_sensitivity("hidden/kernel", text)
    assert scan.shape == (64, 12) and scan.size == 768
    assert scan.metrics["loss"].tolist() == [0.25, 1.0 / 3.0]
    assert scan.metrics["accuracy"][0] == 0.9 and math.isnan(scan.metrics["accuracy"][1])
    assert np.array_equal(scan.sparsities, [0.0, 0.5])


def test_sensitivity_record_with_lists_of_other_lengths_raises():
    with pytest.raises(ValueError, match="metric 'loss' has 1 values for 2 sparsities"):
        _record(metrics={"loss": [0.1]})
    with pytest.raises(ValueError, match="structure in"):
        _record(structure="channels")


@pytest.mark.parametrize(
    "change,message",
    [
        ({"shape": [-1]}, "shape must be"),
        ({"mode": "guess"}, "unknown structure"),
        ({"metrics": {}}, "metrics must be"),
        ({"pruned_fractions": [0.0]}, "pruned_fractions has 1 values for 2"),
        ({"sparsities": ["a", "b"]}, "sparsities must be a list of numbers"),
    ],
)
def test_parse_sensitivity_rejects_bad_records(change, message):
    content = {
        "shape": [4, 3],
        "structure": "filters",
        "mode": "data_free",
        "sparsities": [0.0, 0.5],
        "pruned_fractions": [0.0, 0.5],
        "metrics": {"mean_abs_removed": [float("nan"), 0.1]},
    }
    content.update(change)
    with pytest.raises(ValueError, match=message):
        parse_sensitivity("w", json.dumps(content))


def test_reader_skips_a_corrupt_scan_record_for_the_previous_one(tmp_path, caplog):
    good = _record()
    bad = summary_pb2.Summary.Value(tag=good.tag)
    bad.tensor.CopyFrom(tensor_util.make_tensor_proto(np.array(b"{oops", dtype=object)))
    with lb.RunWriter(tmp_path / "scan") as w:
        w.add(0, [good])
        w.add(1, [bad])
    provider = lb.local_data_provider(tmp_path)
    scans = reader.PruningReader(provider).sensitivity(lb.request_context(), "")
    assert list(scans) == ["scan"] and list(scans["scan"]) == ["hidden/kernel"]
    assert scans["scan"]["hidden/kernel"].metrics["loss"].tolist() == [0.25, 1.0 / 3.0]
    messages = [r.getMessage() for r in caplog.records if r.name == "tb_prune_plugin.reader"]
    assert len(messages) == 1
    assert messages[0].startswith(
        "skipping pruning record run 'scan', tag 'pruning/hidden/kernel/sensitivity', step 1: "
        "invalid sensitivity scan: "
    )
