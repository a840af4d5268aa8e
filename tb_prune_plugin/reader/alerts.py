"""Alerts: what in a run's records calls for a look (issue 12, item 5), computed from the
records the reader reads; the /alerts route, the Overview and `tb-prune summary` show them.

The kinds (`ALERT_KINDS`), each from the weight_stats records of one weight (one alert per run,
weight and kind) or, for a metric drop, from the epoch metrics (one alert per drop):

- `weight_collapse`: every weight of a weight pruned (nonzeros 0). `step`: the first record so;
  `count` and `total`: the weight's size.
- `unit_collapse`: output units (the last axis: a Dense layer's units, a Conv filter) with every
  weight pruned, while the weight as a whole is not (its `pruned_units_fraction` times the units
  of its shape). `step`: the first record with the most such units; `count` those units,
  `total` the units of the weight (both None when no shape is known: `value` is the fraction).
- `behind_target`: sparsity more than `BEHIND_TARGET_POINTS` below the target for
  `BEHIND_TARGET_RECORDS` records in a row. For TF-MOT (a record says whether the schedule
  prunes at its step) the target is the one of the latest record where the schedule pruned: the
  mask follows the schedule only at those steps, and lags its curve in between by design (0
  before the first). Without that (manual pruning) the record's own target. `step`: the first
  record of the first such streak; `count`: the streak's records; `value` the sparsity and
  `reference` the target there.
- `regrowth`: in a TF-MOT weight (method "tfmot"), weights kept again that a previous mask had
  pruned, more than `REGROWTH_FRACTION` of the weight at one record. TF-MOT recomputes the mask
  from magnitudes at each pruning step, so a few pruned weights whose single gradient update
  took them past the threshold come back in healthy runs too (the demo's ConstantSparsity run
  regrows about 0.1% of a kernel at a time). `step`: the first such record; `count`: the weights
  regrown there; `total`: the weight's size.
- `nonfinite`: NaN or infinite weights. `step`: the first record with any; `count`: how many
  there; `total`: the weight's size.
- `metric_drop`: an epoch metric worse by more than `METRIC_DROP_FRACTION` of its value at the
  epoch record before a mask change, at the first epoch record after it (a mask change is a
  record whose `mask_changed` is 1, other than a weight's first record). Lower is better for a
  metric whose name contains a part of `LOWER_IS_BETTER_PARTS` (loss-like), higher otherwise:
  the rule of the frontend's transforms/metrics.ts (`lowerIsBetter`), mirrored here. `step`: the
  epoch record after the change; `value` the metric there, `reference` the one before.

Every alert names the frontend view that shows it (`view`, a tab of the frontend's url_state.ts)
at its `step`.
"""

import dataclasses
import math
from typing import Optional

import numpy as np
from tensorboard import errors

from tb_prune_plugin import metadata
from tb_prune_plugin.reader.series import metric_tags

KIND_WEIGHT_COLLAPSE = "weight_collapse"
KIND_UNIT_COLLAPSE = "unit_collapse"
KIND_BEHIND_TARGET = "behind_target"
KIND_REGROWTH = "regrowth"
KIND_NONFINITE = "nonfinite"
KIND_METRIC_DROP = "metric_drop"
ALERT_KINDS = (
    KIND_WEIGHT_COLLAPSE,
    KIND_UNIT_COLLAPSE,
    KIND_BEHIND_TARGET,
    KIND_REGROWTH,
    KIND_NONFINITE,
    KIND_METRIC_DROP,
)

# The view (a frontend tab) that shows each kind at the alert's step.
VIEWS = {
    KIND_WEIGHT_COLLAPSE: "masks",
    KIND_UNIT_COLLAPSE: "masks",
    KIND_BEHIND_TARGET: "schedules",
    KIND_REGROWTH: "masks",
    KIND_NONFINITE: "statistics",
    KIND_METRIC_DROP: "accuracy",
}

# Sparsity this far (a fraction: 0.05 is 5 points) below the target ...
BEHIND_TARGET_POINTS = 0.05
# ... at this many records in a row is an alert.
BEHIND_TARGET_RECORDS = 3
# Regrowth of more than this fraction of a TF-MOT weight at one record is an alert.
REGROWTH_FRACTION = 0.01
# An epoch metric worse by more than this fraction of its value before a mask change.
METRIC_DROP_FRACTION = 0.2
# Name parts that make a metric lower-is-better: frontend/src/transforms/metrics.ts's list.
LOWER_IS_BETTER_PARTS = (
    "loss",
    "mse",
    "mae",
    "rmse",
    "mape",
    "error",
    "perplexity",
    "crossentropy",
)


@dataclasses.dataclass(frozen=True)
class Alert:
    """One alert (see the module docstring for what each kind's numbers are).

    Attributes:
      run: the run name.
      kind: one of `ALERT_KINDS`.
      weight: the weight path (None for a metric drop).
      metric: "epoch/<name>" for a metric drop (None otherwise).
      step: the step that shows it.
      view: the frontend view that shows it.
      count, total: counts of the kind (None where the kind has none).
      value, reference: the figure that raised it and what it was compared with (None: n/a).
      message: one sentence that says it.
    """

    run: str
    kind: str
    weight: Optional[str]
    metric: Optional[str]
    step: int
    view: str
    count: Optional[int]
    total: Optional[int]
    value: Optional[float]
    reference: Optional[float]
    message: str


def _alert(run, kind, step, message, *, weight=None, metric=None, **numbers):
    return Alert(
        run=run,
        kind=kind,
        weight=weight,
        metric=metric,
        step=int(step),
        view=VIEWS[kind],
        count=numbers.get("count"),
        total=numbers.get("total"),
        value=numbers.get("value"),
        reference=numbers.get("reference"),
        message=message,
    )


def lower_is_better(name):
    """Whether lower values of metric `name` are better (frontend's `lowerIsBetter`)."""
    lower = name.lower()
    return any(part in lower for part in LOWER_IS_BETTER_PARTS)


def _field(series, name):
    values = series.fields.get(name)
    return np.full(len(series.steps), np.nan) if values is None else np.asarray(values, float)


def _pct(fraction):
    return "%.1f%%" % (100 * fraction)


def _collapse_alerts(run, weight, series, shape):
    """The weight_collapse or unit_collapse alert of one weight ([] or one)."""
    steps, size = series.steps, _field(series, "size")
    collapsed = (_field(series, "nonzeros") == 0) & (size > 0)
    if collapsed.any():
        i = int(np.argmax(collapsed))
        message = "%s: all %d weights pruned from step %d (the weight collapsed)." % (
            weight,
            int(size[i]),
            steps[i],
        )
        return [
            _alert(
                run,
                KIND_WEIGHT_COLLAPSE,
                steps[i],
                message,
                weight=weight,
                count=int(size[i]),
                total=int(size[i]),
            )
        ]
    fraction = np.nan_to_num(_field(series, "pruned_units_fraction"), nan=0.0)
    if not (fraction > 0).any():
        return []
    i = int(np.argmax(fraction))  # the first record with the most collapsed units
    units = int(shape[-1]) if shape is not None and len(shape) >= 2 else None
    if units is None:
        count, said = None, "%s of the output units" % _pct(fraction[i])
    else:
        count = int(round(fraction[i] * units))
        said = "%d of %d output units" % (count, units)
    first = steps[int(np.argmax(fraction > 0))]
    message = "%s: %s entirely pruned at step %d (units collapsed; the first at step %d)." % (
        weight,
        said,
        steps[i],
        first,
    )
    numbers = dict(count=count, total=units, value=float(fraction[i]))
    return [_alert(run, KIND_UNIT_COLLAPSE, steps[i], message, weight=weight, **numbers)]


def effective_targets(series):
    """The target each record's mask should have reached (see `behind_target` in the module
    docstring): NaN where there is none."""
    target = _field(series, "target_sparsity")
    should_prune = _field(series, "should_prune")
    if np.isnan(should_prune).all():  # no schedule: the record's own target (manual pruning)
        return target
    # The index of the latest record at or before each where the schedule pruned (-1: none).
    pruned_at = np.where(should_prune == 1, np.arange(len(target)), -1)
    latest = np.maximum.accumulate(pruned_at) if len(target) else pruned_at
    return np.where(latest >= 0, target[np.maximum(latest, 0)], np.nan)


def _behind_target_alerts(run, weight, series):
    target = effective_targets(series)
    sparsity = _field(series, "sparsity")
    with np.errstate(invalid="ignore"):
        behind = sparsity < target - BEHIND_TARGET_POINTS
    # The streaks of records behind: from each rise of `behind` to the next fall.
    edges = np.diff(np.concatenate(([0], behind.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long_enough = np.flatnonzero(ends - starts >= BEHIND_TARGET_RECORDS)
    if not len(long_enough):
        return []
    start = int(starts[long_enough[0]])
    length = int(ends[long_enough[0]]) - start
    step = series.steps[start]
    message = "%s: sparsity %s against a target of %s at step %d, %d records in a row " % (
        weight,
        _pct(sparsity[start]),
        _pct(target[start]),
        step,
        length,
    ) + "more than %d points behind." % round(100 * BEHIND_TARGET_POINTS)
    numbers = dict(count=length, value=float(sparsity[start]), reference=float(target[start]))
    return [_alert(run, KIND_BEHIND_TARGET, step, message, weight=weight, **numbers)]


def _count_alert(run, weight, series, kind, values, what):
    """The alert of the first record where `values` (a count per record) is set."""
    with np.errstate(invalid="ignore"):
        hit = values > 0
    if not hit.any():
        return []
    i = int(np.argmax(hit))
    size = _field(series, "size")[i]
    total = int(size) if math.isfinite(size) else None
    count = int(values[i])
    message = "%s: %d %s at step %d." % (weight, count, what, series.steps[i])
    return [_alert(run, kind, series.steps[i], message, weight=weight, count=count, total=total)]


def weight_alerts(run, weight, series, shape=None, method=None):
    """The alerts of one weight from its weight_stats `series` (an object with `steps` and
    `fields`, as `reader.Series` and `reader.Weight`); `shape` (None: unknown) counts units,
    `method` ("tfmot", "manual" or None) decides whether regrowth is one."""
    if len(series.steps) == 0:
        return []
    found = _collapse_alerts(run, weight, series, shape)
    found += _behind_target_alerts(run, weight, series)
    if method == "tfmot":
        regrown = _field(series, "regrown")
        size = _field(series, "size")
        with np.errstate(invalid="ignore"):
            many = np.where(regrown > REGROWTH_FRACTION * size, regrown, 0)
        what = "weights regrown in a TF-MOT mask (pruned before, kept again)"
        found += _count_alert(run, weight, series, KIND_REGROWTH, many, what)
    what = "non-finite (NaN or infinite) weights"
    found += _count_alert(run, weight, series, KIND_NONFINITE, _field(series, "nonfinite"), what)
    return found


def mask_change_steps(weights):
    """The steps where any weight's mask changed (`weights`: {path: series}), a weight's first
    record left out (it has no previous mask to differ from)."""
    steps = set()
    for series in weights.values():
        changed = _field(series, "mask_changed") == 1
        steps.update(np.asarray(series.steps)[1:][changed[1:]].tolist())
    return sorted(steps)


def metric_drop_alerts(run, epoch_metrics, change_steps):
    """The metric_drop alerts of `epoch_metrics` ({name: object with `steps` and `values`}) for
    masks changed at `change_steps` (sorted)."""
    found = []
    changes = np.asarray(change_steps, dtype=np.int64)
    for name in sorted(epoch_metrics):
        series = epoch_metrics[name]
        steps = np.asarray(series.steps)
        values = np.asarray(series.values, dtype=np.float64)
        sign = -1.0 if lower_is_better(name) else 1.0
        for i in range(1, len(steps)):
            before, after = values[i - 1], values[i]
            between = changes[(changes > steps[i - 1]) & (changes <= steps[i])]
            if not len(between) or not (math.isfinite(before) and math.isfinite(after)):
                continue
            if sign * (before - after) <= METRIC_DROP_FRACTION * abs(before):
                continue
            message = "%s went from %.4g (step %d) to %.4g (step %d) after the masks changed " % (
                name,
                before,
                steps[i - 1],
                after,
                steps[i],
            ) + "at step%s %s." % ("s" if len(between) > 1 else "", _steps_text(between))
            numbers = dict(value=float(after), reference=float(before))
            metric = "epoch/" + name
            found.append(_alert(run, KIND_METRIC_DROP, steps[i], message, metric=metric, **numbers))
    return found


def _steps_text(steps):
    steps = [int(s) for s in steps]
    return ", ".join(map(str, steps)) if len(steps) <= 4 else "%d to %d" % (steps[0], steps[-1])


def config_weights(config):
    """{weight path: (shape or None, method or None)} from a run_config record (None: {})."""
    entries = (config or {}).get("weights")
    result = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            shape = entry.get("shape")
            ok = isinstance(shape, list) and all(isinstance(d, int) for d in shape)
            method = entry.get("method", (config or {}).get("method"))
            result[entry["path"]] = (tuple(shape) if ok else None, method)
    return result


def run_alerts(run, config, weights, epoch_metrics, shapes=None):
    """Every alert of one run, sorted by step, kind, weight and metric.

    Args:
      config: the run's run_config record (None: none): weight shapes and methods.
      weights: {weight path: weight_stats series}.
      epoch_metrics: {metric name: epoch metric series}.
      shapes: {weight path: shape} for weights the config does not give a shape for.
    """
    described = config_weights(config)
    run_method = (config or {}).get("method")
    found = []
    for weight in sorted(weights):
        shape, method = described.get(weight, (None, run_method))
        if shape is None:
            shape = (shapes or {}).get(weight)
        found += weight_alerts(run, weight, weights[weight], shape, method)
    found += metric_drop_alerts(run, epoch_metrics, mask_change_steps(weights))
    return sorted(found, key=sort_key)


def sort_key(alert):
    return (
        alert.run,
        alert.step,
        ALERT_KINDS.index(alert.kind),
        alert.weight or "",
        alert.metric or "",
    )


class Alerts:
    """The `PruningReader` method of the alerts (a mixin, as `RunIndex`)."""

    def alerts(self, ctx, experiment_id, runs=None):
        """[`Alert`] of `runs` (None: every run with pruning data), sorted by run and step.

        Reads every weight_stats series and epoch metric of the runs in one provider call. An
        unknown run raises NotFoundError. The answer is kept while each run's series, last
        step and run config stay the same (the Overview asks again at every refresh).
        """
        index = self._index(ctx, experiment_id, runs, lambda i: all(r in i for r in runs or ()))
        for run in runs or ():
            if run not in index:
                raise errors.NotFoundError("no pruning data for run %r" % (run,))
        names = sorted(set(runs) if runs else index)
        configs = self.run_configs(ctx, experiment_id, [index[r] for r in names])
        key = ("alerts", experiment_id) + tuple(
            (r, index[r].last_step, index[r].config_wall_time, len(index[r].records)) for r in names
        )
        kept = self._analysis_cache.get(key)
        if kept is None:
            kept = tuple(self._run_alerts(ctx, experiment_id, index, names, configs))
            self._analysis_cache.put(key, kept)
        return list(kept)

    def _run_alerts(self, ctx, experiment_id, index, names, configs):
        """The alerts of runs `names` of `index` (their run configs `configs`), computed."""
        tags = {
            (run, weight): t[metadata.KIND_WEIGHT_STATS]
            for run in names
            for weight, t in index[run].weights.items()
            if metadata.KIND_WEIGHT_STATS in t
        }
        epoch_tags = {run: metric_tags(index[run], ("epoch",)) for run in names}  # not batch
        read_runs = sorted({r for r, _ in tags} | {r for r in names if epoch_tags[r]})
        read_tags = set(tags.values()).union(*epoch_tags.values())
        data, sent = {}, {}
        if read_tags:
            data, sent = self._read_current(
                ctx, experiment_id, index, read_runs, sorted(read_tags), columns=True
            )[:2]
        found = []
        for run in names:
            contents = index[run]
            weights = {
                weight: self._read_vector_series(
                    run,
                    tag,
                    (data, sent),
                    contents.records[tag],
                    metadata.WEIGHT_STATS_FIELDS,
                    self._downsample,
                )
                for (r, weight), tag in tags.items()
                if r == run
            }
            read = data.get(run, {})
            current = {t: read[t].datums() for t in epoch_tags[run] if t in read}
            epoch = self._metric_series(
                run, epoch_tags[run], current, sent.get(run, {}), self._downsample
            )["epoch"]
            shapes = self._unit_shapes(ctx, experiment_id, run, configs[run], weights)
            found += run_alerts(run, configs[run], weights, epoch, shapes)
        return found

    def _unit_shapes(self, ctx, experiment_id, run, config, weights):
        """{weight: shape of its latest mask record} for the weights with collapsed units whose
        shape the run config does not give (one read per such weight; usually none)."""
        described = config_weights(config)
        shapes = {}
        for weight, series in weights.items():
            if described.get(weight, (None, None))[0] is not None:
                continue
            if not (np.nan_to_num(_field(series, "pruned_units_fraction")) > 0).any():
                continue
            if metadata.KIND_MASK in self.run(ctx, experiment_id, run).weights.get(weight, {}):
                steps = self.mask_steps(ctx, experiment_id, run, weight)
                if steps:
                    shapes[weight] = tuple(steps[-1][1])
        return shapes
