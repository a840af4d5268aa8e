"""End to end: the Sensitivity view over two real scans, in Debian's headless Chromium.

A tf_keras MLP (64-12-10) trained one epoch on digits is scanned twice into one log directory:
`all` evaluates on 200 digits, `one_batch` on their first batch only (`max_batches=1`), so the
two scans' curves differ. A real `tensorboard` serves them. The test compares what the view drew
(each chart's `chartData`) with the values `reader.load` reads, exactly; the allocation's Python
snippet and JSON with the allocation the view computed (`allocationData`) and with this test's
own greedy allocation from the reader's values; and runs the snippet on a fresh model, checking
each wrapper's ConstantSparsity. With TB_PRUNE_SCREENSHOTS=<dir> the view is also saved there as
sensitivity.png (the README's screenshot).
"""

import json
import math
import os
import re
import types

import pytest

from tests import browser, training

expect, pytestmark = browser.browser_test_module()

LEVELS = (0.0, 0.3, 0.5, 0.7, 0.9)
TARGET = 0.6
TOLERANCE = 0.5


def _mlp():
    import tf_keras

    return training.mlp(tf_keras, hidden=12)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tb_prune_plugin import reader
    from tb_prune_plugin.callbacks import sensitivity_scan

    logdir = tmp_path_factory.mktemp("sensitivity_e2e")
    x, y = training.digits(600)
    model = _mlp()
    model.fit(x[:400], y[:400], epochs=1, batch_size=50, verbose=0)
    data = (x[400:], y[400:])
    sensitivity_scan(model, data, os.path.join(logdir, "all"), sparsities=LEVELS)
    sensitivity_scan(
        model, data, os.path.join(logdir, "one_batch"), sparsities=LEVELS, max_batches=1
    )
    scans = {name: run.sensitivity for name, run in reader.load(str(logdir)).runs.items()}
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(["all", "one_batch"])
        yield types.SimpleNamespace(url=tensorboard.url, scans=scans)


@pytest.fixture(scope="module")
def tab(served):
    with browser.pruning_tab(served.url) as (page, frame, errors):
        yield types.SimpleNamespace(page=page, frame=frame, errors=errors)


def _finite_points(sparsities, values):
    points = sorted((float(s), float(v)) for s, v in zip(sparsities, values) if math.isfinite(v))
    return [p[0] for p in points], [p[1] for p in points]


def _allocate(scan, metric, target, tolerance):
    """The greedy allocation the view documents, computed here in the same float order: every
    layer from its lowest level, the least added drop per weight removed first (ties: more
    weights removed, then the first layer), within the tolerance, until the target."""
    layers = []
    for weight in sorted(scan):
        curve = scan[weight]
        xs, ys = _finite_points(curve.sparsities, curve.metrics[metric])
        drops = [v - ys[0] for v in ys]  # loss: lower is better
        n = next(
            (i for i, x in enumerate(xs) if x >= 1 or (i > 0 and drops[i] > tolerance)), len(xs)
        )
        layers.append({"weight": weight, "size": curve.size, "xs": xs[:n], "drops": drops[:n]})
        layers[-1]["at"] = 0
    total = sum(layer["size"] for layer in layers)

    def removed():
        out = 0.0
        for layer in layers:
            out += layer["size"] * layer["xs"][layer["at"]]
        return out

    predicted = 0.0
    for layer in layers:
        predicted += layer["drops"][0]
    while removed() / total < target:
        best, best_cost, best_gain = None, math.inf, 0.0
        for layer in layers:
            at = layer["at"]
            if at + 1 >= len(layer["xs"]):
                continue
            added = layer["drops"][at + 1] - layer["drops"][at]
            if predicted + added > tolerance:
                continue
            gain = layer["size"] * (layer["xs"][at + 1] - layer["xs"][at])
            cost = added / gain
            if cost < best_cost or (cost == best_cost and gain > best_gain):
                best, best_cost, best_gain = layer, cost, gain
        if best is None:
            break
        predicted += best["drops"][best["at"] + 1] - best["drops"][best["at"]]
        best["at"] += 1
    return {layer["weight"]: layer["xs"][layer["at"]] for layer in layers}


def test_sensitivity_curves_equal_the_recorded_values(served, tab):
    browser.open_view(tab.frame, expect, "sensitivity")
    charts = tab.frame.locator("figure[data-testid=chart-sensitivity]")
    expect(charts).to_have_count(2)
    for weight in ("hidden/kernel", "logits/kernel"):
        chart = tab.frame.locator(
            "figure[data-testid=chart-sensitivity][data-weight='%s']" % weight
        )
        expect(chart).to_have_attribute("data-series-count", "2")
        drawn = chart.evaluate("e => e.chartData")
        assert drawn["labels"] == ["all", "one_batch"]
        for run, series in zip(drawn["labels"], drawn["series"]):
            curve = served.scans[run][weight]
            xs, ys = _finite_points(curve.sparsities, curve.metrics["loss"])
            assert (series["xs"], series["ys"]) == (xs, ys), (run, weight)
    # The two scans differ (one batch against all of them), so overlaying them shows something.
    assert served.scans["all"]["hidden/kernel"].metrics["loss"].tolist() != (
        served.scans["one_batch"]["hidden/kernel"].metrics["loss"].tolist()
    )
    assert tab.errors.messages == []


def test_sensitivity_snippet_sparsities_equal_the_allocation(served, tab):
    browser.open_view(tab.frame, expect, "sensitivity")
    tab.frame.locator("[data-testid=allocation-run]").select_option("all")
    tab.frame.locator("[data-testid=allocation-target]").fill(str(TARGET))
    tab.frame.locator("[data-testid=allocation-tolerance]").fill(str(TOLERANCE))
    result = tab.frame.locator("[data-testid=sensitivity-allocation]")
    snippet = tab.frame.locator("[data-testid=allocation-snippet]")
    expect(snippet).to_contain_text("(target %s)" % TARGET)
    expect(snippet).to_contain_text("(tolerated %s)" % TOLERANCE)
    allocation = result.evaluate("e => e.allocationData")
    expected = _allocate(served.scans["all"], "loss", TARGET, TOLERANCE)
    assert allocation["sparsities"] == expected
    assert allocation["reached"] == (
        sum(served.scans["all"][w].size * s for w, s in expected.items())
        / sum(served.scans["all"][w].size for w in expected)
        >= TARGET
    )

    text = snippet.text_content()
    listed = dict(
        (name, float(value))
        for name, value in re.findall(r'^    "([^"]+)": ([0-9.e-]+),$', text, flags=re.M)
    )
    assert listed == {w.split("/")[0]: s for w, s in allocation["sparsities"].items()}
    as_json = json.loads(tab.frame.locator("[data-testid=allocation-json]").text_content())
    assert as_json["sparsities"] == allocation["sparsities"]
    assert (as_json["metric"], as_json["scan"]) == ("loss", "all")

    # Ready to paste: the snippet wraps each layer at its allocated sparsity.
    fresh = _mlp()
    namespace = {"model": fresh}
    exec(compile(text, "<snippet>", "exec"), namespace)
    pruned = namespace["pruned"]
    targets = {
        layer.layer.name: float(layer.pruning_schedule.target_sparsity)
        for layer in pruned.layers
        if hasattr(layer, "pruning_schedule")
    }
    assert targets == listed
    assert tab.errors.messages == []
    if os.environ.get("TB_PRUNE_SCREENSHOTS"):
        os.makedirs(os.environ["TB_PRUNE_SCREENSHOTS"], exist_ok=True)
        tab.page.set_viewport_size({"width": 1280, "height": 1900})  # the curves too
        tab.page.screenshot(
            path=os.path.join(os.environ["TB_PRUNE_SCREENSHOTS"], "sensitivity.png")
        )


def test_runs_of_scans_alone_are_left_to_the_sensitivity_view(served, tab):
    """Regression: a run written by sensitivity_scan alone (no weights, no metrics) was asked
    for its /config by the Configuration view (a 404 in the console) and counted as a run
    without the metric by Accuracy vs sparsity. Other views now leave such runs out."""
    for view in ("configuration", "accuracy", "schedules"):
        browser.open_view(tab.frame, expect, view)
        expect(tab.frame.locator("[data-testid=state-notice]").first).to_contain_text(
            "No run is selected"
        )
    assert tab.errors.messages == []
