"""Large log directories of pruning records, written fast without training.

Records come from the real writers in `tb_prune_plugin.summary` and are written by
`fixtures/logdir_builder.RunWriter` (TensorBoard's pure-Python event writer), so the files are
what the monitor writes, value for value: per recorded step and weight a weight_stats record,
a 30-bin |w| histogram and the Time Series scalars (sparsity, target_sparsity, threshold);
per step model_stats, global_sparsity and two batch metrics; the mask whenever it changed;
the run config once; epoch metrics every 100 steps.

One run is written; the other runs of a grid are hard links to its event file under other
run names (TensorBoard loads and serves each run on its own; only the writing is shared).
"""

import math
import os
import shutil

import numpy as np

from benchmarks.fixtures import logdir_builder
from tb_prune_plugin import metadata, summary

# Shapes of the pruned weights, cycled: Dense kernels [in, out] and a Conv2D kernel.
SHAPES = ((64, 64), (128, 64), (64, 128), (3, 3, 16, 32), (256, 32))
FINAL_SPARSITY = 0.9
BINS = 30


def weight_names(n):
    """The weight paths of a generated run: layer00/kernel, layer01/kernel, ..."""
    return ["layer%02d/kernel" % i for i in range(n)]


def _target(step, steps):
    # Linear (PolynomialDecay with power 1), so that every mask step changes every mask.
    return FINAL_SPARSITY * min(step / max(steps - 1, 1), 1.0)


_FIELD = {name: i for i, name in enumerate(metadata.WEIGHT_STATS_FIELDS)}


class _Weight:
    """A fixed random weight; its masks are magnitude masks at the schedule's target.

    Statistics and the histogram depend only on the mask here (the values are fixed), so
    they are computed when the mask changes and reused at the steps in between.
    """

    def __init__(self, path, shape, rng):
        self.path = path
        self.shape = shape
        self.values = rng.normal(0.0, 0.05, size=shape).astype(np.float32)
        self.order = np.argsort(np.abs(self.values).reshape(-1), kind="stable")
        self.size = self.values.size
        self.mask = np.ones(shape, dtype=bool)
        self._measure()

    def prune_to(self, sparsity):
        """Sets the magnitude mask for `sparsity`; returns the number of newly pruned weights."""
        pruned = int(round(self.size * sparsity))
        flat = np.ones(self.size, dtype=bool)
        flat[self.order[:pruned]] = False
        previous = self.mask
        self.mask = flat.reshape(self.shape)
        self._measure()
        return int(np.count_nonzero(previous & ~self.mask))

    def _measure(self):
        kept = np.abs(self.values[self.mask])
        eff = np.where(self.mask, self.values, 0.0)
        self.nonzeros = int(self.mask.sum())
        self.threshold = float(kept.min()) if kept.size else 0.0
        fields = logdir_builder.stats(
            size=self.size,
            nonzeros=self.nonzeros,
            sparsity=1 - self.nonzeros / self.size,
            threshold=self.threshold,
            mean=float(eff.mean()),
            std=float(eff.std()),
            min=float(eff.min()),
            max=float(eff.max()),
            l1=float(kept.sum()),
            l2=float(math.sqrt(float((kept**2).sum()))),
            kept_mean_abs=float(kept.mean()) if kept.size else math.nan,
            pruned_units_fraction=0.0,
            pruned_inputs_fraction=0.0,
            nonfinite=0.0,
        )
        self._vector = np.array([fields[f] for f in metadata.WEIGHT_STATS_FIELDS])
        self.hi = float(kept.max()) if kept.size else 0.0
        self.counts = np.histogram(kept, bins=BINS, range=(0.0, max(self.hi, 1e-30)))[0]

    def stats_vector(self, step, target, should_prune, newly_pruned, changed):
        """The weight_stats vector at `step` (per-step fields filled in)."""
        vector = self._vector.copy()
        vector[_FIELD["target_sparsity"]] = target
        vector[_FIELD["should_prune"]] = 1.0 if should_prune else 0.0
        vector[_FIELD["newly_pruned"]] = newly_pruned if step else math.nan
        vector[_FIELD["regrown"]] = 0.0 if step else math.nan
        vector[_FIELD["mask_changed"]] = 1.0 if changed else 0.0
        return vector


def write_run(run_dir, n_weights, steps, mask_every, seed=0):
    """Writes one run: `n_weights` weights, `steps` recorded steps (0..steps-1), masks every
    `mask_every` steps. Returns the event file's path."""
    rng = np.random.default_rng(seed)
    weights = [
        _Weight(path, SHAPES[i % len(SHAPES)], rng)
        for i, path in enumerate(weight_names(n_weights))
    ]
    seen = set()

    def first(tag):
        if tag in seen:
            return False
        seen.add(tag)
        return True

    config = {
        "format_version": metadata.FORMAT_VERSION,
        "method": "tfmot",
        "every_n_steps": 1,
        "weights": [{"path": w.path, "shape": list(w.shape), "size": w.size} for w in weights],
    }
    prunable = sum(w.size for w in weights)
    with logdir_builder.RunWriter(run_dir, keep_all_metadata=True) as writer:
        for step in range(steps):
            target = _target(step, steps)
            prune_now = step % mask_every == 0
            values = [summary.run_config(config)] if step == 0 else []
            nonzeros = 0
            for w in weights:
                newly = w.prune_to(target) if prune_now and step else 0
                changed = step == 0 or newly > 0
                vector = w.stats_vector(step, target, prune_now, newly, changed)
                nonzeros += w.nonzeros
                tag = summary.weight_tag(w.path, metadata.KIND_WEIGHT_STATS)
                values.append(
                    summary.weight_stats_from_vector(w.path, vector, with_metadata=first(tag))
                )
                tag = summary.weight_tag(w.path, metadata.KIND_WEIGHT_HISTOGRAM)
                values.append(
                    summary.weight_histogram(w.path, 0.0, w.hi, w.counts, with_metadata=first(tag))
                )
                if changed:
                    tag = summary.weight_tag(w.path, metadata.KIND_MASK)
                    values.append(summary.mask(w.path, w.mask, with_metadata=first(tag)))
                for name, value in (
                    ("sparsity", vector[_FIELD["sparsity"]]),
                    ("target_sparsity", target),
                    ("threshold", w.threshold),
                ):
                    tag = "pruning/%s/%s" % (w.path, name)
                    values.append(summary.scalar(tag, value, with_metadata=first(tag)))
            global_sparsity = 1 - nonzeros / prunable
            model = logdir_builder.model_stats(
                global_sparsity=global_sparsity,
                prunable_size=prunable,
                prunable_nonzeros=nonzeros,
                model_size=prunable + 1000,
                model_nonzeros=nonzeros + 1000,
                dense_bytes=4 * (prunable + 1000),
                sparse_bytes=4 * (nonzeros + 1000) + prunable // 8,
            )
            values.append(summary.model_stats(model, with_metadata=first(summary.MODEL_STATS_TAG)))
            values.append(
                summary.scalar(
                    summary.GLOBAL_SPARSITY_TAG,
                    global_sparsity,
                    with_metadata=first(summary.GLOBAL_SPARSITY_TAG),
                )
            )
            loss = 2.3 * math.exp(-step / 300)
            for scope, name, value in (
                ("batch", "loss", loss),
                ("batch", "accuracy", 1 - loss / 3),
            ):
                tag = summary.metric_tag(scope, name)
                values.append(summary.metric(scope, name, value, with_metadata=first(tag)))
            if step % 100 == 99:
                for name, value in (("loss", loss), ("val_loss", loss * 1.1)):
                    tag = summary.metric_tag("epoch", name)
                    values.append(summary.metric("epoch", name, value, with_metadata=first(tag)))
            writer.add(step, values)
    (name,) = [n for n in os.listdir(run_dir) if n.startswith("events.out.tfevents.")]
    return os.path.join(run_dir, name)


def write_grid(logdir, runs, n_weights, steps, mask_every):
    """`runs` runs (run_00, run_01, ...) of the same generated event file. Returns run names."""
    names = ["run_%02d" % i for i in range(runs)]
    source = write_run(os.path.join(logdir, names[0]), n_weights, steps, mask_every)
    for name in names[1:]:
        run_dir = os.path.join(logdir, name)
        os.makedirs(run_dir, exist_ok=True)
        target = os.path.join(run_dir, os.path.basename(source))
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    return names


def write_big_mask(logdir, side, sparsities=(0.0, 0.5, 0.9)):
    """One run `big` with a weight `big/kernel` of shape [side, side] and a magnitude mask per
    sparsity (steps 0, 100, 200, ...). Returns (run, weight, steps)."""
    rng = np.random.default_rng(1)
    magnitude = np.abs(rng.standard_normal((side, side), dtype=np.float32))
    path, steps = "big/kernel", []
    with logdir_builder.RunWriter(os.path.join(logdir, "big")) as writer:
        for i, sparsity in enumerate(sparsities):
            pruned = int(round(magnitude.size * sparsity))
            if pruned:
                cut = np.partition(magnitude.reshape(-1), pruned - 1)[pruned - 1]
                mask = magnitude > cut
            else:
                mask = np.ones(magnitude.shape, dtype=bool)
            kept = int(mask.sum())
            stats = logdir_builder.stats(
                size=mask.size, nonzeros=kept, sparsity=1 - kept / mask.size, mask_changed=1
            )
            steps.append(100 * i)
            writer.add(steps[-1], [summary.weight_stats(path, stats), summary.mask(path, mask)])
    return "big", path, steps
