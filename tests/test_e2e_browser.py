"""End to end: runs written by the real callback, a real `tensorboard`, headless Chromium.

Two runs share one log directory: `poly` (TF-MOT PolynomialDecay, the session's
`tfmot_poly_run`) and `manual` (Keras 3, masks recomputed by the user's own callback
and re-applied after every step). Every view of the Pruning tab must show what
`tb_prune_plugin.reader.load` reads from that directory, follow the run selection,
and leave the browser console free of errors. Each test saves a screenshot of its
view under the pytest tmp path, and into $TB_PRUNE_SCREENSHOTS when that is set.
"""

import decimal
import math
import os
import shutil
import time
import types
import urllib.parse

import numpy as np
import pytest

from benchmarks import logdir_gen
from benchmarks.fixtures import browser
from tb_prune_plugin import reader
from tests import training

sync_api = pytest.importorskip("playwright.sync_api")
# This module's own `expect` (the default one is shared by the whole process): its assertions
# retry for up to 15 s, as the machine may be busy with other tests.
expect = sync_api.Expect()
expect.set_options(timeout=15_000)

pytestmark = pytest.mark.skipif(
    not os.path.exists(browser.CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)

MANUAL_TARGET = 0.6
# Colours of the mask heatmap (frontend/src/transforms/mask_grid.ts); the test reads them
# from the canvas's data attributes and only checks here that they are four distinct ones.
MASK_COLOR_ATTRS = ("kept", "pruned", "newly-pruned", "regrown")


def _keras3_mlp():
    """A compiled Keras 3 MLP 64-24-10 (layers "hidden" and "logits")."""
    import keras

    return training.mlp(keras)


def _train_manual_keras3_run(logdir):
    """Keras 3 MLP 64-24-10 on digits, its kernels pruned by hand: 16 steps, a few seconds.

    Every 4 steps the user's pruner recomputes a magnitude mask (target ramping up to
    MANUAL_TARGET) and, as SET-style sparse training does, regrows a few weights it had
    pruned (re-initialised small); after every step it zeroes the pruned weights again.
    """
    import keras

    from tb_prune_plugin.callbacks import PruningMonitor

    class MagnitudePruner(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.step, self.masks, self.rng = 0, {}, np.random.default_rng(0)

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            for kernel in [layer.kernel for layer in self.model.layers]:
                w = np.array(kernel.numpy())
                previous = self.masks.get(kernel.path)
                if self.step % 4 == 0:
                    level = MANUAL_TARGET * min(1.0, self.step / 12)
                    keep = np.abs(w) > np.quantile(np.abs(w), level)
                    if previous is not None:
                        regrow = self.rng.choice(np.flatnonzero(~previous & ~keep), 3, False)
                        keep.flat[regrow] = True
                        w.flat[regrow] = 0.01
                    self.masks[kernel.path] = keep
                if kernel.path in self.masks:
                    kernel.assign(np.where(self.masks[kernel.path], w, 0.0).astype(w.dtype))

    model = _keras3_mlp()
    x, y = training.digits(1000)
    model.fit(
        x[:800],
        y[:800],
        batch_size=100,
        epochs=2,
        validation_data=(x[800:], y[800:]),
        verbose=0,
        callbacks=[
            MagnitudePruner(),
            PruningMonitor(os.path.join(logdir, "manual"), target_sparsity=MANUAL_TARGET),
        ],
    )


@pytest.fixture(scope="module")
def served(tfmot_poly_run, tmp_path_factory):
    """The two runs in one log directory, what the reader finds there, and TensorBoard on it.

    The poly run is copied rather than joined in place: the session fixture's directory
    is shared with other tests that read it whole.
    """
    logdir = tmp_path_factory.mktemp("e2e_logdir")
    shutil.copytree(
        os.path.join(tfmot_poly_run.logdir, tfmot_poly_run.run), logdir / "poly", symlinks=True
    )
    _train_manual_keras3_run(str(logdir))
    experiment = reader.load(str(logdir))
    assert sorted(experiment.runs) == ["manual", "poly"]
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(["manual", "poly"])
        yield types.SimpleNamespace(url=tensorboard.url, experiment=experiment)


@pytest.fixture(scope="module")
def screenshot_dirs(tmp_path_factory):
    dirs = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("TB_PRUNE_SCREENSHOTS"):
        dirs.append(os.environ["TB_PRUNE_SCREENSHOTS"])
        os.makedirs(dirs[-1], exist_ok=True)
    return [str(d) for d in dirs]


@pytest.fixture(scope="module")
def tab(served, screenshot_dirs):
    """TensorBoard's page at #pruning in headless Chromium, with its console watched."""
    with browser.pruning_tab(served.url) as (page, frame, errors):
        yield types.SimpleNamespace(
            page=page, frame=frame, errors=errors, screenshot_dirs=screenshot_dirs
        )


# Helpers -------------------------------------------------------------------------------------


def _open(tab, view, **state):
    """Shows `view` with the given URL state (everything else at its default)."""
    browser.open_view(tab.frame, expect, view, **state)


def _set_run_checked(tab, run, checked):
    box = tab.frame.locator("[data-testid=run-checkbox][data-run='%s']" % run)
    box.set_checked(checked)
    expect(box).to_be_checked(checked=checked)


def _screenshot(tab, name):
    for directory in tab.screenshot_dirs:
        tab.page.screenshot(path=os.path.join(directory, name + ".png"))


def _assert_no_console_errors(tab):
    # Nothing is ignored: TensorBoard's own page logs no console errors in this setup either,
    # so every message would be a regression worth looking at.
    assert tab.errors.messages == []


def _js_percent(value, decimals=2):
    """`formatPercent` of frontend/src/transforms/format.ts: JavaScript's toFixed rounds the
    exact binary value half up (Python's % formatting would round half to even)."""
    scaled = decimal.Decimal(value * 100)
    return str(scaled.quantize(decimal.Decimal(1).scaleb(-decimals), decimal.ROUND_HALF_UP)) + "%"


_canvas_rgba = browser.canvas_rgba


def _attr_rgb(canvas, name):
    return [int(v) for v in canvas.get_attribute("data-%s-rgb" % name).split(",")]


def _expected_mask_image(canvas, mask, previous):
    """The heatmap of a Dense kernel's mask ([in, out], drawn as [out, in]) in the canvas's
    colours, one k x k block per weight; with `previous`, newly pruned and regrown cells in
    their own colours. Returns (image, newly pruned count, regrown count)."""
    colors = {name: _attr_rgb(canvas, name) for name in MASK_COLOR_ATTRS}
    assert len({tuple(c) for c in colors.values()}) == 4, colors
    cur = mask.T
    image = np.where(cur[..., None], colors["kept"], colors["pruned"])
    newly = regrown = np.zeros_like(cur)
    if previous is not None:
        prev = previous.T
        newly, regrown = prev & ~cur, ~prev & cur
        image = np.where(newly[..., None], colors["newly-pruned"], image)
        image = np.where(regrown[..., None], colors["regrown"], image)
    k = int(canvas.get_attribute("data-cell-size"))
    image = np.repeat(np.repeat(image, k, axis=0), k, axis=1)
    alpha = np.full(image.shape[:2] + (1,), 255)
    return (
        np.concatenate([image, alpha], axis=2).astype(np.uint8),
        int(newly.sum()),
        int(regrown.sum()),
    )


def _wait_for_mask(frame, run, weight, step):
    canvas = frame.locator("#mask-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    expect(canvas).to_have_attribute("data-step", str(step))
    expect(canvas).to_have_attribute("data-run", run)
    expect(canvas).to_have_attribute("data-weight", weight)
    expect(canvas).to_have_attribute("data-state", "ready")
    return canvas


# The views -----------------------------------------------------------------------------------


def test_overview_rows_are_the_recorded_weights(served, tab):
    exp = served.experiment
    expected = {
        (run.name, weight.name)
        for run in exp.runs.values()
        for weight in run.weights.values()
        if len(weight.steps)
    }
    assert {w for _, w in expected} == {"hidden/kernel", "logits/kernel"}
    _open(tab, "overview")
    rows = tab.frame.locator("[data-testid=overview-row]")
    expect(rows).to_have_count(len(expected))
    shown = {
        (row.get_attribute("data-run"), row.get_attribute("data-weight")) for row in rows.all()
    }
    assert shown == expected

    hidden = exp.runs["poly"].weights["hidden/kernel"]
    row = tab.frame.locator(
        "[data-testid=overview-row][data-run=poly][data-weight='hidden/kernel']"
    )
    expect(row.locator("td[data-col=sparsity]")).to_have_text(
        _js_percent(hidden.fields["sparsity"][-1])
    )
    expect(row.locator("td[data-col=target_sparsity]")).to_have_text(
        _js_percent(hidden.fields["target_sparsity"][-1])
    )
    expect(row.locator("td[data-col=shape]")).to_have_text("64x24")
    expect(row.locator("td[data-col=step]")).to_have_text(str(int(hidden.steps[-1])))
    run_rows = tab.frame.locator("[data-testid=overview-run-row]")
    expect(run_rows).to_have_count(2)
    expect(
        tab.frame.locator(
            "[data-testid=overview-run-row][data-run=poly] [data-testid=global-sparsity]"
        )
    ).to_have_text(_js_percent(exp.runs["poly"].model.fields["global_sparsity"][-1]))
    _screenshot(tab, "overview")

    _set_run_checked(tab, "manual", False)
    expect(rows).to_have_count(len([r for r in expected if r[0] == "poly"]))
    assert {row.get_attribute("data-run") for row in rows.all()} == {"poly"}
    expect(run_rows).to_have_count(1)
    _set_run_checked(tab, "manual", True)
    expect(rows).to_have_count(len(expected))

    # A row's "masks" button opens that weight's masks.
    row.locator("button", has_text="masks").click()
    expect(tab.frame.locator("main[data-testid=view-masks]")).to_be_visible()
    _wait_for_mask(tab.frame, "poly", "hidden/kernel", max(hidden.masks))  # the last mask
    _assert_no_console_errors(tab)


def _schedule_series(exp, runs, weight):
    """Lines the Schedules view draws for `weight`: per run, sparsity, the target when one
    was recorded, and the mask-change markers."""
    count = 0
    for name in runs:
        w = exp.runs[name].weights.get(weight)
        if w is not None:
            count += 2 + int(not np.isnan(w.fields["target_sparsity"]).all())
    return count


def test_schedules_draw_a_series_per_run(served, tab):
    exp = served.experiment
    _open(tab, "schedules")
    frame = tab.frame
    for weight in ("hidden/kernel", "logits/kernel"):
        chart = frame.locator("figure[data-testid=chart-schedule][data-weight='%s']" % weight)
        # Both runs record a target: sparsity, target and markers for each of the two.
        assert _schedule_series(exp, ["manual", "poly"], weight) == 6
        expect(chart).to_have_attribute("data-series-count", "6")
        expect(chart.locator("canvas")).to_have_count(1)
    expect(frame.locator("figure[data-testid=chart-global-sparsity]")).to_have_attribute(
        "data-series-count", "2"
    )
    _screenshot(tab, "schedules")

    _set_run_checked(tab, "poly", False)
    chart = frame.locator("figure[data-testid=chart-schedule][data-weight='hidden/kernel']")
    expect(chart).to_have_attribute(
        "data-series-count", str(_schedule_series(exp, ["manual"], "hidden/kernel"))
    )
    expect(frame.locator("figure[data-testid=chart-global-sparsity]")).to_have_attribute(
        "data-series-count", "1"
    )
    _assert_no_console_errors(tab)


def _requests(frame, route):
    """The query of each request the frame made to `route` since its resource timings were
    cleared, in order, as lists of (name, value) pairs."""
    urls = frame.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
    out = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.path.endswith("/" + route):
            out.append(urllib.parse.parse_qsl(parts.query))
    return out


def test_schedules_read_each_chart_with_one_request_of_its_fields(served, tab):
    """Regression: the Schedules view read /weight_series once per run and weight (480
    requests, every field, for 20 runs of 24 charts). Now one /weight_series_multi per chart
    with the two fields it draws, one /model_series_multi for the global chart, and runs
    already read are not asked for again."""
    _open(tab, "schedules")
    frame = tab.frame
    charts = frame.locator("figure[data-testid=chart-schedule][data-series-count]")
    expect(charts).to_have_count(2)  # nothing of this rendering is still in flight
    frame.evaluate("() => performance.clearResourceTimings()")
    frame.locator("[data-testid=refresh-button]").click()  # empties the cache
    frame.wait_for_function(
        """() => {
            const names = performance.getEntriesByType("resource").map((e) => e.name);
            return names.filter((n) => n.includes("/weight_series_multi?")).length >= 2 &&
                names.some((n) => n.includes("/model_series_multi?"));
        }"""
    )
    expect(charts).to_have_count(2)
    expect(frame.locator("figure[data-testid=chart-global-sparsity]")).to_have_attribute(
        "data-series-count", "2"
    )
    fields = ("fields", "sparsity,target_sparsity")  # mask changes come as mask_change_steps
    assert sorted(_requests(frame, "weight_series_multi")) == [
        [("weight", w), ("run", "manual"), ("run", "poly"), fields]
        for w in ("hidden/kernel", "logits/kernel")
    ]
    assert _requests(frame, "model_series_multi") == [
        [("run", "manual"), ("run", "poly"), ("fields", "global_sparsity")]
    ]
    assert _requests(frame, "weight_series") == []
    assert _requests(frame, "model_series") == []

    # Fewer runs: drawn again from what was read, without a request.
    _set_run_checked(tab, "poly", False)
    chart = frame.locator("figure[data-testid=chart-schedule][data-weight='hidden/kernel']")
    expect(chart).to_have_attribute("data-series-count", "3")
    expect(frame.locator("figure[data-testid=chart-global-sparsity]")).to_have_attribute(
        "data-series-count", "1"
    )
    assert len(_requests(frame, "weight_series_multi")) == 2
    assert len(_requests(frame, "model_series_multi")) == 1
    _set_run_checked(tab, "poly", True)
    expect(chart).to_have_attribute("data-series-count", "6")
    assert len(_requests(frame, "weight_series_multi")) == 2
    _assert_no_console_errors(tab)


def test_masks_canvas_is_the_recorded_mask(served, tab):
    weight = served.experiment.runs["poly"].weights["hidden/kernel"]
    steps = sorted(weight.masks)
    # A step whose mask pruned weights since the previous recorded mask, and a later one.
    first = next(
        i
        for i in range(1, len(steps))
        if (weight.masks[steps[i - 1]] & ~weight.masks[steps[i]]).any()
    )
    later = len(steps) - 1
    assert later > first, steps

    # Start elsewhere, so that choosing the run and the weight both change the view.
    _open(tab, "masks", focusRun="manual", focusWeight="logits/kernel")
    frame = tab.frame
    frame.locator("#focus-run").select_option("poly")
    frame.locator("#focus-weight").select_option("hidden/kernel")
    canvas = _wait_for_mask(frame, "poly", "hidden/kernel", steps[-1])
    slider = frame.locator("#mask-step-slider")
    # The slider runs over steps (recorded masks at their steps), not indices.
    expect(slider).to_have_attribute("min", str(steps[0]))
    expect(slider).to_have_attribute("max", str(steps[-1]))
    expect(slider).to_have_value(str(steps[-1]))

    slider.fill(str(steps[first]))
    canvas = _wait_for_mask(frame, "poly", "hidden/kernel", steps[first])
    expect(canvas).to_have_attribute("data-diff", "true")
    expect(canvas).to_have_attribute("data-exact", "true")
    expect(canvas).to_have_attribute("data-rows", "24")  # output units
    expect(canvas).to_have_attribute("data-cols", "64")  # inputs
    mask, previous = weight.masks[steps[first]], weight.masks[steps[first - 1]]
    image, newly, regrown = _expected_mask_image(canvas, mask, previous)
    np.testing.assert_array_equal(_canvas_rgba(frame, "#mask-canvas"), image)
    # The diff's counts are the recorded churn at that step.
    at = list(weight.steps).index(steps[first])
    assert (newly, regrown) == (weight.fields["newly_pruned"][at], weight.fields["regrown"][at])
    assert newly > 0
    expect(frame.locator("[data-testid=mask-info]")).to_contain_text(
        "{:,} of {:,} weights kept".format(int(mask.sum()), mask.size)
    )
    expect(frame.locator("[data-testid=mask-legend] [data-legend=newly-pruned]")).to_be_visible()
    _screenshot(tab, "masks")

    slider.fill(str(steps[later]))
    canvas = _wait_for_mask(frame, "poly", "hidden/kernel", steps[later])
    image, _, _ = _expected_mask_image(
        canvas, weight.masks[steps[later]], weight.masks[steps[later - 1]]
    )
    np.testing.assert_array_equal(_canvas_rgba(frame, "#mask-canvas"), image)

    # Without the diff, kept and pruned only.
    frame.locator("#mask-diff").set_checked(False)
    expect(canvas).to_have_attribute("data-diff", "false")
    expect(canvas).to_have_attribute("data-state", "ready")
    image, _, _ = _expected_mask_image(canvas, weight.masks[steps[later]], None)
    np.testing.assert_array_equal(_canvas_rgba(frame, "#mask-canvas"), image)
    _assert_no_console_errors(tab)


def test_masks_canvas_shows_regrown_weights_of_manual_pruning(served, tab):
    weight = served.experiment.runs["manual"].weights["logits/kernel"]
    steps = sorted(weight.masks)
    index = next(
        i
        for i in range(1, len(steps))
        if (~weight.masks[steps[i - 1]] & weight.masks[steps[i]]).any()
    )
    _open(tab, "masks", focusRun="manual", focusWeight="logits/kernel", step=steps[index])
    canvas = _wait_for_mask(tab.frame, "manual", "logits/kernel", steps[index])
    expect(canvas).to_have_attribute("data-diff", "true")
    image, newly, regrown = _expected_mask_image(
        canvas, weight.masks[steps[index]], weight.masks[steps[index - 1]]
    )
    np.testing.assert_array_equal(_canvas_rgba(tab.frame, "#mask-canvas"), image)
    assert regrown > 0
    _assert_no_console_errors(tab)


def test_masks_next_steps_are_fetched_ahead_and_drawn_without_a_request(served, tab):
    """Scrubbing waited for /mask at every step (247 ms a step over 20 runs); the view now
    fetches the next two recorded masks while showing one, and draws them from there."""
    steps = sorted(served.experiment.runs["poly"].weights["hidden/kernel"].masks)
    assert len(steps) >= 4, steps
    frame = tab.frame

    def mask_steps():
        queries = [dict(q) for q in _requests(frame, "mask")]
        return [
            int(q["step"]) for q in queries if (q["run"], q["weight"]) == ("poly", "hidden/kernel")
        ]

    _open(tab, "masks", focusRun="manual", focusWeight="logits/kernel")
    frame.evaluate("() => performance.clearResourceTimings()")
    _open(tab, "masks", focusRun="poly", focusWeight="hidden/kernel", step=steps[0])
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[0])
    frame.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes('/mask?run=poly&')).length >= 3"
    )
    assert mask_steps() == steps[:3]
    assert {dict(q)["diff"] for q in _requests(frame, "mask")} == {"1"}

    frame.locator("[data-testid=mask-next]").click()
    canvas = _wait_for_mask(frame, "poly", "hidden/kernel", steps[1])
    expect(canvas).to_have_attribute("data-diff", "true")
    frame.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".filter((e) => e.name.includes('/mask?run=poly&')).length >= 4"
    )
    # Step 1 was drawn from the answer fetched ahead; only the new step ahead was asked for.
    assert mask_steps() == steps[:4]
    frame.locator("[data-testid=mask-prev]").click()
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[0])
    assert mask_steps() == steps[:4]
    _assert_no_console_errors(tab)


def test_masks_first_mask_is_asked_with_mask_steps_not_after_it(served, tab):
    """Regression: the Masks view asked /mask only once /mask_steps had answered (at
    ResNet-50 size, a cold /mask_steps took 0.7 s and the first open 1.5 s). It now asks
    the mask in force at the run's last step at once, and draws that answer: one request
    for the shown step, made before /mask_steps answered."""
    steps = sorted(served.experiment.runs["poly"].weights["hidden/kernel"].masks)
    frame = tab.frame
    # From another view: a Masks view left for another weight keeps its step in the URL.
    _open(tab, "overview")
    frame.evaluate("() => performance.clearResourceTimings()")
    frame.locator("[data-testid=refresh-button]").click()  # empties the cache
    _open(tab, "masks", focusRun="poly", focusWeight="hidden/kernel")
    canvas = _wait_for_mask(frame, "poly", "hidden/kernel", steps[-1])
    expect(canvas).to_have_attribute("data-requested-step", str(steps[-1]))

    def asked_steps():
        return [int(dict(q)["step"]) for q in _requests(frame, "mask") if dict(q)["run"] == "poly"]

    # Until both masks fetched ahead have answered (a timing entry is made at the answer).
    deadline = time.monotonic() + 30
    while not {steps[-2], steps[-3]} <= set(asked_steps()) and time.monotonic() < deadline:
        time.sleep(0.05)
    entries = frame.evaluate(
        "() => performance.getEntriesByType('resource').map((e) => "
        "({name: e.name, start: e.startTime, end: e.responseEnd}))"
    )
    listing = [e for e in entries if "/mask_steps?run=poly&" in e["name"]]
    masks = [e for e in entries if "/mask?run=poly&" in e["name"]]
    assert len(listing) == 1
    assert masks[0]["start"] < listing[0]["end"]
    asked = asked_steps()
    # First the run's last step (the mask in force there is the last recorded), then the two
    # recorded masks before it, fetched ahead (each asked again if the view was drawn twice
    # meanwhile, by the refresh: how often depends on timing); the shown one is never asked
    # for at its recorded step.
    last_step = served.experiment.runs["poly"].model.steps[-1]
    assert last_step > steps[-1]
    assert asked[0] == last_step, asked
    assert set(asked) == {last_step, steps[-2], steps[-3]}, (asked, steps)
    _assert_no_console_errors(tab)


def test_accuracy_charts_each_run_and_the_pareto_front(served, tab):
    exp = served.experiment
    runs = sorted(r for r in exp.runs if "val_accuracy" in exp.runs[r].metrics.get("epoch", {}))
    assert runs == ["manual", "poly"]
    _open(tab, "accuracy")
    frame = tab.frame
    expect(frame.locator("[data-testid=metric-select]")).to_have_value("epoch/val_accuracy")
    training_chart = frame.locator("figure[data-testid=chart-accuracy-training]")
    expect(training_chart).to_have_attribute("data-series-count", "2")
    # One series per run's final point, and the front.
    expect(frame.locator("figure[data-testid=chart-accuracy-pareto]")).to_have_attribute(
        "data-series-count", "3"
    )
    pareto = frame.locator("[data-testid=pareto-row]")
    expect(pareto).to_have_count(2)
    assert sorted(r.get_attribute("data-run") for r in pareto.all()) == runs
    assert "true" in [r.get_attribute("data-front") for r in pareto.all()]
    _screenshot(tab, "accuracy")

    frame.locator("[data-testid=x-axis-select]").select_option("remaining")
    expect(training_chart).to_have_attribute("data-series-count", "2")
    _set_run_checked(tab, "manual", False)
    expect(pareto).to_have_count(1)
    expect(frame.locator("[data-testid=pareto-row][data-run=poly]")).to_have_attribute(
        "data-front", "true"
    )
    expect(training_chart).to_have_attribute("data-series-count", "1")
    _assert_no_console_errors(tab)


def test_distributions_draw_the_histograms_with_the_threshold(served, tab):
    weight = served.experiment.runs["poly"].weights["hidden/kernel"]
    _open(tab, "distributions", focusRun="poly", focusWeight="hidden/kernel")
    frame = tab.frame
    canvas = frame.locator("#histogram-canvas")
    expect(canvas).to_have_attribute("data-steps", str(len(weight.histograms.steps)))
    expect(frame.locator("figure[data-testid=chart-histogram]")).to_have_attribute(
        "data-series-count", "1"
    )
    pixels = _canvas_rgba(frame, "#histogram-canvas")[..., :3].reshape(-1, 3)
    assert (pixels != 255).any(axis=1).mean() > 0.1  # shaded, not blank
    # TF-MOT thresholds are drawn in red (THRESHOLD_RGB of views/distributions.ts).
    assert (pixels == [214, 39, 40]).all(axis=1).any()
    _screenshot(tab, "distributions")

    frame.locator("#focus-run").select_option("manual")
    manual = served.experiment.runs["manual"].weights["hidden/kernel"]
    expect(canvas).to_have_attribute("data-steps", str(len(manual.histograms.steps)))
    _assert_no_console_errors(tab)


def test_stability_draws_churn_per_run(served, tab):
    _open(tab, "stability")
    frame = tab.frame
    for weight in ("hidden/kernel", "logits/kernel"):
        chart = frame.locator("figure[data-testid=chart-stability][data-weight='%s']" % weight)
        # Newly pruned and regrown, for each of the two runs.
        expect(chart).to_have_attribute("data-series-count", "4")
        expect(chart.locator("canvas")).to_have_count(1)
    # One request per chart, for the two fields it draws.
    churn = [
        q
        for q in _requests(frame, "weight_series_multi")
        if ("fields", "newly_pruned,regrown") in q
    ]
    assert sorted(churn) == [
        [("weight", w), ("run", "manual"), ("run", "poly"), ("fields", "newly_pruned,regrown")]
        for w in ("hidden/kernel", "logits/kernel")
    ]
    _screenshot(tab, "stability")

    _set_run_checked(tab, "manual", False)
    chart = frame.locator("figure[data-testid=chart-stability][data-weight='hidden/kernel']")
    expect(chart).to_have_attribute("data-series-count", "2")
    _assert_no_console_errors(tab)


# Focus, legends, metric direction, run kinds, keys, theme -------------------------------------


def _last(values):
    return float(values[-1])


def _most_pruned_focus(exp, runs):
    """What the single-weight views open on: the run with the highest last global sparsity,
    and its largest weight (by size) with sparsity above 0, in /runs order on ties."""
    run = max(runs, key=lambda r: _last(exp.runs[r].model.fields["global_sparsity"]))
    weights = exp.runs[run].weights
    pruned = [w for w in sorted(weights) if _last(weights[w].fields["sparsity"]) > 0]
    weight = max(pruned, key=lambda w: _last(weights[w].fields["size"]))
    return run, weight


def _hash_state(frame):
    return urllib.parse.parse_qs(frame.evaluate("() => location.hash.slice(1)"))


def test_masks_and_distributions_open_on_the_most_pruned_run_and_weight(served, tab):
    """Regression: both views opened on the first run (the demo's dense baseline, an all-kept
    mask). Without a choice in the URL they open on the most pruned run (last global
    sparsity) and its largest pruned weight, written into the URL; a URL choice wins."""
    exp = served.experiment
    run, weight = _most_pruned_focus(exp, ["manual", "poly"])
    other = "manual" if run == "poly" else "poly"
    assert _last(exp.runs[run].model.fields["global_sparsity"]) > _last(
        exp.runs[other].model.fields["global_sparsity"]
    )
    frame = tab.frame
    _open(tab, "masks")
    _wait_for_mask(frame, run, weight, max(exp.runs[run].weights[weight].masks))
    assert _hash_state(frame) == {"tab": ["masks"], "focusRun": [run], "focusWeight": [weight]}
    expect(frame.locator("#focus-run")).to_have_value(run)
    expect(frame.locator("#focus-weight")).to_have_value(weight)

    _open(tab, "distributions")
    expect(frame.locator("#focus-run")).to_have_value(run)
    expect(frame.locator("#focus-weight")).to_have_value(weight)
    expect(frame.locator("#histogram-canvas")).to_have_attribute(
        "data-steps", str(len(exp.runs[run].weights[weight].histograms.steps))
    )
    assert _hash_state(frame)["focusRun"] == [run]

    # A run named in the URL wins; its own largest pruned weight is taken.
    _, other_weight = _most_pruned_focus(exp, [other])
    _open(tab, "masks", focusRun=other)
    _wait_for_mask(frame, other, other_weight, max(exp.runs[other].weights[other_weight].masks))
    assert _hash_state(frame)["focusWeight"] == [other_weight]
    # Both named: both win, also a weight that is not the largest.
    _open(tab, "masks", focusRun=other, focusWeight="logits/kernel")
    _wait_for_mask(
        frame, other, "logits/kernel", max(exp.runs[other].weights["logits/kernel"].masks)
    )
    _assert_no_console_errors(tab)


def test_focus_answer_arriving_after_the_user_moved_on_is_dropped(served, tab):
    """The /overview answer the Masks view waits for (to find the most pruned run) is held
    back until the user has moved to another view; it must not draw the Masks view there
    nor change the focus the user chose."""
    frame = tab.frame
    _open(tab, "schedules")
    expect(frame.locator("figure[data-testid=chart-schedule][data-series-count]")).to_have_count(2)
    held = []
    tab.page.route("**/data/plugin/pruning/overview*", lambda route: held.append(route))
    try:
        frame.locator("[data-testid=refresh-button]").click()  # empties the cache
        _open(tab, "masks")
        expect(frame.locator("[data-testid=state-loading]")).to_contain_text("the most pruned run")
        _open(tab, "distributions", focusRun="manual", focusWeight="logits/kernel")
        expect(frame.locator("#histogram-canvas")).to_be_visible()
        assert held, "the overview request was not made"
        frame.evaluate("() => performance.clearResourceTimings()")
    finally:
        for route in held:
            route.continue_()
        tab.page.unroute("**/data/plugin/pruning/overview*")
    frame.wait_for_function(
        "() => performance.getEntriesByType('resource').some((e) => e.name.includes('/overview'))"
    )
    tab.page.wait_for_timeout(300)  # the answer's callbacks have run
    expect(frame.locator("main[data-testid=view-distributions]")).to_be_visible()
    expect(frame.locator("#mask-canvas")).to_have_count(0)
    expect(frame.locator("#focus-run")).to_have_value("manual")
    assert _hash_state(frame) == {
        "tab": ["distributions"],
        "focusRun": ["manual"],
        "focusWeight": ["logits/kernel"],
    }
    _assert_no_console_errors(tab)


def _readout_text(exp, runs, weight, step):
    """The Schedules readout's items at `step`: per run with a value there, its sparsity,
    then its target and whether the mask changed, as views/schedules.ts formats them."""
    items = {}
    for run in runs:
        w = exp.runs[run].weights[weight]
        steps = list(w.steps)
        if step not in steps:
            continue
        i = steps.index(step)
        text = "%s %s" % (run, _js_percent(w.fields["sparsity"][i], 1))
        extras = []
        if not math.isnan(w.fields["target_sparsity"][i]):
            extras.append("target " + _js_percent(w.fields["target_sparsity"][i], 1))
        if w.fields["mask_changed"][i] == 1:
            extras.append("mask changed")
        items[run] = text + (" (%s)" % ", ".join(extras) if extras else "")
    return items


def _hover(tab, chart, where):
    """Moves the mouse over the plot of `chart` at its left or right edge (first or last step)."""
    chart.scroll_into_view_if_needed()
    box = chart.locator(".u-over").bounding_box()
    x = box["x"] + (1 if where == "left" else box["width"] - 1)
    tab.page.mouse.move(x, box["y"] + box["height"] / 2)


def test_schedules_explain_line_styles_once_and_read_out_the_hovered_step(served, tab):
    """Regression: every chart had a legend listing 3 entries per run (taller than the chart
    at 6 runs). Now one key per view explains the line styles, the sidebar's colours are
    the runs, and hovering shows the hovered step's values of every run in one line."""
    exp = served.experiment
    frame = tab.frame
    _open(tab, "schedules")
    view = frame.locator("main[data-testid=view-schedules]")
    key = view.locator("[data-testid=line-key]")
    expect(key).to_have_count(1)
    assert [i.get_attribute("data-style") for i in key.locator(".line-key-item").all()] == [
        "solid",
        "dashed",
        "circle",
    ]
    expect(key.locator(".line-key-item")).to_have_text(
        ["actual sparsity", "target", "mask changed"]
    )
    chart = frame.locator("figure[data-testid=chart-schedule][data-weight='hidden/kernel']")
    expect(chart).to_have_attribute("data-series-count", "6")
    expect(view.locator(".u-legend")).to_have_count(0)

    steps = sorted(set().union(*(exp.runs[r].weights["hidden/kernel"].steps for r in exp.runs)))
    readout = chart.locator("[data-testid=chart-readout]")
    for where, step in (("right", steps[-1]), ("left", steps[0])):
        _hover(tab, chart, where)
        expect(readout).to_have_attribute("data-step", str(int(step)))
        expected = _readout_text(exp, ["manual", "poly"], "hidden/kernel", int(step))
        assert expected, step
        items = readout.locator("[data-testid=readout-item]")
        expect(items).to_have_text(list(expected.values()))
        assert [i.get_attribute("data-run") for i in items.all()] == list(expected)
        expect(readout.locator(".readout-x")).to_have_text("step %d" % step)
    _assert_no_console_errors(tab)


def _final_points(exp, metric):
    """Per run, (global sparsity, value) of the last epoch value of `metric`, paired with the
    global sparsity at the latest model step at or before it (transforms/metrics.ts)."""
    points = {}
    for name, run in exp.runs.items():
        series = run.metrics["epoch"][metric]
        step, value = int(series.steps[-1]), float(series.values[-1])
        model_steps = list(run.model.steps)
        at = max(i for i, s in enumerate(model_steps) if s <= step)
        points[name] = (float(run.model.fields["global_sparsity"][at]), value)
    return points


def _front(points, lower_better):
    sign = -1 if lower_better else 1

    def dominates(a, b):
        (sa, va), (sb, vb) = a, b
        va, vb = sign * va, sign * vb
        return sa >= sb and va >= vb and (sa > sb or va > vb)

    return {
        r: not any(dominates(q, p) for o, q in points.items() if o != r) for r, p in points.items()
    }


def test_loss_metrics_are_lower_is_better_with_a_toggle(served, tab):
    """Regression: mse and mae counted as higher-is-better, inverting the Pareto front of
    regression runs. The direction follows the name (val_loss: lower), can be switched, and
    the Pareto front and the "better" words follow it."""
    exp = served.experiment
    frame = tab.frame
    _open(tab, "accuracy", metric="epoch/val_loss")
    better = frame.locator("[data-testid=metric-better]")
    expect(better).to_have_value("lower")
    points = _final_points(exp, "val_loss")
    expect(frame.locator("[data-testid=pareto-row]")).to_have_count(2)
    for lower, choice in ((True, None), (False, "higher"), (True, "lower")):
        if choice:
            better.select_option(choice)
        expect(frame.locator("[data-testid=pareto-table]")).to_have_attribute(
            "data-better", "lower" if lower else "higher"
        )
        expected = _front(points, lower)
        for run, on_front in expected.items():
            row = frame.locator("[data-testid=pareto-row][data-run=%s]" % run)
            expect(row).to_have_attribute("data-front", str(on_front).lower())
        expect(frame.locator("main[data-testid=view-accuracy] p.hint")).to_contain_text(
            "(%s is better)" % ("lower" if lower else "higher")
        )
        assert _hash_state(frame).get("better") == ([choice] if choice else None)
    # Another metric starts from its own direction.
    frame.locator("[data-testid=metric-select]").select_option("epoch/val_accuracy")
    expect(better).to_have_value("higher")
    assert "better" not in _hash_state(frame)
    _assert_no_console_errors(tab)


def test_tabs_move_with_arrow_keys(served, tab):
    frame = tab.frame
    _open(tab, "overview")
    tabs = [t.get_attribute("id")[len("tab-") :] for t in frame.locator("[role=tab]").all()]
    assert tabs[:6] == ["overview", "schedules", "masks", "accuracy", "distributions", "stability"]
    frame.locator("#tab-overview").focus()
    for key, expected in (
        ("ArrowRight", "schedules"),
        ("ArrowRight", "masks"),
        ("ArrowLeft", "schedules"),
        ("End", tabs[-1]),
        ("ArrowRight", "overview"),  # wraps
        ("ArrowLeft", tabs[-1]),
        ("Home", "overview"),
    ):
        tab.page.keyboard.press(key)
        expect(frame.locator("main[data-testid=view-%s]" % expected)).to_be_visible()
        expect(frame.locator("#tab-%s" % expected)).to_be_focused()
        expect(frame.locator("#tab-%s" % expected)).to_have_attribute("aria-selected", "true")
        # One tab stop: the selected tab.
        assert [frame.locator("#tab-%s" % t).get_attribute("tabindex") for t in tabs] == [
            "0" if t == expected else "-1" for t in tabs
        ]
        assert _hash_state(frame).get("tab", ["overview"]) == [expected]
    _assert_no_console_errors(tab)


def test_mask_step_moves_with_arrow_keys_and_the_slider_snaps_to_recorded_steps(served, tab):
    steps = sorted(served.experiment.runs["poly"].weights["hidden/kernel"].masks)
    assert len(steps) >= 4 and steps[2] - steps[1] >= 2, steps
    frame = tab.frame
    _open(tab, "masks", focusRun="poly", focusWeight="hidden/kernel", step=steps[1])
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[1])
    frame.locator("[data-testid=mask-info]").click()  # the focus in the plugin, on no control
    tab.page.keyboard.press("ArrowRight")
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[2])
    slider = frame.locator("#mask-step-slider")
    expect(slider).to_have_value(str(steps[2]))
    tab.page.keyboard.press("ArrowLeft")
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[1])
    tab.page.keyboard.press("ArrowLeft")
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[0])
    tab.page.keyboard.press("ArrowLeft")  # the first: stays
    expect(slider).to_have_value(str(steps[0]))
    # On the slider itself the arrows step by recorded mask too, not by one step.
    slider.focus()
    tab.page.keyboard.press("ArrowRight")
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[1])
    expect(slider).to_have_value(str(steps[1]))
    # A value between two recorded steps snaps to the nearest.
    slider.fill(str(steps[2] - (steps[2] - steps[1]) // 2 + 1))
    _wait_for_mask(frame, "poly", "hidden/kernel", steps[2])
    expect(slider).to_have_value(str(steps[2]))
    tab.page.wait_for_timeout(400)  # the step is written to the URL once scrubbing pauses
    assert _hash_state(frame)["step"] == [str(steps[2])]
    _assert_no_console_errors(tab)


def test_tensorboard_dark_mode_is_followed(served, tab):
    """TensorBoard marks its page's body with the class dark-mode (its toggle, or the
    system's dark scheme); the plugin's iframe follows it, charts included."""
    frame = tab.frame
    _open(tab, "schedules")
    chart = frame.locator("figure[data-testid=chart-schedule][data-weight='hidden/kernel']")
    expect(chart).to_have_attribute("data-series-count", "6")
    html = frame.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    background = "() => getComputedStyle(document.body).backgroundColor"
    assert frame.evaluate(background) == "rgb(255, 255, 255)"
    try:
        tab.page.evaluate("() => document.body.classList.add('dark-mode')")
        expect(html).to_have_attribute("data-theme", "dark")
        assert frame.evaluate(background) == "rgb(48, 48, 48)"
        # The charts are drawn again in the dark frame colours.
        expect(chart).to_have_attribute("data-series-count", "6")
        _screenshot(tab, "schedules_dark")
    finally:
        tab.page.evaluate("() => document.body.classList.remove('dark-mode')")
    expect(html).to_have_attribute("data-theme", "light")
    assert frame.evaluate(background) == "rgb(255, 255, 255)"
    _assert_no_console_errors(tab)


def test_run_kinds_in_the_sidebar(served, tab):
    _open(tab, "overview")
    for run, kind in (("manual", "manual"), ("poly", "tfmot")):
        label = tab.frame.locator("label.run-item[data-run=%s] [data-testid=run-kind]" % run)
        expect(label).to_have_attribute("data-kind", kind)
        expect(label).to_have_text(kind)


# Many runs ------------------------------------------------------------------------------------

MANY_RUNS = 20


def _train_dense_keras3_run(logdir):
    """Keras 3 MLP 64-24-10, recorded by PruningMonitor, never pruned and without a target:
    a dense baseline (8 steps)."""
    from tb_prune_plugin.callbacks import PruningMonitor

    model = _keras3_mlp()
    x, y = training.digits(800)
    model.fit(
        x,
        y,
        batch_size=100,
        epochs=1,
        verbose=0,
        callbacks=[PruningMonitor(os.path.join(logdir, "dense"))],
    )


@pytest.fixture(scope="module")
def many(tmp_path_factory, tab):
    """20 generated runs (benchmarks/logdir_gen.py, no training) and a trained dense run in
    one log directory, served, in a page of its own in the `tab` fixture's browser (one
    Playwright per process)."""
    logdir = tmp_path_factory.mktemp("e2e_many")
    names = logdir_gen.write_grid(str(logdir), MANY_RUNS, n_weights=2, steps=30, mask_every=10)
    _train_dense_keras3_run(str(logdir))
    experiment = reader.load(str(logdir))
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(names + ["dense"])
        page = tab.page.context.browser.new_page(viewport={"width": 1280, "height": 800})
        try:
            page.set_default_timeout(20_000)
            errors = browser.ConsoleErrors(page)
            page.goto(tensorboard.url + "/#pruning")
            yield types.SimpleNamespace(
                page=page,
                frame=browser.plugin_frame(page),
                errors=errors,
                screenshot_dirs=tab.screenshot_dirs,
                names=names,
                experiment=experiment,
            )
        finally:
            page.close()


def test_a_run_never_pruned_without_a_target_is_dense(many):
    """Regression: the demo's unpruned baseline was labelled "manual"."""
    dense = many.experiment.runs["dense"]
    for w in dense.weights.values():
        assert (w.fields["sparsity"] == 0).all() and np.isnan(w.fields["target_sparsity"]).all()
    _open(many, "overview")
    label = many.frame.locator("label.run-item[data-run=dense] [data-testid=run-kind]")
    expect(label).to_have_attribute("data-kind", "dense")
    expect(label).to_have_text("dense")
    expect(
        many.frame.locator("label.run-item[data-run=run_00] [data-testid=run-kind]")
    ).to_have_attribute("data-kind", "tfmot")
    # Most pruned first: the dense run is never the default focus.
    _open(many, "masks")
    expect(many.frame.locator("#mask-canvas")).to_have_attribute("data-state", "ready")
    assert _hash_state(many.frame)["focusRun"] == ["run_00"]
    _assert_no_console_errors(many)


def test_charts_keep_their_height_with_20_runs(many):
    """Regression: each chart's legend listed 3 entries per run, so a chart grew with the
    number of runs. Now the plot and its one-line readout have a fixed height."""
    frame = many.frame
    weight = logdir_gen.weight_names(1)[0]
    selector = "figure[data-testid=chart-schedule][data-weight='%s']" % weight
    heights = {}
    for runs in (many.names[:1], many.names):
        _open(many, "schedules", run=runs, weightFilter="^%s$" % weight)
        chart = frame.locator(selector)
        expect(chart).to_have_attribute("data-series-count", str(3 * len(runs)))
        global_chart = frame.locator("figure[data-testid=chart-global-sparsity]")
        expect(global_chart).to_have_attribute("data-series-count", str(len(runs)))
        _hover(many, chart, "right")
        expect(chart.locator("[data-testid=readout-item]")).to_have_count(len(runs))
        heights[len(runs)] = (chart.bounding_box()["height"], global_chart.bounding_box()["height"])
    _screenshot(many, "schedules_20_runs")
    assert heights[1] == heights[MANY_RUNS], heights
    _assert_no_console_errors(many)


def test_plugin_page_opened_alone_follows_the_system_dark_scheme(served, tab):
    """Without TensorBoard's page around it (no parent to read), `prefers-color-scheme`
    decides."""
    url = tab.frame.url.split("#")[0]
    for scheme in ("dark", "light"):
        page = tab.page.context.browser.new_page(color_scheme=scheme)
        try:
            page.goto(url)
            expect(page.locator("main[data-testid=view-overview]")).to_be_visible()
            expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        finally:
            page.close()
