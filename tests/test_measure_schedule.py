"""The schedule's columns (target_sparsity, should_prune): equal TF-MOT schedules are called once
on the vector of their weights' steps, any other schedule per weight, each weight's values in
its own row."""

import numpy as np
import tensorflow_model_optimization as tfmot
import tf_keras

from tb_prune_plugin.callbacks import discovery, measure

sparsity = tfmot.sparsity.keras


class EveryThirdStep(sparsity.PruningSchedule):
    """A user's schedule (not elementwise-safe as far as the measurer knows)."""

    def __call__(self, step):
        return step % 3 == 0, 0.25

    def get_config(self):
        return {"class_name": "EveryThirdStep", "config": {}}


def _model():
    poly = dict(initial_sparsity=0.0, final_sparsity=0.8, begin_step=0, end_step=10, frequency=2)
    schedules = [
        sparsity.PolynomialDecay(**poly),
        EveryThirdStep(),
        sparsity.ConstantSparsity(0.6, begin_step=1, frequency=2),
        sparsity.PolynomialDecay(**poly),  # equal to the first: one call for both
        sparsity.PolynomialDecay(**dict(poly, final_sparsity=0.5)),
    ]
    inputs = tf_keras.Input((6,))
    x = inputs
    for i, schedule in enumerate(schedules):
        x = sparsity.prune_low_magnitude(
            tf_keras.layers.Dense(5, name="d%d" % i), pruning_schedule=schedule
        )(x)
    return tf_keras.Model(inputs, x), schedules


def test_each_weight_gets_its_own_schedule_at_its_own_step():
    """A grouping that put a value in another weight's row (or gave a group one step) fails."""
    model, schedules = _model()
    weights = discovery.find_prunable_weights(model)
    assert [pw.path for pw in weights] == ["d%d/kernel" % i for i in range(5)]
    steps = [4, 3, 5, 7, 2]  # each wrapper has its own step variable
    for pw, step in zip(weights, steps):
        pw.wrapper.pruning_step.assign(step)
    figures, _, _, _ = measure.Measurer(weights, []).measure()
    target = figures[:, measure.DEVICE_FIELDS.index("target_sparsity")]
    should = figures[:, measure.DEVICE_FIELDS.index("should_prune")]
    expected_target, expected_should = [], []
    for schedule, step in zip(schedules, steps):
        flag, value = schedule(np.int64(step))
        expected_should.append(float(bool(flag)))
        expected_target.append(float(np.float32(value)))
    assert should.tolist() == expected_should == [1.0, 1.0, 1.0, 0.0, 1.0]
    np.testing.assert_array_equal(target, expected_target)
    assert len(set(target.tolist())) == 5  # five different values: none taken from another row
