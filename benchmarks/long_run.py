"""Memory and time of a long run recorded at every step.

    python benchmarks/long_run.py [--steps 100000] [--logdir DIR]

Trains a tiny tf_keras MLP (8-4-2, batch 1, SGD) for `--steps` optimizer steps with
`PruningMonitor(every_n_steps=1)`, and prints the process's resident memory (RSS)
and the time per step every 10,000 steps, then the event file's size. The same model
trains first for 2,000 steps without the monitor, for the time per step it costs
without recording. Figures are in docs/reliability.md.
"""

import argparse
import glob
import os
import tempfile
import time

import numpy as np
import tf_keras

from tb_prune_plugin.callbacks import PruningMonitor


def rss_mib():
    """The process's resident set size in MiB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler(tf_keras.callbacks.Callback):
    """Records (RSS MiB, time) at every `every`-th optimizer step."""

    def __init__(self, every):
        super().__init__()
        self.every, self.samples = every, {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step % self.every == 0:
            self.samples[step] = (rss_mib(), time.perf_counter())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args()
    logdir = args.logdir or tempfile.mkdtemp(prefix="long_run_")
    rng = np.random.default_rng(0)

    def model():
        m = tf_keras.Sequential(
            [
                tf_keras.layers.Dense(4, input_shape=(8,), name="hidden"),
                tf_keras.layers.Dense(2, name="logits"),
            ]
        )
        m.compile(tf_keras.optimizers.SGD(0.01), "mse")
        return m

    baseline = Sampler(1000)
    x = rng.normal(size=(2000, 8)).astype("float32")
    model().fit(x, x[:, :2], batch_size=1, shuffle=False, verbose=0, callbacks=[baseline])
    t = baseline.samples
    print("without the monitor: %.2f ms/step" % ((t[2000][1] - t[1000][1]) / 1000 * 1e3))

    sampler = Sampler(10_000)
    x = rng.normal(size=(args.steps, 8)).astype("float32")
    start = time.perf_counter()
    model().fit(
        x,
        x[:, :2],
        batch_size=1,
        shuffle=False,
        verbose=0,
        callbacks=[PruningMonitor(os.path.join(logdir, "run"), every_n_steps=1), sampler],
    )
    print("with PruningMonitor(every_n_steps=1), log dir %s:" % logdir)
    print("  step     RSS MiB   ms/step over the last 10,000")
    previous = start
    for step, (rss, when) in sorted(sampler.samples.items()):
        print("  %6d   %7.1f   %.2f" % (step, rss, (when - previous) / 10_000 * 1e3))
        previous = when
    samples = sorted(sampler.samples.items())
    if len(samples) >= 2:
        (first_step, (first_rss, _)), (last_step, (last_rss, _)) = samples[0], samples[-1]
        growth = (last_rss - first_rss) / (last_step - first_step) * 1024
        print(
            "RSS growth from step %d to %d: %.1f MiB (%.3f KiB per step)"
            % (first_step, last_step, last_rss - first_rss, growth)
        )
    files = glob.glob(os.path.join(logdir, "run", "events.out.tfevents.*"))
    size = sum(os.path.getsize(f) for f in files)
    print("event file: %.1f MB, %.0f bytes per recorded step" % (size / 1e6, size / args.steps))


if __name__ == "__main__":
    main()
