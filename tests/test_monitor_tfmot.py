"""PruningMonitor on real TF-MOT training, read back with tb_prune_plugin.reader."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_file_loader

from tb_prune_plugin import metadata, reader

WEIGHTS = ("hidden/kernel", "logits/kernel")


@pytest.fixture(scope="module")
def poly(tfmot_poly_run):
    exp = reader.load(tfmot_poly_run.logdir)
    return tfmot_poly_run, exp.runs[tfmot_poly_run.run]


def _latest_at_or_before(steps, step):
    return max(s for s in steps if s <= step)


def _raw_values(logdir):
    """(step, tag, has_metadata) of every summary value in the run's event files."""
    out = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            for value in event.summary.value:
                out.append((event.step, value.tag, value.HasField("metadata")))
    return out


def test_tags_tfmot_run_exact_set(poly):
    run, _ = poly
    tags = {tag for _, tag, _ in _raw_values(os.path.join(run.logdir, run.run))}
    expected = {"pruning/run_config", "pruning/model_stats", "pruning/global_sparsity"}
    expected.add("pruning/stripped_size")  # at the end of training
    for w in WEIGHTS:
        kinds = ("weight_stats", "weight_histogram", "mask", "mask_header", "sparsity")
        for kind in kinds + ("target_sparsity",):
            expected.add("pruning/%s/%s" % (w, kind))
        expected.add("pruning/%s/threshold" % w)
    for scope, names in (
        ("epoch", ("accuracy", "loss", "val_accuracy", "val_loss")),
        ("batch", ("accuracy", "loss")),
    ):
        expected |= {"pruning/metrics/%s/%s" % (scope, n) for n in names}
    assert tags == expected


def test_metadata_written_once_per_tag(poly):
    run, _ = poly
    values = _raw_values(os.path.join(run.logdir, run.run))
    with_meta = [tag for _, tag, has in values if has]
    assert sorted(with_meta) == sorted(set(tag for _, tag, _ in values))


def test_steps_every_n_and_final(poly):
    run, data = poly
    assert run.final_step == 16
    for w in WEIGHTS:
        assert data.weights[w].steps.tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16]
    assert data.model.steps.tolist() == [0, 2, 4, 6, 8, 10, 12, 14, 16]


def test_sparsity_equals_mask_variable(poly):
    run, data = poly
    for w in WEIGHTS:
        weight = data.weights[w]
        for i, step in enumerate(weight.steps):
            mask = run.probe.masks[int(step)][w]
            assert weight.fields["sparsity"][i] == 1.0 - np.mean(mask)
            assert weight.fields["nonzeros"][i] == np.count_nonzero(mask)
            assert weight.fields["size"][i] == mask.size


def test_decoded_masks_equal_mask_variables(poly):
    run, data = poly
    for w in WEIGHTS:
        masks = data.weights[w].masks
        for step in data.weights[w].steps:
            recorded = masks[_latest_at_or_before(masks, int(step))]
            np.testing.assert_array_equal(recorded, run.probe.masks[int(step)][w])


def test_unchanged_mask_written_once(poly):
    run, data = poly
    for w in WEIGHTS:
        steps = [int(s) for s in data.weights[w].steps]
        expected = [steps[0]]
        for prev, cur in zip(steps, steps[1:]):
            if not np.array_equal(run.probe.masks[prev][w], run.probe.masks[cur][w]):
                expected.append(cur)
        assert sorted(data.weights[w].masks) == expected
        # The schedule prunes at pruning steps 6, 10, 14 (2 is its 0% start).
        assert expected == [0, 6, 10, 14]
        changed = data.weights[w].fields["mask_changed"].tolist()
        assert changed == [1.0 if s in expected else 0.0 for s in steps]


def test_target_sparsity_equals_schedule(poly):
    run, data = poly
    # TF-MOT evaluates its schedule inside the training graph; so does the monitor.
    schedule = tf.function(run.schedule, autograph=False)
    for w in WEIGHTS:
        weight = data.weights[w]
        for i, step in enumerate(weight.steps):
            pstep = run.probe.pruning_steps[int(step)][w]
            should, target = schedule(tf.constant(pstep, tf.int64))
            assert weight.fields["target_sparsity"][i] == float(target.numpy())
            assert weight.fields["should_prune"][i] == float(bool(should.numpy()))


def test_threshold_equals_threshold_variable(poly):
    run, data = poly
    for w in WEIGHTS:
        weight = data.weights[w]
        for i, step in enumerate(weight.steps):
            assert weight.fields["threshold"][i] == np.float64(
                np.float32(run.probe.thresholds[int(step)][w])
            )


def test_weight_statistics_of_effective_weights(poly):
    run, data = poly
    for w in WEIGHTS:
        weight = data.weights[w]
        for i, step in enumerate(weight.steps):
            mask = run.probe.masks[int(step)][w]
            eff = np.where(mask, run.probe.weights[int(step)][w], 0).astype(np.float64)
            f = {k: v[i] for k, v in weight.fields.items()}
            np.testing.assert_allclose(
                [f["mean"], f["std"], f["min"], f["max"], f["l1"], f["l2"]],
                [
                    eff.mean(),
                    eff.std(),
                    eff.min(),
                    eff.max(),
                    np.abs(eff).sum(),
                    np.sqrt((eff**2).sum()),
                ],
                rtol=1e-5,
                atol=1e-7,
            )
            np.testing.assert_allclose(f["kept_mean_abs"], np.abs(eff[mask]).mean(), rtol=1e-5)
            assert f["nonfinite"] == 0
            assert np.isnan(f["nm_compliance"]) and np.isnan(f["block_sparsity"])
            cols_pruned = np.mean(~mask.any(axis=0))
            rows_pruned = np.mean(~mask.any(axis=1))
            assert f["pruned_units_fraction"] == cols_pruned
            assert f["pruned_inputs_fraction"] == rows_pruned


def test_histogram_counts_kept_weights(poly):
    run, data = poly
    for w in WEIGHTS:
        hist = data.weights[w].histograms
        for i, step in enumerate(hist.steps):
            mask = run.probe.masks[int(step)][w]
            kept = np.abs(run.probe.weights[int(step)][w][mask])
            assert hist.lo[i] == 0.0
            assert hist.hi[i] == np.float64(kept.max())
            assert int(np.sum(hist.counts[i])) == mask.sum()
            assert len(hist.counts[i]) == 30


def test_churn_between_recorded_masks(poly):
    run, data = poly
    for w in WEIGHTS:
        weight = data.weights[w]
        steps = [int(s) for s in weight.steps]
        assert np.isnan(weight.fields["newly_pruned"][0])
        for i in range(1, len(steps)):
            prev, cur = run.probe.masks[steps[i - 1]][w], run.probe.masks[steps[i]][w]
            assert weight.fields["newly_pruned"][i] == np.count_nonzero(prev & ~cur)
            assert weight.fields["regrown"][i] == np.count_nonzero(~prev & cur)


def test_model_stats_global_sparsity(poly):
    run, data = poly
    sizes = {w: run.probe.masks[0][w].size for w in WEIGHTS}
    for i, step in enumerate(data.model.steps):
        nonzeros = sum(np.count_nonzero(run.probe.masks[int(step)][w]) for w in WEIGHTS)
        f = {k: v[i] for k, v in data.model.fields.items()}
        assert f["prunable_size"] == sum(sizes.values()) == 64 * 24 + 24 * 10
        assert f["prunable_nonzeros"] == nonzeros
        assert f["global_sparsity"] == 1.0 - nonzeros / sum(sizes.values())
        assert f["model_size"] == 64 * 24 + 24 + 24 * 10 + 10  # bookkeeping excluded
        assert f["dense_bytes"] == 4 * f["model_size"]
        assert f["sparse_bytes"] == 4 * (24 + 10) + 4 * nonzeros + (64 * 24) // 8 + (24 * 10) // 8


def test_epoch_metrics_equal_history(poly):
    run, data = poly
    epoch = data.metrics["epoch"]
    assert set(epoch) == {"accuracy", "loss", "val_accuracy", "val_loss"}
    for name, series in epoch.items():
        assert series.steps.tolist() == [8, 16]
        np.testing.assert_allclose(series.values, run.history[name], rtol=1e-6)
    assert set(data.metrics["batch"]) == {"accuracy", "loss"}
    assert data.metrics["batch"]["loss"].steps.tolist() == [2, 4, 6, 8, 10, 12, 14, 16]


def test_run_config_describes_weights_and_schedule(poly):
    _, data = poly
    config = data.config
    assert config["format_version"] == metadata.FORMAT_VERSION
    assert config["method"] == "tfmot"
    assert config["keras"].startswith("tf_keras ")
    assert config["every_n_steps"] == 2
    assert [w["path"] for w in config["weights"]] == list(WEIGHTS)
    assert [w["shape"] for w in config["weights"]] == [[64, 24], [24, 10]]
    schedule = config["weights"][0]["schedule"]
    assert schedule["class"] == "PolynomialDecay"
    assert schedule["config"]["config"]["final_sparsity"] == 0.75
    assert schedule["config"]["config"]["frequency"] == 4
    assert config["optimizer"]["class"] == "Adam"
    assert "hidden" in config["model_summary"] or "prune_low_magnitude" in config["model_summary"]
