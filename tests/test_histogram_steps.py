"""Which records carry the |w| histograms (`histogram_every_n_steps`): every record that may
carry a mask change, a training's first records, and otherwise the first record at or after
each multiple of N since the last histogram. Real TF-MOT trainings (3 epochs of 16 steps,
PolynomialDecay pruning at steps 3, 10, 17, 24, 31 and 38; `test_recording_policy`'s run)."""

import numpy as np
import pytest

from tb_prune_plugin.callbacks import PruningMonitor
from tests.test_recording_policy import WEIGHTS, _pruning_steps, _tfmot_run

PRUNES = {3, 10, 17, 24, 31, 38}


def _histogram_steps(run):
    steps = {w: run.weights[w].histograms.steps.tolist() for w in WEIGHTS}
    assert steps[WEIGHTS[0]] == steps[WEIGHTS[1]]
    return steps[WEIGHTS[0]]


def test_every_step_records_histograms_at_mask_changes_and_every_10_steps(tmp_path):
    """Regression of the cost: histograms went with every record, most of a record's time on a
    large model. With every_n_steps=1 and histogram_every_n_steps=10: at the first record, at
    each pruning step of the schedule, at each epoch's last step (16, 32, 48), and at 20, 30
    and 40 (the first records after a multiple of 10 since the last histogram); nowhere else."""
    run, probe, _, _, schedule = _tfmot_run(
        tmp_path, "every1", {"every_n_steps": 1, "histogram_every_n_steps": 10}
    )
    pruning_steps = {s: ps["hidden/kernel"] for s, ps in probe.pruning_steps.items()}
    assert _pruning_steps(schedule, pruning_steps) == PRUNES
    for w in WEIGHTS:
        assert run.weights[w].steps.tolist() == list(range(49))
    assert _histogram_steps(run) == [0, 3, 10, 16, 17, 20, 24, 30, 31, 32, 38, 40, 48]
    assert run.config["histogram_every_n_steps"] == 10
    # The histograms recorded are those of the kept weights at their step.
    for w in WEIGHTS:
        series = run.weights[w].histograms
        for i, step in enumerate(series.steps.tolist()):
            kept = np.abs(probe.weights[step][w][probe.masks[step][w]])
            assert int(series.counts[i].sum()) == kept.size
            assert series.hi[i] == pytest.approx(float(kept.max()), rel=1e-6)


def test_histogram_every_step_goes_with_every_record(tmp_path):
    run, _, _, _, _ = _tfmot_run(
        tmp_path, "every5", {"every_n_steps": 5, "histogram_every_n_steps": 1}
    )
    expected = [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 48]
    assert _histogram_steps(run) == expected
    for w in WEIGHTS:
        assert run.weights[w].steps.tolist() == expected


def test_default_policy_histograms_only_at_forced_records(tmp_path):
    """With default arguments over 48 steps (no multiple of 100 after step 0), histograms go
    with the first records (0 and the first batch end), every pruning step of the schedule and
    every epoch end (16, 32, 48, the last); the records between carry none."""
    run, _, _, _, _ = _tfmot_run(tmp_path, "default", {})
    recorded = set(run.weights[WEIGHTS[0]].steps.tolist())
    assert _histogram_steps(run) == sorted({0, 1, 16, 32, 48} | PRUNES)
    assert recorded > {0, 1, 16, 32, 48} | PRUNES
    assert run.config["histogram_every_n_steps"] == 100


def test_measure_without_histograms_gives_the_same_figures(tmp_path):
    run, _, monitor, _, _ = _tfmot_run(tmp_path, "m", {"every_n_steps": 16})
    measurer = monitor._measurer
    figures, histograms, masks, nonzeros = measurer.measure()
    figures2, none, masks2, nonzeros2 = measurer.measure(histograms=False)
    assert none is None and histograms.shape == (2, 30)
    np.testing.assert_array_equal(figures2, figures)
    assert nonzeros2 == nonzeros
    for a, b in zip(masks2, masks):
        np.testing.assert_array_equal(a, b)
    last = run.weights[WEIGHTS[0]].histograms
    np.testing.assert_array_equal(histograms[0], last.counts[-1])


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "10", None])
def test_bad_histogram_every_n_steps_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match="histogram_every_n_steps must be a positive integer"):
        PruningMonitor(str(tmp_path), histogram_every_n_steps=value)
