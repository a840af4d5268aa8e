"""`PruningMonitor`: the Keras callback that records what pruning does, step by step."""

import tf_keras

from tb_prune_plugin import summary
from tb_prune_plugin.callbacks import (
    arguments,
    discovery,
    keras_state,
    mask_steps,
    measure,
    policy,
    recorded_weights,
    records,
    run_config,
)
from tb_prune_plugin.callbacks import stripped_size as _stripped_size
from tb_prune_plugin.callbacks.warn_once import WarnOnce
from tb_prune_plugin.callbacks.writer import GuardedWriter

# How a record is due at a step (see PruningMonitor._due).
_NOT_DUE, _ORDINARY, _FORCED = 0, 1, 2


class PruningMonitor(tf_keras.callbacks.Callback):
    """Records masks, sparsity, targets, thresholds and weight statistics while a model is pruned.

    Works with TF-MOT (`tfmot.sparsity.keras.prune_low_magnitude` wrappers, any
    schedule, block and N:M settings) and with manual pruning in Keras 3 or
    tf_keras (the user zeroes weights; a weight's mask is `weight != 0` unless
    `masks` says otherwise). The same object works in both Kerases' `fit`.

    At each recorded step it writes for every prunable weight its sparsity,
    target, threshold, statistics, structure figures, mask churn and a |w|
    histogram, and the mask itself when it changed; per model, global sparsity
    and sizes; the run's configuration once; Keras's metrics at every epoch end
    and at recorded steps; at the end of training, the model's size as it ships
    (stripped, saved, gzipped: `stripped_size.py`). Steps are the optimizer's
    iteration count, so resumed training continues the series. The format is
    described in docs/format.md; TensorBoard's Pruning tab shows it.

    Which steps are recorded. By default: every step at which a mask may have
    changed, at that very step; the first state (step 0) and the first step of
    each `fit`; every epoch end; the last step of training; and, between those,
    the multiples of an interval that the monitor adapts as it runs, so that its
    own time (measured in its hooks) stays within `overhead_budget` of the
    training time (see `callbacks/policy.py`). With `every_n_steps=N`: every
    N-th optimizer step and the last step, as chosen, nothing else.

    How the monitor knows that a mask may have changed:
    - TF-MOT: from each wrapper's schedule and pruning step, without reading
      the mask (`callbacks/mask_steps.py`). The mask recorded at step `s` is the
      mask variable after `s` optimizer steps. With `steps_per_execution=k` the
      monitor sees every k-th step, so a change is recorded at the first of those
      at or after it.
    - Manual pruning: your pruning code says so by calling `mark_pruned()` right
      after it changes the weights (or masks); that step is then recorded. A
      change not announced shows at the next record (interval, epoch end, end of
      training): the monitor does not scan the weights at every step, which
      would cost a read of every weight per step.

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

    Manual pruning, recorded at the steps it prunes:

    ```python
    monitor = PruningMonitor("runs/manual_80", target_sparsity=0.8)

    class MyPruning(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if ...:  # your pruning step
                ...  # zero weights
                monitor.mark_pruned()

    model.fit(x, y, callbacks=[MyPruning(), monitor])
    ```

    Args:
      log_dir: directory to write to (a local path or any `tf.io.gfile` URL).
        It becomes one run in TensorBoard; Keras's TensorBoard callback and
        TF-MOT's PruningSummaries may share it (they write to subdirectories).
      every_n_steps: record every this many optimizer steps (1 = every step)
        and the last step, and nothing else; by default (None) the steps above.
      overhead_budget: the fraction of training time the monitor may spend on
        the records not otherwise due (default 0.02, 2%); only without
        `every_n_steps`. Mask changes, epoch ends and the first and last steps
        are recorded whatever they cost.
      layers: optional list of layer names (or layer paths such as
        `encoder/dense`) to record; by default every prunable weight.
      masks: optional dict mapping weight paths (such as `dense/kernel`) to
        the user's own mask variables (or callables returning a mask);
        non-zero entries are kept weights. For manual pruning with masks.
      target_sparsity: optional target for manual pruning runs: a float, a
        callable `step -> float`, or a dict of those per weight path. TF-MOT
        targets come from the wrappers' schedules.
      histogram_bins: bins of the |w| histogram of kept weights.
      histogram_every_n_steps: the |w| histograms go with every record that may
        carry a mask change, a fit's first record, epoch ends and the end of
        training, and otherwise once every this many steps (default 100; 1 =
        with every record): they are most of a record's time on large models.
      time_series_scalars: also write sparsity, target and threshold as
        ordinary TensorBoard scalars, for the Time Series dashboard.
      stripped_size: at the end of training, save the stripped model and record
        its size and gzipped size (one save and gzip of the whole model): "auto"
        (the default) when that fits in what `overhead_budget` leaves of the
        training or takes under a second, True always, False never.
    """

    def __init__(
        self,
        log_dir,
        *,
        every_n_steps=None,
        overhead_budget=None,
        layers=None,
        masks=None,
        target_sparsity=None,
        histogram_bins=30,
        histogram_every_n_steps=100,
        time_series_scalars=True,
        stripped_size="auto",
    ):
        super().__init__()
        log_dir, layers = arguments.check(
            log_dir, every_n_steps, overhead_budget, histogram_bins, layers, masks
        )
        if every_n_steps is None and overhead_budget is None:
            overhead_budget = policy.DEFAULT_OVERHEAD_BUDGET
        self.log_dir = log_dir
        self.every_n_steps = every_n_steps
        self.overhead_budget = overhead_budget
        self.layers = layers
        self.masks = dict(masks or {})
        self.target_sparsity = target_sparsity
        self.histogram_bins = histogram_bins
        self.time_series_scalars = time_series_scalars
        arguments.check_stripped_size(stripped_size)
        arguments.check_histogram_every_n_steps(histogram_every_n_steps)
        self.histogram_every_n_steps = histogram_every_n_steps
        self._histogram_steps = policy.HistogramSteps(histogram_every_n_steps)
        self.stripped_size = stripped_size

        self._policy = policy.RecordingPolicy(every_n_steps, overhead_budget)
        self._mask_steps = mask_steps.MaskChangeSteps([])
        self._prune_marked = False  # mark_pruned() was called; the next record is due
        self._first_batch_due = False  # a fit's first batch end is recorded (adaptive policy)
        self._new_fit = True  # no record yet in this fit: masks may have changed since the last
        self._in_batch = False  # between a batch begin and this monitor's batch end
        self._epoch_ending = False  # the batch that ended is its epoch's last (Keras's params)
        self._training = False
        self._warn_order = WarnOnce()
        self._writer = None
        self._stripped_size = _stripped_size.StrippedSizeRecorder() if stripped_size else None
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
        self._warn_measure = WarnOnce()
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
        self._policy.start_fit()
        self._first_batch_due = not self._policy.fixed
        self._new_fit = True
        self._training = True
        self._starting = True

    def on_train_batch_begin(self, batch, logs=None):
        self._in_batch = True
        if not self._starting:
            return
        self._starting = False
        recorded_weights.check_update_pruning_step(self.model, self._weights)
        step = self._current_step()
        self._last_seen_step = step
        self._mask_steps.start(step)
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
        clock = self._policy.clock
        began = clock()
        self._in_batch = False
        self._epoch_ending = batch + 1 >= ((self.params or {}).get("steps") or float("inf"))
        due = self._batch_end(logs)
        self._first_batch_due = False
        self._policy.spent(clock() - began, self._last_seen_step, due != _NOT_DUE, due == _FORCED)

    def _batch_end(self, logs):
        """Records the step just trained if a record is due; returns how it was due."""
        last = self._last_seen_step
        if last is not None:
            # Reading optimizer.iterations costs about half a millisecond: between records,
            # predict the step; read it when a record may be due (which corrects the guess).
            predicted = last + self._steps_per_batch
            due = self._due(last, predicted)
            if due == _NOT_DUE:
                self._last_seen_step = predicted
                return _NOT_DUE
            if self._is_chief and self._weights and self._measurer.reads_step:
                # The measuring graph reads the step with the weights, in the same call.
                return self._record(None, logs, last, predicted, due)
        step = self._current_step()
        if last is None:
            last = step - 1
        self._last_seen_step = step
        due = self._due(last, step)
        if due != _NOT_DUE:
            self._record(step, logs, due=due)
        return due

    def _due(self, last, step):
        """Whether a record is due at `step`, `last` being the step seen before: _NOT_DUE,
        _ORDINARY (the policy's interval) or _FORCED (a mask may have changed, a fit's first
        step)."""
        if self._prune_marked or self._first_batch_due:
            return _FORCED
        if not self._policy.fixed and self._mask_steps.may_change(last + 1, step):
            return _FORCED
        return _ORDINARY if self._policy.due(last, step) else _NOT_DUE

    def on_epoch_end(self, epoch, logs=None):
        began = self._policy.clock()
        step = self._current_step()
        recorded = (not self._policy.fixed or self._prune_marked) and (
            self._last_recorded_step != step
        )
        if recorded:
            self._record(step, None)
        if self._is_chief and logs:
            values = records.metric_values("epoch", logs)
            if values:
                self._writer.write(step, values)
            self._writer.flush()
        self._policy.spent(self._policy.clock() - began, step, recorded, forced=True)

    def on_train_end(self, logs=None):
        self._training = self._in_batch = False
        step = self._current_step()
        if self._last_recorded_step != step:
            self._record(step, None)
        if self._stripped_size is not None:
            auto = self.stripped_size == "auto" and not keras_state.is_multi_worker(self.model)
            # Multi-worker: every worker measures or none (stripping runs collective ops).
            allowance = self._policy.allowance() if auto else None
            self._stripped_size.record(self.model, self._writer, step, allowance)
        if self._writer is not None:
            self._writer.close()

    def mark_pruned(self):
        """Tells the monitor that your pruning code has just changed the weights or masks.

        The step being trained is then recorded with the new masks, whatever the recording
        interval. Call it from the callback (or loop) that prunes, right after it prunes: a
        callback placed before this monitor in `callbacks` (or pruning in a batch-begin hook)
        gets the change recorded at its step; placed after it, the step is recorded at once,
        unless the monitor already recorded it, in which case the change shows at the next
        step (with a warning). Not needed with TF-MOT's schedules, which tell the steps; needed
        after editing a TF-MOT mask by hand between them (with the default policy).
        """
        if not self._training or self._in_batch:
            self._prune_marked = True
            return
        began = self._policy.clock()
        step = self._current_step()
        if self._last_recorded_step != step:
            self._record(step, None)
            self._policy.spent(self._policy.clock() - began, step, True, forced=True)
            return
        self._warn_order(
            "PruningMonitor.mark_pruned() was called at step %d after the monitor recorded "
            "that step, so the change is recorded at the next step. Place the callback "
            "that prunes before PruningMonitor in the callbacks list to record it at its "
            "step.",
            step,
        )
        self._prune_marked = True

    def masks_may_have_changed(self, step):
        """False only if no recorded mask can have changed after the last record up to `step`.

        That is known when every recorded weight is pruned by TF-MOT (whose schedules tell the
        steps at which a mask can change; see `mask_steps`), the last record was taken in the
        same fit, and `mark_pruned()` was not called since. In every other case: True.
        """
        last = self._last_recorded_step
        if last is None or self._new_fit or self._prune_marked or step < last:
            return True
        if any(w.wrapper is None for w in self._weights):
            return True
        return self._mask_steps.may_change(last + 1, step)

    def _may_skip_masks(self, step):
        """Whether the measurer may take the masks as unchanged at `step`: with the default
        policy only, when `masks_may_have_changed` rules a change out. With `every_n_steps`
        every record compares the masks, so a TF-MOT mask edited by hand between the
        schedule's pruning steps is seen (with the default, call `mark_pruned()` after it)."""
        return self.every_n_steps is None and not self.masks_may_have_changed(step)

    def _wants_histograms(self, step, due):
        """Whether the record at `step` (due as `due` says) carries the |w| histograms."""
        forced = due == _FORCED or self._new_fit or self._epoch_ending
        return self._histogram_steps.due(step, forced, self._last_recorded_step, self._mask_steps)

    @property
    def recording_interval(self):
        """The current interval, in optimizer steps, of the records not otherwise due."""
        return self._policy.interval

    @property
    def overhead(self):
        """The monitor's own time in this fit, as it measured it: a dict with
        `monitor_seconds`, `training_seconds_per_step` (excluding the monitor and the fit's
        first step), `record_seconds` (a record's moving average), `records` and
        `interval`."""
        return self._policy.overhead(self._last_seen_step)

    # ------------------------------------------------------------------- setup

    def _check_log_dir(self):
        arguments.check_log_dir(self.log_dir)
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
        weights = recorded_weights.choose(model, self.layers, self.masks)
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
        self._model_constants = recorded_weights.model_constants(all_vars, weights)
        # Another model (a rebuilt one, fewer units): its first record carries every mask and
        # a run config of its own. The previous masks stay for churn: NaN where shapes differ.
        self._records.set_weights(weights, self._model_constants)
        self._mask_steps = mask_steps.MaskChangeSteps(weights)
        self._config_written = False
        self._config = None
        self._config_mark = {}

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
        _, _, masks, _ = self._measurer.measure(histograms=False)
        self._records.keep_masks(masks)

    def _record(self, step, batch_logs, last=None, predicted=None, due=_FORCED):
        """Records `step`, due as `due` says (`_due`, returned); with step None, the step the
        measuring graph reads (`predicted` the guess) if a record is due at it (`last`: the
        step seen before), telling the measurer whether masks may be skipped and histograms.
        """
        measured = None
        if step is None:
            try:
                hint = predicted is not None and self._may_skip_masks(predicted)
                histograms = self._wants_histograms(predicted, due)
                measured = self._measurer.measure(masks_unchanged=hint, histograms=histograms)
                step = self._measurer.step
                if step != predicted and (hint or not histograms):
                    measured = None  # the guess was wrong: measured again below for `step`
            except Exception:  # noqa: BLE001 - reported below, by the same path as always
                step = self._current_step()
            self._last_seen_step = step
            due = self._due(last, step)
            if due == _NOT_DUE:
                return due  # the predicted step was wrong: no record is due
        # Known before the state below is reset: whether the measurer may skip mask comparisons.
        unchanged = measured is None and self._may_skip_masks(step)
        histograms = measured is None and self._wants_histograms(step, due)
        self._last_recorded_step = step
        self._prune_marked = self._new_fit = False
        if not self._is_chief:
            return due
        values = []
        try:
            if not self._config_written:
                values.append(self._config_record(**self._config_mark))
            if self._weights:
                measured = measured or self._measurer.measure(
                    masks_unchanged=unchanged, histograms=histograms
                )
                values.extend(self._records.weight_values(step, measured, self._writer))
                if measured[1] is not None:
                    self._histogram_steps.recorded(step)
            if batch_logs:
                values.extend(records.metric_values("batch", batch_logs))
        except Exception as e:  # noqa: BLE001 - monitoring must never stop training
            self._warn_measure(
                "PruningMonitor could not measure the weights at step %d (%s: %s); training "
                "goes on without pruning records. Please report this with your model.",
                step,
                type(e).__name__,
                e,
            )
            return due
        if self._writer.write(step, values):
            self._config_written = True
            self._config_mark = {}
        if (self._writer.dropped_steps, self._writer.failures) != self._failures_seen:
            # A failed step was evicted from the backlog, or the event file failed (it may be
            # gone with its directory): the next records carry every mask again.
            self._failures_seen = (self._writer.dropped_steps, self._writer.failures)
            self._records.forget_masks_on_disk()
        return due

    def _run_config_contents(self):
        recording = {name: getattr(self, name) for name in run_config.RECORDING_FIELDS}
        return run_config.run_config(self.model, self._weights, self._model_constants, **recording)
