"""`Experiment.dataframe`: long pandas DataFrames equal to the reader's series."""

import sys

import numpy as np
import pandas
import pytest

from benchmarks.fixtures import logdir_builder as builder
from tb_prune_plugin import metadata, reader


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames_demo")
    builder.write_demo_logdir(str(root))
    return reader.load(str(root))


def test_weight_frame_columns_and_values_equal_reader(demo):
    df = demo.dataframe()
    assert list(df.columns) == ["run", "weight", "step"] + list(metadata.WEIGHT_STATS_FIELDS)
    assert list(zip(df["run"], df["weight"], df["step"])) == [
        ("alpha", "dense/bias", 0),
        ("alpha", "dense/bias", 10),
        ("alpha", "dense/bias", 20),
        ("alpha", "dense/bias", 30),
        ("alpha", "dense/kernel", 0),
        ("alpha", "dense/kernel", 10),
        ("alpha", "dense/kernel", 20),
        ("alpha", "dense/kernel", 30),
        ("beta/manual", "conv/kernel", 0),
        ("beta/manual", "conv/kernel", 5),
    ]
    assert df["step"].dtype == np.int64
    kernel = df[(df["run"] == "alpha") & (df["weight"] == "dense/kernel")]
    assert list(kernel["sparsity"]) == list(builder.ALPHA_SPARSITY)
    np.testing.assert_array_equal(kernel["threshold"], builder.ALPHA_THRESHOLD)
    for (run, weight), rows in df.groupby(["run", "weight"], sort=False):
        w = demo.runs[run].weights[weight]
        np.testing.assert_array_equal(rows["step"], w.steps)
        for field in metadata.WEIGHT_STATS_FIELDS:
            np.testing.assert_array_equal(rows[field].to_numpy(), w.fields[field])


def test_model_frame_equals_reader(demo):
    df = demo.dataframe("model")
    assert list(df.columns) == ["run", "step"] + list(metadata.MODEL_STATS_FIELDS)
    assert list(df["run"]) == ["alpha"] * 4  # beta/manual has no model_stats records
    assert list(df["step"]) == [0, 10, 20, 30]
    assert list(df["global_sparsity"]) == list(builder.ALPHA_GLOBAL)
    for field in metadata.MODEL_STATS_FIELDS:
        np.testing.assert_array_equal(df[field].to_numpy(), demo.runs["alpha"].model.fields[field])


def test_metric_frame_equals_reader(demo):
    df = demo.dataframe("metrics")
    assert list(df.columns) == ["run", "scope", "metric", "step", "value"]
    assert [tuple(r) for r in df.itertuples(index=False)] == [
        ("alpha", "batch", "loss", 5, 2.0),
        ("alpha", "batch", "loss", 15, 1.0),
        ("alpha", "batch", "loss", 25, 0.25),
        ("alpha", "epoch", "loss", 10, 1.5),
        ("alpha", "epoch", "loss", 30, 0.5),
        ("alpha", "epoch", "val_accuracy", 30, 0.75),
    ]


def test_empty_experiment_gives_empty_frames_with_columns():
    empty = reader.Experiment(logdir="x", runs={})
    df = empty.dataframe()
    assert len(df) == 0
    assert list(df.columns) == ["run", "weight", "step"] + list(metadata.WEIGHT_STATS_FIELDS)
    assert list(empty.dataframe("metrics").columns) == ["run", "scope", "metric", "step", "value"]


def test_unknown_kind_is_a_value_error(demo):
    with pytest.raises(
        ValueError,
        match=r"unknown kind 'masks' of DataFrame; expected one of weights, model, metrics",
    ):
        demo.dataframe("masks")


def test_missing_pandas_names_pip_install(demo, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now raises ImportError
    with pytest.raises(ImportError, match=r"install it with `pip install pandas`"):
        demo.dataframe()


def test_weight_frame_of_a_tfmot_training(tfmot_poly_run):
    exp = reader.load(tfmot_poly_run.logdir)
    df = exp.dataframe()
    run = exp.runs[tfmot_poly_run.run]
    assert sorted(set(df["weight"])) == sorted(run.weights)
    for weight, w in run.weights.items():
        rows = df[df["weight"] == weight]
        np.testing.assert_array_equal(rows["step"], w.steps)
        np.testing.assert_array_equal(rows["sparsity"].to_numpy(), w.fields["sparsity"])
        np.testing.assert_array_equal(
            rows["target_sparsity"].to_numpy(), w.fields["target_sparsity"]
        )
    assert isinstance(df, pandas.DataFrame)
