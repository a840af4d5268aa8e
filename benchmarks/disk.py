"""Figure 2: bytes on disk, measured on the files a real training writes.

    python benchmarks/disk.py --out disk.json [--quick] [--masks-from RUN_DIR ...]

- A TF-MOT run of 10,000 steps (a small MLP 784-128-64-10, about 109k weights, so that it
  trains in about a minute; PolynomialDecay 0 -> 90% over the first 7,000 steps, frequency
  100) with `PruningMonitor(every_n_steps=1)`: the size of its log directory, and of a
  recorded step without a mask change, split by record kind.
- The references for such a step, written by TensorFlow's own summary writer: the same
  figures as ordinary TensorBoard scalars (one `tf.summary.scalar` per figure, as a user
  logging them would), with and without a `tf.summary.histogram` of |w|; and the step's Time
  Series scalars alone (the 3 per weight and the global sparsity the monitor also writes).
- Mask records in bits per weight: masks of a 1,048,576-weight kernel by kind
  (`record_bytes.codec_bits_per_weight`), every mask of the 10,000-step run, and the masks of
  the other runs given with --masks-from (the overhead benchmark's 1.9M-weight MLP).
"""

import argparse
import glob
import json
import os
import shutil
import sys
import tempfile
import time

import checkout  # noqa: F401  (before tb_prune_plugin: this checkout's package)
import numpy as np
import record_bytes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FULL = {"steps": 10_000, "batch": 32, "steps_per_epoch": 100, "frequency": 100, "hidden": (128, 64)}
QUICK = {"steps": 200, "batch": 16, "steps_per_epoch": 50, "frequency": 20, "hidden": (16, 8)}
FINAL_SPARSITY = 0.9
PRUNING_END_FRACTION = 0.7
REFERENCE_STEPS = 50


def train(config, run_dir):
    """The TF-MOT run with the monitor; returns (seconds, trainable weights, pruned weights)."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    from tb_prune_plugin.callbacks import PruningMonitor

    sparsity = tfmot.sparsity.keras
    schedule = sparsity.PolynomialDecay(
        0.0,
        FINAL_SPARSITY,
        begin_step=0,
        end_step=int(config["steps"] * PRUNING_END_FRACTION),
        frequency=config["frequency"],
    )
    tf_keras.utils.set_random_seed(0)
    h1, h2 = config["hidden"]

    def prune(layer):
        return sparsity.prune_low_magnitude(layer, pruning_schedule=schedule)

    model = tf_keras.Sequential(
        [
            tf_keras.Input((784,)),
            prune(tf_keras.layers.Dense(h1, activation="relu", name="fc1")),
            prune(tf_keras.layers.Dense(h2, activation="relu", name="fc2")),
            prune(tf_keras.layers.Dense(10, name="logits")),
        ]
    )
    model.compile(
        optimizer=tf_keras.optimizers.Adam(1e-3),
        loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    n = config["batch"] * config["steps_per_epoch"]
    x = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    start = time.monotonic()
    model.fit(
        x,
        y,
        batch_size=config["batch"],
        epochs=config["steps"] // config["steps_per_epoch"],
        verbose=0,
        callbacks=[sparsity.UpdatePruningStep(), PruningMonitor(run_dir, every_n_steps=1)],
    )
    seconds = time.monotonic() - start
    pruned = sum(int(np.prod(layer.layer.kernel.shape)) for layer in model.layers)
    return seconds, int(sum(int(np.prod(w.shape)) for w in model.trainable_weights)), pruned


def _varint_size(n):
    size = 1
    while n >= 0x80:
        n >>= 7
        size += 1
    return size


def _kind(tag):
    if tag.startswith("pruning/metrics/"):
        return "metric"
    for suffix in ("weight_stats", "weight_histogram", "mask", "model_stats", "run_config"):
        if tag.endswith("/" + suffix):
            return suffix
    return "time_series_scalar"  # sparsity, target_sparsity, threshold, global_sparsity


def _events(run_dir):
    from tensorboard.backend.event_processing import event_file_loader

    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        yield from event_file_loader.LegacyEventFileLoader(path).Load()


def step_breakdown(run_dir):
    """Median bytes of a recorded step without a mask change, in total and by record kind.

    A value's share is its serialized size plus its field header in the Summary; the
    rest (Event wall time and step, TFRecord framing) is reported as `event_framing`.
    """
    totals, by_kind, weights = [], {}, set()
    for event in _events(run_dir):
        values = event.summary.value
        tags = [v.tag for v in values]
        if not any(t.endswith("/weight_stats") for t in tags):
            continue
        if any(t.endswith("/mask") for t in tags) or any(v.HasField("metadata") for v in values):
            continue
        weights.update(t for t in tags if t.endswith("/weight_stats"))
        total = len(event.SerializeToString()) + record_bytes.FRAMING
        totals.append(total)
        kinds = {}
        for v in values:
            size = len(v.SerializeToString())
            kinds[_kind(v.tag)] = kinds.get(_kind(v.tag), 0) + 1 + _varint_size(size) + size
        kinds["event_framing"] = total - sum(kinds.values())
        for kind, size in kinds.items():
            by_kind.setdefault(kind, []).append(size)
    return {
        "steps": len(totals),
        "bytes": float(np.median(totals)) if totals else None,
        "by_kind": {k: float(np.median(v)) for k, v in sorted(by_kind.items())},
        "weights": len(weights),
    }


def time_series_scalars_only(run_dir):
    """Median bytes of the step's ordinary scalars alone, as one event (framing included)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    sizes = []
    for event in _events(run_dir):
        values = [v for v in event.summary.value if _kind(v.tag) == "time_series_scalar"]
        if not values or any(v.HasField("metadata") for v in values):
            continue
        alone = event_pb2.Event(
            step=event.step, wall_time=event.wall_time, summary=summary_pb2.Summary(value=values)
        )
        sizes.append(len(alone.SerializeToString()) + record_bytes.FRAMING)
    return float(np.median(sizes)) if sizes else None


def tensorflow_scalars_reference(weight_paths, histogram, steps=REFERENCE_STEPS):
    """Bytes per step of the same figures written with tf.summary (TensorFlow's writer).

    Per weight every weight_stats field as a `tf.summary.scalar`, per model every
    model_stats field, the two batch metrics; with `histogram`, also a
    `tf.summary.histogram` (30 buckets) of the kept |w| per weight.
    """
    import tensorflow as tf

    from tb_prune_plugin import metadata

    rng = np.random.default_rng(0)
    values = np.abs(rng.normal(size=1000)).astype(np.float32)
    logdir = tempfile.mkdtemp(prefix="tb_prune_reference_")
    try:
        writer = tf.summary.create_file_writer(logdir, max_queue=1000)

        def write(step):
            with writer.as_default(step=step):
                for w in weight_paths:
                    for field in metadata.WEIGHT_STATS_FIELDS:
                        tf.summary.scalar("pruning/%s/%s" % (w, field), float(rng.random()))
                    if histogram:
                        tf.summary.histogram("pruning/%s/abs_weights" % w, values, buckets=30)
                for field in metadata.MODEL_STATS_FIELDS:
                    tf.summary.scalar("pruning/model/%s" % field, float(rng.random()))
                for name in ("accuracy", "loss"):
                    tf.summary.scalar("batch_%s" % name, float(rng.random()))

        write(1000)  # the first step: file header and anything written once
        writer.flush()
        (path,) = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
        first = os.path.getsize(path)
        for step in range(1001, 1001 + steps):
            write(step)
        writer.close()
        return (os.path.getsize(path) - first) / steps
    finally:
        shutil.rmtree(logdir, ignore_errors=True)


def mask_records(run_dir):
    """Every mask record of a run: weight, step, size, sparsity and bits per weight."""
    from tb_prune_plugin import mask_codec

    out = []
    for event in _events(run_dir):
        for v in event.summary.value:
            if not v.tag.endswith("/mask"):
                continue
            shape, _, kept = mask_codec.parse_header(v.tensor.string_val[0])
            size = int(np.prod(shape))
            out.append(
                {
                    "weight": v.tag[len("pruning/") : -len("/mask")],
                    "step": int(event.step),
                    "size": size,
                    "sparsity": 1 - kept / size if size else None,
                    "bits_per_weight": 8 * len(v.SerializeToString()) / size if size else None,
                    "payload_bits_per_weight": 8 * len(v.tensor.string_val[1]) / size
                    if size
                    else None,
                }
            )
    return out


def directory_bytes(path):
    """{relative file: bytes} of every file under `path`."""
    sizes = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            sizes[os.path.relpath(full, path)] = os.path.getsize(full)
    return sizes


def run(config, workdir, masks_from=()):
    run_dir = os.path.join(workdir, "mlp_10k")
    seconds, trainable, pruned = train(config, run_dir)
    files = directory_bytes(run_dir)
    breakdown = step_breakdown(run_dir)
    weights = sorted({r["weight"] for r in mask_records(run_dir)})
    return {
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
        "run": {
            "model": "TF-MOT MLP 784-%d-%d-10" % tuple(config["hidden"]),
            "trainable_weights": trainable,
            "pruned_weights": pruned,
            "steps": config["steps"],
            "training_seconds": seconds,
            "logdir_bytes": sum(files.values()),
            "files": files,
        },
        "step_without_mask_change": breakdown,
        "references": {
            "tf_summary_scalars": tensorflow_scalars_reference(weights, histogram=False),
            "tf_summary_scalars_and_histograms": tensorflow_scalars_reference(
                weights, histogram=True
            ),
            "time_series_scalars_alone": time_series_scalars_only(run_dir),
        },
        "masks": {
            "codec_1m_weights": record_bytes.codec_bits_per_weight(),
            "run_10k": mask_records(run_dir),
            "other_runs": {d: mask_records(d) for d in masks_from},
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument(
        "--masks-from", nargs="*", default=(), help="run directories whose masks to measure too"
    )
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="tb_prune_disk_")
    start = time.monotonic()
    try:
        results = run(QUICK if args.quick else FULL, workdir, args.masks_from)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = time.monotonic() - start
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
