"""Recording at real model sizes: ResNet-50, MobileNetV2 and a BERT-base-width encoder.

    python benchmarks/real_models.py --out real_models.json [--md real_models.md] [--quick]

Models (built offline, no download; random data from a fixed seed; every prunable layer
wrapped by TF-MOT's `prune_low_magnitude` with PolynomialDecay(0 -> 90%)):
- `tf_keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)`, batch 8;
- `MobileNetV2(alpha=1.0, input_shape=(96, 96, 3), weights=None, classes=10)`, batch 8;
- a BERT-base-width encoder: 4 blocks of MultiHeadAttention (12 heads) + Dense 3072 + Dense 768
  with LayerNorm, hidden 768, sequence 128, on generated embeddings, batch 2.
With --quick the sizes are tiny (MobileNetV2 alpha 0.35 at 32x32, a 1-block encoder of width
32, ResNet-50 left out): a smoke test whose figures mean nothing.

For each model, in one process:
(a) one record (`Measurer.measure()`, the monitor's own measurer; also with
    `masks_unchanged=True`, a promise that no mask changed since the previous record, and
    each of those without the histograms, as most records are) against
    the floor: one `tf.function` returning the sum of `reduce_sum` over every recorded weight
    and mask. The three take turns (alternating order) for `record_rounds` rounds; medians and
    spread. The
    existing MLP, CNN and Keras 3 manual runs of `overhead.py` are measured the same way.
(b) step time of `PruningMonitor` (default arguments, and `every_n_steps=1` when the default
    differs) against `UpdatePruningStep` alone: the variants share one model and take turns,
    one fit each per round in alternating order; per-round ratios, median and spread.
(c) bytes written per 1,000 steps: during the timed fits of each monitor variant, the run
    directory's size (plus the events the writer holds until its next flush) is read after
    every step (pairs of consecutive steps within one fit).
    Steps whose record carries a mask change (the schedule's own answer for the pruning step
    the training step ran with) and the other steps are averaged apart; per
    1,000 steps at TF-MOT's default frequency 100 is 10 x (bytes of a change step) + 990 x
    (bytes of another step).
(d) TensorBoard's memory: a `tensorboard --logdir` process on 127.0.0.1 over the
    `every_n_steps=1` run's directory (with the pruning plugin, `--load_fast=true`), once
    `/data/plugin/pruning/runs` lists the run and a sparsity series stopped growing: RSS of it
    and its children.

The machine may be shared while this runs: ratios come from interleaved rounds in one process.
"""

import argparse
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import checkout  # noqa: F401  (before tb_prune_plugin: this checkout's package)
import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import default_policy  # noqa: E402
import overhead  # noqa: E402  (the MLP, CNN and Keras 3 models, and its timing helpers)
import record_breakdown  # noqa: E402
import tb_server  # noqa: E402

FULL = {
    "quick": False,
    "models": ("resnet50", "mobilenet_v2", "bert_encoder"),
    "small": ("keras3_mlp", "tfmot_mlp", "tfmot_cnn"),
    "steps_per_fit": 10,
    "rounds": 3,
    "warmup_steps": 3,
    "skip": 2,
    "frequency": 4,
    "record_rounds": 9,
    "small_train_steps": 6,
    "bert": {"blocks": 4, "hidden": 768, "heads": 12, "mlp": 3072, "sequence": 128},
    "batch": {"resnet50": 8, "mobilenet_v2": 8, "bert_encoder": 2},
    "mobilenet": {"alpha": 1.0, "side": 96},
}
QUICK = dict(
    FULL,
    quick=True,
    models=("mobilenet_v2", "bert_encoder"),
    small=("keras3_mlp", "tfmot_mlp"),
    steps_per_fit=4,
    rounds=1,
    warmup_steps=2,
    skip=1,
    frequency=2,
    record_rounds=2,
    small_train_steps=2,
    bert={"blocks": 1, "hidden": 32, "heads": 2, "mlp": 64, "sequence": 16},
    batch={"resnet50": 2, "mobilenet_v2": 2, "bert_encoder": 2},
    mobilenet={"alpha": 0.35, "side": 32},
)
FINAL_SPARSITY = 0.9
TFMOT_DEFAULT_FREQUENCY = 100
PREFIX = "/data/plugin/pruning"


# Models -------------------------------------------------------------------------------------


def _bert_encoder(cfg):
    import tf_keras

    layers = tf_keras.layers
    inputs = tf_keras.Input((cfg["sequence"], cfg["hidden"]), name="embeddings")
    x = inputs
    for b in range(cfg["blocks"]):
        attention = layers.MultiHeadAttention(
            cfg["heads"], cfg["hidden"] // cfg["heads"], name="block%d_attention" % b
        )(x, x)
        x = layers.LayerNormalization(name="block%d_norm1" % b)(
            layers.Add(name="block%d_residual1" % b)([x, attention])
        )
        h = layers.Dense(cfg["mlp"], activation="gelu", name="block%d_mlp_in" % b)(x)
        h = layers.Dense(cfg["hidden"], name="block%d_mlp_out" % b)(h)
        x = layers.LayerNormalization(name="block%d_norm2" % b)(
            layers.Add(name="block%d_residual2" % b)([x, h])
        )
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    outputs = layers.Dense(10, name="logits")(x)
    return tf_keras.Model(inputs, outputs, name="bert_encoder")


def _base_model(name, config):
    import tf_keras

    if name == "resnet50":
        return tf_keras.applications.ResNet50(
            weights=None, input_shape=(64, 64, 3), classes=10, classifier_activation=None
        )
    if name == "mobilenet_v2":
        m = config["mobilenet"]
        return tf_keras.applications.MobileNetV2(
            alpha=m["alpha"],
            input_shape=(m["side"], m["side"], 3),
            weights=None,
            classes=10,
            classifier_activation=None,
        )
    return _bert_encoder(config["bert"])


def _input_shape(name, config):
    if name == "resnet50":
        return (64, 64, 3)
    if name == "mobilenet_v2":
        side = config["mobilenet"]["side"]
        return (side, side, 3)
    return (config["bert"]["sequence"], config["bert"]["hidden"])


def _monitor_default_every_n():
    from tb_prune_plugin.callbacks import PruningMonitor

    return inspect.signature(PruningMonitor).parameters["every_n_steps"].default


def _variant_names():
    names = ["update_pruning_step", "monitor_default"]
    if _monitor_default_every_n() != 1:
        names.append("monitor_every_1")
    return names


def _total_steps(config):
    per_variant = config["warmup_steps"] + config["steps_per_fit"] * config["rounds"]
    return len(_variant_names()) * per_variant


def _pruned_model(name, config, frequency=None, end_step=None):
    """The model wrapped whole by prune_low_magnitude, compiled; (model, build seconds).

    The schedule prunes every `frequency` steps (config's by default) up to `end_step` (the
    run's last step by default)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    start = time.monotonic()
    tf_keras.utils.set_random_seed(0)
    sparsity = tfmot.sparsity.keras
    schedule = sparsity.PolynomialDecay(
        0.0,
        FINAL_SPARSITY,
        begin_step=0,
        end_step=_total_steps(config) if end_step is None else end_step,
        frequency=config["frequency"] if frequency is None else frequency,
    )
    model = sparsity.prune_low_magnitude(_base_model(name, config), pruning_schedule=schedule)
    model.compile(
        optimizer=tf_keras.optimizers.Adam(1e-4),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model, time.monotonic() - start


# (a) one record against the floor ----------------------------------------------------------


def _floor_fn(measurer):
    """A tf.function reading every weight and mask `measurer` records once (the floor)."""
    import tensorflow as tf

    from tb_prune_plugin.callbacks import measure

    tensors = []
    for w in measurer.weights:
        tensors.append(w.variable)
        if w.mask_variable is not None:
            tensors.append(w.mask_variable)

    @tf.function(autograph=False)
    def read_pass():
        return tf.add_n(
            [tf.reduce_sum(tf.cast(measure._as_tensor(t), tf.float32)) for t in tensors]
        )

    return read_pass, tensors


def record_against_floor(measurer, rounds):
    """Interleaved rounds of one `measure()` and one read pass; medians, spread, per-round ratio."""
    from tb_prune_plugin.callbacks import measure

    read_pass, tensors = _floor_fn(measurer)
    read_pass().numpy()
    measurer.measure()
    calls = {
        "record": measurer.measure,
        "record_masks_unchanged": lambda: measurer.measure(masks_unchanged=True),
        "floor": lambda: read_pass().numpy(),
    }
    if "histograms" in inspect.signature(measurer.measure).parameters:
        # The records that carry no histograms (`histogram_every_n_steps`): most of them.
        calls["record_without_histograms"] = lambda: measurer.measure(histograms=False)
        calls["record_masks_unchanged_without_histograms"] = lambda: measurer.measure(
            masks_unchanged=True, histograms=False
        )
    times = {key: [] for key in calls}
    order = list(calls)
    for r in range(rounds):
        for key in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            calls[key]()
            times[key].append((time.perf_counter() - start) * 1e3)

    def ratio(key):
        return overhead._summary([a / b for a, b in zip(times[key], times["floor"])])

    without = {}
    for key in ("record_without_histograms", "record_masks_unchanged_without_histograms"):
        if key in times:
            without[key + "_ms"] = overhead._summary(times[key])
            without["ratio" + key[len("record") :]] = ratio(key)
    return {
        **without,
        "record_ms": overhead._summary(times["record"]),
        "record_masks_unchanged_ms": overhead._summary(times["record_masks_unchanged"]),
        "floor_ms": overhead._summary(times["floor"]),
        "ratio": ratio("record"),
        "ratio_masks_unchanged": ratio("record_masks_unchanged"),
        "recorded_weights": len(measurer.weights),
        "recorded_values": int(sum(w.size for w in measurer.weights)),
        "floor_bytes": int(sum(int(np.prod(t.shape)) * measure.itemsize(t) for t in tensors)),
        # Where the time goes: each part of a record against the floor, in rounds of their own.
        "breakdown": record_breakdown.breakdown(measurer, lambda: read_pass().numpy(), rounds),
    }


# (b) and (c): interleaved fits, bytes per step -------------------------------------------------


def _dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


TFRECORD_FRAMING = 16  # bytes around each event in a TFRecord file: length, 2 CRCs


def _byte_tracker(run_dir, model, monitor):
    """A callback (after the monitor) keeping (step, bytes written, pruned) after every batch.

    Bytes written are the run directory's size plus the events the monitor's writer holds
    until its next flush (it flushes every few seconds), each with its TFRecord framing.
    `pruned` says whether the schedule pruned in that training step (TF-MOT's own test, on
    the pruning step the step ran with), so whether the record carries a mask change.
    """
    import tf_keras

    from tb_prune_plugin.callbacks import discovery

    wrapper = discovery.find_prunable_weights(model)[0].wrapper

    class ByteTracker(tf_keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.points = []

        def on_train_batch_end(self, batch, logs=None):
            step = int(model.optimizer.iterations.numpy())
            pruned = bool(wrapper.pruning_schedule(wrapper.pruning_step)[0].numpy())
            pending = getattr(monitor._writer, "_events", None) or []
            held = sum(len(e) + TFRECORD_FRAMING for e in pending)
            self.points.append((step, _dir_bytes(run_dir) + held, pruned))

    return ByteTracker()


def _bytes_per_1000_steps(points):
    """Bytes per step apart for mask-change steps and others; extrapolated per 1,000 steps."""
    change, other = [], []
    for (previous, before, _), (step, after, pruned) in zip(points, points[1:]):
        if step != previous + 1:  # another variant's fits, or this one's fit boundaries, between
            continue
        (change if pruned else other).append(after - before)
    if not change or not other:
        return None
    per_change, per_other = float(np.mean(change)), float(np.mean(other))
    changes = 1000 // TFMOT_DEFAULT_FREQUENCY
    return {
        "bytes_per_change_step": per_change,
        "bytes_per_other_step": per_other,
        "change_steps": len(change),
        "other_steps": len(other),
        "per_1000_steps_at_frequency_100": changes * per_change + (1000 - changes) * per_other,
        "per_1000_steps_every_step_changing": 1000 * per_change,
    }


def fit_rounds(model, name, config, logdir):
    """(b) and (c) for one model; returns the results and the every-step run's directory."""
    import tensorflow_model_optimization as tfmot

    from tb_prune_plugin.callbacks import PruningMonitor

    sparsity = tfmot.sparsity.keras
    batch = config["batch"][name]
    rng = np.random.default_rng(0)
    n = batch * config["steps_per_fit"]
    x = rng.random((n,) + _input_shape(name, config), dtype=np.float32)
    y = rng.integers(0, 10, n).astype("int64")
    update = sparsity.UpdatePruningStep()
    variants, trackers, dirs = {"update_pruning_step": [update]}, {}, {}
    for v in _variant_names()[1:]:
        dirs[v] = os.path.join(logdir, name, v)
        monitor = PruningMonitor(dirs[v]) if v == "monitor_default" else None
        monitor = monitor or PruningMonitor(dirs[v], every_n_steps=1)
        trackers[v] = _byte_tracker(dirs[v], model, monitor)
        variants[v] = [update, monitor, trackers[v]]
    w = config["warmup_steps"] * batch
    for callbacks in variants.values():  # tracing, the first record, the event file
        overhead._fit(model, (x[:w], y[:w]), callbacks, config["warmup_steps"], 1)
    for tracker in trackers.values():
        tracker.points = []
    wall = {v: [] for v in variants}
    order = list(variants)
    for r in range(config["rounds"]):
        for v in order if r % 2 == 0 else order[::-1]:
            timer = overhead._fit(model, (x, y), variants[v], config["steps_per_fit"], 1)
            wall[v].append(overhead._per_step(timer, config["skip"])[0] * 1e3)
    ref = "update_pruning_step"
    result = {
        "per_step_ms": {v: overhead._summary(wall[v]) for v in variants},
        "ratio": {
            v: overhead._summary([a / b for a, b in zip(wall[v], wall[ref])])
            for v in variants
            if v != ref
        },
        "bytes": {v: _bytes_per_1000_steps(t.points) for v, t in trackers.items()},
        "bytes_points": {v: t.points for v, t in trackers.items()},
    }
    every_1 = "monitor_every_1" if "monitor_every_1" in variants else "monitor_default"
    monitor = variants[every_1][1]
    for callbacks in variants.values():
        for c in callbacks:
            writer = getattr(c, "_writer", None)
            if writer is not None and hasattr(writer, "close"):
                writer.close()
    return result, dirs[every_1], monitor._measurer


# (d) TensorBoard's memory ---------------------------------------------------------------------


def _get_json(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def tensorboard_memory(run_dir, timeout=300):
    """RSS (MiB) of TensorBoard over the run's parent directory once it served the run."""
    parent, run = os.path.split(run_dir.rstrip(os.sep))
    flags = ["--load_fast=true", "--reload_interval", "0"]
    start = time.monotonic()
    with tb_server.TensorBoardProcess(parent, flags=flags) as tb:
        last, counts = None, []
        while time.monotonic() - start < timeout:
            try:
                runs = _get_json(tb.url + PREFIX + "/runs")
                listed = run in json.dumps(runs)
                tags = _get_json(tb.url + "/data/plugin/scalars/tags").get(run, {})
                tag = next((t for t in sorted(tags) if t.endswith("/sparsity")), None)
                if listed and tag:
                    query = urllib.parse.urlencode({"run": run, "tag": tag})
                    points = len(_get_json(tb.url + "/data/plugin/scalars/scalars?" + query))
                    counts.append(points)
                    if last == points and points > 0:
                        break
                    last = points
            except OSError:
                pass
            time.sleep(1.0)
        else:
            raise RuntimeError("TensorBoard did not serve %s in %d s" % (run, timeout))
        memory = tb.memory()
    return {
        "rss_mib": memory["rss_mib"],
        "peak_rss_mib": memory["peak_rss_mib"],
        "processes": [p["name"] for p in memory["processes"]],
        "log_dir_bytes": _dir_bytes(run_dir),
        "sparsity_points": counts[-1] if counts else 0,
        "seconds_to_load": time.monotonic() - start,
    }


# The small models of overhead.py: (a) only --------------------------------------------------------


def small_models(config, logdir, names):
    """(a) for overhead.py's MLP, CNN and Keras 3 manual run (its full sizes unless quick)."""
    from tb_prune_plugin.callbacks import PruningMonitor

    small = dict(overhead.QUICK if config["quick"] else overhead.FULL)
    steps = config["small_train_steps"]
    small["steps_per_fit"], small["epochs_per_fit"] = steps, 1
    out = {}
    if "keras3_mlp" in names:  # first: importing TF-MOT switches tf.keras to tf_keras
        pruning, target = overhead._manual_pruning(small)
        monitor = PruningMonitor(os.path.join(logdir, "keras3_mlp"), target_sparsity=target)
        model = overhead._keras3_model(small)
        overhead._fit(model, overhead._data(small, False), [pruning, monitor], steps, 1)
        out["keras3_mlp"] = record_against_floor(monitor._measurer, config["record_rounds"])
    for kind in ("mlp", "cnn"):
        if "tfmot_" + kind not in names:
            continue
        make_model, sparsity = overhead._tfmot_model(small, kind)
        monitor = PruningMonitor(os.path.join(logdir, "tfmot_" + kind))
        model = make_model()
        data = overhead._data(small, kind == "cnn")
        overhead._fit(model, data, [sparsity.UpdatePruningStep(), monitor], steps, 1)
        out["tfmot_" + kind] = record_against_floor(monitor._measurer, config["record_rounds"])
    return out


def run(config, logdir, log=print):
    """Measures every model; returns a JSON-ready dict."""
    started = time.monotonic()
    results = {
        "config": json.loads(json.dumps(config)),
        "monitor_default_every_n_steps": _monitor_default_every_n(),
        "load_start": os.getloadavg()[0],
        "models": {},
    }
    log("small models: %s" % ", ".join(config["small"]))
    results["small_models"] = small_models(config, logdir, config["small"])
    for name in config["models"]:
        log("%s: building (%.0f s so far)" % (name, time.monotonic() - started))
        model, build_seconds = _pruned_model(name, config)
        log("%s: fits" % name)
        result, run_dir, measurer = fit_rounds(model, name, config, logdir)
        result["build_seconds"] = build_seconds
        result["batch"] = config["batch"][name]
        result["prunable_weights"] = len(measurer.weights)
        log("%s: one record against the floor" % name)
        result["record"] = record_against_floor(measurer, config["record_rounds"])
        log("%s: TensorBoard" % name)
        result["tensorboard"] = tensorboard_memory(run_dir)
        results["models"][name] = result
        del model, measurer
        log("%s: the default policy at TF-MOT's frequency 100" % name)
        result["default_policy"] = default_policy.measure(name, config, logdir, config["quick"])
    results["load_end"] = os.getloadavg()[0]
    results["seconds"] = time.monotonic() - started
    return results


# Markdown ---------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--md", help="also write the Markdown section here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--logdir", help="where the runs go (default: a temporary directory)")
    parser.add_argument("--models", help="comma-separated subset of the models to run")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.models:
        chosen = [m for m in args.models.split(",") if m]
        known = FULL["models"] + FULL["small"]
        unknown = sorted(set(chosen) - set(known))
        if unknown or not chosen:
            parser.error("--models: unknown %r; choose from %s" % (unknown, ", ".join(known)))
        config = dict(config)
        config["models"] = tuple(m for m in FULL["models"] if m in chosen)
        config["small"] = tuple(m for m in FULL["small"] if m in chosen)
    logdir = args.logdir or tempfile.mkdtemp(prefix="tb_prune_real_")
    try:
        results = run(config, logdir, log=lambda s: print(s, file=sys.stderr, flush=True))
    finally:
        if args.logdir is None:
            shutil.rmtree(logdir, ignore_errors=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    if args.md:
        import report  # the section's text is in benchmarks/templates/real_models.md
        import report_issue10

        with open(args.md, "w") as f:
            f.write(report.real_models_section(results) + "\n")
            parts = report_issue10.record_parts_section(results)
            f.write("\n" + parts + "\n" if parts else "")


if __name__ == "__main__":
    sys.exit(main())
