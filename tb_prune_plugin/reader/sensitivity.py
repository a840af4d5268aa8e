"""Reading sensitivity scans (`sensitivity_scan`'s `sensitivity` records) back.

A scan writes one record per weight at step 0; a directory scanned again holds the latest
record of each weight at the largest step (the last one read at that step). A record that does
not parse, or whose lists differ in length, is skipped with one warning naming run and tag.
"""

import dataclasses
import json
from typing import Dict, Tuple

import numpy as np
from tensorboard import errors

from tb_prune_plugin import metadata
from tb_prune_plugin.reader.records import by_step, datum_text


@dataclasses.dataclass
class WeightSensitivity:
    """One weight's sensitivity curve.

    Attributes:
      weight: the weight path.
      shape: the weight's shape.
      size: its number of entries.
      structure: "magnitude" or "filters".
      mode: "evaluate" or "data_free".
      sparsities: the levels (float64 [n], increasing).
      pruned_fractions: the fraction of entries zeroed at each level (float64 [n]).
      metrics: metric name as Keras names it in `evaluate(return_dict=True)` (or
        "mean_abs_removed", data-free) -> float64 [n].
    """

    weight: str
    shape: Tuple[int, ...]
    size: int
    structure: str
    mode: str
    sparsities: np.ndarray
    pruned_fractions: np.ndarray
    metrics: Dict[str, np.ndarray]


def parse_sensitivity(weight, text):
    """The `WeightSensitivity` of a record's JSON text; ValueError saying what is wrong."""
    content = json.loads(text)
    if not isinstance(content, dict):
        raise ValueError("expected a JSON object")
    shape = content.get("shape")
    if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
        raise ValueError("shape must be a list of non-negative ints, got %r" % (shape,))
    structure, mode = content.get("structure"), content.get("mode")
    if structure not in metadata.SENSITIVITY_STRUCTURES or mode not in metadata.SENSITIVITY_MODES:
        raise ValueError("unknown structure %r or mode %r" % (structure, mode))
    sparsities = _numbers(content.get("sparsities"), "sparsities")
    fractions = _numbers(content.get("pruned_fractions"), "pruned_fractions")
    metrics = content.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError("metrics must be a non-empty object, got %r" % (metrics,))
    metrics = {str(k): _numbers(v, "metric %r" % k) for k, v in metrics.items()}
    for what, values in [("pruned_fractions", fractions)] + list(metrics.items()):
        if values.shape != sparsities.shape:
            raise ValueError(
                "%s has %d values for %d sparsities" % (what, values.size, sparsities.size)
            )
    return WeightSensitivity(
        weight=weight,
        shape=tuple(shape),
        size=int(np.prod(shape, dtype=np.int64)),
        structure=structure,
        mode=mode,
        sparsities=sparsities,
        pruned_fractions=fractions,
        metrics=metrics,
    )


def _numbers(values, what):
    if not isinstance(values, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    ):
        raise ValueError("%s must be a list of numbers, got %r" % (what, values))
    return np.array(values, dtype=np.float64)


class Sensitivity:
    """The `PruningReader` methods of sensitivity scans (a mixin, as `RunIndex`)."""

    def sensitivity(self, ctx, experiment_id, runs=None):
        """{run: {weight path: `WeightSensitivity`}} of the runs holding a scan.

        Args:
          runs: run names (None: every run holding a scan). A named run without pruning
            data, or without a scan, raises NotFoundError.
        """
        index = self._index(ctx, experiment_id, runs, lambda i: all(r in i for r in runs or ()))
        names = sorted(r for r in index if index[r].sensitivity) if runs is None else list(runs)
        for run in names:
            if run not in index or not index[run].sensitivity:
                every = self._index(ctx, experiment_id, None)
                with_scan = sorted(r for r in every if every[r].sensitivity)
                raise errors.NotFoundError(
                    "no sensitivity scan in run %r (runs with one: %s)"
                    % (run, ", ".join(with_scan) or "none")
                )
        if not names:
            return {}
        tags = sorted({t for r in names for t in index[r].sensitivity.values()})
        data = self._read_tensors(ctx, experiment_id, names, tags)
        result = {}
        for run in names:
            result[run] = {}
            for weight, tag in sorted(index[run].sensitivity.items()):
                scan = self._latest_scan(run, weight, tag, data.get(run, {}).get(tag, []))
                if scan is not None:
                    result[run][weight] = scan
        return result

    def _latest_scan(self, run, weight, tag, data):
        """The `WeightSensitivity` of the last valid datum of `data`, or None (warned)."""
        for datum in reversed(by_step(data)):
            try:
                return parse_sensitivity(weight, datum_text(datum))
            except (ValueError, TypeError, UnicodeDecodeError) as e:
                self._skip_invalid(run, tag, datum, "sensitivity scan", e)
        return None
