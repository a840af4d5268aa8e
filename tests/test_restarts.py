"""`restarts`: which records a resumed training superseded (pure functions, exact arrays)."""

import numpy as np
import pytest

from tb_prune_plugin import restarts


def test_training_starts_sorted_by_step_with_running_latest_time():
    steps, times = restarts.training_starts([101, 0, 101, 50], [30.0, 10.0, 20.0, 5.0])
    assert steps.tolist() == [0, 50, 101]
    # At 50 a start at 0 (time 10) is later than the one at 50 (time 5): the running maximum.
    assert times.tolist() == [10.0, 10.0, 30.0]


def test_training_starts_empty_and_mismatched():
    steps, times = restarts.training_starts([], [])
    assert steps.tolist() == [] and times.tolist() == []
    with pytest.raises(ValueError, match="2 steps but 1 wall times"):
        restarts.training_starts([0, 1], [1.0])


def test_kept_drops_a_killed_runs_records_after_the_resumed_start():
    # Killed training: started at step 0 (time 0), recorded epoch metrics at 60 (t=6) and 120
    # (t=12), then died. Resumed from step 100 at t=20 (start 101), epoch metric at 160 (t=26).
    starts = restarts.training_starts([0, 101], [0.0, 20.0])
    keep = restarts.kept([60, 120, 160], [6.0, 12.0, 26.0], starts)
    assert keep.tolist() == [True, False, True]


def test_kept_keeps_records_at_the_start_step_written_after_it():
    starts = restarts.training_starts([0, 101], [0.0, 20.0])
    # At step 101: the killed run's record (t=10.1) goes, the resumed run's (same time as its
    # start, written in one event) stays.
    keep = restarts.kept([100, 101, 101], [10.0, 10.1, 20.0], starts)
    assert keep.tolist() == [True, False, True]


def test_kept_keeps_everything_of_a_single_or_continued_training():
    # fit() twice in one process: the second starts at 51, after every record of the first.
    starts = restarts.training_starts([0, 51], [0.0, 5.1])
    steps = np.arange(0, 101)
    keep = restarts.kept(steps, steps / 10.0, starts)
    assert keep.all()


def test_kept_with_no_starts_or_no_records():
    none = restarts.training_starts([], [])
    assert restarts.kept([1, 2], [1.0, 2.0], none).tolist() == [True, True]
    starts = restarts.training_starts([0], [0.0])
    assert restarts.kept([], [], starts).tolist() == []


def test_kept_record_before_every_start_is_kept():
    # A record at a step before the first start (written by another tool) is never superseded.
    starts = restarts.training_starts([10], [100.0])
    assert restarts.kept([5, 10], [1.0, 1.0], starts).tolist() == [True, False]
