"""The training side under stress: tf.distribute, remote file systems, long runs, kills, bad values.

Every test trains for real. Set-ups that need a fresh TensorFlow (two logical CPUs, two
MultiWorkerMirroredStrategy workers, a process to kill) run this module as a script in a
subprocess: `python -m tests.test_reliability_training <scenario> <args>`; the scenario saves what
its probe saw next to the log directory, and the test reads both back. The distributed ones start
with the module's first test and run while the others run. docs/reliability.md lists each fault
tried, how, and its result.
"""

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tensorboard.backend.event_processing import event_file_loader

from benchmarks.fixtures import browser
from tb_prune_plugin import mask_codec, metadata, reader, summary
from tb_prune_plugin.callbacks import PruningMonitor
from tb_prune_plugin.callbacks.writer import GuardedWriter
from tests import training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS = ("hidden/kernel", "logits/kernel")
FLAVOURS = ("tfmot", "tf_keras", "keras3")  # TF-MOT, manual pruning in tf_keras and Keras 3


# ------------------------------------------------------------------------------ training


def _local_values(strategy, variable):
    """The variable's value on every device (one entry without distribution)."""
    value = getattr(variable, "value", None)  # a Keras 3 variable holds its tf.Variable here
    if value is not None and not callable(value):
        variable = value
    return [np.asarray(v.numpy()) for v in strategy.experimental_local_results(variable)]


class ReplicaProbe(tf_keras.callbacks.Callback):
    """Captures, per optimizer step, every device's copy of each weight's mask and weights.

    Placed after the monitor, it sees the state the monitor has just recorded. TF-MOT masks
    come from the wrappers' mask variables; manual masks are `kernel != 0`.
    """

    def __init__(self):
        super().__init__()
        self.masks, self.weights, self._first = {}, {}, True

    def on_train_batch_begin(self, batch, logs=None):
        if self._first:
            self._first = False
            self._capture()

    def on_train_batch_end(self, batch, logs=None):
        self._capture()

    def _capture(self):
        strategy = self.model.distribute_strategy
        step = int(np.asarray(self.model.optimizer.iterations.numpy()))
        masks, weights = {}, {}
        for layer in self.model.layers:
            if hasattr(layer, "pruning_vars"):
                ((weight, mask, _),) = layer.pruning_vars
                path = "%s/kernel" % layer.layer.name
                masks[path] = np.stack(_local_values(strategy, mask)) != 0
            else:
                weight, path = layer.kernel, "%s/kernel" % layer.name
                masks[path] = np.stack(_local_values(strategy, weight)) != 0
            weights[path] = np.stack(_local_values(strategy, weight))
        self.masks[step], self.weights[step] = masks, weights

    def save(self, path):
        arrays = {}
        for step, masks in self.masks.items():
            for w, mask in masks.items():
                arrays["mask|%d|%s" % (step, w)] = mask
                arrays["weight|%d|%s" % (step, w)] = self.weights[step][w]
        np.savez(path, **arrays)


def _load_probe(path):
    """{"mask"|"weight": {step: {weight path: [replicas, ...] array}}} from `ReplicaProbe.save`."""
    out = {"mask": {}, "weight": {}}
    with np.load(path) as data:
        for key in data.files:
            kind, step, w = key.split("|", 2)
            out[kind].setdefault(int(step), {})[w] = data[key]
    return out


def _train(flavour, logdir, strategy=None, epochs=2, probe_path=None):
    """Trains the tiny digits MLP (64-24-10) with a PruningMonitor; returns the probe.

    tfmot: ConstantSparsity 50% pruned every 2 steps; tf_keras/keras3: MagnitudePruner 60%
    every 2 steps. 400 digits in batches of 100: 4 steps per epoch.
    """
    import tensorflow_model_optimization as tfmot

    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        if flavour == "tfmot":
            tf_keras.utils.set_random_seed(0)
            model = training.dense_tfmot_model(
                tfmot.sparsity.keras.ConstantSparsity(0.5, begin_step=0, frequency=2)
            )
            first = [tfmot.sparsity.keras.UpdatePruningStep()]
            monitor = PruningMonitor(logdir, every_n_steps=1)
        else:
            keras_module = tf_keras
            if flavour == "keras3":
                import keras as keras_module
            keras_module.utils.set_random_seed(0)
            model = keras_module.Sequential(
                [
                    keras_module.Input((64,)),
                    keras_module.layers.Dense(24, activation="relu", name="hidden"),
                    keras_module.layers.Dense(10, name="logits"),
                ]
            )
            training.compile_classifier(model)
            first = [training.MagnitudePruner(0.6, every=2)]
            monitor = PruningMonitor(logdir, target_sparsity=0.6, every_n_steps=1)
    probe = ReplicaProbe()
    x, y = training.digits(400)
    model.fit(
        x,
        y,
        batch_size=100,
        epochs=epochs,
        shuffle=False,
        verbose=0,
        callbacks=first + [monitor, probe],
    )
    if probe_path is not None:
        probe.save(probe_path)
    return probe


# ------------------------------------------------------------------------------ reading back


def _event_files(logdir):
    return sorted(tf.io.gfile.glob(logdir.rstrip("/") + "/events.out.tfevents.*"))


def _tag_steps(logdir):
    """{tag: sorted steps} of every summary value in the run's own event files."""
    out = {}
    for path in _event_files(logdir):
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            for value in event.summary.value:
                out.setdefault(value.tag, []).append(event.step)
    return {tag: sorted(steps) for tag, steps in out.items()}


def _mask_at(weight, step):
    """The recorded mask in force at `step`: the latest mask record at or before it."""
    return weight.masks[max(s for s in weight.masks if s <= step)]


def _assert_records_equal_probe(run, probe, replicas):
    """Masks, sparsity and sizes of every recorded step equal every device's mask variable."""
    for w in WEIGHTS:
        weight = run.weights[w]
        assert weight.steps.tolist() == sorted(probe["mask"])
        for i, step in enumerate(weight.steps.tolist()):
            copies = probe["mask"][step][w]
            assert copies.shape[0] == replicas
            for copy in copies[1:]:  # mirrored: every device holds the same mask
                np.testing.assert_array_equal(copy, copies[0])
            np.testing.assert_array_equal(_mask_at(weight, step), copies[0])
            assert weight.fields["sparsity"][i] == 1.0 - np.mean(copies[0])
            assert weight.fields["nonzeros"][i] == np.count_nonzero(copies[0])
            assert weight.fields["size"][i] == copies[0].size


class _Scenario:
    """`python -m tests.test_reliability_training <args>`, running while other tests run.

    Output goes to files (a full pipe would block the process).
    """

    def __init__(self, out, name, *args, env=None):
        self.log = os.path.join(out, "%s.log" % name)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.test_reliability_training", *map(str, args)],
                cwd=REPO,
                env=dict(env or _scenario_env()),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait(self, timeout=300):
        try:
            returncode = self.process.wait(timeout=timeout)
        finally:
            self.stop()
        with open(self.log) as log:
            output = log.read()
        assert returncode == 0, output[-4000:]
        return output

    def wait_for(self, text, timeout=180):
        """Waits until the process has printed `text`; fails if it ends or times out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log) as log:
                output = log.read()
            if text in output:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise AssertionError("no %r from the process: %s" % (text, output[-4000:]))

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _scenario_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    return env


# ------------------------------------------------------------------------------ ram:// file system


def test_log_dir_on_ram_file_system_read_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a mistaken local write would land here
    import tensorflow_model_optimization as tfmot

    root = "ram://%s" % uuid.uuid4().hex
    model = training.dense_tfmot_model(tfmot.sparsity.keras.ConstantSparsity(0.5, 0, frequency=2))
    probe = training.Probe()
    x, y = training.digits(300)
    model.fit(
        x,
        y,
        batch_size=100,
        verbose=0,
        callbacks=[
            tfmot.sparsity.keras.UpdatePruningStep(),
            PruningMonitor(root + "/run", every_n_steps=1),
            probe,
        ],
    )
    assert os.listdir(tmp_path) == []
    (path,) = _event_files(root + "/run")
    assert path.startswith(root + "/run/events.out.tfevents.")
    # Decoded with the format's own functions, straight from the event file.
    masks = {}
    for event in event_file_loader.EventFileLoader(path).Load():
        for value in event.summary.value:
            if value.tag.endswith("/mask"):
                header, payload = tf.make_ndarray(value.tensor).tolist()
                masks[(value.tag, event.step)] = mask_codec.decode_mask(header, payload)
    assert sorted(masks) == [("pruning/%s/mask" % w, s) for w in WEIGHTS for s in (0, 2)]
    for (tag, step), mask in masks.items():
        np.testing.assert_array_equal(mask, probe.masks[step][tag[len("pruning/") : -5]])
    # And through TensorBoard's own loading, as the dashboard reads it.
    run = reader.load(root).runs["run"]
    for w in WEIGHTS:
        assert run.weights[w].steps.tolist() == [0, 1, 2, 3]
        for step in range(4):
            np.testing.assert_array_equal(_mask_at(run.weights[w], step), probe.masks[step][w])
    assert run.config["format_version"] == metadata.FORMAT_VERSION


class _StepsOnStorage(tf_keras.callbacks.Callback):
    """At each batch end, the steps of the weight records the event files hold by then."""

    def __init__(self, logdir):
        super().__init__()
        self.logdir, self.seen = logdir, {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.seen[step] = _tag_steps(self.logdir).get(_STATS_TAG, [])


_STATS_TAG = "pruning/hidden/kernel/weight_stats"


def test_remote_log_dir_flushed_every_50_records_and_at_epoch_end():
    """On a URL (remote storage) a flush is costly: records wait for 50 of them or an epoch end."""
    logdir = "ram://%s/run" % uuid.uuid4().hex
    model = _unit_model(8)
    x, y = training.digits(600)
    storage = _StepsOnStorage(logdir)
    monitor = PruningMonitor(logdir, every_n_steps=1)
    # The default writer for this URL, but without the 10 s flush, which would make the test
    # depend on the machine's speed.
    monitor._writer = GuardedWriter(logdir, flush_millis=10**9)
    assert monitor._writer._max_queue == 50 and GuardedWriter("/tmp/x")._max_queue == 1
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[monitor, storage],
    )
    last = {step: steps[-1] for step, steps in storage.seen.items()}
    # Step 0 (a training's first record) is flushed at once; then 50 records per flush
    # (steps 1-50); the end of epoch 1, after step 60, flushes 51-60; then 61-110.
    assert last[1] == last[49] == 0
    assert last[50] == last[60] == 50
    assert last[61] == last[109] == 60
    assert last[110] == last[120] == 110
    assert _tag_steps(logdir)[_STATS_TAG] == list(range(121))  # all there after the end


def test_log_dir_on_unknown_file_system_says_so():
    model = tf_keras.Sequential([tf_keras.layers.Dense(4, input_shape=(64,), name="hidden")])
    model.compile("sgd", "mse")
    x, _ = training.digits(10)
    with pytest.raises(ValueError, match="PruningMonitor cannot create log_dir 'nosuchfs://x/run'"):
        model.fit(
            x, x[:, :4], verbose=0, callbacks=[PruningMonitor("nosuchfs://x/run", every_n_steps=1)]
        )


def _next_writer_number():
    """The number TensorFlow gives the next event file this process creates (`...pid.N`)."""
    scratch = "ram://%s" % uuid.uuid4().hex
    tf.summary.create_file_writer(scratch).close()
    (name,) = tf.io.gfile.listdir(scratch)
    return int(name.rsplit(".", 2)[1]) + 1  # events.out.tfevents.<time>.<host>.<pid>.<N>.v2


def test_event_files_of_one_second_read_in_creation_order(tmp_path):
    """Regression: two trainings into one log dir within a second, the second file named
    `...pid.10.pruning.v2` after `...pid.9.pruning.v2`, sorted first; TensorBoard read it
    first, then the first training's START event dropped all of it."""
    number = _next_writer_number()
    boundary = 10 ** len(str(number))
    for _ in range(boundary - 1 - number):  # the next two files: boundary - 1, boundary
        tf.summary.create_file_writer("ram://%s" % uuid.uuid4().hex).close()
    logdir = str(tmp_path / "run")
    fields = dict.fromkeys(metadata.MODEL_STATS_FIELDS, 1.0)
    for first_step in (0, 2):  # two trainings, as two monitors would write them
        writer = GuardedWriter(logdir)
        writer.start_session(first_step)
        for step in (first_step, first_step + 1):
            assert writer.write(step, [summary.model_stats(fields)])
        writer.close()
    assert reader.load(str(tmp_path)).runs["run"].model.steps.tolist() == [0, 1, 2, 3]
    # In name order (TensorBoard's reading order), the files are in creation order.
    numbers = [int(f.rsplit(".", 3)[1]) for f in _event_files(logdir)]
    assert len(numbers) == 2 and numbers[0] == boundary - 1 and numbers[1] > numbers[0]


def test_log_dir_removed_mid_run_warns_once_and_writes_again(tmp_path, caplog):
    """Regression: records written after the directory was removed went, without a word, into
    the removed (still open) file; now the removal is noticed at the next flush."""
    logdir = str(tmp_path / "run")
    model = _unit_model(8)
    x, y = training.digits(1000)
    with caplog.at_level(logging.WARNING, logger="tb_prune_plugin"):
        history = model.fit(
            x,
            y,
            batch_size=100,
            verbose=0,
            callbacks=[
                PruningMonitor(logdir, every_n_steps=1),
                training.AtStep(4, lambda _: shutil.rmtree(logdir)),
            ],
        )
    assert len(history.history["loss"]) == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "tb_prune_plugin"]
    assert len(warnings) == 1 and "was removed" in warnings[0]
    run = reader.load(str(tmp_path)).runs["run"]
    weight = run.weights["hidden/kernel"]
    # Steps 0-4 went with the directory; step 5, written into the removed file, is written
    # again, with every later step, into a new file; masks again from the next record on.
    assert weight.steps.tolist() == [5, 6, 7, 8, 9, 10]
    assert sorted(weight.masks) == [6]
    np.testing.assert_array_equal(weight.masks[6], model.get_layer("hidden").kernel.numpy() != 0)


# ------------------------------------------------------------------------------ long runs


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _RssAt(tf_keras.callbacks.Callback):
    def __init__(self, steps):
        super().__init__()
        self.steps, self.rss, self.times = set(steps), {}, {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step in self.steps:
            self.rss[step], self.times[step] = _rss_mib(), time.perf_counter()


def test_long_run_every_step_memory_stays_flat(tmp_path):
    """Regression: TensorFlow kept a tensor for every Python int step written (1.3 KB/step)."""
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(4, input_shape=(8,), name="hidden"),
            tf_keras.layers.Dense(2, name="logits"),
        ]
    )
    model.compile(tf_keras.optimizers.SGD(0.01), "mse")
    x = np.random.default_rng(0).normal(size=(3000, 8)).astype("float32")
    monitor = PruningMonitor(str(tmp_path / "long"), every_n_steps=1)
    rss = _RssAt([1000, 2000, 3000])
    model.fit(x, x[:, :2], batch_size=1, shuffle=False, verbose=0, callbacks=[monitor, rss])
    growth = rss.rss[3000] - rss.rss[1000]
    assert growth < 1.0, "RSS grew %.2f MiB from step 1000 to 3000: %s" % (growth, rss.rss)
    # Nothing accumulates per step: one previous mask per weight, no backlog.
    assert sorted(monitor._records.prev_masks) == list(WEIGHTS)
    assert monitor._writer.backlog_steps == []
    run = reader.load(str(tmp_path)).runs["long"]
    assert run.weights["hidden/kernel"].steps.tolist() == list(range(3001))


# ------------------------------------------------------------------------------ SIGKILL and resume

KILL = {"steps_per_epoch": 60, "checkpoint_at": 100, "kill_at": 130}


class MaskPruner(tf_keras.callbacks.Callback):
    """Manual pruning with mask variables (so checkpoints hold them): at each step of
    `prune_at` (step -> target sparsity), a magnitude mask; after every step, the mask applied."""

    def __init__(self, masks, prune_at):
        super().__init__()
        self.masks, self.prune_at = masks, prune_at

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        for path, mask in self.masks.items():
            kernel = self.model.get_layer(path.split("/")[0]).kernel
            value = kernel.numpy()
            if step in self.prune_at:
                cut = np.quantile(np.abs(value), self.prune_at[step])
                mask.assign((np.abs(value) > cut).astype(np.float32))
            kernel.assign(value * mask.numpy())


class MaskProbe(tf_keras.callbacks.Callback):
    """Captures the mask variables (step -> path -> bool mask) after the monitor recorded."""

    def __init__(self, masks):
        super().__init__()
        self.masks, self.seen = masks, {}

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.seen[step] = {path: m.numpy() != 0 for path, m in self.masks.items()}


def _killable_model():
    """(model, mask variables, checkpoint of model, optimizer and masks)."""
    tf_keras.utils.set_random_seed(1)
    model = _unit_model(16)
    masks = {
        w: tf.Variable(np.ones(model.get_layer(w.split("/")[0]).kernel.shape, np.float32))
        for w in WEIGHTS
    }
    checkpoint = tf.train.Checkpoint(
        model=model,
        optimizer=model.optimizer,
        hidden_mask=masks[WEIGHTS[0]],
        logits_mask=masks[WEIGHTS[1]],
    )
    return model, masks, checkpoint


def _ready_then_wait(_):
    """Says READY on stdout (after the monitor recorded the step), then waits to be killed."""
    print("READY %d" % KILL["kill_at"], flush=True)
    time.sleep(600)


def _scenario_killable(logdir, prefix):
    """Trains with the monitor, prunes at 30 (50%) and 110 (80%), checkpoints at step 100 and
    stops at 130."""
    model, masks, checkpoint = _killable_model()
    x, y = training.digits(10 * KILL["steps_per_epoch"])
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[
            MaskPruner(masks, prune_at={30: 0.5, 110: 0.8}),
            PruningMonitor(logdir, masks=masks, every_n_steps=1),
            training.AtStep(KILL["checkpoint_at"], lambda _: checkpoint.write(prefix)),
            training.AtStep(KILL["kill_at"], _ready_then_wait),
        ],
    )


def test_sigkill_mid_run_readable_then_resumed_without_duplicates(tmp_path):
    logdir, prefix = str(tmp_path / "logs" / "killed"), str(tmp_path / "ckpt" / "at100")
    training_process = _Scenario(str(tmp_path), "killable", "killable", logdir, prefix)
    training_process.wait_for("READY %d" % KILL["kill_at"])
    training_process.process.send_signal(signal.SIGKILL)
    assert training_process.process.wait(timeout=30) == -signal.SIGKILL

    # What the killed run left is readable, every step up to the kill: on a local disk each
    # record is flushed as it is written.
    killed = reader.load(str(tmp_path / "logs")).runs["killed"]
    assert killed.weights["hidden/kernel"].steps.tolist() == list(range(KILL["kill_at"] + 1))
    assert sorted(killed.weights["hidden/kernel"].masks) == [0, 30, 110]
    assert killed.metrics["epoch"]["loss"].steps.tolist() == [60, 120]

    # Resumed in a new process (this one) from the checkpoint of step 100. This training
    # prunes at 140, not 110: the records the killed run wrote after 100 are orphans.
    model, masks, checkpoint = _killable_model()
    checkpoint.read(prefix).expect_partial()
    assert int(model.optimizer.iterations.numpy()) == KILL["checkpoint_at"]
    probe = MaskProbe(masks)
    x, y = training.digits(10 * KILL["steps_per_epoch"])
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=3,
        initial_epoch=2,
        shuffle=False,
        verbose=0,
        callbacks=[
            MaskPruner(masks, prune_at={140: 0.8}),
            PruningMonitor(logdir, masks=masks, every_n_steps=1),
            probe,
        ],
    )
    run = reader.load(str(tmp_path / "logs")).runs["killed"]
    for w in WEIGHTS:
        weight = run.weights[w]
        assert weight.steps.tolist() == list(range(161))  # continued, no step twice
        # The killed run's mask of step 110 is gone; the resumed run's masks are in force.
        assert sorted(weight.masks) == [0, 30, 101, 140]
        for i, step in enumerate(weight.steps.tolist()):
            if step > KILL["checkpoint_at"]:
                np.testing.assert_array_equal(_mask_at(weight, step), probe.seen[step][w])
                assert weight.fields["sparsity"][i] == 1.0 - np.mean(probe.seen[step][w])
    assert run.metrics["epoch"]["loss"].steps.tolist() == [60, 160]
    # In the resumed run's own event file, every step once.
    resumed_file = _event_files(logdir)[-1]
    resumed_steps = [
        e.step
        for e in event_file_loader.LegacyEventFileLoader(resumed_file).Load()
        if e.HasField("summary")
        and any(v.tag == "pruning/hidden/kernel/weight_stats" for v in e.summary.value)
    ]
    assert resumed_steps == list(range(101, 161))

    # TensorBoard's Rust data server (--load_fast=true) ignores the START event; it drops, per
    # series, the records at and after each new one's step. The killed run's epoch metric at
    # 120 is in no series the resumed run rewrote before 120: the reader drops it by the
    # resumed training's run_config record (its start step and later wall time).
    with _rust_data_server(tmp_path / "logs", "killed", last_epoch_step=160) as (route, epochs):
        assert epochs == [60, 160]
        mask_steps = browser.fetch_json(route + "/mask_steps?run=killed&weight=hidden/kernel")
        assert mask_steps["steps"] == [0, 30, 101, 140]


def test_resumed_every_10_steps_supersedes_epoch_metrics_from_its_start(tmp_path):
    """Regression: with every_n_steps > 1 the resumed training's first record comes after
    its start; its run_config marked the start only there, so a killed training's epoch
    metric in between stayed under TensorBoard's Rust data server. The run_config is now
    written at the start of a resumed training."""
    logdir = str(tmp_path / "logs" / "run")
    model = _unit_model(8)
    x, y = training.digits(70)
    # The "killed" training: 7 steps an epoch, epoch metrics at 7, 14 and 21.
    model.fit(
        x,
        y,
        batch_size=10,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[PruningMonitor(logdir, every_n_steps=10)],
    )
    # Resumed from a checkpoint at step 10, in a new monitor: one epoch of 5 steps (11 to 15).
    model.optimizer.iterations.assign(10)
    model.fit(
        x[:50],
        y[:50],
        batch_size=10,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[PruningMonitor(logdir, every_n_steps=10)],
    )
    # TensorBoard's Python loader drops everything at and after the START event at 11.
    run = reader.load(str(tmp_path / "logs")).runs["run"]
    assert run.metrics["epoch"]["loss"].steps.tolist() == [7, 15]
    assert run.weights["hidden/kernel"].steps.tolist() == [0, 10, 15]
    with _rust_data_server(tmp_path / "logs", "run", last_epoch_step=15) as (route, epochs):
        assert epochs == [7, 15]
        series = browser.fetch_json(route + "/weight_series?run=run&weight=hidden/kernel")
        assert series["steps"] == [0, 10, 15]


@contextlib.contextmanager
def _rust_data_server(logdir, run, last_epoch_step):
    """A real `tensorboard --load_fast=true` over `logdir`: yields the plugin's route prefix
    and `run`'s epoch loss steps, once the one at `last_epoch_step` is loaded."""
    with browser.TensorBoardProcess(logdir, ["--load_fast=true"]) as tensorboard:
        tensorboard.wait_for_runs([run])
        route = tensorboard.url + browser.PLUGIN_PREFIX
        epoch_steps = _poll(
            lambda: browser.fetch_json(route + "/metrics?run=" + run)["epoch"]["loss"]["steps"],
            until=lambda steps: steps[-1:] == [last_epoch_step],
        )
        yield route, epoch_steps


def _poll(read, until, timeout=60):
    """`read()` again until `until(value)` holds (TensorBoard loads in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()
        except (OSError, KeyError) as e:  # not listed or not loaded yet
            value = e
        if not isinstance(value, Exception) and until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError("still %r after %d s" % (value, timeout))
        time.sleep(0.2)


# ------------------------------------------------------------------------------ NaN and Inf


def _poison(model):
    """Puts NaN, +Inf and -Inf into the first column of hidden/kernel."""
    kernel = model.get_layer("hidden").kernel
    value = kernel.numpy()
    value[0:3, 0] = [np.nan, np.inf, -np.inf]
    kernel.assign(value)


def test_nan_and_inf_weights_counted_and_readable(tmp_path):
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(16, activation="relu", input_shape=(64,), name="hidden"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    kernels = {"hidden/kernel": model.layers[0].kernel, "logits/kernel": model.layers[1].kernel}
    probe = training.Probe(manual_weights=kernels)
    x, y = training.digits(400)
    history = model.fit(
        x,
        y,
        batch_size=100,
        verbose=0,
        callbacks=[
            training.AtStep(2, _poison),
            PruningMonitor(str(tmp_path / "nan"), every_n_steps=1, histogram_every_n_steps=1),
            probe,
        ],
    )
    assert len(history.history["loss"]) == 1  # training finished
    run = reader.load(str(tmp_path)).runs["nan"]
    weight = run.weights["hidden/kernel"]
    assert weight.steps.tolist() == [0, 1, 2, 3, 4]
    for w in WEIGHTS:
        series = run.weights[w]
        for i, step in enumerate(series.steps.tolist()):
            values = probe.weights[step][w]
            kept = values != 0  # NaN != 0: a NaN weight is a kept weight
            assert series.fields["nonfinite"][i] == np.count_nonzero(~np.isfinite(values) & kept)
            assert series.fields["sparsity"][i] == 1.0 - np.mean(kept)
            np.testing.assert_array_equal(_mask_at(series, step), kept)
            finite = np.abs(values[kept & np.isfinite(values)])
            hist = series.histograms
            assert int(np.sum(hist.counts[i])) == finite.size
            assert hist.hi[i] == (np.float64(finite.max()) if finite.size else 0.0)
    # At step 2 exactly the three poisoned weights are flagged; statistics are written as NaN.
    assert weight.fields["nonfinite"].tolist()[:3] == [0, 0, 3]
    assert np.isnan(weight.fields["mean"][2]) and np.isnan(weight.fields["l2"][2])
    assert np.isfinite(weight.fields["mean"][1])
    assert run.model.steps.tolist() == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------------------ shape changes


def _unit_model(units):
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(units, activation="relu", input_shape=(64,), name="hidden"),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


def _cut_units(model, keep):
    """Structured pruning: a new model keeping the `keep` hidden units of largest L2 norm."""
    kernel, bias = model.get_layer("hidden").get_weights()
    out_kernel, out_bias = model.get_layer("logits").get_weights()
    units = np.sort(np.argsort(-np.linalg.norm(kernel, axis=0))[:keep])
    smaller = _unit_model(keep)
    smaller.get_layer("hidden").set_weights([kernel[:, units], bias[units]])
    smaller.get_layer("logits").set_weights([out_kernel[units], out_bias])
    # The step count goes on, so that the series continues.
    smaller.optimizer.iterations.assign(model.optimizer.iterations)
    return smaller


@pytest.mark.parametrize("monitors", ["same_monitor", "new_monitor"])
def test_units_cut_between_fits_masks_keep_their_shapes(tmp_path, monitors):
    x, y = training.digits(300)
    logdir = str(tmp_path / "cut")
    monitor = PruningMonitor(logdir, every_n_steps=1)
    model = _unit_model(16)
    model.fit(x, y, batch_size=100, verbose=0, callbacks=[monitor])
    smaller = _cut_units(model, 8)
    if monitors == "new_monitor":
        monitor = PruningMonitor(logdir, every_n_steps=1)
    smaller.fit(x, y, batch_size=100, verbose=0, callbacks=[monitor])
    run = reader.load(str(tmp_path)).runs["cut"]
    hidden, logits = run.weights["hidden/kernel"], run.weights["logits/kernel"]
    assert hidden.steps.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert {s: m.shape for s, m in hidden.masks.items()} == {0: (64, 16), 4: (64, 8)}
    assert {s: m.shape for s, m in logits.masks.items()} == {0: (16, 10), 4: (8, 10)}
    np.testing.assert_array_equal(hidden.masks[4], smaller.get_layer("hidden").kernel.numpy() != 0)
    assert hidden.fields["size"].tolist() == [64 * 16] * 4 + [64 * 8] * 3
    if monitors == "same_monitor":
        # The monitor saw both models: churn across a change of shape is undefined, so NaN.
        assert np.isnan(hidden.fields["newly_pruned"][4]) and np.isnan(hidden.fields["regrown"][4])
        assert hidden.fields["mask_changed"][4] == 1.0
    else:
        # A new monitor (as in a new process) only knows the rebuilt model, from step 3.
        assert hidden.fields["newly_pruned"][4] == hidden.fields["regrown"][4] == 0.0
        assert hidden.fields["mask_changed"][4] == 0.0
    assert hidden.fields["newly_pruned"][5] == 0.0
    assert run.model.fields["prunable_size"].tolist() == [64 * 16 + 160] * 4 + [64 * 8 + 80] * 3
    # The run's configuration describes the model trained last.
    assert [w["shape"] for w in run.config["weights"]] == [[64, 8], [8, 10]]


# ------------------------------------------------------------------------------ distributed


@pytest.fixture(scope="module")
def distributed(request, tmp_path_factory):
    """The distributed trainings, started in subprocesses when this module's first test runs.

    They run while the module's other tests run (the distributed tests come last), which
    halves the module's time on two cores.
    """
    selected = {item.originalname for item in request.session.items}
    runs = {}
    if "test_mirrored_strategy_two_devices_records_mirrored_values" in selected:
        out = str(tmp_path_factory.mktemp("mirrored"))
        runs["mirrored_out"] = out
        runs["mirrored"] = _Scenario(out, "mirrored", "mirrored", out)
    if "test_multi_worker_only_chief_writes_single_device_series" in selected:
        out = str(tmp_path_factory.mktemp("workers"))
        ports = ",".join(str(p) for p in _free_ports(2))
        runs["workers_out"] = out
        runs["workers"] = [_Scenario(out, "worker%d" % i, "worker", i, ports, out) for i in (0, 1)]
    yield runs
    for run in runs.values():
        for scenario in run if isinstance(run, list) else [run]:
            if isinstance(scenario, _Scenario):
                scenario.stop()


@pytest.fixture(autouse=True)
def _start_distributed_first(request):
    """Makes the first test of the module start the distributed trainings."""
    request.getfixturevalue("distributed")


# ------------------------------------------------------------------------------ MirroredStrategy


def _scenario_mirrored(out):
    """Two logical CPUs; each flavour trained with MirroredStrategy and on one device."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    for flavour in FLAVOURS:
        for name, chosen in (("mirrored", strategy), ("single", None)):
            run = "%s_%s" % (flavour, name)
            _train(flavour, os.path.join(out, "logs", run), chosen, probe_path=_probe(out, run))


def _probe(out, run):
    return os.path.join(out, "probe_%s.npz" % run)


def test_mirrored_strategy_two_devices_records_mirrored_values(distributed):
    out = distributed["mirrored_out"]
    distributed["mirrored"].wait()
    exp = reader.load(os.path.join(out, "logs"))
    for flavour in FLAVOURS:
        mirrored = exp.runs["%s_mirrored" % flavour]
        _assert_records_equal_probe(
            mirrored, _load_probe(_probe(out, "%s_mirrored" % flavour)), replicas=2
        )
        _assert_records_equal_probe(
            exp.runs["%s_single" % flavour],
            _load_probe(_probe(out, "%s_single" % flavour)),
            replicas=1,
        )
        assert mirrored.weights["hidden/kernel"].steps.tolist() == list(range(9))
        # The same series (tags and steps) as the single-device run.
        assert _tag_steps(os.path.join(out, "logs", "%s_mirrored" % flavour)) == _tag_steps(
            os.path.join(out, "logs", "%s_single" % flavour)
        )
        assert mirrored.config["method"] == ("tfmot" if flavour == "tfmot" else "manual")
    # TF-MOT's first mask update (frequency 2) keeps exactly half of each kernel.
    sparsity = exp.runs["tfmot_mirrored"].weights["hidden/kernel"].fields["sparsity"]
    assert sparsity.tolist() == [0.0, 0.0] + [0.5] * 7


# ------------------------------------------------------------------------------ MultiWorkerMirrored


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _scenario_worker(index, ports, out):
    """One MultiWorkerMirroredStrategy worker: TF-MOT into a log dir shared by both workers,
    then manual tf_keras pruning into a log dir of its own."""
    index = int(index)
    os.environ["TF_CONFIG"] = json.dumps(
        {
            "cluster": {"worker": ["127.0.0.1:%s" % p for p in ports.split(",")]},
            "task": {"type": "worker", "index": index},
        }
    )
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    assert strategy.num_replicas_in_sync == 2
    _train(
        "tfmot",
        os.path.join(out, "logs", "shared"),
        strategy,
        probe_path=_probe(out, "tfmot_worker%d" % index),
    )
    _train(
        "tf_keras",
        os.path.join(out, "logs", "own_worker%d" % index),
        strategy,
        probe_path=_probe(out, "tf_keras_worker%d" % index),
    )


def test_multi_worker_only_chief_writes_single_device_series(distributed, tmp_path):
    out = distributed["workers_out"]
    chief, other = distributed["workers"]
    other.wait()
    chief.wait()
    logs = os.path.join(out, "logs")
    # Only the chief (worker 0) wrote: one event file in the shared dir, none for worker 1.
    shared = _event_files(os.path.join(logs, "shared"))
    assert len(shared) == 1 and ".%d." % chief.process.pid in os.path.basename(shared[0])
    assert _event_files(os.path.join(logs, "own_worker0"))
    assert not os.path.exists(os.path.join(logs, "own_worker1"))
    assert sorted(os.listdir(logs)) == ["own_worker0", "shared"]
    # The chief recorded its own (mirrored) variables, equal to the other worker's copies.
    exp = reader.load(logs)
    for run, flavour in (("shared", "tfmot"), ("own_worker0", "tf_keras")):
        chief = _load_probe(_probe(out, "%s_worker0" % flavour))
        other = _load_probe(_probe(out, "%s_worker1" % flavour))
        _assert_records_equal_probe(exp.runs[run], chief, replicas=1)
        for step in chief["mask"]:
            for w in WEIGHTS:
                np.testing.assert_array_equal(chief["mask"][step][w], other["mask"][step][w])
        # The same series (tags and steps) as a single-device run of the same training.
        single = str(tmp_path / flavour)
        _train(flavour, single)
        assert _tag_steps(os.path.join(logs, run)) == _tag_steps(single)


# ------------------------------------------------------------------------------ main

_SCENARIOS = {
    "mirrored": _scenario_mirrored,
    "worker": _scenario_worker,
    "killable": _scenario_killable,
}

if __name__ == "__main__":
    _SCENARIOS[sys.argv[1]](*sys.argv[2:])
