"""The measurer's fast path: masks compared on the device, mask figures reused while unchanged.

The measuring graph keeps each weight's last mask and kept indices on the device and derives
mask figures (kept count, pruned units and inputs) and the host copy of a mask only when the
mask changed; statistics and histograms come from the kept weights alone. These tests train
for real and pin that every recorded figure still equals the model's variables at that step.
"""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import PruningMonitor, discovery, measure
from tests import training

sparsity = tfmot.sparsity.keras
BINS = 30


@pytest.fixture(params=["gathered", "from_scratch"], autouse=True)
def path(request, monkeypatch):
    """Both ways of measuring a weight: with device state (large weights) and without.

    The test models are tiny, so the size from which weights keep device state is lowered
    to 0 for the "gathered" run.
    """
    if request.param == "gathered":
        monkeypatch.setattr(measure, "GATHER_MIN_SIZE", 0)
    return request.param


def _dense_model(units=16):
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(units, activation="relu", input_shape=(64,), name="hidden"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


class _Capture(tf_keras.callbacks.Callback):
    """After the monitor: per step, the hidden kernel and the user's mask variable (if any)."""

    def __init__(self, mask=None):
        super().__init__()
        self.mask = mask
        self.kernels, self.masks = {}, {}

    def on_train_batch_begin(self, batch, logs=None):
        if not self.kernels:
            self._capture()

    def on_train_batch_end(self, batch, logs=None):
        self._capture()

    def _capture(self):
        step = int(self.model.optimizer.iterations.numpy())
        self.kernels[step] = self.model.get_layer("hidden").kernel.numpy().copy()
        if self.mask is not None:
            self.masks[step] = self.mask.numpy() != 0


class _SetMask(tf_keras.callbacks.Callback):
    """Before the monitor: assigns `values[step]` to `mask` at the end of that step."""

    def __init__(self, mask, values):
        super().__init__()
        self.mask, self.values = mask, values

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step in self.values:
            self.mask.assign(self.values[step])


def _expected_histogram(kept_abs):
    """TensorFlow's histogram_fixed_width of |kept weights| over [0, max], 30 bins, in NumPy.

    The kernel's own formula: bin = min(float64(x) / (float64(hi) / bins), bins - 1).
    """
    hi = np.float32(max(kept_abs.max() if kept_abs.size else 0.0, 1e-30))
    step = np.float64(hi) / BINS
    bins = np.minimum(kept_abs.astype(np.float64) / step, BINS - 1).astype(np.int64)
    return np.bincount(bins, minlength=BINS)


def assert_mean(mean, eff):
    """The recorded mean equals the effective weights' to 1e-6 of itself or 1e-8 of their mean
    |w|: a large weight's signed sum adds float32 partial sums of 256 values in float64
    (`measure._signed_sum`), whose error is about 1e-9 of the sum of |w|, which a mean near
    zero cannot hold to 1e-6 of itself."""
    expected = eff.mean()
    assert abs(mean - expected) <= 1e-6 * abs(expected) + 1e-8 * np.abs(eff).mean(), (
        mean,
        expected,
    )


def _assert_figures_exact(series, i, kernel, mask):
    """Every figure of record i equals the kernel and mask (float32 sums to 1e-6)."""
    eff = np.where(mask, kernel, 0).astype(np.float64)
    f = {k: v[i] for k, v in series.fields.items()}
    assert f["nonzeros"] == np.count_nonzero(mask)
    assert f["sparsity"] == 1.0 - np.count_nonzero(mask) / mask.size
    assert f["pruned_units_fraction"] == np.mean(~mask.any(axis=0))
    assert f["pruned_inputs_fraction"] == np.mean(~mask.any(axis=1))
    assert_mean(f["mean"], eff)
    np.testing.assert_allclose(
        [f["std"], f["l1"], f["l2"]],
        [eff.std(), np.abs(eff).sum(), np.sqrt((eff**2).sum())],
        rtol=1e-6,
    )
    assert f["min"] == eff.min() and f["max"] == eff.max()
    kept_abs = np.abs(kernel[mask])
    hist = series.histograms
    assert hist.hi[i] == (np.float64(kept_abs.max()) if kept_abs.size else 0.0)
    np.testing.assert_array_equal(hist.counts[i], _expected_histogram(kept_abs))


def test_user_mask_changes_then_not_then_back_recorded_exactly(tmp_path):
    model = _dense_model()
    kernel = model.get_layer("hidden").kernel
    mask = tf.Variable(tf.ones(kernel.shape), trainable=False)
    rng = np.random.default_rng(0)
    a = (rng.random(kernel.shape) > 0.5).astype(np.float32)
    a[:, 3] = 0.0  # a whole pruned unit
    b = a.copy()
    b[:, :8] = 0.0
    b[5, 8:] = 0.0  # more pruned units and one whole pruned input
    # Step 3 assigns A again (same values): not a change. Step 5 goes back to A.
    setter = _SetMask(mask, {1: a, 3: a, 4: b, 5: a})
    capture = _Capture(mask)
    x, y = training.digits(700)
    logdir = str(tmp_path / "user")
    monitor = PruningMonitor(
        logdir, masks={"hidden/kernel": mask}, every_n_steps=1, histogram_every_n_steps=1
    )
    model.fit(x, y, batch_size=100, verbose=0, callbacks=[setter, monitor, capture])
    hidden = reader.load(str(tmp_path)).runs["user"].weights["hidden/kernel"]
    assert hidden.steps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert hidden.fields["mask_changed"].tolist() == [1, 1, 0, 0, 1, 1, 0, 0]
    assert sorted(hidden.masks) == [0, 1, 4, 5]
    for step, recorded in hidden.masks.items():
        np.testing.assert_array_equal(recorded, capture.masks[step])
    np.testing.assert_array_equal(hidden.masks[5], a != 0)
    a_, b_ = a != 0, b != 0
    assert np.isnan(hidden.fields["newly_pruned"][0]) and np.isnan(hidden.fields["regrown"][0])
    newly = [np.sum(~a_), 0, 0, np.sum(a_ & ~b_), 0, 0, 0]
    regrown = [0, 0, 0, 0, np.sum(a_ & ~b_), 0, 0]
    assert hidden.fields["newly_pruned"][1:].tolist() == newly
    assert hidden.fields["regrown"][1:].tolist() == regrown
    for i, step in enumerate(hidden.steps.tolist()):
        _assert_figures_exact(hidden, i, capture.kernels[step], capture.masks[step])


def _prune_column(model, unit):
    """Zeroes column `unit` of the first layer's TF-MOT mask."""
    mask = model.layers[0].pruning_vars[0][1]
    value = mask.numpy()
    value[:, unit] = 0.0
    mask.assign(value)


def test_manual_change_of_tfmot_mask_between_schedule_steps_recorded(tmp_path):
    """A mask changed by hand at a step where the schedule does not prune is still recorded."""
    # The schedule prunes once, at pruning step 1 (recorded at step 1: the step the
    # record shows is the one whose should_prune is 1); the hand change comes at step 3.
    schedule = sparsity.ConstantSparsity(0.5, begin_step=1, frequency=100)
    model = training.dense_tfmot_model(schedule)
    probe = training.Probe()
    x, y = training.digits(600)
    model.fit(
        x,
        y,
        batch_size=100,
        verbose=0,
        callbacks=[
            sparsity.UpdatePruningStep(),
            training.AtStep(3, lambda model: _prune_column(model, 5)),
            PruningMonitor(str(tmp_path / "hand"), every_n_steps=1, histogram_every_n_steps=1),
            probe,
        ],
    )
    hidden = reader.load(str(tmp_path)).runs["hand"].weights["hidden/kernel"]
    assert hidden.steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert hidden.fields["should_prune"].tolist() == [0, 1, 0, 0, 0, 0, 0]
    assert hidden.fields["mask_changed"].tolist() == [1, 1, 0, 1, 0, 0, 0]
    assert sorted(hidden.masks) == [0, 1, 3]
    for step in (1, 3):
        np.testing.assert_array_equal(hidden.masks[step], probe.masks[step]["hidden/kernel"])
    assert not hidden.masks[3][:, 5].any()
    newly_at_3 = np.sum(hidden.masks[1][:, 5])
    assert newly_at_3 > 0
    assert hidden.fields["newly_pruned"][3] == newly_at_3
    assert hidden.fields["regrown"][3] == 0
    for i, step in enumerate(hidden.steps.tolist()):
        _assert_figures_exact(
            hidden, i, probe.weights[step]["hidden/kernel"], probe.masks[step]["hidden/kernel"]
        )


def test_device_state_follows_models_of_changed_shape_and_resumed_fits(tmp_path):
    """One monitor, three fits: a 16-unit model, a rebuilt 8-unit one (twice), then 16 again.

    Each model gets its own device-side masks; a further fit of the same model keeps them
    and still sees a mask changed by hand between the fits.
    """
    x, y = training.digits(200)
    logdir = str(tmp_path / "shapes")
    monitor = PruningMonitor(logdir, every_n_steps=1, histogram_every_n_steps=1)
    big, small = _dense_model(16), _dense_model(8)
    fits = []

    def fit(model):
        capture = _Capture()
        model.fit(x, y, batch_size=100, verbose=0, callbacks=[monitor, capture])
        fits.append(capture)

    def zero_unit(model, unit):
        kernel = model.get_layer("hidden").kernel
        value = kernel.numpy()
        value[:, unit] = 0.0
        kernel.assign(value)

    zero_unit(big, 0)
    fit(big)  # steps 0, 1, 2
    small.optimizer.iterations.assign(big.optimizer.iterations)
    zero_unit(small, 1)
    fit(small)  # steps 3, 4 (step 2 is the resumed training's baseline)
    zero_unit(small, 2)
    fit(small)  # steps 5, 6
    big.optimizer.iterations.assign(small.optimizer.iterations)
    fit(big)  # steps 7, 8
    hidden = reader.load(str(tmp_path)).runs["shapes"].weights["hidden/kernel"]
    assert hidden.steps.tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    kernels = {}  # step -> the kernel recorded at it: a fit's last step, not the next's start
    for capture in fits:
        for step, kernel in capture.kernels.items():
            kernels.setdefault(step, kernel)
    # Training may move a zeroed weight (the mask is w != 0): changes follow the kernels.
    firsts = {0, 3, 7}  # first records of a model (a new shape): always written, no churn
    changes = [
        s
        for s in range(1, 9)
        if s not in firsts and ((kernels[s] != 0) != (kernels[s - 1] != 0)).any()
    ]
    assert 5 in changes  # unit 2, zeroed between the two fits of the small model
    assert sorted(hidden.masks) == sorted(firsts | set(changes))
    assert {s: m.shape for s, m in hidden.masks.items() if s in firsts} == {
        0: (64, 16),
        3: (64, 8),
        7: (64, 16),
    }
    expected_changed = [1.0 if s in firsts or s in changes else 0.0 for s in range(9)]
    assert hidden.fields["mask_changed"].tolist() == expected_changed
    newly, regrown = hidden.fields["newly_pruned"], hidden.fields["regrown"]
    for i in sorted(firsts):  # a first record, and across a change of shape: undefined
        assert np.isnan(newly[i]) and np.isnan(regrown[i])
    for i in sorted(set(range(9)) - firsts):
        before, after = kernels[i - 1] != 0, kernels[i] != 0
        assert newly[i] == np.sum(before & ~after) and regrown[i] == np.sum(~before & after)
    assert newly[5] > 0
    for i, step in enumerate(hidden.steps.tolist()):
        kernel = kernels[step]
        mask = hidden.masks[max(s for s in hidden.masks if s <= step)]
        np.testing.assert_array_equal(mask, kernel != 0)
        _assert_figures_exact(hidden, i, kernel, kernel != 0)


def test_nonfinite_raw_weight_at_pruned_position_is_not_an_effective_weight(path):
    """Regression: the effective weights were `w * mask`, so an Inf raw weight where TF-MOT's
    mask is 0 became NaN, was counted as non-finite and taken twice out of the first bin."""
    model = training.dense_tfmot_model(sparsity.ConstantSparsity(0.5, begin_step=0))
    model.build((None, 64))
    weights = discovery.find_prunable_weights(model)
    hidden = weights[0]
    assert hidden.path == "hidden/kernel"
    mask = np.ones(hidden.shape, np.float32)
    mask[:, :4] = 0.0
    hidden.mask_variable.assign(mask)
    kernel = hidden.variable.numpy()
    kernel[0, 0] = np.inf  # pruned
    kernel[1, 0] = -np.inf  # pruned
    hidden.variable.assign(kernel)
    measurer = measure.Measurer(weights, [])
    figures, histograms, masks, _ = measurer.measure()
    row = dict(zip(measure.DEVICE_FIELDS, figures[0]))
    kept = mask != 0
    eff = np.where(kept, kernel, 0).astype(np.float64)
    assert row["nonfinite"] == 0
    assert row["nonzeros"] == kept.sum() == 64 * 20
    assert_mean(row["mean"], eff)
    assert row["min"] == eff.min() and row["max"] == eff.max()
    np.testing.assert_array_equal(histograms[0], _expected_histogram(np.abs(kernel[kept])))
    np.testing.assert_array_equal(masks[0], kept)
    # A NaN at a kept position is one non-finite effective weight, out of the histogram.
    kernel[2, 10] = np.nan
    hidden.variable.assign(kernel)
    figures, histograms, masks_again, _ = measurer.measure()
    row = dict(zip(measure.DEVICE_FIELDS, figures[0]))
    if path == "gathered":  # the same mask, not copied again
        assert measurer.changed == [False, False] and masks_again[0] is masks[0]
    else:  # measured from scratch: the host compares
        np.testing.assert_array_equal(masks_again[0], masks[0])
    assert row["nonfinite"] == 1 and np.isnan(row["mean"])
    finite_kept = np.abs(kernel[kept & np.isfinite(kernel)])
    np.testing.assert_array_equal(histograms[0], _expected_histogram(finite_kept))
    assert row["histogram_hi"] == np.float64(finite_kept.max())
