"""Small real trainings for the tests: scikit-learn's 8x8 digits, tiny models, few steps.

`Probe` is a tf_keras callback placed after `PruningMonitor` in the callbacks
list; Keras calls callbacks in list order, so at each batch end it sees the
state the monitor has just recorded: masks, thresholds, pruning steps and
weights, copied to NumPy per optimizer step.
"""

import numpy as np
import tf_keras

_DIGITS = None


def digits(n=800):
    """(x [n, 64] float32 in [0, 1], y [n] int) from scikit-learn's bundled digits."""
    global _DIGITS
    if _DIGITS is None:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        _DIGITS = (x / 16.0).astype("float32"), y.astype("int64")
    x, y = _DIGITS
    return x[:n], y[:n]


def digits_images(n=800):
    """Digits as [n, 8, 8, 1] images."""
    x, y = digits(n)
    return x.reshape(-1, 8, 8, 1), y


def _tfmot_wrappers(model, prefix=""):
    """(layer path, wrapper) of every TF-MOT wrapper, descending into nested models."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "pruning_vars"):
            out.append((prefix + layer.layer.name, layer))
        elif hasattr(layer, "layers"):
            out.extend(_tfmot_wrappers(layer, prefix + layer.name + "/"))
    return out


def _step(model):
    return int(np.asarray(model.optimizer.iterations.numpy()))


class AtStep(tf_keras.callbacks.Callback):
    """Calls `action(model)` at the end of optimizer step `at`.

    Its place in the callbacks list decides who sees the change: before the monitor, the
    monitor records it at that step; after, at the next record.
    """

    def __init__(self, at, action):
        super().__init__()
        self.at, self.action = at, action

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) == self.at:
            self.action(self.model)


class MagnitudePruner(tf_keras.callbacks.Callback):
    """A user's own pruning: every `every` optimizer steps, zero the smallest |w| of each
    kernel (in tf_keras and Keras 3 models)."""

    def __init__(self, target, every):
        super().__init__()
        self.target, self.every = target, every

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) % self.every:
            return
        for layer in self.model.layers:
            kernel = getattr(layer, "kernel", None)
            if kernel is not None:
                value = np.asarray(kernel.numpy())
                cut = np.quantile(np.abs(value), self.target)
                kernel.assign(np.where(np.abs(value) <= cut, 0.0, value).astype(value.dtype))


class MaskedMagnitudePruner(tf_keras.callbacks.Callback):
    """A user's own pruning that keeps its masks: every `every` optimizer steps it prunes the
    smallest |w| of each kernel's kept weights down to `target` (one more fraction `step_by`
    of each kernel per pruning step), and at every step it zeroes the pruned weights again.

    So `weight != 0` changes only at its pruning steps, where it calls
    `monitor.mark_pruned()` (if given).
    """

    def __init__(self, target, every, step_by=0.2, monitor=None):
        super().__init__()
        self.target, self.every, self.step_by, self.monitor = target, every, step_by, monitor
        self.masks = {}
        self.pruned_at = []

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        prune = step % self.every == 0
        for layer in self.model.layers:
            kernel = getattr(layer, "kernel", None)
            if kernel is None:
                continue
            value = np.asarray(kernel.numpy())
            mask = self.masks.get(layer.name, np.ones(value.shape, bool))
            if prune:
                sparsity = min(self.target, 1.0 - mask.mean() + self.step_by)
                cut = np.quantile(np.abs(value), sparsity)
                mask = mask & (np.abs(value) > cut)
                self.masks[layer.name] = mask
            kernel.assign(np.where(mask, value, 0.0).astype(value.dtype))
        if prune:
            self.pruned_at.append(step)
            if self.monitor is not None:
                self.monitor.mark_pruned()


def changed_steps(probe):
    """Steps whose masks (any weight) differ from the step before, as the probe saw them."""
    steps = sorted(probe.masks)
    out = []
    for prev, cur in zip(steps, steps[1:]):
        before, after = probe.masks[prev], probe.masks[cur]
        if any(not np.array_equal(before[w], after[w]) for w in after):
            out.append(cur)
    return out


class Probe(tf_keras.callbacks.Callback):
    """Captures, per optimizer step, what the monitor should have recorded.

    Attributes:
      masks: step -> {weight path: bool mask}; TF-MOT masks from the wrappers' mask
        variables, otherwise `weight != 0` of the given `manual_weights`.
      weights: step -> {weight path: float32 weights}.
      thresholds: step -> {weight path: threshold}.
      pruning_steps: step -> {weight path: the wrapper's pruning_step}.
    """

    def __init__(self, manual_weights=None):
        super().__init__()
        self.manual_weights = manual_weights or {}
        self.masks, self.weights, self.thresholds, self.pruning_steps = {}, {}, {}, {}

    def on_train_begin(self, logs=None):
        # The state at step 0 is taken at the first batch begin, as the monitor does.
        self._first = True

    def on_train_batch_begin(self, batch, logs=None):
        if self._first:
            self._first = False
            self._capture()

    def on_train_batch_end(self, batch, logs=None):
        self._capture()

    def _capture(self):
        step = int(np.asarray(self.model.optimizer.iterations.numpy()))
        masks, weights, thresholds, psteps = {}, {}, {}, {}
        for layer_path, wrapper in _tfmot_wrappers(self.model):
            for weight, mask, threshold in wrapper.pruning_vars:
                path = "%s/%s" % (layer_path, weight.name.split(":")[0].split("/")[-1])
                masks[path] = mask.numpy() != 0
                weights[path] = weight.numpy().copy()
                thresholds[path] = float(threshold.numpy())
                psteps[path] = int(wrapper.pruning_step.numpy())
        for path, variable in self.manual_weights.items():
            value = np.asarray(variable.numpy()).copy()
            masks[path] = value != 0
            weights[path] = value
        self.masks[step], self.weights[step] = masks, weights
        self.thresholds[step], self.pruning_steps[step] = thresholds, psteps


def dense_tfmot_model(schedule, **prune_kwargs):
    """A tf_keras MLP 64-24-10 with both Dense layers wrapped by TF-MOT."""
    import tensorflow_model_optimization as tfmot

    base = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(24, activation="relu", input_shape=(64,), name="hidden"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    model = tfmot.sparsity.keras.prune_low_magnitude(
        base, pruning_schedule=schedule, **prune_kwargs
    )
    compile_classifier(model)
    return model


def mlp(keras_module, hidden=24):
    """A compiled MLP 64-`hidden`-10 of `keras_module` (tf_keras or keras): Dense layers
    "hidden" (relu) and "logits"."""
    model = keras_module.Sequential(
        [
            keras_module.Input((64,)),
            keras_module.layers.Dense(hidden, activation="relu", name="hidden"),
            keras_module.layers.Dense(10, name="logits"),
        ]
    )
    compile_classifier(model)
    return model


def compile_classifier(model):
    """Adam, sparse categorical cross-entropy on logits, accuracy."""
    loss_module = tf_keras if "tf_keras" in type(model).__module__ else None
    if loss_module is None:
        import keras

        loss_module = keras
    model.compile(
        optimizer=loss_module.optimizers.Adam(0.01),
        loss=loss_module.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
