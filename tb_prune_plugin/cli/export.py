"""`tb-prune export`: the masks in force at one step of a run, as a NumPy `.npz` file.

The file holds one boolean array per weight, keyed by the weight path (`dense/kernel`), in the
weight's recorded shape: the latest mask recorded at or before the step (masks are recorded
when they change). Weights with no mask at or before the step are left out and named.
"""

import os

import numpy as np

from tb_prune_plugin.cli.logdir import UsageError, progress


def _describe_steps(run):
    lines = []
    for name in sorted(run.weights):
        steps = sorted(run.weights[name].masks)
        lines.append("  %s: %s" % (name, ", ".join(str(s) for s in steps) if steps else "no masks"))
    return "\n".join(lines)


def masks_at(run, step=None):
    """`(step, {weight path: bool mask}, [weights without a mask then])` for `run` (a
    `reader.Run`) at `step` (None: the run's last recorded step, of any weight's stats or mask).

    Raises:
      UsageError: the run has no recorded masks, or none is in force at `step`.
    """
    recorded = {name: sorted(w.masks) for name, w in run.weights.items() if w.masks}
    if not recorded:
        raise UsageError(
            "run %r has no recorded masks; its weights: %s"
            % (run.name, ", ".join(sorted(run.weights)) or "none")
        )
    if step is None:
        last_stats = [int(w.steps[-1]) for w in run.weights.values() if len(w.steps)]
        step = max([steps[-1] for steps in recorded.values()] + last_stats)
    masks, missing = {}, []
    for name in sorted(run.weights):
        at_or_before = [s for s in recorded.get(name, ()) if s <= step]
        if at_or_before:
            masks[name] = np.asarray(run.weights[name].masks[at_or_before[-1]], dtype=bool)
        else:
            missing.append(name)
    if not masks:
        raise UsageError(
            "no mask of run %r is in force at step %d: the first is recorded later. Steps with "
            "a recorded mask, per weight:\n%s" % (run.name, step, _describe_steps(run))
        )
    return step, masks, missing


def export(experiment, run_name, step, output):
    """Writes the masks of run `run_name` at `step` (None: the last) to `output` (`.npz`).

    Returns the step exported and the weights left out (no mask in force at that step).

    Raises:
      UsageError: unknown run, no mask in force at `step`, or `output` not writable.
    """
    run = experiment.runs.get(run_name)
    if run is None:
        raise UsageError(
            "no run %r with pruning data in %r; runs: %s"
            % (run_name, experiment.logdir, ", ".join(sorted(experiment.runs)))
        )
    step, masks, missing = masks_at(run, step)
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise UsageError("cannot write %r: directory %r does not exist" % (output, directory))
    try:
        with open(output, "wb") as f:
            np.savez_compressed(f, **masks)
    except OSError as e:
        raise UsageError("cannot write %r: %s" % (output, e)) from None
    progress(
        "wrote %d mask%s of run %r at step %d to %s"
        % (len(masks), "" if len(masks) == 1 else "s", run_name, step, output)
    )
    if missing:
        progress(
            "left out (no mask recorded at or before step %d): %s" % (step, ", ".join(missing))
        )
    return step, missing
