"""Tiny real trainings made to raise each kind of alert (tests/test_alerts.py says what each run
does and which alert it raises; tests/test_alerts_e2e.py shows two of them in the browser).

Each is a tf_keras model on scikit-learn's digits in batches of `BATCH`, recorded every step by
PruningMonitor (stripped size off).
"""

import os

import numpy as np
import tf_keras

from tests import training

BATCH = 50
DROP_STEPS_PER_EPOCH = 8
DROP_STEP = 3 * DROP_STEPS_PER_EPOCH + 1  # the first step of the fourth epoch


def _monitor(logdir, name, **kwargs):
    from tb_prune_plugin.callbacks import PruningMonitor

    return PruningMonitor(
        os.path.join(logdir, name), every_n_steps=1, stripped_size=False, **kwargs
    )


def _dense(*units, seed=0):
    """A tf_keras MLP on the 64 digit pixels: Dense layers named by `units` ((name, n) pairs)."""
    tf_keras.utils.set_random_seed(seed)
    layers = [
        tf_keras.layers.Dense(n, activation="relu" if i < len(units) - 1 else None, name=name)
        for i, (name, n) in enumerate(units)
    ]
    model = tf_keras.Sequential([tf_keras.Input((64,))] + layers)
    training.compile_classifier(model)
    return model


class _Zeroing(tf_keras.callbacks.Callback):
    """At every batch end from step `start` on, `zero(model)` (before the monitor records)."""

    def __init__(self, start, zero):
        super().__init__()
        self.start, self.zero = start, zero

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) >= self.start:
            self.zero(self.model)


def _assign(layer, change):
    value = layer.kernel.numpy()
    change(value)
    layer.kernel.assign(value)


def train_collapse(logdir):
    model = _dense(("hidden", 16), ("mid", 12), ("logits", 10))

    def units(m):
        _assign(m.get_layer("hidden"), lambda v: v.__setitem__((slice(None), [3, 7]), 0.0))

    def whole(m):
        _assign(m.get_layer("mid"), lambda v: v.fill(0.0))

    x, y = training.digits(6 * BATCH)
    callbacks = [_Zeroing(2, units), _Zeroing(4, whole), _monitor(logdir, "collapse")]
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)


def train_behind(logdir):
    model = _dense(("fc", 10))
    x, y = training.digits(6 * BATCH)
    target = _monitor(logdir, "behind", target_sparsity=lambda step: 0.5 if step >= 2 else 0.0)
    callbacks = [training.MagnitudePruner(0.2, every=1), target]
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)


def train_regrowth(logdir):
    import tensorflow as tf
    import tensorflow_model_optimization as tfmot

    class DownAndUp(tfmot.sparsity.keras.PruningSchedule):
        """Prunes to 80% at step 1, then to 20% at step 3: the mask takes back weights."""

        def __call__(self, step):
            should_prune = tf.logical_or(tf.equal(step, 1), tf.equal(step, 3))
            return should_prune, tf.where(step >= 3, 0.2, 0.8)

        def get_config(self):
            return {"class_name": "DownAndUp", "config": {}}

    tf_keras.utils.set_random_seed(0)
    model = tf_keras.Sequential(
        [
            tf_keras.Input((64,)),
            tfmot.sparsity.keras.prune_low_magnitude(
                tf_keras.layers.Dense(10, name="fc"), pruning_schedule=DownAndUp()
            ),
        ]
    )
    training.compile_classifier(model)
    x, y = training.digits(5 * BATCH)
    callbacks = [tfmot.sparsity.keras.UpdatePruningStep(), _monitor(logdir, "regrowth")]
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)


def train_nonfinite(logdir):
    model = _dense(("fc", 10))

    def nan(m):
        _assign(m.get_layer("fc"), lambda v: v.__setitem__((5, 0), np.nan))

    x, y = training.digits(4 * BATCH)
    callbacks = [training.AtStep(4, nan), _monitor(logdir, "nonfinite")]
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=callbacks)


class _KeepLargestPerUnit(tf_keras.callbacks.Callback):
    """From step `start` on, keeps only the largest |w| of each unit (column) of the kernel
    chosen at `start`: no unit collapses, the kernel is 63/64 pruned."""

    def __init__(self, start):
        super().__init__()
        self.start, self.mask = start, None

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) < self.start:
            return
        kernel = self.model.get_layer("fc").kernel
        value = kernel.numpy()
        if self.mask is None:
            self.mask = np.zeros(value.shape, bool)
            self.mask[np.argmax(np.abs(value), axis=0), np.arange(value.shape[1])] = True
        kernel.assign(np.where(self.mask, value, 0.0))


def train_drop(logdir):
    model = _dense(("fc", 10))
    n = DROP_STEPS_PER_EPOCH * BATCH
    x, y = training.digits(n + 400)
    history = model.fit(
        x[:n],
        y[:n],
        batch_size=BATCH,
        epochs=4,
        verbose=0,
        validation_data=(x[n:], y[n:]),
        callbacks=[_KeepLargestPerUnit(DROP_STEP), _monitor(logdir, "drop")],
    )
    return history.history
