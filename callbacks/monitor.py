"""`PruningMonitor`: the Keras callback that records what pruning does, step by step."""

import json
import logging
import math
import os
import warnings

import numpy as np
import tensorflow as tf
import tf_keras

from tb_prune_plugin import metadata, summary
from tb_prune_plugin.callbacks import discovery, mask_delta, measure
from tb_prune_plugin.callbacks.writer import GuardedWriter
from tb_prune_plugin.version import VERSION

logger = logging.getLogger("tb_prune_plugin")

_FIELD_INDEX = {name: i for i, name in enumerate(measure.DEVICE_FIELDS)}


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
        self._mask_deltas = mask_delta.MaskDeltaEncoder()  # keyframe or delta, per mask record
        self._measurer = None
        self._measured_model = None
        self._weights = []
        self._prev_masks = {}  # path -> mask at the previous recorded step (for churn)
        self._masks_on_disk = set()  # paths whose current mask is in the current event file
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
        self._is_chief = _is_chief(self.model)
        if self._is_chief:
            self._check_log_dir()
        self._prepare_weights()
        self._steps_per_batch = _steps_per_execution(self.model)
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
            self._config = self._run_config()
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
        values = self._metric_values("epoch", logs)
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
        self._masks_on_disk = set()
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
            if w.wrapper is not None and int(_read(w.wrapper.pruning_step)) < 0:
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
        return int(_read(iterations))

    # --------------------------------------------------------------- recording

    def _warm_up(self):
        # The slow first-time work happens here: Keras times batch hooks (and warns when they
        # are slow), not on_train_begin. Problems are reported once, by the first record.
        try:
            if self._config is None:
                self._config = self._run_config()
            self._writer.open()
            if self._weights:
                self._measurer.measure()  # traces the measuring graph
        except Exception:  # noqa: BLE001
            pass

    def _measure_baseline(self):
        _, _, masks, _ = self._measurer.measure()
        for w, mask in zip(self._weights, masks):
            self._prev_masks[w.path] = mask

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
                values.extend(self._weight_values(step, measured or self._measurer.measure()))
            if batch_logs:
                values.extend(self._metric_values("batch", batch_logs))
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
            self._masks_on_disk = set()

    def _weight_values(self, step, measured):
        figures, histograms, masks, other_nonzeros = measured
        values = []
        prunable_nonzeros = 0
        sparse_bytes = self._model_constants["other_dense_bytes"]
        for i, w in enumerate(self._weights):
            row = figures[i]
            mask = masks[i]
            nonzeros = int(row[_FIELD_INDEX["nonzeros"]])
            prunable_nonzeros += nonzeros
            sparse_bytes += nonzeros * measure.itemsize(w.variable) + measure.packed_mask_bytes(
                w.size
            )
            prev = self._prev_masks.get(w.path)
            if prev is None or prev.shape != mask.shape:
                newly = regrown = float("nan")
                changed = True
            elif prev is mask or np.array_equal(prev, mask):
                # The measurer hands back the same array when the mask did not change.
                newly = regrown = 0
                changed = False
            else:
                newly = int(np.count_nonzero(prev & ~mask))
                regrown = int(np.count_nonzero(~prev & mask))
                changed = True
            self._prev_masks[w.path] = mask
            target, should_prune = self._target(w, step, row)
            stats = {
                "size": w.size,
                "nonzeros": nonzeros,
                "sparsity": 1.0 - nonzeros / w.size if w.size else float("nan"),
                "target_sparsity": target,
                "should_prune": should_prune,
                "threshold": row[_FIELD_INDEX["threshold"]],
                "mean": row[_FIELD_INDEX["mean"]],
                "std": row[_FIELD_INDEX["std"]],
                "min": row[_FIELD_INDEX["min"]],
                "max": row[_FIELD_INDEX["max"]],
                "l1": row[_FIELD_INDEX["l1"]],
                "l2": row[_FIELD_INDEX["l2"]],
                "kept_mean_abs": row[_FIELD_INDEX["l1"]] / nonzeros if nonzeros else float("nan"),
                "pruned_units_fraction": row[_FIELD_INDEX["pruned_units_fraction"]],
                "pruned_inputs_fraction": row[_FIELD_INDEX["pruned_inputs_fraction"]],
                "nm_compliance": row[_FIELD_INDEX["nm_compliance"]],
                "block_sparsity": row[_FIELD_INDEX["block_sparsity"]],
                "newly_pruned": newly,
                "regrown": regrown,
                "mask_changed": 1.0 if changed else 0.0,
                "nonfinite": row[_FIELD_INDEX["nonfinite"]],
            }
            values.append(summary.weight_stats(w.path, stats))
            values.append(
                summary.weight_histogram(
                    w.path, 0.0, row[_FIELD_INDEX["histogram_hi"]], histograms[i]
                )
            )
            if changed or w.path not in self._masks_on_disk:
                keyframe = w.path not in self._masks_on_disk
                values.append(
                    self._mask_deltas.record(w.path, mask, step, self._writer, keyframe=keyframe)
                )
                self._masks_on_disk.add(w.path)
            if self.time_series_scalars:
                values.extend(
                    self._scalars(
                        w.path,
                        sparsity=stats["sparsity"],
                        target_sparsity=target,
                        threshold=stats["threshold"],
                    )
                )
        constants = self._model_constants
        prunable_size = constants["prunable_size"]
        global_sparsity = 1.0 - prunable_nonzeros / prunable_size if prunable_size else float("nan")
        model = {
            "global_sparsity": global_sparsity,
            "prunable_size": prunable_size,
            "prunable_nonzeros": prunable_nonzeros,
            "model_size": constants["model_size"],
            "model_nonzeros": other_nonzeros + prunable_nonzeros,
            "dense_bytes": constants["dense_bytes"],
            "sparse_bytes": sparse_bytes,
        }
        values.append(summary.model_stats(model))
        if self.time_series_scalars and not math.isnan(global_sparsity):
            values.append(summary.scalar(summary.GLOBAL_SPARSITY_TAG, global_sparsity))
        return values

    def _scalars(self, path, **named):
        out = []
        for name, value in named.items():
            if value is None or math.isnan(value):
                continue
            tag = "%s%s/%s" % (summary.TAG_PREFIX, path, name)
            out.append(summary.scalar(tag, value))
        return out

    def _target(self, w, step, row):
        if w.wrapper is not None:
            return row[_FIELD_INDEX["target_sparsity"]], row[_FIELD_INDEX["should_prune"]]
        target = self.target_sparsity
        if isinstance(target, dict):
            target = target.get(w.path)
        if callable(target):
            target = target(step)
        if target is None:
            return float("nan"), float("nan")
        return float(target), float("nan")

    def _metric_values(self, scope, logs):
        values = []
        for name, value in sorted(logs.items()):
            try:
                number = float(np.asarray(value))
            except (TypeError, ValueError):
                continue  # not a scalar metric
            values.append(summary.metric(scope, name, number))
        return values

    def _run_config(self):
        model = self.model
        weights = []
        for w in self._weights:
            entry = {
                "path": w.path,
                "layer": w.layer_path,
                "shape": list(w.shape),
                "size": w.size,
                "method": w.method,
                "block_size": list(w.block_size) if w.block_size else None,
                "block_pooling_type": w.block_pooling_type,
                "sparsity_m_by_n": list(w.sparsity_m_by_n) if w.sparsity_m_by_n else None,
                "schedule": None,
            }
            if w.wrapper is not None:
                schedule = w.wrapper.pruning_schedule
                entry["schedule"] = {
                    "class": type(schedule).__name__,
                    "config": _jsonable(_safe_config(schedule)),
                }
            weights.append(entry)
        methods = sorted({w.method for w in self._weights})
        optimizer = getattr(model, "optimizer", None)
        return {
            "format_version": metadata.FORMAT_VERSION,
            "tb_prune_plugin_version": VERSION,
            "tensorflow_version": tf.__version__,
            "keras": _keras_flavour(model),
            "model_name": model.name,
            "method": methods[0] if len(methods) == 1 else ("mixed" if methods else None),
            "every_n_steps": self.every_n_steps,
            "weights": weights,
            "optimizer": None
            if optimizer is None
            else {"class": type(optimizer).__name__, "config": _jsonable(_safe_config(optimizer))},
            "parameters": {
                "model_size": self._model_constants["model_size"],
                "prunable_size": self._model_constants["prunable_size"],
            },
            "model_summary": _model_summary(model),
        }


# --------------------------------------------------------------------- helpers


def _read(variable):
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.asarray(value).item()


def _steps_per_execution(model):
    """Optimizer steps between two batch-end calls (Keras's steps_per_execution, default 1)."""
    value = getattr(model, "_steps_per_execution", None)  # tf_keras: a tf.Variable
    if value is None:
        value = getattr(model, "steps_per_execution", None)  # Keras 3: an int
    try:
        return max(1, int(_read(value))) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def _is_chief(model):
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    if task_type == "worker" and getattr(resolver, "task_id", 0) == 0:
        jobs = resolver.cluster_spec().as_dict() if hasattr(resolver, "cluster_spec") else {}
        return "chief" not in jobs
    return False


def _keras_flavour(model):
    module = type(model).__module__
    if module.startswith("tf_keras") or "_tf_keras" in module:
        return "tf_keras %s" % tf_keras.__version__
    import keras

    return "keras %s" % keras.__version__


def _safe_config(obj):
    try:
        return obj.get_config()
    except Exception:  # noqa: BLE001 - a config is informative only
        return None


def _jsonable(value):
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _model_summary(model):
    lines = []
    try:
        model.summary(print_fn=lambda *args, **kwargs: lines.append(str(args[0]) if args else ""))
    except Exception as e:  # noqa: BLE001 - a summary is informative only
        return "(model summary unavailable: %s)" % e
    return "\n".join(lines)
