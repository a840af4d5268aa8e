"""Alerts (issue 12, item 5), each from a real training made to cause it, read back through
TensorBoard's data provider, the /alerts route and `tb-prune summary`; the demo's healthy runs
raise none.

The runs, each a tiny tf_keras model on scikit-learn's digits (batches of 50), recorded every
step by PruningMonitor (stripped size off: not what is tested here):
- `collapse`: a user's pruning zeroes units 3 and 7 of `hidden` from step 2 and the whole
  `mid` kernel from step 4 (6 steps);
- `behind`: a magnitude pruner keeps the kernel at 20% while the monitor's target is 50% from
  step 2 (6 steps);
- `regrowth`: TF-MOT with a schedule that prunes to 80% at step 1, then to 20% at step 3;
- `nonfinite`: one weight set to NaN at step 4 (the last);
- `drop`: three epochs of 8 steps with validation data, then at step 25 (the first of the
  fourth) the kernel is cut to its largest |w| per unit, and kept so.

The same runs served by a real Rust data server (TensorBoard's `--load_fast` loader) give the
same alerts and, read as columns (tests/test_alerts_cold.py), the per-record path's series.
"""

import dataclasses
import os

import numpy as np
import pytest

from tb_prune_plugin import metadata, reader
from tb_prune_plugin.cli import main
from tb_prune_plugin.reader import alerts
from tests import alert_runs, route_bodies
from tests import logdir_builder as lb
from tests.test_alerts_cold import CTX, _both_paths, _bytes

PREFIX = "/data/plugin/pruning"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every run above in one log directory; returns (logdir, the drop run's Keras history)."""
    logdir = str(tmp_path_factory.mktemp("alerts"))
    alert_runs.train_collapse(logdir)
    alert_runs.train_behind(logdir)
    alert_runs.train_regrowth(logdir)
    alert_runs.train_nonfinite(logdir)
    history = alert_runs.train_drop(logdir)
    return logdir, history


def _read_alerts(logdir, runs=None):
    provider = lb.local_data_provider(logdir)
    return reader.PruningReader(provider).alerts(lb.request_context(), "", runs)


def _expected(run, kind, step, message, **rest):
    return alerts.Alert(
        run=run,
        kind=kind,
        weight=rest.get("weight"),
        metric=rest.get("metric"),
        step=step,
        view=alerts.VIEWS[kind],
        count=rest.get("count"),
        total=rest.get("total"),
        value=rest.get("value"),
        reference=rest.get("reference"),
        message=message,
    )


def _expected_alerts(logdir, history):
    """The alerts each run was made to cause, numbers from the reader's records and Keras."""
    exp = reader.load(logdir)
    behind = exp.runs["behind"].weights["fc/kernel"]
    at2 = float(behind.fields["sparsity"][list(behind.steps).index(2)])
    regrown = exp.runs["regrowth"].weights["fc/kernel"]
    regrown_at3 = int(regrown.fields["regrown"][list(regrown.steps).index(3)])
    found = [
        _expected(
            "behind",
            "behind_target",
            2,
            "fc/kernel: sparsity %.1f%% against a target of 50.0%% at step 2, 5 records in a "
            "row more than 5 points behind." % (100 * at2),
            weight="fc/kernel",
            count=5,
            value=at2,
            reference=0.5,
        ),
        _expected(
            "collapse",
            "unit_collapse",
            2,
            "hidden/kernel: 2 of 16 output units entirely pruned at step 2 (units collapsed; the "
            "first at step 2).",
            weight="hidden/kernel",
            count=2,
            total=16,
            value=0.125,
        ),
        _expected(
            "collapse",
            "weight_collapse",
            4,
            "mid/kernel: all 192 weights pruned from step 4 (the weight collapsed).",
            weight="mid/kernel",
            count=192,
            total=192,
        ),
    ]
    for name in ("accuracy", "loss", "val_accuracy", "val_loss"):
        before, after = history[name][2], history[name][3]
        found.append(
            _expected(
                "drop",
                "metric_drop",
                32,
                "%s went from %.4g (step 24) to %.4g (step 32) after the masks changed at step 25."
                % (name, before, after),
                metric="epoch/" + name,
                value=after,
                reference=before,
            )
        )
    found += [
        _expected(
            "nonfinite",
            "nonfinite",
            4,
            "fc/kernel: 1 non-finite (NaN or infinite) weights at step 4.",
            weight="fc/kernel",
            count=1,
            total=640,
        ),
        _expected(
            "regrowth",
            "regrowth",
            3,
            "fc/kernel: %d weights regrown in a TF-MOT mask (pruned before, kept again) at "
            "step 3." % regrown_at3,
            weight="fc/kernel",
            count=regrown_at3,
            total=640,
        ),
    ]
    return found


def test_each_run_raises_exactly_the_alert_it_was_made_to_cause(trained):
    logdir, history = trained
    found = _read_alerts(logdir)
    expected = _expected_alerts(logdir, history)
    assert [(a.run, a.kind) for a in found] == [(a.run, a.kind) for a in expected]
    for got, want in zip(found, expected):
        assert _same(got, want), (got, want)


def _same(got, want):
    """Equal, the floats recorded as float32 metrics compared to float32 precision."""
    g, w = dataclasses.asdict(got), dataclasses.asdict(want)
    for key in ("value", "reference"):
        if w[key] is not None and g[key] is not None:
            if not np.isclose(g[key], w[key], rtol=1e-6, atol=0):
                return False
            g[key] = w[key]
    return g == w


def test_alerts_route_sends_the_readers_alerts(trained):
    logdir, _ = trained
    client, _ = route_bodies.tensorboard_client(logdir)
    body = client.get(PREFIX + "/alerts").get_json()
    assert body == {"alerts": [dataclasses.asdict(a) for a in _read_alerts(logdir)]}
    assert len(body["alerts"]) == 9
    chosen = client.get(PREFIX + "/alerts?run=regrowth&run=collapse").get_json()
    assert [(a["run"], a["kind"]) for a in chosen["alerts"]] == [
        ("collapse", "unit_collapse"),
        ("collapse", "weight_collapse"),
        ("regrowth", "regrowth"),
    ]
    missing = client.get(PREFIX + "/alerts?run=nope")
    assert missing.status_code == 404
    assert missing.get_json() == {"error": "Not found: no pruning data for run 'nope'"}


def test_summary_table_lists_the_alerts(trained, capsys):
    logdir, _ = trained
    assert main(["summary", logdir, "--run", "^(collapse|regrowth)$"]) == 0
    out = capsys.readouterr().out
    found = _read_alerts(logdir, ["collapse", "regrowth"])
    lines = out.splitlines()
    start = lines.index("Alerts (3):")
    assert all(len(line) <= 100 for line in lines)
    entries = " ".join(line.strip() for line in lines[start + 1 :])
    assert entries == " ".join("%s, step %d: %s" % (a.run, a.step, a.message) for a in found)
    starts = [line for line in lines[start + 1 :] if not line.startswith("    ")]
    assert [line.split(",")[0] for line in starts] == ["  collapse", "  collapse", "  regrowth"]


def _series(**fields):
    steps = np.arange(len(next(iter(fields.values()))), dtype=np.int64)
    return reader.Series(steps=steps, fields={k: np.array(v, float) for k, v in fields.items()})


def test_behind_target_needs_the_records_in_a_row():
    """Two records behind, one on target, two behind: no alert; a third in a row raises it."""
    target = [0.5] * 6
    two_and_two = _series(sparsity=[0.4, 0.4, 0.5, 0.4, 0.4, 0.5], target_sparsity=target)
    assert alerts.weight_alerts("r", "w", two_and_two) == []
    three = _series(sparsity=[0.5, 0.4, 0.44, 0.3, 0.5, 0.5], target_sparsity=target)
    (alert,) = alerts.weight_alerts("r", "w", three)
    assert (alert.kind, alert.step, alert.count, alert.value) == ("behind_target", 1, 3, 0.4)
    # Exactly 5 points behind is not more than 5 points behind.
    edge = _series(sparsity=[0.45] * 6, target_sparsity=target)
    assert alerts.weight_alerts("r", "w", edge) == []


def test_tfmot_target_is_the_one_of_the_latest_pruning_step():
    """Between pruning steps TF-MOT's mask keeps the last pruning step's target while the
    schedule's curve runs ahead: that is no alert (the demo's PolynomialDecay run lags its
    curve by up to 26 points there)."""
    series = _series(
        should_prune=[0, 1, 0, 0, 0, 1],
        target_sparsity=[0.0, 0.2, 0.4, 0.6, 0.7, 0.8],
        sparsity=[0.0, 0.2, 0.2, 0.2, 0.2, 0.8],
    )
    assert alerts.effective_targets(series).tolist()[1:] == [0.2, 0.2, 0.2, 0.2, 0.8]
    assert alerts.weight_alerts("r", "w", series, method="tfmot") == []


def test_lower_is_better_parts_mirror_the_frontend():
    """The Python rule is the frontend's: the same list of name parts as metrics.ts."""
    path = os.path.join(os.path.dirname(__file__), "..", "frontend", "src", "transforms")
    with open(os.path.join(path, "metrics.ts")) as f:
        text = f.read()
    listed = text.split("LOWER_IS_BETTER_PARTS = [", 1)[1].split("]", 1)[0]
    parts = tuple(p.strip().strip('"') for p in listed.split(",") if p.strip())
    assert parts == alerts.LOWER_IS_BETTER_PARTS
    assert [alerts.lower_is_better(n) for n in ("val_loss", "MAPE", "val_accuracy", "auc")] == [
        True,
        True,
        False,
        False,
    ]


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    """The demo's runs (`tb-prune-demo`'s trainings), about half a minute."""
    from tb_prune_plugin.callbacks import demo

    logdir = str(tmp_path_factory.mktemp("alerts_demo"))
    demo.train_demo_runs(logdir)
    return logdir


HEALTHY_DEMO_RUNS = ("dense_baseline", "tfmot_2of4", "tfmot_cnn_60", "tfmot_const_70")


def test_demo_healthy_runs_raise_none(demo_logdir):
    """The demo's healthy runs raise no alert. Its two aggressive runs (90% by a steep
    PolynomialDecay; 80% by a user's magnitude pruning) do lose most of their accuracy after
    the masks change, and the 90% run kills whole units: those alerts are real, and their
    unit counts are the columns the recorded masks prune entirely."""
    found = _read_alerts(demo_logdir)
    assert [a for a in found if a.run in HEALTHY_DEMO_RUNS] == []
    exp = reader.load(demo_logdir)
    for alert in found:
        assert alert.run in ("tfmot_poly_90", "manual_keras3_80"), alert
        assert alert.kind in ("unit_collapse", "metric_drop"), alert
        if alert.kind == "unit_collapse":
            masks = exp.runs[alert.run].weights[alert.weight].masks
            in_force = masks[max(s for s in masks if s <= alert.step)]
            assert alert.count == int((~in_force.any(axis=0)).sum())
            assert alert.total == in_force.shape[-1]


def test_alerts_read_the_epoch_metrics_alone(trained):
    """`metrics(scopes=("epoch",))`, as the alerts read them: the epoch series whole, no
    batch series (a long run records a batch metric at every step)."""
    logdir, history = trained
    r = reader.PruningReader(lb.local_data_provider(logdir))
    ctx = lb.request_context()
    every = r.metrics(ctx, "", "drop")
    epoch_only = r.metrics(ctx, "", "drop", scopes=("epoch",))
    assert sorted(every["batch"]) == ["accuracy", "loss"]
    assert epoch_only["batch"] == {}
    assert sorted(epoch_only["epoch"]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for name, series in epoch_only["epoch"].items():
        assert series.steps.tolist() == [8, 16, 24, 32]
        np.testing.assert_array_equal(series.values, every["epoch"][name].values)
        np.testing.assert_allclose(series.values, history[name], rtol=1e-7)


def test_kept_alerts_follow_a_new_record(tmp_path):
    """The alerts are kept between requests (the Overview asks at every refresh), and a new
    record, once the run index is renewed (as /runs does), is read: here a weight turning
    non-finite at step 2 after two healthy records."""
    import time

    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer

    from tb_prune_plugin import summary

    def record(step, nonfinite):
        fields = lb.stats(size=10, nonzeros=10, sparsity=0.0, nonfinite=nonfinite)
        return [summary.weight_stats("d/kernel", fields)]

    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, record(0, 0))
        w.add(1, record(1, 0))
    multiplexer = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={reader.PLUGIN_NAME: 0}
    )
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    ctx = lb.request_context()
    pruning_reader = reader.PruningReader(
        data_provider.MultiplexerDataProvider(multiplexer, str(tmp_path))
    )
    assert pruning_reader.alerts(ctx, "") == []
    assert pruning_reader.alerts(ctx, "") == []
    time.sleep(1.1)  # a later second in the new event file's name: it is read after the first
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(2, record(2, 1))
    multiplexer.Reload()
    pruning_reader.runs(ctx, "")
    found = pruning_reader.alerts(ctx, "")
    assert [(a.run, a.kind, a.step, a.weight) for a in found] == [("r", "nonfinite", 2, "d/kernel")]


def test_rust_data_server_alerts_are_the_expected_ones(trained):
    """The alerts read as columns from the Rust data server are those of the Python loader
    (the lists path), and exactly the ones each run was made to cause."""
    logdir, history = trained
    rust = reader.PruningReader(lb.rust_data_provider(logdir)).alerts(CTX, "")
    python = reader.PruningReader(lb.local_data_provider(logdir)).alerts(CTX, "")
    assert rust == python
    expected = _expected_alerts(logdir, history)
    assert [(a.run, a.kind, a.step) for a in rust] == [(a.run, a.kind, a.step) for a in expected]
    assert all(_same(got, want) for got, want in zip(rust, expected))


def test_rust_data_server_series_of_trained_runs_same_either_way(trained):
    logdir, _ = trained
    pruning = reader.PruningReader(lb.rust_data_provider(logdir))
    index = pruning.runs(CTX, "")
    compared = []
    for run, contents in index.items():
        for weight, tags in contents.weights.items():
            tag = tags[metadata.KIND_WEIGHT_STATS]
            as_columns, per_record = _both_paths(pruning, index, run, tag)
            assert _bytes(as_columns) == _bytes(per_record), (run, weight)
            assert len(as_columns.steps) > 0
            compared.append((run, weight))
    assert sorted(compared) == [
        ("behind", "fc/kernel"),
        ("collapse", "hidden/kernel"),
        ("collapse", "logits/kernel"),
        ("collapse", "mid/kernel"),
        ("drop", "fc/kernel"),
        ("nonfinite", "fc/kernel"),
        ("regrowth", "fc/kernel"),
    ]


def test_cold_alerts_read_stats_and_epoch_metrics_in_one_request(trained):
    """After the run index (read with the run configs, as /runs does), the first alerts send
    one ReadTensors request to the Rust data server: every weight_stats series and epoch
    metric of every run, with the run configs (before, each run with epoch metrics cost one
    more request). No batch metric is read."""
    logdir, _ = trained
    rust = lb.rust_data_provider(logdir)
    pruning = reader.PruningReader(rust)
    index = pruning.runs(CTX, "")
    sent, read_tensors = [], rust._stub.ReadTensors

    def counted(request, *args, **kwargs):
        sent.append(sorted(request.run_tag_filter.tags.names))
        return read_tensors(request, *args, **kwargs)

    rust._stub.ReadTensors = counted
    found = pruning.alerts(CTX, "")
    assert len(found) == 9
    epoch = ["accuracy", "loss", "val_accuracy", "val_loss"]
    stats = sorted(
        {t[metadata.KIND_WEIGHT_STATS] for c in index.values() for t in c.weights.values()}
    )
    assert sent == [
        sorted(stats + ["pruning/metrics/epoch/" + m for m in epoch] + ["pruning/run_config"])
    ]
    sent.clear()
    assert pruning.alerts(CTX, "") == found and sent == []  # kept: no read
