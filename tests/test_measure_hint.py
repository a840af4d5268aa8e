"""`Measurer.measure(masks_unchanged=True)`: the caller's promise that no mask changed.

With the promise kept, a record is exactly the record without it (every figure, histogram and
mask); large weights skip the pass comparing their mask with the previous one, small ones the
passes deriving figures from theirs, and both hand back the previous host mask object. The
promise is ignored at the first call, and a broken promise keeps the previous mask's figures
(documented, pinned here so that a change of it is deliberate).
"""

import numpy as np
import pytest
import tensorflow_model_optimization as tfmot

from tb_prune_plugin.callbacks import discovery, measure
from tests import training

NONZEROS = measure.DEVICE_FIELDS.index("nonzeros")


def _weights():
    model = training.dense_tfmot_model(tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0))
    model.build((None, 64))
    return discovery.find_prunable_weights(model)


@pytest.fixture(params=["gathered", "from_scratch"])
def path(request, monkeypatch):
    if request.param == "gathered":  # device state for every weight, as for large ones
        monkeypatch.setattr(measure, "GATHER_MIN_SIZE", 0)
    return request.param


def _assert_same(a, b):
    figures_a, histograms_a, masks_a, others_a = a
    figures_b, histograms_b, masks_b, others_b = b
    np.testing.assert_array_equal(figures_a, figures_b)  # NaN where both are NaN
    np.testing.assert_array_equal(histograms_a, histograms_b)
    assert len(masks_a) == len(masks_b)
    for x, y in zip(masks_a, masks_b):
        np.testing.assert_array_equal(x, y)
    assert others_a == others_b


def _set_mask(pw, columns):
    mask = np.ones(pw.shape, np.float32)
    mask[:, columns] = 0.0
    pw.mask_variable.assign(mask)


def test_masks_unchanged_record_equals_record_without_promise(path):
    weights = _weights()
    hidden = weights[0]
    assert hidden.path == "hidden/kernel"
    _set_mask(hidden, [0, 3])
    promised, compared = measure.Measurer(weights, []), measure.Measurer(weights, [])
    _assert_same(promised.measure(masks_unchanged=True), compared.measure())
    rng = np.random.default_rng(0)
    for _ in range(3):  # weights change at every step, masks do not
        for pw in weights:
            pw.variable.assign(rng.standard_normal(pw.shape).astype(np.float32))
        before = promised._host_masks[0]
        out = promised.measure(masks_unchanged=True)
        _assert_same(out, compared.measure())
        assert promised.changed == [False, False] and out[2][0] is before
    # A mask change told (no promise) is measured as such by both.
    _set_mask(hidden, [1])
    out = promised.measure()
    _assert_same(out, compared.measure())
    assert out[0][0, NONZEROS] == 64 * 23


def test_masks_unchanged_ignored_at_first_call(path):
    weights = _weights()
    _set_mask(weights[0], [0, 1, 2])
    figures, _, masks, _ = measure.Measurer(weights, []).measure(masks_unchanged=True)
    assert figures[0, NONZEROS] == 64 * 21
    expected = np.ones((64, 24), bool)
    expected[:, :3] = False
    np.testing.assert_array_equal(masks[0], expected)


def test_masks_unchanged_broken_promise_keeps_previous_mask_figures(path):
    """Large weights skip comparing their masks, small ones deriving figures from theirs: with
    the promise broken, both keep the previous mask and its figures (and `changed` is False)."""
    weights = _weights()
    _set_mask(weights[0], [0])
    measurer = measure.Measurer(weights, [])
    first = measurer.measure()[2][0]
    _set_mask(weights[0], [0, 1])
    figures, _, masks, _ = measurer.measure(masks_unchanged=True)
    assert figures[0, NONZEROS] == 64 * 23 and masks[0][:, 1].all() and masks[0] is first
    assert measurer.changed == [False, False]
    figures, _, masks, _ = measurer.measure()  # without the promise: the change is seen
    assert figures[0, NONZEROS] == 64 * 22 and not masks[0][:, 1].any()
