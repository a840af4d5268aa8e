"""The restart rule (`tb_prune_plugin/restarts.py`) in every read: a training stopped at step 30
and a second one resumed from step 20, with another hidden layer and every_n_steps=4.

TensorBoard's Python loader drops the first training's records at and after the second one's
start (its SessionLog.START at step 21). The Rust data server ignores SessionLog and only drops,
per series, the records at or after each new record's step: the first training's records of the
hidden layer the second does not have, and of the other series between 21 and the second
training's first records, survive there. Every route must answer the same under both loaders.
"""

import base64
import time

import numpy as np
import pytest
import tf_keras

from benchmarks.fixtures import browser
from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import reader, summary
from tb_prune_plugin.callbacks import PruningMonitor
from tests import training

FIRST = list(range(21))  # the first training's records kept: steps 0 to 20
SECOND = [24, 28, 32, 36, 40]  # the second training's: every 4 steps from its start at 21
STATS = {"hidden/kernel": FIRST, "hidden2/kernel": SECOND, "logits/kernel": FIRST + SECOND}
MASKS = {
    "hidden/kernel": [0, 10, 11, 12, 20],
    "hidden2/kernel": [24, 32, 40],
    "logits/kernel": [0, 10, 11, 12, 20, 24, 32, 40],
}
BATCH = list(range(1, 21)) + SECOND
EPOCH = [10, 20, 30, 40]  # 30 and 40: the second training's epochs 3 and 4


def _model(hidden):
    tf_keras.utils.set_random_seed(1)
    model = tf_keras.Sequential(
        [
            tf_keras.layers.Dense(8, activation="relu", input_shape=(64,), name=hidden),
            tf_keras.layers.Dense(10, name="logits"),
        ]
    )
    training.compile_classifier(model)
    return model


@pytest.fixture(scope="module")
def resumed_logdir(tmp_path_factory):
    """Run "run": 3 epochs of 10 steps recorded at every step (pruned every 10 steps), then a
    model with layer "hidden2" instead of "hidden" resumed at step 20, 2 more epochs recorded
    every 4 steps."""
    root = tmp_path_factory.mktemp("resumed")
    logdir = str(root / "run")
    x, y = training.digits(100)
    first = _model("hidden")
    first.fit(
        x,
        y,
        batch_size=10,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[
            training.MagnitudePruner(0.5, 10),
            PruningMonitor(logdir, every_n_steps=1, histogram_every_n_steps=1),
        ],
    )
    second = _model("hidden2")
    second.optimizer.iterations.assign(20)
    second.fit(
        x,
        y,
        batch_size=10,
        epochs=4,
        initial_epoch=2,
        shuffle=False,
        verbose=0,
        callbacks=[
            training.MagnitudePruner(0.7, 10),
            PruningMonitor(logdir, every_n_steps=4, histogram_every_n_steps=1),
        ],
    )
    return root


def test_resumed_run_read_with_python_loader(resumed_logdir):
    run = reader.load(str(resumed_logdir)).runs["run"]
    assert {w: run.weights[w].steps.tolist() for w in run.weights} == STATS
    assert {w: run.weights[w].histograms.steps.tolist() for w in run.weights} == STATS
    assert {w: sorted(run.weights[w].masks) for w in run.weights} == MASKS
    assert run.model.steps.tolist() == FIRST + SECOND
    assert run.metrics["batch"]["loss"].steps.tolist() == BATCH
    assert run.metrics["epoch"]["loss"].steps.tolist() == EPOCH
    assert run.config["start_step"] == 21


def _fetch(route, path):
    return browser.fetch_json(route + path, timeout=30)


def test_resumed_run_routes_rust_data_server(resumed_logdir):
    """Regression: under `--load_fast=true` the first training's weight_stats, histograms,
    model_stats and masks of steps 21 to 30 were served (hidden/kernel up to 30, logits/kernel
    and model_stats at 21 to 23, the mask in force at 30 the one of step 30). The mask in force
    at 30 is now the first training's of step 20, as the Python loader reads it."""
    with browser.TensorBoardProcess(resumed_logdir, ["--load_fast=true"]) as tensorboard:
        tensorboard.wait_for_runs(["run"])
        masks_at_20 = (
            reader.load(str(resumed_logdir)).runs["run"].weights["hidden/kernel"].masks[20]
        )
        route = tensorboard.url + browser.PLUGIN_PREFIX
        deadline = time.monotonic() + 60
        while _fetch(route, "/metrics?run=run")["epoch"]["loss"]["steps"][-1:] != [40]:
            assert time.monotonic() < deadline, "TensorBoard did not load step 40"
            time.sleep(0.2)
        for weight, steps in STATS.items():
            query = "?run=run&weight=" + weight
            assert _fetch(route, "/weight_series" + query)["steps"] == steps, weight
            assert _fetch(route, "/histograms" + query)["steps"] == steps, weight
            assert _fetch(route, "/mask_steps" + query)["steps"] == MASKS[weight], weight
            # Sampled (more steps than max_points): the mask changes come from the mask records.
            sampled = _fetch(route, "/weight_series" + query + "&max_points=3")
            assert sampled["mask_change_steps"] == MASKS[weight], weight
            multi = _fetch(route, "/weight_series_multi?run=run&weight=" + weight)
            assert multi["series"][0]["steps"] == steps, weight
        mask = _fetch(route, "/mask?run=run&weight=hidden/kernel&step=30&diff=1&max_cells=1000")
        assert (mask["step"], mask["previous_step"]) == (20, 12)
        cells = np.frombuffer(base64.b64decode(mask["kept"]), np.uint8).reshape(8, 64)
        np.testing.assert_array_equal(cells == 255, masks_at_20.T)
        assert _fetch(route, "/model_series?run=run")["steps"] == FIRST + SECOND
        multi = _fetch(route, "/model_series_multi?run=run")
        assert multi["series"][0]["steps"] == FIRST + SECOND
        overview = _fetch(route, "/overview")
        assert {r["weight"]: r["step"] for r in overview["rows"]} == {
            "hidden/kernel": 20,
            "hidden2/kernel": 40,
            "logits/kernel": 40,
        }
        assert _fetch(route, "/config?run=run")["start_step"] == 21
        metrics = _fetch(route, "/metrics?run=run")
        assert (metrics["batch"]["loss"]["steps"], metrics["epoch"]["loss"]["steps"]) == (
            BATCH,
            EPOCH,
        )


def _records(weights, step):
    values = [summary.model_stats(lb.model_stats(global_sparsity=step / 100))]
    for weight in weights:
        values += [
            summary.weight_stats(weight, lb.stats(sparsity=step / 100)),
            summary.weight_histogram(weight, 0.0, 1.0, [step, 1]),
            summary.mask(weight, np.arange(8) < step % 8),
        ]
    return values


def test_reader_drops_superseded_records_of_every_kind_in_the_same_calls(tmp_path):
    """Without SessionLog.START events (TensorBoard's Python loader then keeps every record,
    as the Rust data server keeps those of series not written again), the reader drops the
    records a later training's start (its run_config with start_step) superseded. It reads
    the run configs in the calls it makes anyway (one per tensor route); the mask listing
    uses the starts read with the index."""
    from tests.test_reader import CountingProvider

    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.run_config({"start_step": 0})])
        for step in range(0, 31, 5):
            w.add(step, _records(["a", "b"], step))
    # The second training starts at 21 (later wall times) and writes "b" only, at 24 and 28.
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(21, [summary.run_config({"start_step": 21})], wall_time=lb.WALL_TIME + 100)
        for step in (24, 28):
            w.add(step, _records(["b"], step), wall_time=lb.WALL_TIME + 100 + step)
    counting = CountingProvider(lb.local_data_provider(tmp_path))
    pruning = reader.PruningReader(counting, index_max_age=3600)
    ctx = lb.request_context()
    assert list(pruning.runs(ctx, "")) == ["r"]
    counting.calls.clear()
    first, both = [0, 5, 10, 15, 20], [0, 5, 10, 15, 20, 24, 28]
    a = pruning.weight_series(ctx, "", "r", "a")
    assert (a.steps.tolist(), counting.calls) == (first, ["read_tensors"])
    b = pruning.weight_series(ctx, "", "r", "b", max_points=3)
    assert (b.sampled, b.mask_change_steps.tolist()) == (True, both)
    assert pruning.weight_series(ctx, "", "r", "b").steps.tolist() == both
    assert pruning.histograms(ctx, "", "r", "a").steps.tolist() == first
    assert pruning.histograms(ctx, "", "r", "b").steps.tolist() == both
    assert pruning.model_series(ctx, "", "r").steps.tolist() == both
    counting.calls.clear()
    assert [s for s, _ in pruning.mask_steps(ctx, "", "r", "a")] == first
    assert counting.calls.count("read_blob_sequences") == 1
    assert "read_tensors" not in counting.calls
    at = pruning.mask_at(ctx, "", "r", "a", 30)
    assert (at.step, at.previous_step) == (20, 15)
    counting.calls.clear()
    weights, models = pruning.overview(ctx, "", ["r"])
    assert [(w.weight, w.step, w.stats["sparsity"]) for w in weights] == [
        ("a", 20, 0.2),
        ("b", 28, 0.28),
    ]
    assert [(m.step, m.stats["global_sparsity"]) for m in models] == [(28, 0.28)]
    # The latest data in one call, then a's whole series (its latest datum is superseded);
    # the shapes come from the latest mask records (the run configs have none).
    assert counting.calls.count("read_tensors") == 2
    assert pruning.run_config(ctx, "", "r") == {"start_step": 21}
