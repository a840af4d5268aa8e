"""How often the monitor records steps at which no mask changed: a fixed or adaptive interval.

With `every_n_steps=N` these steps are recorded at every multiple of N. By default the
interval adapts so that the monitor's own time stays within `overhead_budget` (a fraction)
of the training time. The monitor times its own hooks and the training's wall time, and
tells the policy after each hook call (`spent`). After each record the policy estimates
  c, the time of one record (a moving average of the hooks that recorded),
  h, the monitor's time per step in the hooks that did not record,
  m, the records per step the policy cannot thin (mask changes, epoch ends, first steps),
  t, the training time per step (wall time minus the monitor's, from the fit's first batch
     end on, so that tracing the training step does not count),
and sets the interval to the smallest of 1, 2, 5, 10, 20, 50, ... steps that is at least
`c / (budget * t - h - m * c)`. It grows at once and shrinks only when a clearly smaller
interval would do (by half a notch), so it does not flap with timing noise. Records fall
on multiples of the interval, so steps line up across runs and across interval changes.
"""

import math
import time

DEFAULT_OVERHEAD_BUDGET = 0.02
MAX_INTERVAL = 1_000_000
_COST_WEIGHT = 0.25  # weight of the newest record in the moving average of a record's time


def ladder_ceil(value):
    """The smallest of 1, 2, 5, 10, 20, 50, ... (at most MAX_INTERVAL) that is >= `value`."""
    if not value > 1:
        return 1
    if not math.isfinite(value) or value >= MAX_INTERVAL:
        return MAX_INTERVAL
    decade = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if step * decade >= value:
            return step * decade
    return MAX_INTERVAL


class RecordingPolicy:
    """The interval of ordinary records: `every_n_steps` fixed, or adapted to a time budget.

    Args:
      every_n_steps: a fixed interval, or None to adapt it.
      overhead_budget: the fraction of training time the monitor may take (adaptive only).
      clock: the timer (seconds); `time.perf_counter` unless a test passes its own.
    """

    def __init__(self, every_n_steps=None, overhead_budget=DEFAULT_OVERHEAD_BUDGET, clock=None):
        self.fixed = every_n_steps is not None
        self.interval = every_n_steps if self.fixed else 1
        self.overhead_budget = overhead_budget
        self.clock = clock or time.perf_counter
        self.record_seconds = None  # c: moving average of one record's time
        self.monitor_seconds = 0.0  # the monitor's time in its hooks, this fit
        self.records = 0
        self.forced_records = 0
        self._idle_seconds = 0.0  # time in hooks that did not record
        self._idle_calls = 0
        self._fit_start = None  # (clock, step, monitor_seconds) at the fit's first batch end

    def start_fit(self):
        """A new `fit` begins: its first batch end starts the training clock again.

        The interval and a record's estimated time carry over; the counts start again.
        """
        self._fit_start = None
        self.monitor_seconds = 0.0
        self.records = self.forced_records = self._idle_calls = 0
        self._idle_seconds = 0.0

    def due(self, last, step):
        """True if an ordinary record falls in the steps after `last` up to `step`."""
        return step // self.interval != last // self.interval

    def spent(self, seconds, step, recorded, forced=False):
        """The monitor spent `seconds` in a hook at `step`; `recorded` if it wrote a record.

        `forced`: the record was one the policy cannot thin (a mask change, an epoch end).
        """
        self.monitor_seconds += seconds
        if self._fit_start is None:
            if step is not None:
                self._fit_start = (self.clock(), step, self.monitor_seconds)
            return
        if not recorded:
            self._idle_seconds += seconds
            self._idle_calls += 1
            return
        self.records += 1
        self.forced_records += bool(forced)
        if self.record_seconds is None:
            self.record_seconds = seconds
        else:
            self.record_seconds += _COST_WEIGHT * (seconds - self.record_seconds)
        if not self.fixed and step is not None:
            self._adapt(step)

    def training_seconds_per_step(self, step):
        """t: wall time per step since the fit's first batch end, less the monitor's; or None."""
        if self._fit_start is None or step is None or step <= self._fit_start[1]:
            return None
        start, start_step, start_monitor = self._fit_start
        wall = self.clock() - start
        own = self.monitor_seconds - start_monitor
        return max(wall - own, 0.0) / (step - start_step)

    def allowance(self):
        """Seconds the budget leaves in this fit: its share of the wall time since the fit's
        first batch end, less the monitor's own time in the fit; None with a fixed interval or
        before a first batch end."""
        if self.fixed or self._fit_start is None:
            return None
        return self.overhead_budget * (self.clock() - self._fit_start[0]) - self.monitor_seconds

    def overhead(self, step):
        """`PruningMonitor.overhead` at `step`, the last step seen."""
        return {
            "monitor_seconds": self.monitor_seconds,
            "training_seconds_per_step": self.training_seconds_per_step(step),
            "record_seconds": self.record_seconds,
            "records": self.records,
            "interval": self.interval,
        }

    def wanted_interval(self, step):
        """The interval the budget asks for at `step`, before rounding and hysteresis; or None."""
        t = self.training_seconds_per_step(step)
        if t is None or self.record_seconds is None:
            return None
        steps = step - self._fit_start[1]
        h = self._idle_seconds / self._idle_calls if self._idle_calls else 0.0
        m = self.forced_records / steps
        room = self.overhead_budget * t - h - m * self.record_seconds
        if room <= 0:
            return float(MAX_INTERVAL)
        return self.record_seconds / room

    def _adapt(self, step):
        wanted = self.wanted_interval(step)
        if wanted is None:
            return
        grown = ladder_ceil(wanted)
        if grown > self.interval:
            self.interval = grown
        else:
            shrunk = ladder_ceil(wanted * 1.5)
            if shrunk < self.interval:
                self.interval = shrunk


class HistogramSteps:
    """Which records carry the |w| histograms.

    Their passes over every kept weight are most of a record's time on a large model, and the
    distribution of the weights moves slowly between mask changes; so, as Keras's TensorBoard
    callback records histograms less often than scalars, a record carries them when it is
    forced (it may carry a mask change, or it is a fit's first record, an epoch end or the end
    of training), when it is the first one, and otherwise when its step crosses a multiple of
    `every_n_steps` since the last histogram (1: every record).
    """

    def __init__(self, every_n_steps):
        self.every_n_steps = every_n_steps
        self._last = None  # the step of the last record with histograms

    def due(self, step, forced, last_record, mask_steps):
        """Whether the record at `step` carries histograms: `forced` (see the class), the
        step of the previous record (None: none yet) and the `MaskChangeSteps` that tell
        whether a mask may have changed since."""
        last = self._last
        if forced or last_record is None or step <= last_record or last is None or step < last:
            return True
        if self.every_n_steps == 1 or mask_steps.may_change(last_record + 1, step):
            return True
        return step // self.every_n_steps != last // self.every_n_steps

    def recorded(self, step):
        """A record with histograms was made at `step`."""
        self._last = step
