"""The notebook API: `load(logdir)` reads a whole log directory into dataclasses."""

import dataclasses
from typing import Dict, Optional

import numpy as np

from tb_prune_plugin.reader.pruning_reader import PruningReader
from tb_prune_plugin.reader.records import PLUGIN_NAME, HistogramSeries, MetricSeries, Series
from tb_prune_plugin.reader.sensitivity import WeightSensitivity


@dataclasses.dataclass
class Weight:
    """Everything recorded for one pruned weight.

    Attributes:
      name: the weight path, e.g. "dense/kernel".
      steps: steps of the weight_stats records (int64).
      fields: weight_stats field name -> values aligned with `steps` (float64, NaN: n/a).
      masks: step -> decoded bool mask, for every recorded mask.
      histograms: the |w| histograms of the kept weights.
    """

    name: str
    steps: np.ndarray
    fields: Dict[str, np.ndarray]
    masks: Dict[int, np.ndarray]
    histograms: HistogramSeries


@dataclasses.dataclass
class Run:
    """Everything recorded for one run.

    Attributes:
      name: the run name (directory relative to the log directory; "." for the root).
      config: the run_config record (None if none was written).
      weights: weight path -> `Weight`.
      model: the model_stats records as a `Series`.
      metrics: scope ("epoch"/"batch") -> metric name -> `MetricSeries`.
      stripped_size: the stripped_size records (the model as it ships, saved and gzipped, at
        the end of training) as a `Series`; None when not read.
      sensitivity: weight path -> `WeightSensitivity`, the run's sensitivity scan
        (`sensitivity_scan`); empty if it holds none.
    """

    name: str
    config: Optional[dict]
    weights: Dict[str, Weight]
    model: Series
    metrics: Dict[str, Dict[str, MetricSeries]]
    stripped_size: Optional[Series] = None
    sensitivity: Dict[str, WeightSensitivity] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Experiment:
    """The pruning data of a log directory: run name -> `Run`."""

    logdir: str
    runs: Dict[str, Run]

    def dataframe(self, kind="weights"):
        """One long pandas DataFrame: kind "weights", "model" or "metrics" (`frames`)."""
        from tb_prune_plugin import frames

        return frames.dataframe(self, kind)


def load(logdir):
    """Reads every pruning record under `logdir` into an `Experiment` (for notebooks).

    Every sample is kept (no downsampling). Example:

        exp = load("logs/")
        w = exp.runs["tfmot_poly"].weights["dense/kernel"]
        plt.plot(w.steps, w.fields["sparsity"])
    """
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider as mux_data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer

    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={PLUGIN_NAME: 0})
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    reader = PruningReader(mux_data_provider.MultiplexerDataProvider(multiplexer, str(logdir)))
    ctx, eid = context.RequestContext(), ""
    index = reader.runs(ctx, eid)
    configs = reader.run_configs(ctx, eid, index.values())
    scans = reader.sensitivity(ctx, eid)
    runs = {}
    for name, contents in index.items():
        weights = {}
        for weight in sorted(contents.weights):
            series = reader.weight_series(ctx, eid, name, weight)
            weights[weight] = Weight(
                name=weight,
                steps=series.steps,
                fields=series.fields,
                masks=reader.masks(ctx, eid, name, weight),
                histograms=reader.histograms(ctx, eid, name, weight),
            )
        runs[name] = Run(
            name=name,
            config=configs[name],
            weights=weights,
            model=reader.model_series(ctx, eid, name),
            metrics=reader.metrics(ctx, eid, name),
            stripped_size=reader.stripped_size_series(ctx, eid, name),
            sensitivity=scans.get(name, {}),
        )
    return Experiment(logdir=str(logdir), runs=runs)
