"""`PruningMonitor`: the Keras callback that records what pruning does, step by step."""

import logging
import os
import warnings

import numpy as np
import tensorflow as tf
import tf_keras

from tb_prune_plugin import summary
from tb_prune_plugin.callbacks import discovery, keras_state, measure, records, run_config
from tb_prune_plugin.callbacks.writer import GuardedWriter

logger = logging.getLogger("tb_prune_plugin")


class PruningMonitor(tf_keras.callbacks.Callback):
    """Records masks, sparsity, targets, thresholds and weight statistics while a model is pruned.

    Works with TF-MOT (`tfmot.sparsity.keras.prune_low_magnitude` wrappers, any
    schedule, block and N:M settings) and with manual pruning in Keras 3 or
    tf_keras (the user zeroes weights; a weight's mask is `weight != 0` unless
    `masks` says otherwise). The same object works in both Kerases' `fit`.

    At every `every_n_steps`-th optimizer step, and at the last step of
    training, it writes for every prunable weight its sparsity, target,
    threshold, statistics, structure figures, mask churn and a |w| histogram,
    and the mask itself when it changed; per model, global sparsity and sizes;
    the run's configuration once; Keras's metrics at every epoch end and at
    recorded steps. Steps are the optimizer's iteration count, so resumed
    training continues the series. The format is described in docs/format.md;
    TensorBoard's Pruning tab shows it.

    Example:

    ```python
    import tensorflow_model_optimization as tfmot
    from tb_prune_plugin.callbacks import PruningMonitor

    model = tfmot.sparsity.keras.prune_low_magnitude(model, pruning_schedule=...)
    model.compile(...)
    model.fit(x, y, epochs=5, callbacks=[
        tfmot.sparsity.keras.UpdatePruningStep(),
        PruningMonitor("runs/mlp_90"),
    ])
    ```

    Args:
      log_dir: directory to write to (a local path or any `tf.io.gfile` URL).
        It becomes one run in TensorBoard; Keras's TensorBoard callback and
        TF-MOT's PruningSummaries may share it (they write to subdirectories).
      every_n_steps: record every this many optimizer steps (1 = every step).
      layers: optional list of layer names (or layer paths such as
        `encoder/dense`) to record; by default every prunable weight.
      masks: optional dict mapping weight paths (such as `dense/kernel`) to
        the user's own mask variables (or callables returning a mask);
        non-zero entries are kept weights. For manual pruning with masks.
      target_sparsity: optional target for manual pruning runs: a float, a
        callable `step -> float`, or a dict of those per weight path. TF-MOT
        targets come from the wrappers' schedules.
      histogram_bins: bins of the |w| histogram of kept weights.
      time_series_scalars: also write sparsity, target and threshold as
        ordinary TensorBoard scalars, for the Time Series dashboard.
    """

    def __init__(
        self,
        log_dir,
        *,
        every_n_steps=1,
        layers=None,
        masks=None,
        target_sparsity=None,
        histogram_bins=30,
        time_series_scalars=True,
    ):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)) or not str(log_dir):
            raise TypeError(
                "PruningMonitor: log_dir must be a non-empty path, got %r. Pass a directory "
                "such as 'runs/my_run'." % (log_dir,)
            )
        if (
            isinstance(every_n_steps, bool)
            or not isinstance(every_n_steps, int)
            or every_n_steps < 1
        ):
            raise ValueError(
                "PruningMonitor: every_n_steps must be a positive integer, got %r."
                % (every_n_steps,)
            )
        if (
            isinstance(histogram_bins, bool)
            or not isinstance(histogram_bins, int)
            or not (1 <= histogram_bins <= 1000)
        ):
            raise ValueError(
                "PruningMonitor: histogram_bins must be an integer from 1 to 1000, got %r."
                % (histogram_bins,)
            )
        if layers is not None:
            if isinstance(layers, str) or not all(isinstance(x, str) for x in layers):
                raise TypeError(
                    "PruningMonitor: layers must be a list of layer names, got %r." % (layers,)
                )
            layers = list(layers)
        if masks is not None and not isinstance(masks, dict):
            raise TypeError(
                "PruningMonitor: masks must be a dict of weight path -> mask variable, got %s."
                % type(masks).__name__
            )
        self.log_dir = os.fspath(log_dir)
        self.every_n_steps = every_n_steps
        self.layers = layers
        self.masks = dict(masks or {})
        self.target_sparsity = target_sparsity
        self.histogram_bins = histogram_bins
        self.time_series_scalars = time_series_scalars

        self._writer = None
        self._measurer = None
        self._measured_model = None
        self._weights = []
        self._records = records.StepRecords(target_sparsity, time_series_scalars)
        self._last_recorded_step = None
        self._last_seen_step = None
        self._steps_per_batch = 1
        self._starting = False
        self._is_chief = True
        self._config_written = False
        self._model_constants = None
        self._measure_warned = False
        self._failures_seen = (0, 0)  # the writer's dropped_steps and failures, last looked at
        self._config = None  # the run config's contents, built once per model
        self._config_mark = {}  # {"start_step": s} while a first training's config is due

    # ----------------------------------------------------------------- Keras hooks

    def on_train_begin(self, logs=None):
        self._is_chief = keras_state.is_chief(self.model)
        if self._is_chief:
            self._check_log_dir()
        self._prepare_weights()
        self._steps_per_batch = keras_state.steps_per_execution(self.model)
        if self._is_chief:
            self._warm_up()
        self._starting = True

    def on_train_batch_begin(self, batch, logs=None):
        if not self._starting:
            return
        self._starting = False
        self._check_update_pruning_step()
        step = self._current_step()
        self._last_seen_step = step
        record_now = step == 0 and self._last_recorded_step is None
        start = step if record_now else step + 1
        if self._is_chief:
            # Records from this training's first one on replace those a killed training left.
            self._writer.start_session(start)
            # A first, resumed or rewound training: a run config with its start step marks it
            # for readers that ignore the START event (TensorBoard's Rust data server; see
            # tb_prune_plugin/restarts.py). A first one's goes with its first record.
            if record_now:
                self._config_mark = {"start_step": start}
                self._config_written = False
            elif self._last_recorded_step is None or step < self._last_recorded_step:
                try:
                    value = self._config_record(start_step=start)
                except Exception:  # noqa: BLE001 - the first record reports measuring problems
                    value = None
                if value is not None and self._writer.write(start, [value]):
                    self._config_written = True
        if record_now:
            self._record(step, None)
        elif self._is_chief and self._weights and self._last_recorded_step is None:
            # Resumed training: the earlier run recorded this step; keep the masks for churn.
            self._measure_baseline()

    def _config_record(self, **mark):
        """The run_config record, with `mark` (a training's `start_step`) if given."""
        if self._config is None:
            self._config = self._run_config_contents()
        return summary.run_config(dict(self._config, **mark))

    def on_train_batch_end(self, batch, logs=None):
        last = self._last_seen_step
        if last is not None:
            # Reading optimizer.iterations costs about half a millisecond: between records,
            # predict the step; read it when a record may be due (which corrects the guess).
            predicted = last + self._steps_per_batch
            if predicted // self.every_n_steps == last // self.every_n_steps:
                self._last_seen_step = predicted
                return
            if self._is_chief and self._weights and self._measurer.reads_step:
                # The measuring graph reads the step with the weights, in the same call.
                self._record(None, logs, last)
                return
        step = self._current_step()
        if last is None:
            last = step - 1
        self._last_seen_step = step
        if step // self.every_n_steps != last // self.every_n_steps:
            self._record(step, logs)

    def on_epoch_end(self, epoch, logs=None):
        if not self._is_chief or not logs:
            return
        step = self._current_step()
        values = records.metric_values("epoch", logs)
        if values:
            self._writer.write(step, values)
        self._writer.flush()

    def on_train_end(self, logs=None):
        step = self._current_step()
        if self._last_recorded_step != step:
            self._record(step, None)
        if self._writer is not None:
            self._writer.close()

    # ------------------------------------------------------------------- setup

    def _check_log_dir(self):
        try:
            tf.io.gfile.makedirs(self.log_dir)
            writable = "://" in self.log_dir or os.access(self.log_dir, os.W_OK)
        except Exception as e:  # noqa: BLE001
            raise ValueError(
                "PruningMonitor cannot create log_dir %r (%s: %s). Pass a directory you can "
                "write to." % (self.log_dir, type(e).__name__, e)
            ) from None
        if not writable:
            raise ValueError(
                "PruningMonitor cannot write to log_dir %r (permission denied). Pass a "
                "directory you can write to." % self.log_dir
            )
        if self._writer is None:
            self._writer = GuardedWriter(self.log_dir)

    def _prepare_weights(self):
        model = self.model
        if self._measured_model is model and self._measurer is not None:
            # A further fit() of the same model: keep series and masks (it may have been
            # compiled again, with a new optimizer).
            iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
            if self._measurer.step_variable is not iterations:
                self._measurer.set_step_variable(iterations)
            return
        weights = discovery.find_prunable_weights(model)
        if self.layers is not None:
            weights = self._filter_layers(weights)
        unknown = sorted(set(self.masks) - {w.path for w in weights})
        if unknown:
            raise ValueError(
                "PruningMonitor: masks names weights %s that the model %r does not have; "
                "known weights: %s." % (unknown, model.name, [w.path for w in weights])
            )
        if not weights:
            warnings.warn(
                "PruningMonitor: model %r has no prunable weights (no TF-MOT wrappers and no "
                "trainable weights of rank 2 or more), so only its metrics are recorded. Wrap "
                "layers with tfmot.sparsity.keras.prune_low_magnitude or add Dense/Conv layers."
                % model.name,
                UserWarning,
                stacklevel=2,
            )
        all_vars = discovery.all_model_variables(model)
        ids = {id(w.variable) for w in weights}
        others = [v for v in all_vars if id(v) not in ids]
        self._weights = weights
        optimizer = getattr(model, "optimizer", None)
        self._measurer = measure.Measurer(
            weights,
            others,
            self.histogram_bins,
            masks=self.masks,
            step_variable=getattr(optimizer, "iterations", None),
        )
        self._measured_model = model
        sizes = [int(np.prod(v.shape)) for v in all_vars]
        self._model_constants = {
            "model_size": sum(sizes),
            "dense_bytes": sum(s * measure.itemsize(v) for s, v in zip(sizes, all_vars)),
            "other_dense_bytes": sum(
                s * measure.itemsize(v) for s, v in zip(sizes, all_vars) if id(v) not in ids
            ),
            "prunable_size": sum(w.size for w in weights),
        }
        # Another model (a rebuilt one, fewer units): its first record carries every mask and
        # a run config of its own. The previous masks stay for churn: NaN where shapes differ.
        self._records.set_weights(weights, self._model_constants)
        self._config_written = False
        self._config = None
        self._config_mark = {}

    def _filter_layers(self, weights):
        by_layer = {}
        for w in weights:
            by_layer.setdefault(w.layer_path, []).append(w)
            by_layer.setdefault(w.layer_path.split("/")[-1], []).append(w)
        unknown = [name for name in self.layers if name not in by_layer]
        if unknown:
            raise ValueError(
                "PruningMonitor: layers=%s names layers that model %r has no prunable weights "
                "in: %s. Layers with prunable weights: %s."
                % (self.layers, self.model.name, unknown, sorted({w.layer_path for w in weights}))
            )
        chosen = {id(w) for name in self.layers for w in by_layer[name]}
        return [w for w in weights if id(w) in chosen]

    def _check_update_pruning_step(self):
        for w in self._weights:
            if w.wrapper is not None and int(keras_state.read(w.wrapper.pruning_step)) < 0:
                raise ValueError(
                    "PruningMonitor: model %r has TF-MOT pruning wrappers but is trained without "
                    "the UpdatePruningStep callback (pruning_step of %r is still -1), so TF-MOT "
                    "would never prune. Add tfmot.sparsity.keras.UpdatePruningStep() to the "
                    "callbacks of model.fit." % (self.model.name, w.wrapper.name)
                )

    def _current_step(self):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if iterations is None:
            return 0 if self._last_seen_step is None else self._last_seen_step + 1
        return int(keras_state.read(iterations))

    # --------------------------------------------------------------- recording

    def _warm_up(self):
        # The slow first-time work happens here: Keras times batch hooks (and warns when they
        # are slow), not on_train_begin. Problems are reported once, by the first record.
        try:
            if self._config is None:
                self._config = self._run_config_contents()
            self._writer.open()
            if self._weights:
                self._measurer.measure()  # traces the measuring graph
        except Exception:  # noqa: BLE001
            pass

    def _measure_baseline(self):
        _, _, masks, _ = self._measurer.measure()
        self._records.keep_masks(masks)

    def _record(self, step, batch_logs, last=None):
        """Records `step`; with step None, the step the measuring graph reads, if a record is
        due at it (it differs from `last`, the step seen before, by a multiple of every_n_steps).
        """
        measured = None
        if step is None:
            try:
                measured = self._measurer.measure()
                step = self._measurer.step
            except Exception:  # noqa: BLE001 - reported below, by the same path as always
                step = self._current_step()
            self._last_seen_step = step
            if step // self.every_n_steps == last // self.every_n_steps:
                return  # the predicted step was wrong: no record is due
        self._last_recorded_step = step
        if not self._is_chief:
            return
        values = []
        try:
            if not self._config_written:
                values.append(self._config_record(**self._config_mark))
            if self._weights:
                values.extend(
                    self._records.weight_values(step, measured or self._measurer.measure())
                )
            if batch_logs:
                values.extend(records.metric_values("batch", batch_logs))
        except Exception as e:  # noqa: BLE001 - monitoring must never stop training
            if not self._measure_warned:
                self._measure_warned = True
                logger.warning(
                    "PruningMonitor could not measure the weights at step %d (%s: %s); training "
                    "goes on without pruning records. Please report this with your model.",
                    step,
                    type(e).__name__,
                    e,
                )
            return
        if self._writer.write(step, values):
            self._config_written = True
            self._config_mark = {}
        if (self._writer.dropped_steps, self._writer.failures) != self._failures_seen:
            # A failed step was evicted from the backlog, or the event file failed (it may be
            # gone with its directory): the next records carry every mask again.
            self._failures_seen = (self._writer.dropped_steps, self._writer.failures)
            self._records.forget_masks_on_disk()

    def _run_config_contents(self):
        return run_config.run_config(
            self.model, self._weights, self.every_n_steps, self._model_constants
        )

    @property
    def _prev_masks(self):
        """Each weight's mask at the previous recorded step (for churn), by weight path."""
        return self._records.prev_masks
