"""`stripped_size="auto"` (the default): the stripped model is saved and gzipped at the end of a
training only when that fits in what the overhead budget leaves, or is cheap; True always;
multi-worker trainings always (every worker must take the same decision).

Real tf_keras trainings; the expected time's rate (`ESTIMATED_BYTES_PER_SECOND`) is lowered so
that a small model stands for a large one.
"""

import logging

import numpy as np
import pytest
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor, policy, stripped_size
from tests import training

# Dense(10) on 64 inputs: 650 float32 values, 2,600 bytes.
MODEL_BYTES = 2600


def _model():
    model = tf_keras.Sequential([tf_keras.layers.Dense(10, input_shape=(64,), name="fc")])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _fit(model, monitor, epochs=1):
    x, y = training.digits(200)
    model.fit(x, np.eye(10)[y], batch_size=100, epochs=epochs, verbose=0, callbacks=[monitor])


def _skips(caplog):
    return [r.getMessage() for r in caplog.records if "skipped the stripped" in r.getMessage()]


def test_variable_bytes_counts_every_variable():
    assert stripped_size.variable_bytes(_model()) == MODEL_BYTES


def test_auto_skips_what_the_budget_cannot_pay_and_says_so_once(tmp_path, caplog, monkeypatch):
    # 1 byte a second: the 2,600-byte model is expected to take 2,600 s.
    monkeypatch.setattr(stripped_size, "ESTIMATED_BYTES_PER_SECOND", 1.0)
    model, monitor = _model(), PruningMonitor(str(tmp_path / "auto"))
    assert monitor.stripped_size == "auto"
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        _fit(model, monitor)
        _fit(model, monitor)
    skips = _skips(caplog)
    assert len(skips) == 1
    assert skips[0].startswith(
        "PruningMonitor skipped the stripped model's saved size at the end of this training "
        "(step 2): saving and gzipping the model is expected to take 2600.0 s, more than the "
        "overhead budget leaves ("
    )
    assert skips[0].endswith(
        " s). A longer training gets it; pass stripped_size=True to measure it at the end of "
        "every training whatever it costs."
    )
    run = reader.load(str(tmp_path)).runs["auto"]
    assert run.stripped_size.steps.tolist() == []
    assert run.weights["fc/kernel"].steps.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("every_n_steps", [None, 1])
def test_true_and_a_fixed_interval_measure_whatever_it_costs(tmp_path, monkeypatch, every_n_steps):
    monkeypatch.setattr(stripped_size, "ESTIMATED_BYTES_PER_SECOND", 1.0)
    model = _model()
    name = "every_%s" % every_n_steps
    monitor = PruningMonitor(
        str(tmp_path / name),
        every_n_steps=every_n_steps,
        stripped_size=True if every_n_steps is None else "auto",
    )
    _fit(model, monitor, epochs=2)
    run = reader.load(str(tmp_path)).runs[name]
    assert run.stripped_size.steps.tolist() == [4]
    assert run.stripped_size.fields["gzip_bytes"].tolist() == [
        stripped_size.measure(model)["gzip_bytes"]
    ]


def test_auto_measures_a_cheap_model(tmp_path, caplog):
    """At the real rate the small model takes far less than `ALWAYS_SECONDS`: measured at the
    end of each training, nothing said."""
    model = _model()
    monitor = PruningMonitor(str(tmp_path / "cheap"))
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        _fit(model, monitor)
        _fit(model, monitor)
    assert _skips(caplog) == []
    assert reader.load(str(tmp_path)).runs["cheap"].stripped_size.steps.tolist() == [2, 4]


def test_allowance_is_the_budgets_share_of_the_fit_less_the_monitors_time():
    now = [10.0]
    rule = policy.RecordingPolicy(overhead_budget=0.02, clock=lambda: now[0])
    rule.start_fit()
    assert rule.allowance() is None  # no first batch end yet
    rule.spent(0.5, 1, True, forced=True)  # the first batch end starts the fit's clock at 10 s
    now[0] = 110.0
    rule.spent(1.0, 50, False)
    assert rule.allowance() == 0.02 * 100.0 - 1.5
    assert policy.RecordingPolicy(every_n_steps=5).allowance() is None


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_bad_stripped_size_says_what_to_pass(tmp_path, value):
    with pytest.raises(ValueError) as e:
        PruningMonitor(str(tmp_path), stripped_size=value)
    assert str(e.value) == (
        'PruningMonitor: stripped_size must be "auto" (the default: measured when the overhead '
        "budget allows), True (at the end of every training) or False (never), got %r." % (value,)
    )
