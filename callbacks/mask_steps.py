"""At which optimizer steps a TF-MOT mask can change, told by the schedules without reading a mask.

A `PruneLowMagnitude` wrapper, in each training step, first adds 1 to its `pruning_step`
and then, if `schedule(pruning_step)` says `should_prune`, sets its masks (and
thresholds). With N:M sparsity it sets them once, at pruning step 1, whatever the
schedule says. The optimizer's `iterations` (the step the monitor records) also grows by 1
per training step, so within one `fit` the two differ by a constant: if the wrapper's
`pruning_step` is `p0` while `iterations` is `s0` (read once, before the fit's first
step), the training step that ends at optimizer step `s` used pruning step
`p = s + (p0 - s0)`, and the mask recorded at `s` is the one set then. The offset is 0 in
an ordinary training (`UpdatePruningStep` starts both at 0, and both are saved with the
model); it is not after, for example, a compile with a new optimizer.

TF-MOT's own schedules (`ConstantSparsity`, `PolynomialDecay`) prune at pruning step `p`
when `begin_step <= p`, `p <= end_step` (or `end_step < 0`) and
`(p - begin_step) % frequency == 0`; that rule is evaluated here in Python. Any other
schedule is called, as TF-MOT calls it, on each step in question.
"""

import tensorflow as tf

from tb_prune_plugin.callbacks import keras_state
from tb_prune_plugin.callbacks.warn_once import WarnOnce

# TF-MOT's schedules whose pruning steps follow the begin/end/frequency rule.
_RULE_SCHEDULES = ("ConstantSparsity", "PolynomialDecay")


class MaskChangeSteps:
    """Tells whether any TF-MOT mask among `weights` can have changed in a range of steps.

    Args:
      weights: the monitor's `discovery.PrunableWeight`s; those without a TF-MOT wrapper
        (manual pruning) are left to `PruningMonitor.mark_pruned`.
    """

    def __init__(self, weights):
        wrappers = {}
        for w in weights:
            if w.wrapper is not None:
                wrappers.setdefault(id(w.wrapper), w)
        self._weights = list(wrappers.values())
        self._rules = None  # per wrapper: (offset, rule), set by start()
        self._warn = WarnOnce()

    @property
    def has_tfmot(self):
        """True if any recorded weight is pruned by a TF-MOT wrapper."""
        return bool(self._weights)

    def start(self, optimizer_step):
        """Reads each wrapper's `pruning_step` once, at a fit's first batch, at `optimizer_step`."""
        rules = {}
        for w in self._weights:
            offset = int(keras_state.read(w.wrapper.pruning_step)) - int(optimizer_step)
            # Wrappers of one prune_low_magnitude call share their schedule: one rule for all.
            rule, key = _rule_of(w)
            rules.setdefault((offset, key), (offset, rule))
        self._rules = list(rules.values())

    def may_change(self, first, last):
        """True if a training step ending at an optimizer step in [first, last] may set a mask."""
        if self._rules is None or last < first:
            return False
        for offset, rule in self._rules:
            try:
                if rule(first + offset, last + offset):
                    return True
            except Exception as e:  # noqa: BLE001 - an unknown schedule: assume a change
                self._warn(
                    "PruningMonitor could not evaluate a pruning schedule (%s: %s); it "
                    "records every step whose mask it cannot rule out.",
                    type(e).__name__,
                    e,
                )
                return True
        return False


def _rule_of(w):
    """`(rule, key)`: a function `(first, last) -> bool` telling whether any pruning step in
    [first, last] prunes, and a key equal for wrappers that follow the same rule."""
    if w.sparsity_m_by_n is not None:
        return (lambda first, last: first <= 1 <= last), "n:m"
    schedule = w.wrapper.pruning_schedule
    cls = type(schedule)
    if cls.__name__ in _RULE_SCHEDULES and cls.__module__.startswith(
        "tensorflow_model_optimization"
    ):
        begin = int(schedule.begin_step)
        end = int(schedule.end_step)
        frequency = int(schedule.frequency)
        rule = lambda first, last: _rule_prunes(first, last, begin, end, frequency)  # noqa: E731
        return rule, (begin, end, frequency)
    return (lambda first, last: _schedule_prunes(schedule, first, last)), id(schedule)


def _rule_prunes(first, last, begin, end, frequency):
    """TF-MOT's `_should_prune_in_step`, for any step in [first, last]."""
    lo = max(first, begin)
    hi = last if end < 0 else min(last, end)
    if lo > hi:
        return False
    return lo + (begin - lo) % frequency <= hi


def _schedule_prunes(schedule, first, last):
    for p in range(first, last + 1):
        should_prune, _ = schedule(tf.constant(p, tf.int64))
        if bool(should_prune):
            return True
    return False
