"""Checks of `PruningMonitor`'s arguments: a mistake raises at once, saying what to pass instead."""

import math
import numbers
import os

import tensorflow as tf


def check(log_dir, every_n_steps, overhead_budget, histogram_bins, layers, masks):
    """Raises `TypeError`/`ValueError` for a bad argument; returns `(log_dir, layers)`."""
    if not isinstance(log_dir, (str, os.PathLike)) or not str(log_dir):
        raise TypeError(
            "PruningMonitor: log_dir must be a non-empty path, got %r. Pass a directory "
            "such as 'runs/my_run'." % (log_dir,)
        )
    if every_n_steps is not None and (
        isinstance(every_n_steps, bool) or not isinstance(every_n_steps, int) or every_n_steps < 1
    ):
        raise ValueError(
            "PruningMonitor: every_n_steps must be a positive integer, got %r. Pass None (the "
            "default) to record within overhead_budget, or N >= 1 to record every N steps."
            % (every_n_steps,)
        )
    _check_budget(every_n_steps, overhead_budget)
    if (
        isinstance(histogram_bins, bool)
        or not isinstance(histogram_bins, int)
        or not (1 <= histogram_bins <= 1000)
    ):
        raise ValueError(
            "PruningMonitor: histogram_bins must be an integer from 1 to 1000, got %r."
            % (histogram_bins,)
        )
    if layers is not None:
        if isinstance(layers, str) or not all(isinstance(x, str) for x in layers):
            raise TypeError(
                "PruningMonitor: layers must be a list of layer names, got %r." % (layers,)
            )
        layers = list(layers)
    if masks is not None and not isinstance(masks, dict):
        raise TypeError(
            "PruningMonitor: masks must be a dict of weight path -> mask variable, got %s."
            % type(masks).__name__
        )
    return os.fspath(log_dir), layers


def check_histogram_every_n_steps(value):
    """Raises `ValueError` unless `value` is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            "PruningMonitor: histogram_every_n_steps must be a positive integer, got %r. Pass "
            "1 to record the |w| histograms with every record, or N to record them every N "
            "steps besides the records that may carry a mask change." % (value,)
        )


def _check_budget(every_n_steps, overhead_budget):
    if overhead_budget is None:
        return
    if isinstance(overhead_budget, bool) or not isinstance(overhead_budget, numbers.Real):
        raise TypeError(
            "PruningMonitor: overhead_budget must be a number (a fraction of training time, "
            "such as 0.02 for 2%%), got %r of type %s."
            % (overhead_budget, type(overhead_budget).__name__)
        )
    if not (math.isfinite(overhead_budget) and 0 < overhead_budget < 1):
        raise ValueError(
            "PruningMonitor: overhead_budget must be a fraction of training time above 0 and "
            "below 1 (0.02 = 2%%), got %r." % (overhead_budget,)
        )
    if every_n_steps is not None:
        raise ValueError(
            "PruningMonitor: got both every_n_steps=%r and overhead_budget=%r; they are two "
            "ways of choosing which steps to record. Pass every_n_steps to record every N "
            "steps, or overhead_budget to adapt the interval to a time budget."
            % (every_n_steps, overhead_budget)
        )


def check_log_dir(log_dir):
    """Creates `log_dir` (a path or a `tf.io.gfile` URL); `ValueError` if that fails or a local
    directory is not writable."""
    try:
        tf.io.gfile.makedirs(log_dir)
        writable = "://" in log_dir or os.access(log_dir, os.W_OK)
    except Exception as e:  # noqa: BLE001
        raise ValueError(
            "PruningMonitor cannot create log_dir %r (%s: %s). Pass a directory you can "
            "write to." % (log_dir, type(e).__name__, e)
        ) from None
    if not writable:
        raise ValueError(
            "PruningMonitor cannot write to log_dir %r (permission denied). Pass a "
            "directory you can write to." % log_dir
        )


def check_stripped_size(stripped_size):
    """Raises `ValueError` unless `stripped_size` is True, False or "auto"."""
    if stripped_size is not True and stripped_size is not False and stripped_size != "auto":
        raise ValueError(
            'PruningMonitor: stripped_size must be "auto" (the default: measured when the '
            "overhead budget allows), True (at the end of every training) or False (never), "
            "got %r." % (stripped_size,)
        )
