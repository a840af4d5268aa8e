"""Figure 1: what recording costs in training wall time, against the same training without it.

    python benchmarks/overhead.py --out overhead.json [--quick] [--groups G1,G2] [--rounds N]

Trainings (random data from a fixed seed; inputs 28x28, 10 classes):
- TF-MOT (tf_keras): an MLP 784-1024-1024-10 (about 1.9M weights) and a small CNN, every
  layer wrapped by `prune_low_magnitude` with PolynomialDecay(0 -> 90%, frequency 100)
  over the measured steps. Variants: `UpdatePruningStep` only (the reference); plus
  `PruningMonitor(every_n_steps=1)`; plus `every_n_steps=10`; plus TF-MOT's own
  `PruningSummaries` instead of the monitor.
- Keras 3: the same MLP pruned by hand: a callback recomputes a magnitude mask every 100
  steps (target ramping to 90%) and re-applies it on the device after every step. Variants:
  that callback only (the reference), plus the monitor every step, every 10 steps.

Each variant has its own model (same seed, same data, same schedule). After a warm-up fit
(tracing, first record, event file creation), the variants take turns: one fit each per round,
in alternating order, so that load from other processes on the machine falls on all of them.
A fit's time per step is the mean interval between consecutive batch ends, leaving out its
first few steps (a fit's start-up, which a long training pays once). Ratios are taken within a
round and the median over rounds is reported, with the spread.

After the timed rounds, one more fit of each monitor variant runs with timers around the
monitor's parts (its batch hook, the measuring graph, copying masks to the host and comparing
them, building records, encoding masks, writing), which says what the cost is made of.
"""

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import time

import checkout  # noqa: F401  (before tb_prune_plugin: this checkout's package)
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FULL = {
    "batch": 64,
    "steps_per_fit": 100,  # two epochs of 50 steps: epoch hooks are inside the timing
    "epochs_per_fit": 2,
    "rounds": 7,
    "warmup_steps": 20,
    "skip": 5,
    "profile_steps": 100,
    "mlp": (1024, 1024),
    "cnn": (32, 64, 128),
    "frequency": 100,
}
QUICK = {
    "batch": 16,
    "steps_per_fit": 6,
    "epochs_per_fit": 2,
    "rounds": 1,
    "warmup_steps": 2,
    "skip": 2,
    "profile_steps": 8,
    "mlp": (32, 32),
    "cnn": (4, 8, 16),
    "frequency": 4,
}
FINAL_SPARSITY = 0.9


def _data(config, images):
    rng = np.random.default_rng(0)
    n = config["batch"] * config["steps_per_fit"] // config["epochs_per_fit"]
    shape = (n, 28, 28, 1) if images else (n, 784)
    return rng.random(shape, dtype=np.float32), rng.integers(0, 10, n).astype("int64")


def _total_steps(config, n_variants):
    """Optimizer steps of one model: warm-ups, the timed rounds and two profiling fits."""
    per_variant = config["warmup_steps"] + config["steps_per_fit"] * config["rounds"]
    return n_variants * per_variant + 2 * config["steps_per_fit"]


def _timer():
    """A callback keeping batch-end timestamps (wall and process CPU); it goes last."""
    import tf_keras  # a tf_keras Callback runs in both Kerases' fit

    class Timer(tf_keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall, self.cpu = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.wall.append(time.perf_counter())
            self.cpu.append(time.process_time())

    return Timer()


def _per_step(timer, skip):
    wall = np.diff(np.asarray(timer.wall))[skip:]
    cpu = np.diff(np.asarray(timer.cpu))[skip:]
    return float(wall.mean()), float(cpu.mean())


# Models -------------------------------------------------------------------------------------

TFMOT_VARIANTS = 5
KERAS3_VARIANTS = 4


def _tfmot_model(config, kind):
    """(make_model, tfmot.sparsity.keras) for kind "mlp" or "cnn", every layer wrapped."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    sparsity = tfmot.sparsity.keras
    end = _total_steps(config, TFMOT_VARIANTS)

    def prune(layer):
        schedule = sparsity.PolynomialDecay(
            0.0, FINAL_SPARSITY, begin_step=0, end_step=end, frequency=config["frequency"]
        )
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)

    def make_model():
        tf_keras.utils.set_random_seed(0)
        if kind == "mlp":
            h1, h2 = config["mlp"]
            layers = [
                tf_keras.Input((784,)),
                prune(tf_keras.layers.Dense(h1, activation="relu", name="fc1")),
                prune(tf_keras.layers.Dense(h2, activation="relu", name="fc2")),
                prune(tf_keras.layers.Dense(10, name="logits")),
            ]
        else:
            c1, c2, d = config["cnn"]
            layers = [
                tf_keras.Input((28, 28, 1)),
                prune(tf_keras.layers.Conv2D(c1, 3, activation="relu", name="conv1")),
                tf_keras.layers.MaxPooling2D(name="pool1"),
                prune(tf_keras.layers.Conv2D(c2, 3, activation="relu", name="conv2")),
                tf_keras.layers.MaxPooling2D(name="pool2"),
                tf_keras.layers.Flatten(name="flatten"),
                prune(tf_keras.layers.Dense(d, activation="relu", name="fc")),
                prune(tf_keras.layers.Dense(10, name="logits")),
            ]
        model = tf_keras.Sequential(layers, name=kind)
        model.compile(
            optimizer=tf_keras.optimizers.Adam(1e-3),
            loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return model

    return make_model, sparsity


def _tfmot_variants(sparsity, logdir, group):
    """{variant: callback list}; the reference is UpdatePruningStep alone."""
    from tb_prune_plugin.callbacks import PruningMonitor

    def run_dir(name):
        return os.path.join(logdir, group, name)

    return {
        "update_pruning_step": [sparsity.UpdatePruningStep()],
        "monitor_default": [
            sparsity.UpdatePruningStep(),
            PruningMonitor(run_dir("monitor_default")),
        ],
        "monitor_every_1": [
            sparsity.UpdatePruningStep(),
            PruningMonitor(run_dir("monitor_every_1"), every_n_steps=1),
        ],
        "monitor_every_10": [
            sparsity.UpdatePruningStep(),
            PruningMonitor(run_dir("monitor_every_10"), every_n_steps=10),
        ],
        "pruning_summaries": [
            sparsity.UpdatePruningStep(),
            sparsity.PruningSummaries(log_dir=run_dir("pruning_summaries")),
        ],
    }


def _keras3_model(config):
    import keras

    keras.utils.set_random_seed(0)
    h1, h2 = config["mlp"]
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(h1, activation="relu", name="fc1"),
            keras.layers.Dense(h2, activation="relu", name="fc2"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="mlp_keras3",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _polynomial_target(step, end):
    """TF-MOT's PolynomialDecay from 0 to FINAL_SPARSITY (power 3) over [0, end]."""
    progress = min(max(step / end, 0.0), 1.0)
    return FINAL_SPARSITY * (1.0 - (1.0 - progress) ** 3)


def _manual_pruning(config):
    """The user's own magnitude pruning in Keras 3, on the device as a careful user writes it."""
    import keras
    import tensorflow as tf

    end = _total_steps(config, KERAS3_VARIANTS)
    frequency = config["frequency"]

    class ManualMagnitudePruning(keras.callbacks.Callback):
        """Every `frequency` steps a magnitude mask at the target; after every step w *= mask."""

        def on_train_begin(self, logs=None):
            if getattr(self, "_kernels", None) is not None:
                return
            self._kernels = [layer.kernel for layer in self.model.layers]
            self._masks = [
                tf.Variable(tf.ones(k.shape, k.dtype), trainable=False) for k in self._kernels
            ]

            @tf.function(autograph=False)
            def apply():
                for kernel, mask in zip(self._kernels, self._masks):
                    kernel.assign(kernel.value * mask)

            @tf.function(autograph=False)
            def update(target):
                for kernel, mask in zip(self._kernels, self._masks):
                    magnitude = tf.abs(kernel.value)
                    flat = tf.reshape(magnitude, [-1])
                    n = tf.size(flat)
                    pruned = tf.cast(tf.round(tf.cast(n, tf.float32) * target), tf.int32)
                    kept = tf.math.top_k(flat, tf.maximum(n - pruned, 1), sorted=False).values
                    mask.assign(tf.cast(magnitude >= tf.reduce_min(kept), mask.dtype))

            self._apply, self._update = apply, update

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            if step % frequency == 0:
                self._update(tf.constant(_polynomial_target(step, end), tf.float32))
            self._apply()

    return ManualMagnitudePruning(), functools.partial(_polynomial_target, end=end)


def _keras3_variants(config, logdir, group):
    """{variant: callback list}; the reference is the manual pruning callback alone."""
    from tb_prune_plugin.callbacks import PruningMonitor

    pruning, target = _manual_pruning(config)  # one: it holds the model's masks

    def run_dir(name):
        return os.path.join(logdir, group, name)

    return {
        "manual_pruning": [pruning],
        "monitor_default": [
            pruning,
            PruningMonitor(run_dir("monitor_default"), target_sparsity=target),
        ],
        "monitor_every_1": [
            pruning,
            PruningMonitor(run_dir("monitor_every_1"), every_n_steps=1, target_sparsity=target),
        ],
        "monitor_every_10": [
            pruning,
            PruningMonitor(run_dir("monitor_every_10"), every_n_steps=10, target_sparsity=target),
        ],
    }


# Measuring ----------------------------------------------------------------------------------


def _fit(model, data, callbacks, steps, epochs):
    x, y = data
    timer = _timer()
    batch = len(x) * epochs // steps
    model.fit(
        x,
        y,
        batch_size=batch,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=list(callbacks) + [timer],
    )
    return timer


def measure_group(model, variants, data, config, reference):
    """Interleaved timing of `variants` ({name: callback list}) taking turns on one model.

    The variants share the model (so the same traced training step) and continue its
    training: every fit of `steps_per_fit` steps meets the schedule's pruning frequency
    once. Returns per-round wall and CPU ms per step, and per-round ratios to `reference`.
    """
    epochs = config["epochs_per_fit"]
    n = config["batch"] * config["warmup_steps"]
    warmup = (np.resize(data[0], (n,) + data[0].shape[1:]), np.resize(data[1], n))
    for callbacks in variants.values():  # warm-up: tracing, the first record, the event file
        _fit(model, warmup, callbacks, config["warmup_steps"], 1)
    wall = {v: [] for v in variants}
    cpu = {v: [] for v in variants}
    order = list(variants)
    for r in range(config["rounds"]):
        for v in order if r % 2 == 0 else order[::-1]:
            timer = _fit(model, data, variants[v], config["steps_per_fit"], epochs)
            w, c = _per_step(timer, config["skip"])
            wall[v].append(w * 1e3)
            cpu[v].append(c * 1e3)
    others = [v for v in variants if v != reference]
    return {
        "reference": reference,
        "per_step_ms": {v: _summary(wall[v]) for v in variants},
        "cpu_per_step_ms": {v: _summary(cpu[v]) for v in variants},
        "ratio": {v: _summary([a / b for a, b in zip(wall[v], wall[reference])]) for v in others},
        "cpu_ratio": {v: _summary([a / b for a, b in zip(cpu[v], cpu[reference])]) for v in others},
        "per_round_ms": wall,
    }


class _Stopwatch:
    """Time spent in wrapped callables, counted only inside the wrapped hook."""

    def __init__(self):
        self.seconds = {}
        self.calls = {}
        self._inside = False

    def _add(self, key, seconds):
        self.seconds[key] = self.seconds.get(key, 0.0) + seconds
        self.calls[key] = self.calls.get(key, 0) + 1

    def wrap(self, owner, attribute, key, hook=False):
        """Replaces `owner.attribute` by a timed version; returns the original."""
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if not (hook or self._inside):
                return original(*args, **kwargs)
            self._inside = True
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._add(key, time.perf_counter() - start)
                if hook:
                    self._inside = False

        setattr(owner, attribute, timed)
        return original


HOOK = "on_train_batch_end: everything the monitor does per step"
GRAPH = "measuring graph (tf.function over all weights)"
MEASURE = "Measurer.measure"
PARTS = (
    ("_current_step", "read optimizer.iterations"),
    ("array_equal", "compare each mask with the previous one (NumPy, host)"),
    ("weight_stats", "build weight_stats records"),
    ("weight_histogram", "build histogram records"),
    ("scalar", "build Time Series scalar records"),
    ("mask", "encode changed masks (packbits + zlib)"),
    ("metric", "build batch metric records"),
    ("write", "event writer: GuardedWriter.write (serialize, TFRecord append, flush)"),
)


def profile_monitor(model, callbacks, data, config):
    """One more fit with timers around the monitor's parts: ms per training step by part.

    Only time spent inside the monitor's `on_train_batch_end` counts (epoch-end metrics and
    the once-per-fit work at train begin and end are left out).
    """
    from tb_prune_plugin import summary
    from tb_prune_plugin.callbacks import PruningMonitor

    monitor = next(c for c in callbacks if isinstance(c, PruningMonitor))
    watch = _Stopwatch()
    measurer, writer = monitor._measurer, monitor._writer
    owners = {
        "_current_step": monitor,
        "array_equal": np,
        "write": writer,
        "weight_stats": summary,
        "weight_histogram": summary,
        "scalar": summary,
        "mask": summary,
        "metric": summary,
    }
    restore = [
        (monitor, "on_train_batch_end", watch.wrap(monitor, "on_train_batch_end", HOOK, True)),
        (measurer, "measure", watch.wrap(measurer, "measure", MEASURE)),
        (measurer, "_call", watch.wrap(measurer, "_call", GRAPH)),
    ]
    for attribute, key in PARTS:
        owner = owners[attribute]
        restore.append((owner, attribute, watch.wrap(owner, attribute, key)))
    try:
        timer = _fit(model, data, callbacks, config["steps_per_fit"], config["epochs_per_fit"])
    finally:
        for owner, attribute, original in reversed(restore):
            setattr(owner, attribute, original)
    steps = len(timer.wall)
    ms = {k: v * 1e3 / steps for k, v in watch.seconds.items()}
    parts = {GRAPH: ms.get(GRAPH, 0.0)}
    parts["copy figures and masks to the host (.numpy())"] = ms.get(MEASURE, 0.0) - parts[GRAPH]
    for _, key in PARTS:
        parts[key] = ms.get(key, 0.0)
    parts["the rest (Python in the monitor)"] = ms.get(HOOK, 0.0) - sum(parts.values())
    wall, _ = _per_step(timer, 0)
    return {
        "steps": steps,
        "records": watch.calls.get(MEASURE, 0),
        "hook_ms_per_step": ms.get(HOOK, 0.0),
        "parts_ms_per_step": parts,
        "step_ms_with_monitor": wall * 1e3,
    }


def _summary(values):
    values = sorted(values)
    return {
        "median": float(np.median(values)),
        "min": float(values[0]),
        "max": float(values[-1]),
        "n": len(values),
    }


def _weights_of(model):
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def one_pass_floor(callbacks, repeats=30):
    """Median ms of one tf.function that reads every recorded weight (and mask) once.

    No exact per-step statistic of the weights can cost less than this pass: it is the floor
    under the measuring graph.
    """
    import tensorflow as tf

    from tb_prune_plugin.callbacks import PruningMonitor, measure

    monitor = next(c for c in callbacks if isinstance(c, PruningMonitor))
    tensors = []
    for w in monitor._weights:
        tensors.append(w.variable)
        if w.mask_variable is not None:
            tensors.append(w.mask_variable)

    @tf.function(autograph=False)
    def one_pass():
        return [tf.reduce_sum(tf.cast(measure._as_tensor(t), tf.float32)) for t in tensors]

    one_pass()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [t.numpy() for t in one_pass()]
        times.append((time.perf_counter() - start) * 1e3)
    return float(np.median(times))


def _group(model, variants, data, config, reference):
    result = measure_group(model, variants, data, config, reference)
    result["trainable_weights"] = _weights_of(model)
    result["profile"] = {
        v: profile_monitor(model, variants[v], data, config)
        for v in ("monitor_default", "monitor_every_1", "monitor_every_10")
        if v in variants
    }
    result["one_pass_floor_ms"] = one_pass_floor(variants["monitor_every_1"])
    for callbacks in variants.values():
        for c in callbacks:
            writer = getattr(c, "_writer", None)
            if writer is not None and hasattr(writer, "close"):
                writer.close()
    return result


GROUPS = ("keras3_mlp", "tfmot_mlp", "tfmot_cnn")


def run(config, logdir, groups_to_run=GROUPS):
    """Measures every group (or those named); returns a JSON-ready dict."""
    results = {"config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}}
    groups = {}
    # Keras 3 first: importing TF-MOT switches tf.keras to tf_keras for the process.
    if "keras3_mlp" in groups_to_run:
        variants = _keras3_variants(config, logdir, "keras3_mlp")
        groups["keras3_mlp"] = _group(
            _keras3_model(config), variants, _data(config, False), config, "manual_pruning"
        )
    for name in ("mlp", "cnn"):
        if "tfmot_" + name not in groups_to_run:
            continue
        make_model, sparsity = _tfmot_model(config, name)
        variants = _tfmot_variants(sparsity, logdir, "tfmot_" + name)
        groups["tfmot_" + name] = _group(
            make_model(), variants, _data(config, name == "cnn"), config, "update_pruning_step"
        )
    results["groups"] = groups
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--logdir", help="where the runs go (default: a temporary directory)")
    parser.add_argument(
        "--groups",
        default=",".join(GROUPS),
        help="comma-separated groups to run, of %s (default: all)" % ", ".join(GROUPS),
    )
    parser.add_argument("--rounds", type=int, help="timed rounds (default: 7, quick: 1)")
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    groups = [g for g in args.groups.split(",") if g]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown or not groups:
        parser.error("--groups: unknown group(s) %r; choose from %s" % (unknown, ", ".join(GROUPS)))
    if args.rounds is not None:
        if args.rounds < 1:
            parser.error("--rounds must be at least 1, got %d" % args.rounds)
        config["rounds"] = args.rounds
    logdir = args.logdir or tempfile.mkdtemp(prefix="tb_prune_overhead_")
    own = args.logdir is None
    start = time.monotonic()
    try:
        results = run(config, logdir, groups)
    finally:
        if own:
            shutil.rmtree(logdir, ignore_errors=True)
    results["seconds"] = time.monotonic() - start
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
