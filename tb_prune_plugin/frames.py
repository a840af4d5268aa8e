"""Long pandas DataFrames of an `Experiment` (`reader.load`), for notebooks.

`dataframe(experiment, kind)` with kind:
- "weights": one row per run, weight and recorded step: columns `run`, `weight`, `step`, then one
  per weight_stats field (`size`, `nonzeros`, `sparsity`, `target_sparsity`, ...: see
  `metadata.WEIGHT_STATS_FIELDS`), float64, NaN where a field does not apply.
- "model": one row per run and step of the model_stats records: `run`, `step`, then one per
  model_stats field (`global_sparsity`, `dense_bytes`, ...).
- "metrics": one row per run, metric and step: `run`, `scope` ("epoch" or "batch"), `metric`,
  `step`, `value`.
Rows are sorted by run, then weight (or scope and metric), then step. Fields are taken from each
series' records, so a field only some runs recorded is NaN in the others' rows.

pandas is imported only when a frame is asked for; it is not a dependency of the package.
"""

import numpy as np

from tb_prune_plugin import metadata

KINDS = ("weights", "model", "metrics")


def _pandas():
    try:
        import pandas
    except ImportError as e:
        raise ImportError(
            "tb_prune_plugin's DataFrames need pandas, which is not installed (%s); "
            "install it with `pip install pandas`" % e
        ) from None
    return pandas


def _frame(keys, series_list, default_fields):
    """A DataFrame from `series_list`: (key values, steps, {field: values}) each, with the key
    columns `keys`, `step`, then every field (`default_fields` first, in order)."""
    pandas = _pandas()
    fields = list(default_fields)
    for _, _, values in series_list:
        fields += [name for name in values if name not in fields]
    columns = {key: [] for key in keys}
    columns["step"] = []
    columns.update({name: [] for name in fields})
    for key_values, steps, values in series_list:
        n = len(steps)
        for key, value in zip(keys, key_values):
            columns[key].append(np.full(n, value, dtype=object))
        columns["step"].append(np.asarray(steps, dtype=np.int64))
        for name in fields:
            column = values.get(name)
            columns[name].append(
                np.full(n, np.nan) if column is None else np.asarray(column, dtype=np.float64)
            )
    data = {}
    for name, parts in columns.items():
        empty = np.zeros(0, dtype=np.int64 if name == "step" else object if name in keys else float)
        data[name] = np.concatenate(parts) if parts else empty
    return pandas.DataFrame(data, columns=list(columns))


def weight_frame(experiment):
    """The weight_stats series of every run and weight as one long DataFrame (see module)."""
    series = [
        ((run_name, weight_name), weight.steps, weight.fields)
        for run_name, run in sorted(experiment.runs.items())
        for weight_name, weight in sorted(run.weights.items())
    ]
    return _frame(("run", "weight"), series, metadata.WEIGHT_STATS_FIELDS)


def model_frame(experiment):
    """The model_stats series of every run as one long DataFrame (see module)."""
    series = [
        ((run_name,), run.model.steps, run.model.fields)
        for run_name, run in sorted(experiment.runs.items())
    ]
    return _frame(("run",), series, metadata.MODEL_STATS_FIELDS)


def metric_frame(experiment):
    """The training metrics of every run as one long DataFrame (see module)."""
    series = [
        ((run_name, scope, name), metric.steps, {"value": metric.values})
        for run_name, run in sorted(experiment.runs.items())
        for scope, metrics in sorted(run.metrics.items())
        for name, metric in sorted(metrics.items())
    ]
    return _frame(("run", "scope", "metric"), series, ("value",))


_BUILDERS = {"weights": weight_frame, "model": model_frame, "metrics": metric_frame}


def dataframe(experiment, kind="weights"):
    """One long pandas DataFrame of `experiment`'s `kind` series: "weights", "model" or
    "metrics" (see the module docstring for the columns).

    Raises:
      ValueError: an unknown `kind`.
      ImportError: pandas is not installed (the message says how to install it).
    """
    if kind not in _BUILDERS:
        raise ValueError(
            "unknown kind %r of DataFrame; expected one of %s" % (kind, ", ".join(KINDS))
        )
    return _BUILDERS[kind](experiment)
