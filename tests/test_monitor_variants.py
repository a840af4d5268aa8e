"""PruningMonitor across pruning set-ups: resume, block, N:M, Conv2D, nested models, manual pruning.

Each test trains a tiny model for real for a few steps and reads the log back.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor
from tests import training

sparsity = tfmot.sparsity.keras


def _fit(model, x, y, callbacks, epochs=1, batch_size=100, **kwargs):
    return model.fit(
        x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks, verbose=0, **kwargs
    )


def test_resume_continues_steps_without_duplicates(tmp_path):
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=3)
    model = training.dense_tfmot_model(schedule)
    x, y = training.digits(400)
    logdir = str(tmp_path / "resume")
    _fit(model, x, y, [sparsity.UpdatePruningStep(), PruningMonitor(logdir, every_n_steps=3)])
    # A new monitor, as in a new process, continues from the optimizer's iteration count.
    probe = training.Probe()
    _fit(
        model,
        x,
        y,
        [sparsity.UpdatePruningStep(), PruningMonitor(logdir, every_n_steps=3), probe],
        epochs=2,
        initial_epoch=1,
    )
    run = reader.load(str(tmp_path)).runs["resume"]
    weight = run.weights["hidden/kernel"]
    assert weight.steps.tolist() == [0, 3, 4, 6, 8]
    assert run.metrics["epoch"]["loss"].steps.tolist() == [4, 8]
    np.testing.assert_array_equal(weight.masks[max(weight.masks)], probe.masks[8]["hidden/kernel"])


def test_block_sparsity_recorded_for_block_pruning(tmp_path):
    schedule = sparsity.ConstantSparsity(0.5, begin_step=1, frequency=2)
    model = training.dense_tfmot_model(schedule, block_size=(2, 2), block_pooling_type="MAX")
    probe = training.Probe()
    x, y = training.digits(300)
    _fit(
        model,
        x,
        y,
        [sparsity.UpdatePruningStep(), PruningMonitor(str(tmp_path / "b"), every_n_steps=1), probe],
    )
    run = reader.load(str(tmp_path)).runs["b"]
    for w in ("hidden/kernel", "logits/kernel"):
        weight = run.weights[w]
        last = int(weight.steps[-1])
        mask = probe.masks[last][w]
        blocks = mask.reshape(mask.shape[0] // 2, 2, mask.shape[1] // 2, 2).any(axis=(1, 3))
        assert weight.fields["block_sparsity"][-1] == np.mean(~blocks)
        assert weight.fields["block_sparsity"][-1] == weight.fields["sparsity"][-1] == 0.5
    config = run.config["weights"][0]
    assert config["block_size"] == [2, 2] and config["block_pooling_type"] == "MAX"


def test_two_four_sparsity_compliance(tmp_path):
    schedule = sparsity.ConstantSparsity(0.5, begin_step=0, frequency=1)
    model = training.dense_tfmot_model(schedule, sparsity_m_by_n=(2, 4))
    x, y = training.digits(300)
    _fit(
        model,
        x,
        y,
        [sparsity.UpdatePruningStep(), PruningMonitor(str(tmp_path / "nm"), every_n_steps=1)],
    )
    run = reader.load(str(tmp_path)).runs["nm"]
    weight = run.weights["hidden/kernel"]
    assert weight.steps.tolist() == [0, 1, 2, 3]
    # TF-MOT sets the 2:4 mask at pruning step 1 only.
    assert weight.fields["should_prune"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert weight.fields["target_sparsity"].tolist() == [0.5, 0.5, 0.5, 0.5]
    assert weight.fields["sparsity"].tolist() == [0.0, 0.5, 0.5, 0.5]
    assert weight.fields["nm_compliance"].tolist() == [0.0, 1.0, 1.0, 1.0]
    assert np.isnan(weight.fields["threshold"]).all()  # TF-MOT's N:M threshold is a dummy
    assert sorted(weight.masks) == [0, 1]
    assert run.config["weights"][0]["sparsity_m_by_n"] == [2, 4]


def test_conv2d_filters_and_units(tmp_path):
    conv = tf_keras.Sequential(
        [
            tf_keras.layers.Conv2D(6, 3, activation="relu", input_shape=(8, 8, 1), name="conv"),
            tf_keras.layers.Flatten(name="flatten"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    model = tf_keras.Sequential(
        [
            sparsity.prune_low_magnitude(
                conv.layers[0], pruning_schedule=sparsity.ConstantSparsity(0.6, 0, frequency=2)
            ),
            conv.layers[1],
            conv.layers[2],
        ]
    )
    training.compile_classifier(model)
    probe = training.Probe()
    x, y = training.digits_images(300)
    _fit(
        model,
        x,
        y,
        [sparsity.UpdatePruningStep(), PruningMonitor(str(tmp_path / "c"), every_n_steps=1), probe],
    )
    run = reader.load(str(tmp_path)).runs["c"]
    assert sorted(run.weights) == ["conv/kernel"]  # the unwrapped Dense is not pruned
    weight = run.weights["conv/kernel"]
    for i, step in enumerate(weight.steps.tolist()):
        mask = probe.masks[step]["conv/kernel"]
        assert mask.shape == (3, 3, 1, 6)
        np.testing.assert_array_equal(weight.masks[max(s for s in weight.masks if s <= step)], mask)
        assert weight.fields["pruned_units_fraction"][i] == np.mean(~mask.any(axis=(0, 1, 2)))
        assert weight.fields["pruned_inputs_fraction"][i] == np.mean(~mask.any(axis=(0, 1, 3)))
    assert weight.fields["sparsity"][-1] == 1.0 - round(54 * 0.4) / 54


def test_nested_model_paths_and_unprunable_layers(tmp_path):
    inner = tf_keras.Sequential(
        [
            sparsity.prune_low_magnitude(
                tf_keras.layers.Dense(16, activation="relu", input_shape=(64,), name="dense_a"),
                pruning_schedule=sparsity.ConstantSparsity(0.5, 0, frequency=1),
            ),
            tf_keras.layers.BatchNormalization(name="bn"),
            tf_keras.layers.Dropout(0.1, name="drop"),
        ],
        name="encoder",
    )
    inputs = tf_keras.Input((64,))
    outputs = sparsity.prune_low_magnitude(
        tf_keras.layers.Dense(10, name="head"),
        pruning_schedule=sparsity.ConstantSparsity(0.8, 0, frequency=1),
    )(inner(inputs))
    model = tf_keras.Model(inputs, outputs)
    training.compile_classifier(model)
    probe = training.Probe()
    x, y = training.digits(200)
    _fit(
        model,
        x,
        y,
        [sparsity.UpdatePruningStep(), PruningMonitor(str(tmp_path / "n"), every_n_steps=1), probe],
    )
    run = reader.load(str(tmp_path)).runs["n"]
    assert sorted(run.weights) == ["encoder/dense_a/kernel", "head/kernel"]
    for w in run.weights:
        np.testing.assert_array_equal(
            run.weights[w].masks[max(run.weights[w].masks)], probe.masks[2][w]
        )
    # Model parameters: Dense 64x16+16, BN 4x16 (incl. moving stats), Dense 16x10+10.
    assert run.model.fields["model_size"][-1] == 64 * 16 + 16 + 4 * 16 + 16 * 10 + 10
    assert run.model.fields["prunable_size"][-1] == 64 * 16 + 16 * 10


def test_layers_filter_records_only_named_layers(tmp_path):
    model = training.dense_tfmot_model(sparsity.ConstantSparsity(0.5, 0, frequency=1))
    x, y = training.digits(100)
    _fit(
        model,
        x,
        y,
        [
            sparsity.UpdatePruningStep(),
            PruningMonitor(str(tmp_path / "f"), layers=["logits"], every_n_steps=1),
        ],
    )
    run = reader.load(str(tmp_path)).runs["f"]
    assert sorted(run.weights) == ["logits/kernel"]


def _manual_run(keras_module, tmp_path, name):
    model = keras_module.Sequential(
        [
            keras_module.Input((64,)),
            keras_module.layers.Dense(20, activation="relu", name="hidden"),
            keras_module.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    paths = {"hidden/kernel": model.layers[0].kernel, "logits/kernel": model.layers[1].kernel}
    probe = training.Probe(manual_weights=paths)
    pruner = training.MagnitudePruner(target=0.7, every=2)
    x, y = training.digits(500)
    _fit(
        model,
        x,
        y,
        [pruner, PruningMonitor(str(tmp_path / name), target_sparsity=0.7, every_n_steps=1), probe],
        batch_size=100,
    )
    return reader.load(str(tmp_path)).runs[name], probe


@pytest.mark.parametrize("flavour", ["keras3", "tf_keras"])
def test_manual_pruning_masks_are_nonzero_weights(tmp_path, flavour):
    if flavour == "keras3":
        import keras as keras_module

        assert keras_module.__version__.startswith("3.")
    else:
        keras_module = tf_keras
    run, probe = _manual_run(keras_module, tmp_path, flavour)
    assert run.config["method"] == "manual"
    assert run.config["keras"].split()[0] == ("keras" if flavour == "keras3" else "tf_keras")
    assert sorted(run.weights) == ["hidden/kernel", "logits/kernel"]
    for w, weight in run.weights.items():
        assert weight.steps.tolist() == [0, 1, 2, 3, 4, 5]
        for i, step in enumerate(weight.steps.tolist()):
            mask = probe.masks[step][w]
            np.testing.assert_array_equal(
                weight.masks[max(s for s in weight.masks if s <= step)], mask
            )
            assert weight.fields["sparsity"][i] == 1.0 - np.mean(mask)
        assert weight.fields["target_sparsity"].tolist() == [0.7] * 6
        assert np.isnan(weight.fields["threshold"]).all()
        # The pruner zeroes at steps 2 and 4; the optimizer regrows weights in between.
        assert 2 in weight.masks and 4 in weight.masks
        assert weight.fields["sparsity"][2] == pytest.approx(0.7, abs=0.01)


def test_structured_filter_cut_units_fraction(tmp_path):
    import keras

    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(8, name="hidden"), keras.layers.Dense(10)]
    )
    training.compile_classifier(model)
    kernel = model.layers[0].kernel
    cut = np.ones((64, 8), np.float32)
    cut[:, [1, 4, 5]] = 0.0
    masks = {"hidden/kernel": tf.Variable(cut)}
    x, y = training.digits(100)
    _fit(model, x, y, [PruningMonitor(str(tmp_path / "s"), masks=masks, every_n_steps=1)])
    weight = reader.load(str(tmp_path)).runs["s"].weights["hidden/kernel"]
    assert weight.fields["pruned_units_fraction"].tolist() == [3 / 8, 3 / 8]
    assert weight.fields["sparsity"].tolist() == [3 / 8, 3 / 8]
    np.testing.assert_array_equal(weight.masks[0], cut != 0)
    assert kernel.shape == (64, 8)


def test_shares_log_dir_with_tensorboard_and_pruning_summaries(tmp_path):
    # PruningSummaries keeps its default epoch frequency: two tf_keras TensorBoard callbacks
    # that both log per batch unwind their writers out of order and fail, monitor or not.
    model = training.dense_tfmot_model(sparsity.ConstantSparsity(0.5, 0, frequency=2))
    x, y = training.digits(300)
    logdir = str(tmp_path / "shared")
    _fit(
        model,
        x,
        y,
        [
            sparsity.UpdatePruningStep(),
            tf_keras.callbacks.TensorBoard(logdir, update_freq=1),
            sparsity.PruningSummaries(logdir),
            PruningMonitor(logdir, every_n_steps=1),
        ],
        epochs=2,
        validation_data=(x[:100], y[:100]),
    )
    exp = reader.load(str(tmp_path))
    assert sorted(exp.runs) == ["shared"]  # train/, validation/, metrics/ hold no pruning data
    assert exp.runs["shared"].weights["hidden/kernel"].steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    files = [f for f in os.listdir(logdir) if os.path.isfile(os.path.join(logdir, f))]
    assert len(files) == 1 and files[0].endswith(".pruning.v2")  # only the monitor's own file
    subdirs = sorted(d for d in os.listdir(logdir) if os.path.isdir(os.path.join(logdir, d)))
    assert subdirs == ["metrics", "train", "validation"]


def test_steps_per_execution_records_the_optimizer_steps(tmp_path):
    """Between records the monitor predicts the step (batch ends x steps_per_execution) instead
    of reading optimizer.iterations; it must still record exactly the steps every_n_steps says."""
    model = tf_keras.Sequential(
        [tf_keras.layers.Dense(8, input_shape=(64,), name="hidden"), tf_keras.layers.Dense(10)]
    )
    model.compile(
        optimizer="adam",
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=2,
    )
    x, y = training.digits(800)
    _fit(model, x, y, [PruningMonitor(str(tmp_path / "spe"), every_n_steps=3)])
    run = reader.load(str(tmp_path)).runs["spe"]
    # Batch ends come at steps 2, 4, 6, 8: records where a multiple of 3 was crossed, and the end.
    assert run.weights["hidden/kernel"].steps.tolist() == [0, 4, 6, 8]
