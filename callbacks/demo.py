"""The demo: trains a few small pruning runs on scikit-learn's digits, then serves TensorBoard.

    tb-prune-demo --logdir runs/            # train, then `tensorboard --logdir runs/`
    tb-prune-demo --logdir runs/ --no-serve # train only

Runs (each a directory under --logdir, all recorded with PruningMonitor):
- tfmot_poly_90: TF-MOT PolynomialDecay 0 -> 90% on an MLP 64-128-64-10;
- tfmot_const_70: TF-MOT ConstantSparsity 70% on the same MLP;
- tfmot_2of4: TF-MOT 2:4 structured sparsity;
- tfmot_cnn_60: TF-MOT PolynomialDecay to 60% on a small CNN (Conv2D kernels);
- manual_keras3_80: Keras 3, the user's own magnitude pruning to 80% every 10 steps;
- dense_baseline: Keras 3, no pruning (the accuracy to compare against);
- scan_dense_baseline: `sensitivity_scan` of the trained dense_baseline: each weight alone
  pruned to each of a few sparsities, the validation loss and accuracy measured.
The data set ships inside scikit-learn; nothing is downloaded.
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np

EPOCHS = 6
BATCH = 64


def _monitor(logdir, name, **kwargs):
    """The demo's monitor: every step, since its models are so small that the default
    (records within 2% of the training time) would leave few points between mask changes."""
    from tb_prune_plugin.callbacks import PruningMonitor

    return PruningMonitor(os.path.join(logdir, name), every_n_steps=1, **kwargs)


def _data():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order].astype("int64")
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def _mlp(keras, prune=None):
    layers = [
        keras.layers.Dense(128, activation="relu", name="fc1"),
        keras.layers.Dense(64, activation="relu", name="fc2"),
        keras.layers.Dense(10, name="logits"),
    ]
    model = keras.Sequential([keras.Input((64,))] + [prune(la) if prune else la for la in layers])
    return model


def _compile(keras, model):
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def _tfmot_runs(logdir, train, val, steps):
    import tensorflow_model_optimization as tfmot
    import tf_keras

    sparsity = tfmot.sparsity.keras
    end = int(steps * 0.7)

    def fit(name, model, x, vx):
        _compile(tf_keras, model)
        model.fit(
            x,
            train[1],
            batch_size=BATCH,
            epochs=EPOCHS,
            validation_data=(vx, val[1]),
            verbose=0,
            callbacks=[sparsity.UpdatePruningStep(), _monitor(logdir, name)],
        )

    poly = sparsity.PolynomialDecay(0.0, 0.9, begin_step=10, end_step=end, frequency=10)
    fit(
        "tfmot_poly_90",
        _mlp(tf_keras, lambda la: sparsity.prune_low_magnitude(la, pruning_schedule=poly)),
        train[0],
        val[0],
    )
    const = sparsity.ConstantSparsity(0.7, begin_step=20, frequency=20)
    fit(
        "tfmot_const_70",
        _mlp(tf_keras, lambda la: sparsity.prune_low_magnitude(la, pruning_schedule=const)),
        train[0],
        val[0],
    )
    fit(
        "tfmot_2of4",
        _mlp(
            tf_keras,
            lambda la: sparsity.prune_low_magnitude(
                la, pruning_schedule=sparsity.ConstantSparsity(0.5, 0), sparsity_m_by_n=(2, 4)
            ),
        ),
        train[0],
        val[0],
    )
    cnn_schedule = sparsity.PolynomialDecay(0.0, 0.6, begin_step=10, end_step=end, frequency=10)
    cnn = _tfmot_cnn(tf_keras, sparsity, cnn_schedule)
    fit("tfmot_cnn_60", cnn, train[0].reshape(-1, 8, 8, 1), val[0].reshape(-1, 8, 8, 1))


def _tfmot_cnn(tf_keras, sparsity, schedule):
    """Two pruned Conv2D layers and a pruned Dense on 8x8 images, all on `schedule`."""
    return tf_keras.Sequential(
        [
            tf_keras.Input((8, 8, 1)),
            sparsity.prune_low_magnitude(
                tf_keras.layers.Conv2D(16, 3, activation="relu", name="conv1"),
                pruning_schedule=schedule,
            ),
            sparsity.prune_low_magnitude(
                tf_keras.layers.Conv2D(32, 3, activation="relu", name="conv2"),
                pruning_schedule=schedule,
            ),
            tf_keras.layers.Flatten(name="flatten"),
            sparsity.prune_low_magnitude(
                tf_keras.layers.Dense(10, name="logits"), pruning_schedule=schedule
            ),
        ]
    )


def _keras3_runs(logdir, train, val):
    import keras

    class MagnitudePruning(keras.callbacks.Callback):
        """The user's own pruning: every 10 steps, recompute a magnitude mask for a target that
        ramps up to `target`; after every step, re-apply it (zero the pruned weights)."""

        def __init__(self, target, ramp_steps):
            super().__init__()
            self.target, self.ramp_steps, self.step, self.masks = target, ramp_steps, 0, {}

        def level(self, step):
            """The sparsity the masks in force at `step` were computed for: the ramp's value at
            the last multiple of 10 (0 before the first mask). The monitor's target follows it,
            so the chart's target is the ramp this pruner applies, not its end value."""
            return self.target * min(1.0, (step // 10 * 10) / self.ramp_steps)

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            kernels = [
                la.kernel for la in self.model.layers if getattr(la, "kernel", None) is not None
            ]
            for kernel in kernels:
                w = np.asarray(kernel.numpy())
                if self.step % 10 == 0:
                    self.masks[kernel.path] = np.abs(w) > np.quantile(
                        np.abs(w), self.level(self.step)
                    )
                mask = self.masks.get(kernel.path)
                if mask is not None:
                    kernel.assign(np.where(mask, w, 0.0).astype(w.dtype))

    steps = EPOCHS * int(np.ceil(len(train[0]) / BATCH))
    for name, target in (("manual_keras3_80", 0.8), ("dense_baseline", None)):
        model = _mlp(keras)
        _compile(keras, model)
        if target:
            # The monitor's step is optimizer.iterations, the pruner's count of batches done.
            pruner = MagnitudePruning(target, ramp_steps=int(steps * 0.7))
            monitor = _monitor(logdir, name, target_sparsity=pruner.level)
            callbacks = [pruner, monitor]
        else:
            # No target at all: the baseline is dense, not pruned towards 0%.
            callbacks = [_monitor(logdir, name)]
        model.fit(
            train[0],
            train[1],
            batch_size=BATCH,
            epochs=EPOCHS,
            validation_data=val,
            verbose=0,
            callbacks=callbacks,
        )
    _scan(logdir, model, val)  # the dense baseline, trained


def _scan(logdir, model, val):
    """The sensitivity scan of the trained `model` (the dense baseline), at a few levels."""
    from tb_prune_plugin.callbacks import sensitivity_scan

    sparsities = (0.0, 0.25, 0.5, 0.75, 0.9, 0.95)
    sensitivity_scan(model, val, os.path.join(logdir, "scan_dense_baseline"), sparsities)


def train_demo_runs(logdir):
    """Trains every demo run into `logdir` (one subdirectory per run)."""
    train, val = _data()
    steps = EPOCHS * int(np.ceil(len(train[0]) / BATCH))
    _keras3_runs(logdir, train, val)  # Keras 3 first: importing TF-MOT switches tf.keras
    _tfmot_runs(logdir, train, val, steps)


def main(argv=None):
    """Entry point of `tb-prune-demo`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs", help="where to write the runs (default: runs)")
    parser.add_argument("--port", type=int, default=6006, help="TensorBoard's port (default 6006)")
    parser.add_argument(
        "--no-serve", action="store_true", help="train only, do not start TensorBoard"
    )
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401  (the demo's data sets ship inside scikit-learn)
    except ImportError:
        parser.exit(
            2,
            "tb-prune-demo needs scikit-learn, whose bundled data sets it trains on. Install the "
            "demo's extra: pip install 'tb_prune_plugin[demo]' (from a clone: pip install "
            "'.[demo]').\n",
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.time()
    print("Training the demo pruning runs into %s ..." % args.logdir, flush=True)
    train_demo_runs(args.logdir)
    print("Trained in %.0f s." % (time.time() - start), flush=True)
    if args.no_serve:
        return 0
    print("Open http://127.0.0.1:%d/#pruning (Ctrl+C stops TensorBoard)" % args.port, flush=True)
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        args.logdir,
        "--host",
        "127.0.0.1",
        "--port",
        str(args.port),
    ]
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
