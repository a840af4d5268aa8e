"""Issue 10's default-argument step ratio at TF-MOT's usual settings, for the real-size models.

real_models.py's fits prune every 4 steps (so that short fits hold mask changes to count bytes):
there every mask change, every fit's first step and every epoch end is a record the policy must
write, and the default's ratio mostly measures those. This stage measures what the issue's
target is about: `PruningMonitor()` with default arguments against `UpdatePruningStep` alone on
a model pruned by TF-MOT's PolynomialDecay at its default frequency, 100, over a long run
(end step 100,000), so that a mask changes once every 100 steps. Each fit is one epoch of
`steps_per_fit` steps; its first step and its end are recorded as they are in real training
(real epochs are longer, so these forced records weigh more here than there).

`PruningMonitor(every_n_steps=1)` is measured the same way, as a third variant: issue 10's
every-step target at the same usual settings (real_models.py's short fits, a mask change every 4
steps, are the every-step monitor's worst case and stay reported there).

The variants share one model and take turns, one fit each per round, in alternating order,
after one warm-up fit each (tracing, the first record, the event file). A fit's time is
`model.fit`'s whole wall time (every hook of the monitor, including its first step's record and
its epoch-end flush, is inside), per step; the ratio is taken within each round. The monitor's
own accounting (`PruningMonitor.overhead`: its time in the batch hooks, records and interval)
is kept per fit, with the time of its `on_train_begin` and `on_train_end` (which records the
last step and, with `stripped_size="auto"` by default, saves and gzips the stripped model when
what the budget leaves of the fit pays for it), which fall outside that accounting and are paid
once per fit.
"""

import os
import time

import numpy as np

FULL = {
    "frequency": 100,
    "end_step": 100_000,
    "rounds": 3,
    "warmup_steps": 3,
    "steps_per_fit": {"resnet50": 100, "mobilenet_v2": 200, "bert_encoder": 50},
}
QUICK = dict(FULL, frequency=4, rounds=1, warmup_steps=2, steps_per_fit={})
QUICK_STEPS = 6


def _fit_seconds(model, data, callbacks, steps):
    x, y = data
    n = steps * (len(x) // steps)
    start = time.perf_counter()
    model.fit(
        x[:n],
        y[:n],
        batch_size=n // steps,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=callbacks,
    )
    return time.perf_counter() - start


def measure(name, config, logdir, quick=False):
    """{per_step_ms, ratio, ratio_every_1, steps_per_fit, frequency, monitor,
    monitor_every_1 (each monitor's overhead per fit)}."""
    import overhead
    import real_models
    import tensorflow_model_optimization as tfmot

    from tb_prune_plugin.callbacks import PruningMonitor

    cfg = QUICK if quick else FULL
    steps = cfg["steps_per_fit"].get(name, QUICK_STEPS)
    model, _ = real_models._pruned_model(
        name, config, frequency=cfg["frequency"], end_step=cfg["end_step"]
    )
    batch = config["batch"][name]
    rng = np.random.default_rng(1)
    x = rng.random((batch * steps,) + real_models._input_shape(name, config), dtype=np.float32)
    y = rng.integers(0, 10, batch * steps).astype("int64")
    update = tfmot.sparsity.keras.UpdatePruningStep()
    monitors = {
        "monitor_default": PruningMonitor(os.path.join(logdir, name, "default_policy")),
        "monitor_every_1": PruningMonitor(
            os.path.join(logdir, name, "default_policy_every_1"), every_n_steps=1
        ),
    }
    watches = {v: overhead._Stopwatch() for v in monitors}
    hooks = ("on_train_begin", "on_train_end")
    for v, monitor in monitors.items():
        for hook in hooks:
            watches[v].wrap(monitor, hook, hook + "_seconds", hook=True)
    variants = {"update_pruning_step": [update]}
    variants.update({v: [update, monitor] for v, monitor in monitors.items()})
    w = cfg["warmup_steps"]
    for callbacks in variants.values():
        _fit_seconds(model, (x[: w * batch], y[: w * batch]), callbacks, w)
    seconds = {v: [] for v in variants}
    accounting = {v: [] for v in monitors}
    order = list(variants)
    for r in range(cfg["rounds"]):
        for v in order if r % 2 == 0 else order[::-1]:
            watch = watches.get(v)
            before = dict(watch.seconds) if watch else {}
            seconds[v].append(_fit_seconds(model, (x, y), variants[v], steps))
            if watch:
                spent = {
                    h + "_seconds": watch.seconds.get(h + "_seconds", 0.0)
                    - before.get(h + "_seconds", 0.0)
                    for h in hooks
                }
                accounting[v].append(dict(monitors[v].overhead, **spent))
    for monitor in monitors.values():
        monitor._writer.close()
    per_step = {v: [s * 1e3 / steps for s in t] for v, t in seconds.items()}
    ref = per_step["update_pruning_step"]

    def ratio(v):
        return overhead._summary([a / b for a, b in zip(per_step[v], ref)])

    return {
        "frequency": cfg["frequency"],
        "steps_per_fit": steps,
        "per_step_ms": {v: overhead._summary(t) for v, t in per_step.items()},
        "ratio": ratio("monitor_default"),
        "ratio_every_1": ratio("monitor_every_1"),
        "monitor": accounting["monitor_default"],
        "monitor_every_1": accounting["monitor_every_1"],
    }
