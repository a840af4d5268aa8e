"""benchmarks/scale_logdir.py writes what `PruningMonitor()` records, read back exactly.

A small version of the ResNet-50-size log directory (3 kernels, 2,000 steps, TF-MOT's
PolynomialDecay 0 -> 90% at frequency 100) is written and read with `reader.load`: the
recorded steps are those of the default policy, and the mask decoded at every recorded step
(keyframes and delta chains) is the magnitude mask at TF-MOT's kept count for that step.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_file_loader
from tensorflow_model_optimization.sparsity import keras as sparsity

from benchmarks import scale_logdir
from tb_prune_plugin import mask_codec, metadata, reader

STEPS = 2000
# Sizes 288 (a mask change at only some pruning steps), 640 and 18,432 (a change at each).
KERNELS = [("a/kernel", (3, 3, 4, 8)), ("b/kernel", (64, 10)), ("c/kernel", (3, 3, 32, 64))]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("scale")
    run = scale_logdir.write_run(str(logdir / "small"), KERNELS, STEPS)
    return logdir, run, reader.load(str(logdir)).runs["small"]


def _tfmot_kept(size):
    """{pruning step: kept count} as TF-MOT computes them (its schedule, its ops)."""
    schedule = sparsity.PolynomialDecay(0.0, 0.9, 0, STEPS, frequency=100)
    kept = {}
    for step in range(1, STEPS + 1):
        should_prune, target = schedule(tf.constant(step, tf.int64))
        if bool(should_prune):
            count = tf.math.maximum(tf.math.round(tf.cast(size, tf.float32) * (1 - target)), 1)
            kept[step] = int(count)
    return kept


def test_scale_logdir_steps_are_the_default_policys(generated):
    """Step 0, the first batch end (1), the policy's first ordinary record (2), then the
    multiples of 50 (the adapted interval; every pruning step, epoch end and the last step
    among them)."""
    _, run, read = generated
    expected = [0, 1, 2] + list(range(50, STEPS + 1, 50))
    assert run.steps == expected
    assert run.interval == 50
    for path, _ in KERNELS:
        assert read.weights[path].steps.tolist() == expected
    assert read.model.steps.tolist() == expected
    assert read.metrics["epoch"]["loss"].steps.tolist() == [1000, 2000]


def test_scale_logdir_masks_decode_to_magnitude_masks_at_every_step(generated):
    _, run, read = generated
    for path, shape in KERNELS:
        size = int(np.prod(shape))
        kept = _tfmot_kept(size)
        assert sorted(kept) == list(range(100, STEPS + 1, 100))
        assert run.kept[path] == kept
        weight = read.weights[path]
        order = run.orders[path]
        assert sorted(order.tolist()) == list(range(size))
        changes = [s for s in sorted(kept) if kept[s] != kept.get(s - 100, size)]
        assert sorted(weight.masks) == [0] + changes
        mask_steps = sorted(weight.masks)
        nonzeros = weight.fields["nonzeros"]
        for i, step in enumerate(weight.steps.tolist()):
            pruning = [s for s in kept if s <= step]
            count = kept[max(pruning)] if pruning else size
            expected = np.zeros(size, dtype=bool)
            expected[order[size - count :]] = True
            latest = max(s for s in mask_steps if s <= step)
            np.testing.assert_array_equal(weight.masks[latest], expected.reshape(shape))
            assert nonzeros[i] == count


def test_scale_logdir_small_kernel_skips_unchanged_masks(generated):
    """The 288-weight kernel's kept count stays the same at some pruning steps: no record."""
    _, run, read = generated
    assert len(read.weights["a/kernel"].masks) < len(read.weights["c/kernel"].masks) == 21


def test_scale_logdir_masks_are_delta_chains_with_keyframes_every_10_records(generated):
    logdir, _, _ = generated
    kinds = {path: [] for path, _ in KERNELS}
    (event_file,) = (logdir / "small").glob("events.out.tfevents.*")
    for event in event_file_loader.EventFileLoader(str(event_file)).Load():
        for value in event.summary.value:
            if value.tag.endswith("/" + metadata.KIND_MASK):
                header = json.loads(value.tensor.string_val[0])
                assert mask_codec.parse_header(value.tensor.string_val[0])
                kinds[value.tag.split("/", 1)[1].rsplit("/", 1)[0]].append(header["kind"])
    chain = ["keyframe"] + ["delta"] * 9
    assert kinds["c/kernel"] == (chain * 3)[:21]


def test_scale_logdir_targets_are_the_schedules_at_each_recorded_step(generated):
    """target_sparsity and should_prune are TF-MOT's schedule at the recorded step itself (as
    the measuring graph asks it), also between pruning steps."""
    _, run, read = generated
    schedule = sparsity.PolynomialDecay(0.0, 0.9, 0, STEPS, frequency=100)
    fields = read.weights["c/kernel"].fields
    for i, step in enumerate(run.steps):
        should_prune, target = schedule(tf.constant(step, tf.int64))
        assert fields["target_sparsity"][i] == float(np.float32(target))
        assert fields["should_prune"][i] == float(bool(should_prune))
    assert fields["should_prune"].tolist().count(1.0) == 21  # step 0 and the 20 pruning steps
