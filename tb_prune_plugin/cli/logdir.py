"""Opens a log directory for the `tb-prune` command, with errors a user can act on.

Everything here builds on the notebook API (`reader.load`, `Experiment`, `Run`, `Weight`).
"""

import os
import re
import sys
import time

from tb_prune_plugin import reader


class UsageError(Exception):
    """Bad input from the command line: the message says what was received and what to do.

    The command prints it and exits with status 2.
    """


def progress(message):
    """Writes one line of progress to stderr (stdout is kept for the command's output)."""
    print("tb-prune: %s" % message, file=sys.stderr, flush=True)


def _has_event_files(logdir):
    for _, _, files in os.walk(logdir):
        if any("tfevents" in name for name in files):
            return True
    return False


def check_logdir(logdir):
    """Checks that `logdir` is a directory holding event files.

    Raises:
      UsageError: the directory is missing, or holds no event files.
    """
    if not os.path.exists(logdir):
        raise UsageError(
            "log directory %r does not exist; pass the directory you give to "
            "`tensorboard --logdir` (the parent of each PruningMonitor log_dir)" % logdir
        )
    if not os.path.isdir(logdir):
        raise UsageError(
            "%r is a file, not a log directory; pass the directory you give to "
            "`tensorboard --logdir`" % logdir
        )
    if not _has_event_files(logdir):
        raise UsageError(
            "log directory %r holds no TensorBoard event files (*tfevents*); train with "
            "PruningMonitor(log_dir=...) under it first, or pass the right directory" % logdir
        )


def no_pruning_runs(logdir):
    """The error for a log directory with event files but no pruning runs."""
    return UsageError(
        "log directory %r holds event files but no pruning runs; record a training with "
        "tb_prune_plugin.callbacks.PruningMonitor, or pass the directory it wrote to" % logdir
    )


def load_experiment(logdir):
    """`reader.load(logdir)`, after checking that `logdir` holds pruning runs.

    Raises:
      UsageError: the directory is missing, holds no event files, or no pruning runs.
    """
    check_logdir(logdir)
    progress("reading %s ..." % logdir)
    started = time.monotonic()
    experiment = reader.load(logdir)
    if not experiment.runs:
        raise no_pruning_runs(logdir)
    progress(
        "read %d run%s in %.1f s"
        % (
            len(experiment.runs),
            "" if len(experiment.runs) == 1 else "s",
            time.monotonic() - started,
        )
    )
    return experiment


def run_pattern(pattern):
    """The compiled `--run` regular expression (None: no pattern).

    Raises:
      UsageError: `pattern` is not a regular expression.
    """
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as e:
        raise UsageError("--run %r is not a regular expression (%s)" % (pattern, e)) from None


def select_runs(experiment, pattern):
    """The runs of `experiment` whose name matches `pattern` (a compiled regular expression,
    `search`; None: all), sorted by name.

    Raises:
      UsageError: `pattern` matches no run.
    """
    names = sorted(experiment.runs)
    chosen = [experiment.runs[n] for n in names if pattern is None or pattern.search(n)]
    if not chosen:
        raise UsageError(
            "--run %r matches no run in %r; runs: %s"
            % (pattern.pattern, experiment.logdir, ", ".join(names))
        )
    return chosen
