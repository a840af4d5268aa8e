"""The measuring graph is traced once and then called through its flat call.

`Measurer` calls the traced concrete function with flat arguments (a structured
`tf.function` call binds every argument again, a fixed cost per record). These tests pin
that the graph is not traced again as masks change, that the flat call is the one used, and
that it returns what the ordinary `tf.function` call returns.
"""

import numpy as np
import pytest
import tensorflow_model_optimization as tfmot

from tb_prune_plugin.callbacks import discovery, measure
from tests import training


@pytest.fixture(params=["gathered", "from_scratch"])
def measurer(request, monkeypatch):
    if request.param == "gathered":  # device state for every weight, as for large ones
        monkeypatch.setattr(measure, "GATHER_MIN_SIZE", 0)
    model = training.dense_tfmot_model(tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0))
    model.build((None, 64))
    return measure.Measurer(discovery.find_prunable_weights(model), [])


def _set_mask(pw, columns):
    mask = np.ones(pw.shape, np.float32)
    mask[:, columns] = 0.0
    pw.mask_variable.assign(mask)
    return mask != 0


def test_graph_traced_once_and_called_flat_as_masks_change(measurer):
    hidden = measurer.weights[0]
    assert hidden.path == "hidden/kernel"
    for columns in ([0], [0], [1, 2], [1, 2], []):
        expected = _set_mask(hidden, columns)
        figures, _, masks, _ = measurer.measure()
        np.testing.assert_array_equal(masks[0], expected)
        assert figures[0, measure.DEVICE_FIELDS.index("nonzeros")] == expected.sum()
    assert measurer._fn.experimental_get_tracing_count() == 1
    assert measurer._concrete is not None and hasattr(measurer._concrete, "_call_flat")


def test_flat_call_returns_what_the_tf_function_returns(measurer):
    _set_mask(measurer.weights[0], [3, 5])
    measurer.measure()  # first call: device state set up
    _set_mask(measurer.weights[0], [3])
    force = measurer._last_sources is None
    sources, kept = measurer._last_sources, measurer._kept_indices
    flat = measurer._call(force, False, True, sources, kept)
    structured = measurer._fn(
        measure._BOOLS[force], measure._BOOLS[False], measure._BOOLS[True], sources, kept
    )
    assert len(flat) == len(structured) == 8
    for a, b in zip(flat, structured):
        if isinstance(a, list):
            assert len(a) == len(b)
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x.numpy(), y.numpy())
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy())
