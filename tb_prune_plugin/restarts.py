"""Drops the records a killed training left behind after a resumed training replaced them.

A training killed mid-run leaves records up to its last step; the resumed training
restarts from a checkpoint at an earlier step and writes those steps again. Every
training begins its records with a `SessionLog.START` event and a `run_config`
record at its first step (`callbacks/monitor.py`). TensorBoard's Python loader
reads the START as a restart and drops everything at and after that step. The
Rust data server ignores SessionLog: it drops, per time series, the records at or
after each new record's step, so a killed training's record of a series the
resumed one does not write again at or before that step (an epoch metric, the
steps after the resumed run's last) would stay.

The rule, the same as the Python loader's: a record at step `s` written at wall
time `t` is superseded when a training started at a step `s0 <= s` later than
`t`. A monitor starting a first, resumed or rewound training writes, before any
other record, a `run_config` record at step `s0` holding `"start_step": s0`: its
step and wall time are the start. Records of one training are written after its
start, so they never supersede each other. Run configs without `start_step`
(written by earlier versions of the monitor, or along a continued training's
first record) mark nothing.
"""

import numpy as np


def training_starts(steps, wall_times):
    """(start steps, latest start time at or before each) for the run_config records.

    Returns two arrays sorted by step: the distinct start steps and, for each, the
    latest wall time of a start at that step or an earlier one (a running maximum),
    which is all `kept` needs.
    """
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    wall_times = np.asarray(wall_times, dtype=np.float64).reshape(-1)
    if steps.shape != wall_times.shape:
        raise ValueError(
            "training_starts: %d steps but %d wall times" % (steps.size, wall_times.size)
        )
    order = np.argsort(steps, kind="stable")
    steps, wall_times = steps[order], np.maximum.accumulate(wall_times[order])
    if steps.size:
        last_of_step = np.append(steps[1:] != steps[:-1], True)
        steps, wall_times = steps[last_of_step], wall_times[last_of_step]
    return steps, wall_times


def kept(steps, wall_times, starts):
    """Boolean array: which records (`steps`, `wall_times`) no later training superseded.

    `starts` is the pair `training_starts` returns.
    """
    start_steps, start_times = starts
    steps = np.asarray(steps, dtype=np.int64).reshape(-1)
    wall_times = np.asarray(wall_times, dtype=np.float64).reshape(-1)
    if not start_steps.size or not steps.size:
        return np.ones(steps.shape, dtype=bool)
    # The last start at or before each record's step; -1 where none is.
    index = np.searchsorted(start_steps, steps, side="right") - 1
    latest = np.where(index >= 0, start_times[np.maximum(index, 0)], -np.inf)
    return ~(latest > wall_times)
