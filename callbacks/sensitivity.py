"""Per-layer sensitivity scan: each prunable weight pruned alone to each sparsity, the model
evaluated, the weight restored.

`sensitivity_scan(model, validation_data, log_dir)` answers the question people ask before
choosing per-layer sparsities: which layers can lose how much before the metric suffers. Each
weight's curve is written to `log_dir` as a run (`summary.sensitivity` records) that the
plugin's Sensitivity view and `reader.load(log_dir).runs[name].sensitivity` read.

Works for Keras 3 and tf_keras models, wrapped by TF-MOT or not: the prunable weights are
those `discovery.find_prunable_weights` finds (the wrappers' weights in a TF-MOT model, else
every trainable weight of rank 2 or more). This module never imports TF-MOT.
"""

import dataclasses
import math
import sys
from typing import Dict, Optional, Tuple

import numpy as np

from tb_prune_plugin import summary
from tb_prune_plugin.callbacks import discovery, writer

DEFAULT_SPARSITIES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
STRUCTURES = (None, "filters")
DATA_FREE_METRIC = summary.DATA_FREE_METRIC
_BAR_WIDTH = 30
ARRAY_BATCH_SIZE = 32  # the batch size arrays are evaluated in (Keras's default)


@dataclasses.dataclass
class WeightScan:
    """One weight's scan, as `sensitivity_scan` returns and writes it.

    Attributes:
      path: the weight path (`hidden/kernel`).
      shape: the weight's shape.
      sparsities: the levels, increasing (float64).
      pruned_fractions: the fraction of entries zeroed at each level (float64).
      metrics: metric name (as `model.evaluate(return_dict=True)` names it, or
        `DATA_FREE_METRIC`) -> float64 values, one per level.
    """

    path: str
    shape: Tuple[int, ...]
    sparsities: np.ndarray
    pruned_fractions: np.ndarray
    metrics: Dict[str, np.ndarray]


def sensitivity_scan(
    model,
    validation_data,
    log_dir,
    sparsities=DEFAULT_SPARSITIES,
    layers=None,
    structure=None,
    max_batches=None,
):
    """Prunes each prunable weight alone to each sparsity and records what the model loses.

    For each weight and each level `s`, `round(s * n)` of its `n` entries are removed (rounded
    half up): the smallest |w| (ties: the first in row-major order), or with
    `structure="filters"` `round(s * u)` whole output units (filters: the last axis, `u` of
    them) of the smallest L1 norm. The model is then evaluated
    (`model.evaluate(..., return_dict=True, steps=max_batches, verbose=0)`) and the weight
    restored bit for bit, also when evaluation fails. In a TF-MOT wrapper the removal
    applies to the weight as the wrapper uses it (weight * mask; what is already pruned
    stays pruned): the scan sets the wrapper's mask variable to the new mask and the weight
    to weight * mask, as the wrapper's own call does, and restores both afterwards.

    Without `validation_data` (None) the scan is data-free: its one metric,
    `"mean_abs_removed"`, is the mean |w| of the removed entries (NaN where none is).

    A progress bar goes to stderr. The curves are written to `log_dir` (one run for
    TensorBoard, step 0) and returned: {weight path: `WeightScan`}.

    Args:
      model: a built Keras 3 or tf_keras model; compiled unless the scan is data-free.
      validation_data: `(x, y)` or `(x, y, sample_weight)` arrays, a `tf.data.Dataset`
        (or anything else `evaluate` takes and can read more than once), or None.
      log_dir: the directory of the scan's run.
      sparsities: levels in [0, 1]; sorted and deduplicated.
      layers: weight paths (`hidden/kernel`) or layer paths (`hidden`, all its prunable
        weights) to scan; None: every prunable weight.
      structure: None (single weights) or "filters".
      max_batches: evaluate on at most this many batches (None: all of `validation_data`);
        arrays are evaluated in batches of `ARRAY_BATCH_SIZE` (32, Keras's default).

    Raises:
      ValueError: an argument that cannot work (the message says what to pass instead).
      OSError: `log_dir` could not be written; the results are in its `scans` attribute.

    Example:
        model.fit(x, y, epochs=3)
        sensitivity_scan(model, (x_val, y_val), "logs/sensitivity", max_batches=20)
    """
    levels = _levels(sparsities)
    _check_options(structure, max_batches)
    evaluate = _evaluator(model, validation_data, max_batches)
    chosen = _chosen_weights(model, layers)
    progress = _Progress(len(chosen) * len(levels))
    scans = {}
    for weight in chosen:
        scans[weight.path] = _scan_weight(weight, levels, structure, evaluate, progress)
    progress.close()
    _write(scans, str(log_dir), structure, "data_free" if validation_data is None else "evaluate")
    return scans


def _check_options(structure, max_batches):
    if structure not in STRUCTURES:
        raise ValueError(
            "structure must be None (single weights) or 'filters' (whole output units), "
            "got %r" % (structure,)
        )
    if max_batches is not None and (not isinstance(max_batches, int) or max_batches < 1):
        raise ValueError("max_batches must be a positive int or None, got %r" % (max_batches,))


def _write(scans, log_dir, structure, mode):
    """Writes one sensitivity record per scanned weight to `log_dir`, at step 0; OSError (with
    `scans` attached) when it cannot."""
    values = [
        summary.sensitivity(
            scan.path,
            shape=scan.shape,
            structure=structure or "magnitude",
            mode=mode,
            sparsities=scan.sparsities,
            pruned_fractions=scan.pruned_fractions,
            metrics=scan.metrics,
        )
        for scan in scans.values()
    ]
    try:
        writer.write_once(log_dir, 0, values)
    except OSError as e:
        # What the scan measured is not lost with the records.
        error = OSError("%s; the scan's results are in this error's `scans` attribute" % e)
        error.scans = scans
        raise error from e


def _levels(sparsities):
    try:
        levels = sorted({float(s) for s in sparsities})
    except (TypeError, ValueError):
        raise ValueError(
            "sparsities must be numbers in [0, 1], such as (0.0, 0.5, 0.9), got %r" % (sparsities,)
        ) from None
    bad = [s for s in levels if not 0.0 <= s <= 1.0]
    if not levels or bad:
        raise ValueError(
            "sparsities must be a non-empty list of numbers in [0, 1], got %r" % (sparsities,)
        )
    return np.array(levels, dtype=np.float64)


def _evaluator(model, validation_data, max_batches):
    """`evaluate()` -> {metric: float} for the scan, after checking that it can run."""
    if validation_data is None:
        return None
    if getattr(model, "optimizer", None) is None and not getattr(model, "compiled", False):
        raise ValueError(
            "sensitivity_scan evaluates the compiled model's loss and metrics, but the model "
            "is not compiled: call model.compile(loss=..., metrics=[...]) first, or pass "
            "validation_data=None for the data-free scan"
        )
    if hasattr(validation_data, "__next__"):
        raise ValueError(
            "validation_data is an iterator (%s), which the first evaluation would use up; "
            "pass (x, y) arrays or a tf.data.Dataset" % type(validation_data).__name__
        )
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data as a tuple must be (x, y) or (x, y, sample_weight), got "
                "%d items" % len(validation_data)
            )
        # Keras's default batch size, given explicitly: with `steps` and no batch size, both
        # Kerases evaluate arrays as `steps` batches of the whole data between them.
        inputs = dict(
            zip(("x", "y", "sample_weight"), validation_data), batch_size=ARRAY_BATCH_SIZE
        )
    else:
        inputs = {"x": validation_data}

    def evaluate():
        result = model.evaluate(**inputs, return_dict=True, steps=max_batches, verbose=0)
        return {name: float(value) for name, value in result.items()}

    return evaluate


def _chosen_weights(model, layers):
    found = discovery.find_prunable_weights(model)
    if not found:
        raise ValueError(
            "the model has no prunable weight (no TF-MOT wrapper, and no trainable weight of "
            "rank 2 or more): nothing to scan"
        )
    if layers is None:
        return found
    if isinstance(layers, str):
        layers = [layers]
    chosen, unknown = [], []
    for name in layers:
        match = [w for w in found if name in (w.path, w.layer_path)]
        if not match:
            unknown.append(name)
        chosen.extend(w for w in match if w not in chosen)
    if unknown:
        raise ValueError(
            "layers %s name no prunable weight of the model; weight paths: %s (or their "
            "layer paths)" % (unknown, ", ".join(w.path for w in found))
        )
    return chosen


def removal_order(values, structure=None):
    """The order in which `sensitivity_scan` removes entries of `values`: indices into its
    flattened entries by increasing |w| (ties: first in row-major order), or with
    `structure="filters"` indices of the units of the last axis by increasing L1 norm.
    Computed once per weight; `removal_mask` cuts it at each level."""
    values = np.asarray(values)
    magnitudes = np.abs(values.astype(np.float64))
    if _by_units(values.shape, structure):
        return np.argsort(magnitudes.reshape(-1, values.shape[-1]).sum(axis=0), kind="stable")
    return np.argsort(magnitudes.reshape(-1), kind="stable")


def removal_mask(shape, order, sparsity, structure=None):
    """The keep-mask (bool, `shape`) that removes the first `round(sparsity * n)` of `order`
    (`removal_order`): `n` entries, or with `structure="filters"` `n` units of the last axis."""
    if _by_units(shape, structure):
        keep_units = np.ones(shape[-1], dtype=bool)
        keep_units[order[: _rounded(sparsity * shape[-1])]] = False
        return np.broadcast_to(keep_units, shape).copy()
    keep = np.ones(order.size, dtype=bool)
    keep[order[: _rounded(sparsity * order.size)]] = False
    return keep.reshape(shape)


def _by_units(shape, structure):
    return structure == "filters" and len(shape) >= 1 and shape[-1] > 0


def _rounded(x):
    return int(math.floor(x + 0.5))


def _scan_weight(weight, levels, structure, evaluate, progress):
    """One weight's `WeightScan`; the weight (and its TF-MOT mask) restored in any case."""
    original = weight.variable.numpy()
    old_mask = None if weight.mask_variable is None else weight.mask_variable.numpy()
    effective = original if old_mask is None else original * old_mask.astype(original.dtype)
    order = removal_order(effective, structure)
    fractions, metrics = [], {}
    try:
        for level in levels:
            progress.step("%s at sparsity %g" % (weight.path, level))
            keep = removal_mask(effective.shape, order, level, structure)
            if old_mask is not None:
                keep &= old_mask != 0
            fractions.append(1.0 - np.count_nonzero(keep) / max(keep.size, 1))
            if evaluate is None:
                removed = np.abs(effective.astype(np.float64))[~keep]
                values = {DATA_FREE_METRIC: float(removed.mean()) if removed.size else math.nan}
            else:
                weight.variable.assign(effective * keep.astype(original.dtype))
                if old_mask is not None:
                    weight.mask_variable.assign(keep.astype(old_mask.dtype))
                values = evaluate()
            for name, value in values.items():
                metrics.setdefault(name, []).append(value)
    finally:
        weight.variable.assign(original)
        if old_mask is not None:
            weight.mask_variable.assign(old_mask)
    return WeightScan(
        path=weight.path,
        shape=tuple(weight.shape),
        sparsities=levels.copy(),
        pruned_fractions=np.array(fractions, dtype=np.float64),
        metrics={k: np.array(v, dtype=np.float64) for k, v in metrics.items()},
    )


class _Progress:
    """A plain-text progress bar on stderr, redrawn in place (carriage return, then spaces over
    what the longer previous line left)."""

    def __init__(self, total, stream: Optional[object] = None):
        self._total = max(total, 1)
        self._done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._width = 0

    def _draw(self, line, end=""):
        self._stream.write("\r" + line.ljust(self._width) + end)
        self._stream.flush()
        self._width = len(line)

    def step(self, what):
        filled = _BAR_WIDTH * self._done // self._total
        bar = "#" * filled + "." * (_BAR_WIDTH - filled)
        self._draw("sensitivity scan [%s] %d/%d %s" % (bar, self._done, self._total, what))
        self._done += 1

    def close(self):
        bar = "#" * _BAR_WIDTH
        self._draw("sensitivity scan [%s] %d/%d done" % (bar, self._done, self._total), "\n")
