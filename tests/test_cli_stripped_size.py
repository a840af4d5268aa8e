"""The stripped size: recorded at the end of training, equal to an independent measurement."""

import gzip
import logging
import os

import numpy as np
import pytest
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor, stripped_size
from tb_prune_plugin.cli import main
from tests import training


def _independent_sizes(model, directory, tfmot=True):
    """Strip (TF-MOT's strip_pruning), save as HDF5 without optimizer, gzip: as TF-MOT's guides."""
    if tfmot:
        import tensorflow_model_optimization as tfmot_module

        model = tfmot_module.sparsity.keras.strip_pruning(model)
    path = os.path.join(directory, "independent.h5")
    model.save(path, include_optimizer=False)
    with open(path, "rb") as f:
        data = f.read()
    return len(data), len(gzip.compress(data, compresslevel=6))


def test_recorded_stripped_size_equals_independent_strip_save_gzip(tfmot_poly_run, tmp_path):
    run = reader.load(tfmot_poly_run.logdir).runs[tfmot_poly_run.run]
    series = run.stripped_size
    assert series.steps.tolist() == [tfmot_poly_run.final_step]
    saved, gzipped = _independent_sizes(tfmot_poly_run.model, str(tmp_path))
    assert series.fields["saved_bytes"].tolist() == [saved]
    assert series.fields["gzip_bytes"].tolist() == [gzipped]
    # 75% of the kernels are zeros: the gzipped file is far smaller than the saved one.
    assert gzipped < 0.6 * saved


def test_summary_shows_the_recorded_stripped_size(tfmot_poly_run, capsys):
    assert main(["summary", tfmot_poly_run.logdir, "--format", "csv"]) == 0
    model_line = capsys.readouterr().out.splitlines()[-1]
    run = reader.load(tfmot_poly_run.logdir).runs[tfmot_poly_run.run]
    gzip_bytes = int(run.stripped_size.fields["gzip_bytes"][-1])
    assert model_line.startswith("%s,(model),%d," % (tfmot_poly_run.run, tfmot_poly_run.final_step))
    assert model_line.endswith(",%d" % gzip_bytes)


@pytest.mark.parametrize("flavour", ["tf_keras", "keras3"])
def test_manual_model_is_measured_as_it_is(tmp_path, flavour):
    """A model without TF-MOT wrappers is saved as it is (no TF-MOT import needed)."""
    if flavour == "keras3":
        import keras

        model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, name="fc")])
    else:
        model = tf_keras.Sequential([tf_keras.layers.Dense(8, input_shape=(16,), name="fc")])
    kernel = model.layers[0].kernel
    kernel.assign(np.where(np.arange(128).reshape(16, 8) % 4 == 0, kernel.numpy(), 0.0))
    assert not stripped_size.has_tfmot_wrappers(model)
    sizes = stripped_size.measure(model)
    saved, gzipped = _independent_sizes(model, str(tmp_path), tfmot=False)
    assert sizes == {"saved_bytes": saved, "gzip_bytes": gzipped}


class _Subclassed(tf_keras.Model):
    """A subclassed model: tf_keras cannot save it as HDF5."""

    def __init__(self):
        super().__init__()
        self.fc = tf_keras.layers.Dense(10, name="fc")

    def call(self, x):
        return self.fc(x)


def test_unsaveable_model_logs_once_and_training_goes_on(tmp_path, caplog):
    model = _Subclassed()
    model.build((None, 64))
    model.compile(
        optimizer=tf_keras.optimizers.Adam(0.01),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x, y = training.digits(200)
    log_dir = str(tmp_path / "subclassed")
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        history = model.fit(
            x, y, batch_size=100, epochs=2, verbose=0, callbacks=[PruningMonitor(log_dir)]
        )
    assert len(history.history["loss"]) == 2
    warnings = [r.getMessage() for r in caplog.records if "stripped model" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith(
        "PruningMonitor could not measure the stripped model's saved size at step 4 ("
    )
    run = reader.load(str(tmp_path)).runs["subclassed"]
    assert run.stripped_size.steps.tolist() == []
    assert run.weights["fc/kernel"].steps.tolist()[-1] == 4


def test_stripped_size_false_records_no_stripped_size(tmp_path):
    model = tf_keras.Sequential([tf_keras.layers.Dense(10, input_shape=(64,), name="fc")])
    model.compile(optimizer="sgd", loss="mse")
    x, y = training.digits(200)
    monitor = PruningMonitor(str(tmp_path / "off"), stripped_size=False)
    model.fit(x, np.eye(10)[y], batch_size=100, epochs=1, verbose=0, callbacks=[monitor])
    run = reader.load(str(tmp_path)).runs["off"]
    assert run.stripped_size.steps.tolist() == []
    assert run.weights["fc/kernel"].steps.tolist() == [0, 1, 2]
