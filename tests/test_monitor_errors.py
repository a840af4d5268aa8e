"""Bad input gets a clear error; failures while training never stop it."""

import logging
import os
import subprocess
import uuid

import numpy as np
import pytest
import tensorflow_model_optimization as tfmot
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor
from tests import training


def _small_model():
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(16, input_shape=(64,), name="hidden"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"every_n_steps": 0}, ValueError, "every_n_steps must be a positive integer, got 0"),
        ({"every_n_steps": 2.5}, ValueError, "every_n_steps must be a positive integer, got 2.5"),
        ({"histogram_bins": 0}, ValueError, "histogram_bins must be an integer from 1 to 1000"),
        ({"layers": "hidden"}, TypeError, "layers must be a list of layer names, got 'hidden'"),
        ({"masks": [1]}, TypeError, "masks must be a dict of weight path -> mask variable"),
    ],
)
def test_arguments_invalid_raise_at_construction(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        PruningMonitor(str(tmp_path), **kwargs)


def test_log_dir_not_a_path_raises():
    with pytest.raises(TypeError, match=r"log_dir must be a non-empty path, got None"):
        PruningMonitor(None)


def test_log_dir_unwritable_raises_at_train_begin(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    bad = str(blocker / "run")
    x, y = training.digits(100)
    with pytest.raises(ValueError, match="PruningMonitor cannot create log_dir '%s'" % bad):
        _small_model().fit(x, y, epochs=1, verbose=0, callbacks=[PruningMonitor(bad)])


def test_layers_unknown_raise_with_known_names(tmp_path):
    x, y = training.digits(100)
    with pytest.raises(ValueError) as info:
        _small_model().fit(
            x, y, verbose=0, callbacks=[PruningMonitor(str(tmp_path), layers=["hiden"])]
        )
    assert "['hiden']" in str(info.value)
    assert "Layers with prunable weights: ['hidden', 'logits']" in str(info.value)


def test_masks_unknown_weight_raises(tmp_path):
    x, y = training.digits(100)
    with pytest.raises(ValueError, match=r"masks names weights \['dense/kernel'\]"):
        _small_model().fit(
            x, y, verbose=0, callbacks=[PruningMonitor(str(tmp_path), masks={"dense/kernel": 1})]
        )


def test_no_prunable_weights_warns_and_trains(tmp_path):
    model = tf_keras.Sequential(
        [tf_keras.layers.BatchNormalization(input_shape=(4,), name="bn")], name="only_bn"
    )
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    with pytest.warns(UserWarning, match="model 'only_bn' has no prunable weights"):
        history = model.fit(
            x, x, batch_size=32, verbose=0, callbacks=[PruningMonitor(str(tmp_path / "bn"))]
        )
    assert len(history.history["loss"]) == 1
    run = reader.load(str(tmp_path)).runs["bn"]
    assert run.weights == {}
    assert run.metrics["epoch"]["loss"].steps.tolist() == [2]


def test_tfmot_without_update_pruning_step_says_so(tmp_path):
    model = training.dense_tfmot_model(tfmot.sparsity.keras.ConstantSparsity(0.5, 0))
    x, y = training.digits(100)
    with pytest.raises(ValueError, match="trained without the UpdatePruningStep callback"):
        model.fit(x, y, verbose=0, callbacks=[PruningMonitor(str(tmp_path))])


@pytest.fixture
def tiny_disk(tmp_path):
    """A 32 KiB tmpfs: a real file system that runs out of space."""
    mount_point = tmp_path / ("disk-%s" % uuid.uuid4().hex[:6])
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root): %s" % done.stderr.strip())
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_disk_full_warns_once_keeps_training_and_resumes(tiny_disk, caplog):
    filler = tiny_disk / "filler"
    filler.write_bytes(b"x" * 20000)

    class FreeSpace(tf_keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 6:
                os.remove(filler)

    model = _small_model()
    monitor = PruningMonitor(str(tiny_disk / "run"), every_n_steps=1, histogram_every_n_steps=1)
    x, y = training.digits(1000)
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        history = model.fit(x, y, batch_size=100, verbose=0, callbacks=[monitor, FreeSpace()])
    assert len(history.history["loss"]) == 1  # training finished
    warnings = [r for r in caplog.records if r.name == "tb_prune_plugin"]
    assert len(warnings) == 1
    assert "No space left on device" in warnings[0].getMessage()
    assert monitor._writer.failures >= 1 and monitor._writer.dropped_steps == 0
    run = reader.load(str(tiny_disk)).runs["run"]
    # Every step is on disk: the failed ones were written again once space was freed.
    assert run.weights["hidden/kernel"].steps.tolist() == list(range(11))
