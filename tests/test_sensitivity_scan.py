"""sensitivity_scan on real tiny models (digits) of both Kerases, plain and TF-MOT-wrapped.

Every evaluated value is checked against an independent evaluation: a copy of the model, the
weight pruned in the test by its own mask computation, `copy.evaluate(...)`; the values are
compared exactly (the same computation on the same data and weights gives the same floats).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow_model_optimization as tfmot
import tf_keras

from tb_prune_plugin import reader
from tb_prune_plugin.callbacks import sensitivity_scan
from tests import training

LEVELS = (0.0, 0.5, 0.9)


def _mlp(module):
    return training.mlp(module, hidden=12)


def _conv(module):
    model = module.Sequential(
        [
            module.Input((8, 8, 1)),
            module.layers.Conv2D(4, 3, activation="relu", name="conv"),
            module.layers.Flatten(name="flatten"),
            module.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


def _snapshot(model):
    return [np.array(v.numpy(), copy=True) for v in model.weights]


def _assert_restored(model, before):
    after = _snapshot(model)
    assert len(after) == len(before)
    for a, b in zip(after, before):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def _keep_smallest_removed(values, sparsity):
    """The test's own magnitude mask: entries sorted by (|w|, flat index), the first
    round-half-up(sparsity * n) removed."""
    flat = np.abs(values.astype(np.float64)).ravel()
    order = np.lexsort((np.arange(flat.size), flat))
    keep = np.ones(flat.size, dtype=bool)
    keep[order[: int(math.floor(sparsity * flat.size + 0.5))]] = False
    return keep.reshape(values.shape)


def _keep_filters(values, sparsity):
    """The test's own filter mask: the last axis' units with the smallest L1 norms removed."""
    units = values.shape[-1]
    norms = [float(np.sum(np.abs(values[..., u].astype(np.float64)))) for u in range(units)]
    order = sorted(range(units), key=lambda u: (norms[u], u))
    removed = set(order[: int(math.floor(sparsity * units + 0.5))])
    keep = np.ones(values.shape, dtype=bool)
    for u in removed:
        keep[..., u] = False
    return keep


def _independent(copy, variable_index, pruned, data, mask_index=None, mask=None):
    """`copy.evaluate` with its variable `variable_index` set to `pruned` (and its TF-MOT
    mask), restored afterwards."""
    weights = copy.weights
    saved = [weights[variable_index].numpy()]
    weights[variable_index].assign(pruned)
    if mask_index is not None:
        saved.append(weights[mask_index].numpy())
        weights[mask_index].assign(mask.astype(np.float32))
    result = copy.evaluate(*data, return_dict=True, verbose=0)
    weights[variable_index].assign(saved[0])
    if mask_index is not None:
        weights[mask_index].assign(saved[1])
    return result


def _check_against_copy(scans, model, copy, data, keep_fn, masks=None):
    """Every scanned value equals the copy's evaluation with the weight pruned by `keep_fn`."""
    index = {id(v): i for i, v in enumerate(model.weights)}
    from tb_prune_plugin.callbacks import discovery

    for weight in discovery.find_prunable_weights(model):
        scan = scans[weight.path]
        original = weight.variable.numpy()
        old_mask = None if weight.mask_variable is None else weight.mask_variable.numpy() != 0
        effective = original if old_mask is None else original * old_mask
        for i, level in enumerate(scan.sparsities):
            keep = keep_fn(effective, level)
            if old_mask is not None:
                keep &= old_mask
            mask_index = None if old_mask is None else index[id(weight.mask_variable)]
            expected = _independent(
                copy, index[id(weight.variable)], effective * keep, data, mask_index, keep
            )
            assert sorted(scan.metrics) == sorted(expected)
            for name, value in expected.items():
                assert scan.metrics[name][i] == value, (weight.path, level, name)
            assert scan.pruned_fractions[i] == 1.0 - keep.sum() / keep.size


@pytest.mark.parametrize("module", [tf_keras, keras], ids=["tf_keras", "keras3"])
def test_scan_mlp_equals_independent_evaluations(tmp_path, capsys, module):
    x, y = training.digits(600)
    model = _mlp(module)
    model.fit(x[:400], y[:400], epochs=1, batch_size=50, verbose=0)
    before = _snapshot(model)
    data = (x[400:], y[400:])
    scans = sensitivity_scan(model, data, str(tmp_path / "scan"), sparsities=LEVELS)
    _assert_restored(model, before)
    assert sorted(scans) == ["hidden/kernel", "logits/kernel"]
    copy = module.models.clone_model(model)
    copy.set_weights(model.get_weights())
    training.compile_classifier(copy)
    _check_against_copy(scans, model, copy, data, _keep_smallest_removed)
    err = capsys.readouterr().err
    assert "sensitivity scan [" in err and "6/6 done" in err

    loaded = reader.load(str(tmp_path)).runs["scan"].sensitivity
    assert sorted(loaded) == sorted(scans)
    for path, scan in scans.items():
        got = loaded[path]
        assert np.array_equal(got.sparsities, np.array(LEVELS))
        assert sorted(got.metrics) == ["accuracy", "loss"]
        for name in got.metrics:
            assert np.array_equal(got.metrics[name], scan.metrics[name])
        assert got.shape == tuple(int(d) for d in model.get_layer(path.split("/")[0]).kernel.shape)
        assert (got.structure, got.mode) == ("magnitude", "evaluate")


def test_scan_keras3_conv_filters_equals_independent_evaluations(tmp_path):
    x, y = training.digits_images(600)
    model = _conv(keras)
    model.fit(x[:400], y[:400], epochs=1, batch_size=50, verbose=0)
    before = _snapshot(model)
    data = (x[400:], y[400:])
    scans = sensitivity_scan(
        model, data, str(tmp_path / "scan"), sparsities=(0.0, 0.5), structure="filters"
    )
    _assert_restored(model, before)
    assert sorted(scans) == ["conv/kernel", "logits/kernel"]
    # 4 filters: 0.5 removes 2 of them, half the kernel's entries.
    assert scans["conv/kernel"].pruned_fractions.tolist() == [0.0, 0.5]
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    training.compile_classifier(copy)
    _check_against_copy(scans, model, copy, data, _keep_filters)
    loaded = reader.load(str(tmp_path)).runs["scan"].sensitivity["conv/kernel"]
    assert loaded.structure == "filters" and loaded.shape == (3, 3, 1, 4)
    assert np.array_equal(loaded.metrics["loss"], scans["conv/kernel"].metrics["loss"])


def test_scan_tfmot_model_sets_masks_and_restores_them(tmp_path):
    x, y = training.digits(600)
    schedule = tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=1)
    model = training.dense_tfmot_model(schedule)
    step = tfmot.sparsity.keras.UpdatePruningStep()
    model.fit(x[:400], y[:400], epochs=1, batch_size=100, verbose=0, callbacks=[step])
    before = _snapshot(model)
    data = (x[400:], y[400:])
    levels = (0.25, 0.75)
    scans = sensitivity_scan(model, data, str(tmp_path / "scan"), sparsities=levels)
    _assert_restored(model, before)
    copy = training.dense_tfmot_model(schedule)
    copy.set_weights(model.get_weights())
    _check_against_copy(scans, model, copy, data, _keep_smallest_removed)
    # 0.25 is below the masks' 50%: nothing more is removed, the model is as it was.
    baseline = model.evaluate(*data, return_dict=True, verbose=0)
    for scan in scans.values():
        assert scan.pruned_fractions[0] == 0.5
        assert scan.metrics["loss"][0] == baseline["loss"]


def test_scan_data_free_is_mean_abs_of_removed_weights(tmp_path):
    model = _mlp(keras)
    kernel = model.get_layer("hidden").kernel.numpy()
    scans = sensitivity_scan(
        model, None, str(tmp_path / "scan"), sparsities=(0.0, 0.5, 1.0), layers=["hidden"]
    )
    scan = scans["hidden/kernel"]
    assert list(scan.metrics) == ["mean_abs_removed"]
    values = scan.metrics["mean_abs_removed"]
    flat = np.sort(np.abs(kernel.astype(np.float64)).ravel())
    assert math.isnan(values[0])
    assert values[1] == np.mean(flat[: flat.size // 2])
    assert values[2] == np.mean(flat)
    loaded = reader.load(str(tmp_path)).runs["scan"].sensitivity
    assert list(loaded) == ["hidden/kernel"] and loaded["hidden/kernel"].mode == "data_free"
    assert np.array_equal(loaded["hidden/kernel"].metrics["mean_abs_removed"], values, True)


@pytest.mark.parametrize("module", [tf_keras, keras], ids=["tf_keras", "keras3"])
def test_scan_max_batches_limits_arrays_to_that_many_batches_of_32(tmp_path, module):
    """Regression: with `steps=max_batches` and no batch size, both Kerases evaluated the whole
    arrays split into `max_batches` batches, so max_batches=1 evaluated every sample."""
    x, y = training.digits(200)
    model = _mlp(module)
    scans = sensitivity_scan(
        model, (x, y), str(tmp_path / "scan"), sparsities=(0.0,), max_batches=1
    )
    first_batch = model.evaluate(x[:32], y[:32], return_dict=True, verbose=0)
    assert scans["hidden/kernel"].metrics["loss"][0] == first_batch["loss"]
    assert scans["logits/kernel"].metrics["accuracy"][0] == first_batch["accuracy"]


def test_scan_unwritable_log_dir_raises_with_the_results(tmp_path):
    model = _mlp(keras)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="could not write 2 records to .*a_file") as raised:
        sensitivity_scan(model, None, str(blocker), sparsities=(0.5,))
    assert sorted(raised.value.scans) == ["hidden/kernel", "logits/kernel"]
    assert raised.value.scans["hidden/kernel"].metrics["mean_abs_removed"][0] > 0


def test_scan_bad_arguments_say_what_to_do(tmp_path):
    model = _mlp(tf_keras)
    x, y = training.digits(100)
    log_dir = str(tmp_path / "scan")
    with pytest.raises(ValueError, match="structure must be None"):
        sensitivity_scan(model, (x, y), log_dir, structure="channels")
    with pytest.raises(ValueError, match=r"layers \['nope'\] name no prunable weight.*hidden"):
        sensitivity_scan(model, (x, y), log_dir, layers=["nope"])
    with pytest.raises(ValueError, match="sparsities must be"):
        sensitivity_scan(model, (x, y), log_dir, sparsities=(0.5, 1.5))
    with pytest.raises(ValueError, match="iterator"):
        sensitivity_scan(model, iter([(x, y)]), log_dir)
    uncompiled = tf_keras.Sequential([tf_keras.layers.Dense(3, input_shape=(64,))])
    with pytest.raises(ValueError, match="not compiled"):
        sensitivity_scan(uncompiled, (x, y), log_dir)
    uncompiled3 = keras.Sequential([keras.Input((64,)), keras.layers.Dense(3)])
    with pytest.raises(ValueError, match="not compiled"):
        sensitivity_scan(uncompiled3, (x, y), log_dir)
