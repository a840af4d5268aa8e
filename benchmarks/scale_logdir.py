"""The log directory of a ResNet-50-size run over 100,000 steps, written without training.

    python benchmarks/scale_logdir.py OUT_DIR [--steps 100000]

What `PruningMonitor()` (default arguments) writes for
`tf_keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)` wrapped
whole by TF-MOT's `prune_low_magnitude` with `PolynomialDecay(0, 0.9, begin_step=0,
end_step=steps, frequency=100)`: 54 kernels (53 Conv2D and the Dense head), 23,475,392
prunable weights. The records are built with the real writers (`tb_prune_plugin.summary`),
masks encoded exactly as `callbacks/records.py` (`StepRecords.mask_value`) encodes them
(`MaskDeltaEncoder`: format version 2, a keyframe and up to 9 deltas per chain), and written
with TensorBoard's own event writer, metadata on the first value of each tag only.

Which steps are recorded is decided by the monitor's own rules, run on the step numbers:
- step 0 (before the first step) and step 1 (the fit's first batch end);
- every step at which TF-MOT may set a mask (`(p - begin) % frequency == 0`; the optimizer
  step equals the pruning step in an ordinary training), whether or not a mask changed;
- every epoch end (an epoch every `STEPS_PER_EPOCH` = 1,000 steps) and the last step;
- between them, the multiples of the interval the default policy (`RecordingPolicy`, the
  class the monitor uses) reaches when a step of training takes `step_seconds` and one
  record `record_seconds`. The defaults are this machine's ResNet-50 figures
  (/work/shared/NOTES.md: about 250 ms a step at batch 8, about 105 ms a `Measurer.measure()`),
  for which the 2% budget gives an interval of 50 (`c / (0.02 t - m c)` = 27, rounded up
  the ladder 1, 2, 5, 10, 20, 50).

Masks evolve as magnitude pruning does: each weight has fixed random values; its pruning
order is by |w| (a fixed random permutation), and the mask at a pruning step keeps the
`max(round(size * (1 - sparsity)), 1)` largest (TF-MOT's count, in float32), so masks only
shrink. Statistics (threshold, mean, std, min, max, l1, l2, the 30-bin |w| histogram) are
exact for those values, computed once per weight from sorted prefix sums.
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import time

try:
    import checkout  # noqa: F401  (as a script, before tb_prune_plugin: this checkout's package)
except ImportError:  # imported as `benchmarks.scale_logdir` (the tests)
    pass
import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tb_prune_plugin import metadata, summary
from tb_prune_plugin.callbacks import mask_delta, policy

FINAL_SPARSITY = 0.9
FREQUENCY = 100
STEPS_PER_EPOCH = 1000
STEP_SECONDS = 0.25
RECORD_SECONDS = 0.105
IDLE_SECONDS = 2e-5  # a hook call that does not record (reads no variable)
BINS = 30
WALL_TIME = 1_700_000_000.0
RUN_NAME = "resnet50"


def resnet50_kernels():
    """`[(path, shape)]` of the 54 kernels TF-MOT prunes in ResNet-50 (10 classes, 64x64).

    Built offline (`weights=None`); paths as the monitor names them (`conv1_conv/kernel`).
    """
    import tf_keras

    model = tf_keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    kernels = [
        ("%s/kernel" % layer.name, tuple(int(d) for d in layer.kernel.shape))
        for layer in model.layers
        if isinstance(layer, (tf_keras.layers.Conv2D, tf_keras.layers.Dense))
    ]
    return kernels, int(model.count_params())


def schedule_values(steps, at, frequency=FREQUENCY, final_sparsity=FINAL_SPARSITY):
    """{step: (should_prune, target sparsity as float32)} at the steps `at` of TF-MOT's
    PolynomialDecay(0 -> final, begin 0, end `steps`, power 3, `frequency`), asked of TF-MOT's
    own schedule (as the monitor's measuring graph asks it at each record)."""
    import tensorflow as tf
    from tensorflow_model_optimization.sparsity import keras as sparsity

    schedule = sparsity.PolynomialDecay(0.0, final_sparsity, 0, steps, frequency=frequency)
    values = {}
    # One call per step, as the monitor makes: a call on a vector of steps can differ in the
    # last bit of float32 (another kernel for pow).
    for step in sorted(set(at)):
        should_prune, target = schedule(tf.constant(step, tf.int64))
        values[int(step)] = (bool(should_prune), np.float32(target.numpy()))
    return values


def kept_count(size, sparsity):
    """TF-MOT's kept count: `max(round(float32(size) * (1 - sparsity)), 1)`, in float32."""
    kept = np.float32(size) * (np.float32(1) - np.float32(sparsity))
    return int(max(np.round(np.float32(kept)), 1))


def recorded_steps(steps, interval=None, step_seconds=STEP_SECONDS, record_seconds=RECORD_SECONDS):
    """`(steps recorded, forced steps, final interval)` of `PruningMonitor()` over `steps`.

    With `interval` None, the real `RecordingPolicy` adapts it on a simulated clock (each
    training step `step_seconds`, each record `record_seconds`); else it is fixed.
    """
    clock = [0.0]
    rule = policy.RecordingPolicy(every_n_steps=interval, clock=lambda: clock[0])
    rule.start_fit()
    recorded, forced = [0], {0}
    last = 0
    for step in range(1, steps + 1):
        clock[0] += step_seconds
        is_forced = (
            step == 1 or step % FREQUENCY == 0 or step % STEPS_PER_EPOCH == 0 or step == steps
        )
        due = is_forced or rule.due(last, step)
        seconds = record_seconds if due else IDLE_SECONDS
        clock[0] += seconds
        if due:
            recorded.append(step)
            if is_forced:
                forced.add(step)
        rule.spent(seconds, step, due, forced=is_forced)
        last = step
        if step % STEPS_PER_EPOCH == 0:
            # on_epoch_end: the step is recorded already; it writes the epoch metrics.
            clock[0] += IDLE_SECONDS
            rule.spent(IDLE_SECONDS, step, False, forced=True)
    return recorded, forced, rule.interval


@dataclasses.dataclass
class _Kernel:
    """One pruned kernel: its pruning order (by |w|), its statistics per pruned count, and
    its mask as the records go."""

    path: str
    shape: tuple
    order: np.ndarray  # flat indices, smallest |w| first (pruned first)
    hi: float  # the largest |w| (never pruned)
    kept: dict  # pruning step -> kept count
    stats: dict  # pruned count -> (weight_stats vector without per-step fields, histogram)
    pruned: int = 0
    mask: np.ndarray = None
    mask_steps: list = dataclasses.field(default_factory=list)

    @property
    def size(self):
        return int(self.order.size)

    def values_at(self, step, target, should_prune, encoder):
        """The kernel's records at recorded step `step` (its mask first set for `step`);
        `target` and `should_prune` are the schedule's at `step`."""
        newly = 0
        if self.mask is None:
            self.mask = np.ones(self.shape, dtype=bool)
        elif step in self.kept and self.size - self.kept[step] != self.pruned:
            now = self.size - self.kept[step]
            self.mask = self.mask.copy()  # the encoder keeps the previous mask: never modified
            self.mask.reshape(-1)[self.order[self.pruned : now]] = False
            newly, self.pruned = now - self.pruned, now
        vector, counts = self.stats[self.pruned]
        vector = vector.copy()
        changed = step == 0 or newly > 0
        for name, value in (
            ("target_sparsity", target),
            ("should_prune", 1.0 if should_prune else 0.0),
            ("newly_pruned", newly if step else math.nan),
            ("regrown", 0.0 if step else math.nan),
            ("mask_changed", 1.0 if changed else 0.0),
        ):
            vector[_FIELD[name]] = value
        values = [
            summary.weight_stats_from_vector(self.path, vector),
            summary.weight_histogram(self.path, 0.0, self.hi, counts),
        ]
        if changed:
            mask_value = encoder.record(self.path, self.mask, step, keyframe=step == 0)
            values += [mask_value, summary.mask_header(self.path, mask_value)]
            self.mask_steps.append(step)
        values.extend(
            _scalars(
                self.path,
                sparsity=vector[_FIELD["sparsity"]],
                target_sparsity=target,
                threshold=vector[_FIELD["threshold"]],
            )
        )
        return values


_FIELD = {name: i for i, name in enumerate(metadata.WEIGHT_STATS_FIELDS)}


def _kernel(path, shape, kept, rng):
    """A kernel of random values (He-like scale) with its statistics at each count `kept`
    (pruning step -> kept count) and at none pruned."""
    size = int(np.prod(shape))
    fan_in = int(np.prod(shape[:-1]))
    values = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=size).astype(np.float32)
    order = np.argsort(np.abs(values), kind="stable").astype(np.int32)
    signed = values[order].astype(np.float64)
    del values
    mags = np.abs(signed)
    zero = np.zeros(1)
    cum_abs = np.concatenate([zero, np.cumsum(mags)])
    cum_sq = np.concatenate([zero, np.cumsum(mags * mags)])
    cum = np.concatenate([zero, np.cumsum(signed)])
    suffix_min = np.minimum.accumulate(signed[::-1])[::-1]
    suffix_max = np.maximum.accumulate(signed[::-1])[::-1]
    hi = float(mags[-1])
    edges = np.linspace(0.0, hi, BINS + 1)
    bounds = np.searchsorted(mags, edges[:-1], side="left")
    stats = {}
    for pruned in sorted({0} | {size - k for k in kept.values()}):
        count = size - pruned
        l1 = cum_abs[-1] - cum_abs[pruned]
        sq = cum_sq[-1] - cum_sq[pruned]
        mean = (cum[-1] - cum[pruned]) / size
        lo_v, hi_v = suffix_min[pruned], suffix_max[pruned]
        if pruned:
            lo_v, hi_v = min(lo_v, 0.0), max(hi_v, 0.0)
        vector = np.full(len(metadata.WEIGHT_STATS_FIELDS), math.nan)
        for name, value in (
            ("size", size),
            ("nonzeros", count),
            ("sparsity", 1.0 - count / size),
            ("threshold", mags[pruned]),
            ("mean", mean),
            ("std", math.sqrt(max(sq / size - mean * mean, 0.0))),
            ("min", lo_v),
            ("max", hi_v),
            ("l1", l1),
            ("l2", math.sqrt(sq)),
            ("kept_mean_abs", l1 / count),
            ("pruned_units_fraction", 0.0),
            ("pruned_inputs_fraction", 0.0),
            ("nonfinite", 0.0),
        ):
            vector[_FIELD[name]] = value
        starts = np.maximum(bounds, pruned)
        counts = np.diff(np.concatenate([starts, [size]]))
        stats[pruned] = (vector, counts)
    return _Kernel(path, tuple(shape), order, hi, kept, stats)


class _EventWriter:
    """TensorBoard's event writer; summary metadata on the first value of each tag only."""

    def __init__(self, run_dir):
        os.makedirs(run_dir, exist_ok=True)
        self._writer = EventFileWriter(run_dir, max_queue_size=100, flush_secs=3600)
        self._seen = set()

    def add(self, step, values):
        for value in values:
            if value.tag in self._seen:
                value.ClearField("metadata")
            self._seen.add(value.tag)
        self._writer.add_event(
            event_pb2.Event(
                step=int(step),
                wall_time=WALL_TIME + step * STEP_SECONDS,
                summary=summary_pb2.Summary(value=values),
            )
        )

    def close(self):
        self._writer.close()


def _run_config(kernels, model_size, steps, frequency):
    schedule = {
        "class": "PolynomialDecay",
        "config": {
            "initial_sparsity": 0.0,
            "final_sparsity": FINAL_SPARSITY,
            "power": 3,
            "begin_step": 0,
            "end_step": steps,
            "frequency": frequency,
        },
    }
    return {
        "format_version": metadata.FORMAT_VERSION,
        "model_name": "resnet50",
        "method": "tfmot",
        "every_n_steps": None,
        "overhead_budget": policy.DEFAULT_OVERHEAD_BUDGET,
        "weights": [
            {
                "path": k.path,
                "layer": k.path.rsplit("/", 1)[0],
                "shape": list(k.shape),
                "size": k.size,
                "method": "tfmot",
                "block_size": None,
                "block_pooling_type": None,
                "sparsity_m_by_n": None,
                "schedule": schedule,
            }
            for k in kernels
        ],
        "parameters": {
            "model_size": model_size,
            "prunable_size": sum(k.size for k in kernels),
        },
        "start_step": 0,
    }


@dataclasses.dataclass
class GeneratedRun:
    """What `write_run` wrote: the run directory, its recorded steps and each kernel's
    (pruning step -> kept count) and pruning order, to check a read against."""

    run_dir: str
    steps: list
    mask_steps: dict  # path -> steps with a mask record
    kept: dict  # path -> {pruning step: kept count}
    orders: dict  # path -> pruning order
    interval: int
    seconds: float


def expected_mask(order, shape, kept):
    """The mask keeping the last `kept` weights of `order` (the largest |w|)."""
    flat = np.zeros(order.size, dtype=bool)
    flat[order[order.size - kept :]] = True
    return flat.reshape(shape)


def write_run(run_dir, kernels, steps, *, model_size=None, interval=None, seed=0, log=None):
    """Writes the run of `kernels` (`[(path, shape)]`) over `steps` steps into `run_dir`.

    Returns a `GeneratedRun`. `interval`: the ordinary records' interval (None: the default
    policy's, see `recorded_steps`).
    """
    began = time.perf_counter()
    record_steps, _, final_interval = recorded_steps(steps, interval)
    pruning_steps = range(FREQUENCY, steps + 1, FREQUENCY)
    schedule = schedule_values(steps, list(pruning_steps) + record_steps)
    if not all(schedule[p][0] for p in pruning_steps):
        raise AssertionError("PolynomialDecay did not prune at every multiple of its frequency")
    sparsities = {p: schedule[p][1] for p in pruning_steps}
    built = []
    for i, (path, shape) in enumerate(kernels):
        size = int(np.prod(shape))
        kept = {p: kept_count(size, s) for p, s in sparsities.items()}
        built.append(_kernel(path, shape, kept, np.random.default_rng([seed, i])))
        if log and i % 10 == 9:
            log("  kernel statistics: %d of %d" % (i + 1, len(kernels)))
    prunable = sum(k.size for k in built)
    model_size = model_size or prunable
    other = model_size - prunable
    encoder = mask_delta.MaskDeltaEncoder()
    writer = _EventWriter(run_dir)
    config = summary.run_config(_run_config(built, model_size, steps, FREQUENCY))
    for n, step in enumerate(record_steps):
        values = [config] if step == 0 else []
        should_prune, target = schedule[step]
        for k in built:
            values.extend(k.values_at(step, float(target), should_prune, encoder))
        nonzeros = sum(k.size - k.pruned for k in built)
        sparse_bytes = 4 * other + sum(4 * (k.size - k.pruned) + (k.size + 7) // 8 for k in built)
        values.extend(_model_values(prunable, nonzeros, model_size, other, sparse_bytes))
        if step:
            values.extend(_metrics("batch", step))
        writer.add(step, values)
        if step and step % STEPS_PER_EPOCH == 0:
            writer.add(step, _metrics("epoch", step))
        if log and n % 500 == 499:
            log("  %d of %d records (step %d)" % (n + 1, len(record_steps), step))
    writer.close()
    return GeneratedRun(
        run_dir=run_dir,
        steps=record_steps,
        mask_steps={k.path: k.mask_steps for k in built},
        kept={k.path: k.kept for k in built},
        orders={k.path: k.order for k in built},
        interval=final_interval,
        seconds=time.perf_counter() - began,
    )


def _scalars(path, **named):
    return [
        summary.scalar("%s%s/%s" % (summary.TAG_PREFIX, path, name), value)
        for name, value in named.items()
    ]


def _model_values(prunable, nonzeros, model_size, other, sparse_bytes):
    global_sparsity = 1.0 - nonzeros / prunable
    model = {
        "global_sparsity": global_sparsity,
        "prunable_size": prunable,
        "prunable_nonzeros": nonzeros,
        "model_size": model_size,
        "model_nonzeros": other + nonzeros,
        "dense_bytes": 4 * model_size,
        "sparse_bytes": sparse_bytes,
    }
    return [
        summary.model_stats(model),
        summary.scalar(summary.GLOBAL_SPARSITY_TAG, global_sparsity),
    ]


def _metrics(scope, step):
    loss = 2.3 * math.exp(-step / 30000) + 0.1
    return [
        summary.metric(scope, "accuracy", 1.0 - loss / 2.5),
        summary.metric(scope, "loss", loss),
    ]


def dir_bytes(path):
    """Bytes of the files under `path`."""
    total = 0
    for root, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("logdir")
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args(argv)
    kernels, model_size = resnet50_kernels()
    run = write_run(
        os.path.join(args.logdir, RUN_NAME),
        kernels,
        args.steps,
        model_size=model_size,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(
        json.dumps(
            {
                "records": len(run.steps),
                "interval": run.interval,
                "bytes": dir_bytes(args.logdir),
                "seconds": round(run.seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
