"""Which steps PruningMonitor records: by default every mask change at its exact step, the
first, last and epoch-end steps, and the rest thinned to a time budget; with every_n_steps,
exactly its multiples. Real TF-MOT and manual trainings, checked against the mask variables
snapshotted after every step (`training.Probe`)."""

import logging

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor, policy
from tests import training

WEIGHTS = ("hidden/kernel", "logits/kernel")
STEPS_PER_EPOCH = 16  # 800 digits in batches of 50


def _fit(model, callbacks, epochs=3, n=800, batch_size=50):
    x, y = training.digits(n)
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=callbacks)


def _poly_schedule():
    """PolynomialDecay 0 -> 80% over pruning steps 3..40, frequency 7 (which divides no
    interval of the ladder 1, 2, 5, 10, ...)."""
    import tensorflow_model_optimization as tfmot

    return tfmot.sparsity.keras.PolynomialDecay(0.0, 0.8, begin_step=3, end_step=40, frequency=7)


def _custom_schedule():
    """A schedule of the user's own (not TF-MOT's rule): prunes at pruning steps 4, 9, 11, 30
    towards step / 40 sparsity. The monitor calls it, as TF-MOT does."""
    import tensorflow_model_optimization as tfmot

    class AtSteps(tfmot.sparsity.keras.PruningSchedule):
        def __call__(self, step):
            should = tf.reduce_any(tf.equal(step, tf.constant([4, 9, 11, 30], tf.int64)))
            return should, tf.minimum(tf.cast(step, tf.float32) / 40.0, 0.8)

        def get_config(self):
            return {}

    return AtSteps()


def _tfmot_run(tmp_path, name, monitor_kwargs, pruning_step=None, schedule=None):
    """TF-MOT training of `schedule` (default `_poly_schedule()`); 3 epochs of 16 steps."""
    import tensorflow_model_optimization as tfmot

    sparsity = tfmot.sparsity.keras
    schedule = schedule or _poly_schedule()
    model = training.dense_tfmot_model(schedule)
    if pruning_step is not None:
        for _, wrapper in training._tfmot_wrappers(model):
            wrapper.pruning_step.assign(pruning_step)
    probe = training.Probe()
    monitor = PruningMonitor(str(tmp_path / name), **monitor_kwargs)
    asked = _AskMonitor(monitor)
    _fit(model, [sparsity.UpdatePruningStep(), asked, monitor, probe])
    return reader.load(str(tmp_path)).runs[name], probe, monitor, asked, schedule


class _AskMonitor(tf_keras.callbacks.Callback):
    """Placed before the monitor: at each batch end, asks it whether masks may have changed
    since its last record (as the measurer may), with the steps it had recorded then."""

    def __init__(self, monitor):
        super().__init__()
        self.monitor, self.answers = monitor, []

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        last = self.monitor._last_recorded_step
        self.answers.append((last, step, self.monitor.masks_may_have_changed(step)))


def _assert_masks_equal_probe(run, probe, weights=WEIGHTS):
    for w in weights:
        masks = run.weights[w].masks
        for step in run.weights[w].steps.tolist():
            latest = max(s for s in masks if s <= step)
            np.testing.assert_array_equal(masks[latest], probe.masks[step][w], err_msg=str(step))


def _epoch_ends(epochs, steps_per_epoch=STEPS_PER_EPOCH):
    return {steps_per_epoch * (e + 1) for e in range(epochs)}


def _pruning_steps(schedule, pruning_steps):
    should = tf.function(schedule, autograph=False)
    return {
        s for s, p in pruning_steps.items() if bool(should(tf.constant(p, tf.int64))[0].numpy())
    }


@pytest.mark.parametrize("offset, kind", [(0, "poly"), (5, "poly"), (0, "custom")])
def test_default_tfmot_records_every_mask_change_at_its_step(tmp_path, offset, kind):
    """The default records each step whose mask variable changed (ground truth: the probe's
    snapshot after every step), plus first, last and epoch-end steps; the recorded masks are
    the mask variables after that many optimizer steps. With offset 5 the wrappers'
    pruning_step runs 5 ahead of optimizer.iterations: the schedule is read at the former.
    A schedule of the user's own is evaluated by calling it.

    Regression: with every_n_steps=10 a change at step 15 showed at step 20."""
    run, probe, monitor, asked, schedule = _tfmot_run(
        tmp_path,
        "%s%d" % (kind, offset),
        {},
        pruning_step=None if offset == 0 else offset,
        schedule=_custom_schedule() if kind == "custom" else None,
    )
    changed = training.changed_steps(probe)
    # The off-by-one, pinned: the mask changes in the training step that ends at optimizer
    # step s exactly when the schedule prunes at the wrapper's pruning step after it (s+offset).
    pruning_steps = {s: ps["hidden/kernel"] for s, ps in probe.pruning_steps.items()}
    assert all(pruning_steps[s] == s + offset for s in pruning_steps)
    prunes = _pruning_steps(schedule, pruning_steps)
    assert set(changed) <= prunes and len(changed) >= 4
    required = set(changed) | {0, 1} | _epoch_ends(3) | {48}
    for w in WEIGHTS:
        steps = set(run.weights[w].steps.tolist())
        assert required <= steps, sorted(required - steps)
        # Changes are recorded at their step, never later: no record shows a new mask late.
        changed_records = [s for s in steps if run.weights[w].masks.get(s) is not None]
        assert set(changed_records) - {0} <= prunes
    _assert_masks_equal_probe(run, probe)
    assert run.config["every_n_steps"] is None
    assert run.config["overhead_budget"] == policy.DEFAULT_OVERHEAD_BUDGET
    # masks_may_have_changed: True wherever the mask changed since the last record, and
    # False (the measurer may skip the masks) at the steps the schedule rules out.
    for last, step, may in asked.answers:
        if last is not None and not np.array_equal(
            probe.masks[last]["hidden/kernel"], probe.masks[step]["hidden/kernel"]
        ):
            assert may, (last, step)
        if last is not None and last < step and not any(last < s <= step for s in prunes):
            assert not may, (last, step)
    assert any(not may for _, _, may in asked.answers)


def test_every_n_steps_records_exactly_its_multiples_tfmot(tmp_path):
    """every_n_steps=5 keeps its meaning: multiples of 5 and the last step, nothing more (not
    the schedule's pruning steps, not epoch ends)."""
    run, probe, _, _, _ = _tfmot_run(tmp_path, "every5", {"every_n_steps": 5})
    expected = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 48]
    for w in WEIGHTS:
        assert run.weights[w].steps.tolist() == expected
    assert run.config["every_n_steps"] == 5 and run.config["overhead_budget"] is None
    _assert_masks_equal_probe(run, probe)


def _manual_model(keras_module):
    return training.mlp(keras_module, hidden=20)


def _keras(flavour):
    if flavour == "tf_keras":
        return tf_keras
    import keras

    assert keras.__version__.startswith("3.")
    return keras


@pytest.mark.parametrize("flavour", ["keras3", "tf_keras"])
def test_default_manual_mark_pruned_records_each_prune_at_its_step(tmp_path, flavour):
    """Manual pruning says when it pruned (`monitor.mark_pruned()` from a callback placed
    before the monitor): each of those steps is recorded with its new masks, with first, last
    and epoch-end steps."""
    model = _manual_model(_keras(flavour))
    paths = {"hidden/kernel": model.layers[0].kernel, "logits/kernel": model.layers[1].kernel}
    probe = training.Probe(manual_weights=paths)
    monitor = PruningMonitor(str(tmp_path / flavour), target_sparsity=0.7)
    pruner = training.MaskedMagnitudePruner(0.7, every=7, monitor=monitor)
    _fit(model, [pruner, monitor, probe], epochs=2)
    run = reader.load(str(tmp_path)).runs[flavour]
    changed = training.changed_steps(probe)
    assert changed == pruner.pruned_at == [7, 14, 21, 28]
    required = set(changed) | {0, 1} | _epoch_ends(2)
    for w in WEIGHTS:
        steps = set(run.weights[w].steps.tolist())
        assert required <= steps, sorted(required - steps)
    _assert_masks_equal_probe(run, probe)


def test_mark_pruned_after_the_monitor_records_at_once_or_next_step(tmp_path, caplog):
    """A pruning callback placed after the monitor: a step the monitor had not recorded is
    recorded when mark_pruned() is called (exact); one it had recorded already gets the change
    at the next step, with one warning saying to move the callback before the monitor."""
    model = _manual_model(tf_keras)
    paths = {"hidden/kernel": model.layers[0].kernel, "logits/kernel": model.layers[1].kernel}
    probe = training.Probe(manual_weights=paths)
    monitor = PruningMonitor(str(tmp_path / "after"), every_n_steps=4)
    pruner = training.MaskedMagnitudePruner(0.7, every=6, monitor=monitor)
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        _fit(model, [monitor, pruner, probe], epochs=2)
    run = reader.load(str(tmp_path)).runs["after"]
    # Multiples of 4 and the last step; prunes at 6, 18, 30 recorded at once; 12 and 24 were
    # recorded before their prune, which shows at 13 and 25.
    expected = [0, 4, 6, 8, 12, 13, 16, 18, 20, 24, 25, 28, 30, 32]
    assert run.weights["hidden/kernel"].steps.tolist() == expected
    warnings = [r.getMessage() for r in caplog.records if "mark_pruned()" in r.getMessage()]
    assert len(warnings) == 1 and "at step 12 after the monitor recorded" in warnings[0]
    # At the other steps this monitor sees the weights before the pruner zeroes the pruned
    # ones again (the optimizer moved them): only the prune steps are compared.
    masks = run.weights["hidden/kernel"].masks
    for step in (6, 12, 18, 24, 30):
        latest = max(s for s in masks if s <= step)
        recorded_right = np.array_equal(masks[latest], probe.masks[step]["hidden/kernel"])
        assert recorded_right == (step not in (12, 24)), step


def test_adaptive_interval_thins_expensive_records(tmp_path):
    """A wide model on batches of 2: a record costs many training steps, so the interval
    grows past 1 and the steps not otherwise due are thinned; the interval is the one its own
    measured costs ask for (within one notch of hysteresis), and it stays at most
    MAX_INTERVAL. With every_n_steps=1 the same training records every step."""
    inputs = tf_keras.Input((64,))
    hidden = tf_keras.layers.Dense(1024, name="wide")(inputs)
    hidden = tf_keras.layers.Dense(1024, name="wider")(hidden)
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(10, name="logits")(hidden))
    training.compile_classifier(model)
    monitor = PruningMonitor(str(tmp_path / "wide"))
    _fit(model, [monitor], epochs=1, n=240, batch_size=2)
    overhead = monitor.overhead
    run = reader.load(str(tmp_path)).runs["wide"]
    steps = run.weights["wider/kernel"].steps.tolist()
    assert monitor.recording_interval > 1
    assert overhead["records"] > 0 and overhead["record_seconds"] > 0
    # 0, 1 (first step of the fit), 120 (epoch end and last) and the interval's multiples.
    interval_steps = [s for s in steps if s not in (0, 1, 120)]
    assert len(steps) < 120 // 2
    assert {0, 1, 120} <= set(steps) and len(interval_steps) < 60


def test_policy_interval_follows_measured_cost():
    """The controller alone, on a scripted clock: a record costing 5 training steps at a 2%
    budget asks for an interval of 250 steps (rounded up to 500); cheaper records bring it
    down, by at most what half a notch of hysteresis allows."""
    now = [0.0]
    p = policy.RecordingPolicy(overhead_budget=0.02, clock=lambda: now[0])
    p.start_fit()

    def run(steps, step_seconds, record_seconds, first):
        for step in range(first, first + steps):
            now[0] += step_seconds
            recorded = p.due(step - 1, step)
            cost = record_seconds if recorded else 0.0
            now[0] += cost
            p.spent(cost, step, recorded)

    now[0] += 1.0  # the first step traces the training function: not counted
    p.spent(0.0, 1, False)
    run(1000, 0.001, 0.005, 2)
    assert p.interval == 500
    assert p.wanted_interval(1001) == pytest.approx(250, rel=0.01)
    run(5000, 0.001, 0.0001, 1002)
    # The average cost falls towards 0.1 ms: just over 5 steps wanted, so 10.
    assert p.interval == 10
    assert policy.ladder_ceil(3) == 5 and policy.ladder_ceil(0.5) == 1
    assert policy.ladder_ceil(float("inf")) == policy.MAX_INTERVAL


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"overhead_budget": 0}, ValueError, "overhead_budget must be a fraction"),
        ({"overhead_budget": 1.5}, ValueError, "above 0 and below 1 (0.02 = 2%), got 1.5"),
        ({"overhead_budget": float("nan")}, ValueError, "got nan"),
        ({"overhead_budget": "2%"}, TypeError, "got '2%' of type str"),
        ({"overhead_budget": True}, TypeError, "overhead_budget must be a number"),
        (
            {"every_n_steps": 10, "overhead_budget": 0.05},
            ValueError,
            "got both every_n_steps=10 and overhead_budget=0.05",
        ),
        ({"every_n_steps": 0}, ValueError, "Pass None (the default) to record within"),
    ],
)
def test_recording_arguments_invalid_raise(tmp_path, kwargs, error, message):
    with pytest.raises(error) as info:
        PruningMonitor(str(tmp_path), **kwargs)
    assert message in str(info.value)


class _MeasureSpy(tf_keras.callbacks.Callback):
    """Placed after the monitor: notes the `masks_unchanged` hint of each measuring call."""

    def __init__(self, monitor):
        super().__init__()
        self.monitor, self.hints = monitor, []

    def on_train_begin(self, logs=None):
        measurer = self.monitor._measurer
        measure = measurer.measure

        def spied(masks_unchanged=False, histograms=True):
            self.hints.append(masks_unchanged)
            return measure(masks_unchanged=masks_unchanged, histograms=histograms)

        measurer.measure = spied


def test_default_tfmot_large_weight_skips_mask_pass_between_pruning_steps(tmp_path):
    """A weight large enough for the measurer's device-side mask state (64x4096): by default
    the monitor promises the measurer that no mask changed when the schedule rules a change
    out, and what it records (masks, non-zeros, sparsity) still equals the mask variables at
    every recorded step."""
    import tensorflow_model_optimization as tfmot

    from tb_prune_plugin.callbacks import measure

    sparsity = tfmot.sparsity.keras
    base = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(4096, input_shape=(64,), name="wide"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    assert 64 * 4096 >= measure.GATHER_MIN_SIZE
    model = sparsity.prune_low_magnitude(base, pruning_schedule=_poly_schedule())
    training.compile_classifier(model)
    probe = training.Probe()
    monitor = PruningMonitor(str(tmp_path / "wide"))
    spy = _MeasureSpy(monitor)
    _fit(model, [sparsity.UpdatePruningStep(), monitor, spy, probe], epochs=2)
    assert True in spy.hints and False in spy.hints
    run = reader.load(str(tmp_path)).runs["wide"]
    weights = ("wide/kernel", "logits/kernel")
    _assert_masks_equal_probe(run, probe, weights)
    for w in weights:
        series = run.weights[w]
        for step, nonzeros in zip(series.steps.tolist(), series.fields["nonzeros"].tolist()):
            kept = int(np.count_nonzero(probe.masks[step][w]))
            assert nonzeros == kept, (w, step)
