"""Writes small TensorBoard log directories of pruning records for tests.

Records are built with the real writers in `tb_prune_plugin.summary` and written
with TensorBoard's pure-Python `EventFileWriter`, so the files are exactly what
TensorBoard reads. Example:

    with RunWriter(tmp_path / "run_a") as w:
        w.add(0, [summary.mask("dense/kernel", mask), summary.weight_stats(...)])
    provider = local_data_provider(tmp_path)
"""

import math
import os

import numpy as np
from tensorboard import context
from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from tb_prune_plugin import metadata, summary

# Wall time of step 0 in written events; step s is written at WALL_TIME + s.
WALL_TIME = 1_700_000_000.0


class RunWriter:
    """Writes events into one event file in `run_dir`.

    By default the summary metadata of a tag is kept only on its first value in the
    file, as TensorBoard's writers and `summary.py` expect; `keep_all_metadata=True`
    writes the values as given.
    """

    def __init__(self, run_dir, *, keep_all_metadata=False):
        os.makedirs(run_dir, exist_ok=True)
        self._writer = EventFileWriter(str(run_dir), max_queue_size=1000, flush_secs=3600)
        self._seen_tags = set()
        self._keep_all_metadata = keep_all_metadata

    def add(self, step, values, wall_time=None):
        """Writes one event at `step` holding the `Summary.Value`s `values`."""
        out = []
        for value in values:
            if value.tag in self._seen_tags and not self._keep_all_metadata:
                value = summary_pb2.Summary.Value.FromString(value.SerializeToString())
                value.ClearField("metadata")
            self._seen_tags.add(value.tag)
            out.append(value)
        self._writer.add_event(
            event_pb2.Event(
                step=int(step),
                wall_time=WALL_TIME + step if wall_time is None else wall_time,
                summary=summary_pb2.Summary(value=out),
            )
        )

    def close(self):
        """Flushes and closes the event file."""
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def stats(fields=metadata.WEIGHT_STATS_FIELDS, **values):
    """A {field: value} dict for `summary.weight_stats`/`model_stats`: NaN unless given."""
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError("unknown fields %s" % sorted(unknown))
    return {f: float(values.get(f, math.nan)) for f in fields}


def model_stats(**values):
    """A {field: value} dict for `summary.model_stats`: NaN unless given."""
    return stats(metadata.MODEL_STATS_FIELDS, **values)


def mask_from_string(text):
    """A 2-D bool mask from rows of '1' (kept) and '0' (pruned), e.g. "10\\n01"."""
    rows = [r.strip() for r in text.strip().splitlines()]
    return np.array([[c == "1" for c in row] for row in rows], dtype=bool)


def local_data_provider(logdir):
    """A reloaded `MultiplexerDataProvider` over `logdir` that keeps every pruning sample."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={metadata.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    return mux_data_provider.MultiplexerDataProvider(multiplexer, str(logdir))


def request_context():
    """An empty `RequestContext`, as TensorBoard passes to data providers."""
    return context.RequestContext()


def write_demo_logdir(logdir):
    """Writes the small two-run log directory that the reader and route tests share.

    Run "alpha" (a Dense kernel [3, 2] and a bias [2]):
      - steps 0, 10, 20, 30: weight_stats of "dense/kernel" (sparsity 0, 1/3, 1/2, 1/2,
        target 0, 0.3, 0.5, 0.5, threshold NaN, 0.1, 0.2, 0.2; size 6; nonzeros 6, 4, 3, 3)
        and of "dense/bias" (size 2, nonzeros 2, sparsity 0 at every step);
      - masks of "dense/kernel" at steps 0, 10, 20 (`ALPHA_MASKS`), of "dense/bias" at 0;
      - weight_histogram of "dense/kernel" at steps 0 and 20 (2 bins);
      - model_stats at steps 0, 10, 20, 30 (global_sparsity 0, 0.25, 0.375, 0.375);
      - run_config {"method": "tfmot", ...} (`ALPHA_CONFIG`) at step 0;
      - metrics: epoch loss at 10, 30; epoch val_accuracy at 30; batch loss at 5, 15, 25;
      - the Time Series scalar "pruning/dense/kernel/sparsity" at every step.
    Run "beta/manual": weight_stats and masks of "conv/kernel" [1, 2, 2, 3] at steps 0, 5,
    no config, no model_stats, no metrics.
    """
    with RunWriter(os.path.join(logdir, "alpha")) as w:
        for i, step in enumerate((0, 10, 20, 30)):
            values = [
                summary.weight_stats(
                    "dense/kernel",
                    stats(
                        size=6,
                        nonzeros=ALPHA_NONZEROS[i],
                        sparsity=ALPHA_SPARSITY[i],
                        target_sparsity=ALPHA_TARGET[i],
                        should_prune=1 if step in (10, 20) else 0,
                        threshold=ALPHA_THRESHOLD[i],
                        mask_changed=1 if step in (0, 10, 20) else 0,
                    ),
                ),
                summary.weight_stats(
                    "dense/bias", stats(size=2, nonzeros=2, sparsity=0, mask_changed=0)
                ),
                summary.model_stats(
                    model_stats(
                        global_sparsity=ALPHA_GLOBAL[i],
                        prunable_size=8,
                        prunable_nonzeros=8 - 8 * ALPHA_GLOBAL[i],
                        model_size=10,
                        model_nonzeros=10 - 8 * ALPHA_GLOBAL[i],
                        dense_bytes=40,
                        sparse_bytes=30,
                    )
                ),
                summary.scalar("pruning/dense/kernel/sparsity", ALPHA_SPARSITY[i]),
            ]
            if step in ALPHA_MASKS:
                values.append(summary.mask("dense/kernel", ALPHA_MASKS[step]))
            if step == 0:
                values.append(summary.mask("dense/bias", np.ones([2], dtype=bool)))
                values.append(summary.run_config(ALPHA_CONFIG))
            if step in ALPHA_HISTOGRAMS:
                lo, hi, counts = ALPHA_HISTOGRAMS[step]
                values.append(summary.weight_histogram("dense/kernel", lo, hi, counts))
            if step in (10, 30):
                values.append(summary.metric("epoch", "loss", ALPHA_EPOCH_LOSS[step]))
            if step == 30:
                values.append(summary.metric("epoch", "val_accuracy", 0.75))
            w.add(step, values)
            if step < 30:
                w.add(step + 5, [summary.metric("batch", "loss", ALPHA_BATCH_LOSS[step + 5])])
    with RunWriter(os.path.join(logdir, "beta", "manual")) as w:
        for step, mask in BETA_MASKS.items():
            w.add(
                step,
                [
                    summary.weight_stats(
                        "conv/kernel",
                        stats(size=12, nonzeros=int(mask.sum()), sparsity=1 - mask.sum() / 12),
                    ),
                    summary.mask("conv/kernel", mask),
                ],
            )


ALPHA_NONZEROS = (6, 4, 3, 3)
ALPHA_SPARSITY = (0.0, 1 / 3, 0.5, 0.5)
ALPHA_TARGET = (0.0, 0.3, 0.5, 0.5)
ALPHA_THRESHOLD = (math.nan, 0.1, 0.2, 0.2)
ALPHA_GLOBAL = (0.0, 0.25, 0.375, 0.375)
ALPHA_CONFIG = {"method": "tfmot", "weights": {"dense/kernel": [3, 2]}, "frequency": 10}
# Dense kernels are [in=3, out=2].
ALPHA_MASKS = {
    0: np.ones([3, 2], dtype=bool),
    10: np.array([[1, 0], [1, 1], [0, 1]], dtype=bool),
    20: np.array([[0, 0], [1, 1], [1, 0]], dtype=bool),
}
ALPHA_HISTOGRAMS = {0: (0.0, 0.5, [4, 2]), 20: (0.0, 0.6, [1, 2])}
ALPHA_EPOCH_LOSS = {10: 1.5, 30: 0.5}
ALPHA_BATCH_LOSS = {5: 2.0, 15: 1.0, 25: 0.25}
# A Conv2D kernel [kh=1, kw=2, in=2, out=3].
BETA_MASKS = {
    0: np.ones([1, 2, 2, 3], dtype=bool),
    5: np.arange(12).reshape([1, 2, 2, 3]) % 3 != 0,
}
