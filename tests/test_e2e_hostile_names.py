"""Run, weight and metric names holding HTML and script are shown as text, never run.

The log directory is written with the real record writers: two runs whose directory
names are markup (`<img src=x onerror=...>` and `"><svg onload=...>`, both legal
directory names), a weight whose path is markup, metrics named `<script>...</script>`
and `<img ...>`, and a run `future` written in format version 99. A real `tensorboard`
serves it and headless Chromium opens every view of the Pruning tab: each name must be
visible literally, no element or script from a name may exist, `window.__xss` must stay
undefined in the plugin's iframe and in TensorBoard's page, and the notice about the
newer-format run must be shown. (TensorBoard serves with its Rust data server here, which
cannot read the masks of the run whose name holds a quote: the Masks view must say so.)
"""

import json
import os
import re
import urllib.parse

import numpy as np
import pytest
from tensorboard.compat.proto import summary_pb2

from benchmarks.fixtures import browser
from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import summary

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.Expect()
expect.set_options(timeout=15_000)

pytestmark = pytest.mark.skipif(
    not os.path.exists(browser.CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)

RUN_IMG = "<img src=x onerror=window.__xss=1>"
RUN_SVG = '"><svg onload=window.__xss=2>'
WEIGHT = "<b onmouseover=window.__xss=3>bold</b>/kernel"
METRIC_SCRIPT = "<script>window.__xss=4</script>"
METRIC_IMG = "<img src=y onerror=window.__xss=5>"
RUNS = sorted([RUN_IMG, RUN_SVG])
NOTICE = (
    "Run 'future', tag 'pruning/w/weight_stats': skipped, written in format version 99, "
    "newer than this tb_prune_plugin reads (2); upgrade tb_prune_plugin to see it."
)

# Markup any of the names would create if it were parsed as HTML, and the marker its script sets.
INJECTED = """() => ({
  xss: typeof window.__xss,
  handlers: document.querySelectorAll("[onerror],[onload],[onmouseover]").length,
  elements: document.querySelectorAll("img[src=x],img[src=y],svg,b").length,
  scripts: [...document.scripts].filter((s) => s.textContent.includes("__xss")).length,
})"""
CLEAN = {"xss": "undefined", "handlers": 0, "elements": 0, "scripts": 0}


def _write_run(run_dir, offset):
    rng = np.random.default_rng(offset)
    with lb.RunWriter(run_dir) as w:
        previous = None
        for step, sparsity in ((0, 0.0), (10, 0.5), (20, 0.75)):
            mask = rng.random((8, 6)) >= sparsity
            if previous is not None:
                mask &= previous
            previous = mask
            nonzeros = int(mask.sum())
            values = [
                summary.weight_stats(
                    WEIGHT,
                    lb.stats(
                        size=48,
                        nonzeros=nonzeros,
                        sparsity=1 - nonzeros / 48,
                        target_sparsity=sparsity,
                        newly_pruned=0,
                        regrown=0,
                        kept_mean_abs=0.5 + step / 100,
                        pruned_units_fraction=step / 40,
                    ),
                ),
                summary.mask(WEIGHT, mask),
                summary.weight_histogram(
                    WEIGHT, 0.0, 1.0, [nonzeros // 2, nonzeros - nonzeros // 2]
                ),
                summary.model_stats(
                    lb.model_stats(
                        global_sparsity=1 - nonzeros / 48,
                        prunable_size=48,
                        prunable_nonzeros=nonzeros,
                        model_size=54,
                        model_nonzeros=nonzeros + 6,
                        dense_bytes=216,
                        sparse_bytes=4 * nonzeros + 30,
                    )
                ),
                summary.metric("epoch", METRIC_SCRIPT, 0.5 + step / 100 + offset / 10),
                summary.metric("epoch", "val_accuracy", 0.6 + step / 100 - offset / 10),
                summary.metric("batch", METRIC_IMG, 1.0 - step / 100),
            ]
            if step == 0:
                values.append(summary.run_config({"method": "manual", "model_name": RUN_IMG}))
            w.add(step, values)


def _newer(value):
    value = summary_pb2.Summary.Value.FromString(value.SerializeToString())
    content = json.loads(value.metadata.plugin_data.content)
    content["version"] = 99
    value.metadata.plugin_data.content = json.dumps(content).encode("utf-8")
    return value


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("hostile_names")
    for offset, run in enumerate(RUNS):
        _write_run(logdir / run, offset)
        assert os.path.isdir(logdir / run)  # a legal directory name
    with lb.RunWriter(logdir / "future") as w:
        w.add(0, [_newer(summary.weight_stats("w", lb.stats(size=2)))])
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(RUNS)
        with browser.pruning_tab(tensorboard.url) as (page, frame, errors):
            expect(frame.locator("[data-testid=run-list]")).to_contain_text(RUN_IMG)
            yield page, frame, errors


def _open(frame, view, **state):
    query = [("tab", view)] if view != "overview" else []
    query += list(state.items())
    frame.evaluate("hash => { location.hash = hash; }", urllib.parse.urlencode(query))
    expect(frame.locator("main[data-testid=view-%s]" % view)).to_be_visible()


def _assert_nothing_injected(page, frame, errors):
    assert frame.evaluate(INJECTED) == CLEAN
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert errors.messages == []


def _text(frame):
    return frame.locator("body").inner_text()


def test_names_are_text_in_sidebar_and_overview(tab):
    page, frame, errors = tab
    _open(frame, "overview")
    rows = frame.locator("[data-testid=overview-row]")
    expect(rows).to_have_count(2)
    assert sorted(r.get_attribute("data-run") for r in rows.all()) == RUNS
    assert {r.get_attribute("data-weight") for r in rows.all()} == {WEIGHT}
    for run in RUNS:
        cell = frame.locator("[data-testid=overview-row] td[data-col=run]").filter(has_text=run)
        expect(cell).to_have_text(run)
    expect(frame.locator("[data-testid=overview-row] td[data-col=weight]").first).to_have_text(
        WEIGHT
    )
    expect(frame.locator("[data-testid=overview-run-row]")).to_have_count(2)
    sidebar = frame.locator("[data-testid=run-list]")
    for run in RUNS:
        expect(sidebar).to_contain_text(run)
    _assert_nothing_injected(page, frame, errors)


def _assert_readout_names_runs(page, chart):
    """Hovers the chart's last step: its readout names each run, as text, in /runs order."""
    chart.scroll_into_view_if_needed()
    box = chart.locator(".u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2)
    items = chart.locator("[data-testid=readout-item]")
    expect(items).to_have_count(2)
    assert [i.get_attribute("data-run") for i in items.all()] == RUNS
    for item, run in zip(items.all(), RUNS):
        assert item.inner_text().startswith(run + " ")


def test_names_are_text_in_schedules_and_stability(tab):
    page, frame, errors = tab
    _open(frame, "schedules")
    chart = frame.locator("figure[data-testid=chart-schedule]")
    expect(chart).to_have_count(1)
    assert chart.get_attribute("data-weight") == WEIGHT
    expect(chart).to_have_attribute("data-series-count", "6")
    _assert_readout_names_runs(page, chart)
    expect(chart).to_contain_text(WEIGHT)
    _assert_nothing_injected(page, frame, errors)

    _open(frame, "stability")
    chart = frame.locator("figure[data-testid=chart-stability]")
    expect(chart).to_have_attribute("data-series-count", "4")
    assert chart.get_attribute("data-weight") == WEIGHT
    _assert_readout_names_runs(page, chart)
    _assert_nothing_injected(page, frame, errors)


def test_names_are_text_in_masks_and_distributions(tab):
    page, frame, errors = tab
    _open(frame, "masks", focusRun=RUN_IMG, focusWeight=WEIGHT)
    canvas = frame.locator("#mask-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    expect(canvas).to_have_attribute("data-run", RUN_IMG)
    expect(canvas).to_have_attribute("data-weight", WEIGHT)
    expect(canvas).to_have_attribute("data-step", "20")
    assert frame.locator("#focus-run option").all_text_contents() == RUNS
    assert frame.locator("#focus-weight option").all_text_contents() == [WEIGHT]
    # TensorBoard's Rust data server cannot read the masks of a run whose name holds '"'
    # (it fails to parse its own blob keys): the view says so, with the names as text.
    frame.locator("#focus-run").select_option(RUN_SVG)
    expect(frame.locator("[data-testid=state-notice]")).to_contain_text(
        "3 recorded masks of %s in %s could not be read." % (WEIGHT, RUN_SVG)
    )
    _assert_nothing_injected(page, frame, errors)

    _open(frame, "distributions", focusRun=RUN_SVG, focusWeight=WEIGHT)
    expect(frame.locator("#histogram-canvas")).to_have_attribute("data-steps", "3")
    expect(frame.locator("figure[data-testid=chart-histogram]")).to_have_attribute(
        "data-series-count", "1"
    )
    assert WEIGHT in _text(frame)
    _assert_nothing_injected(page, frame, errors)


def test_names_are_text_in_accuracy(tab):
    page, frame, errors = tab
    _open(frame, "accuracy", metric="epoch/" + METRIC_SCRIPT)
    metric = frame.locator("[data-testid=metric-select]")
    expect(metric).to_have_value("epoch/" + METRIC_SCRIPT)
    options = metric.locator("option").all_text_contents()
    assert {"epoch/" + METRIC_SCRIPT, "batch/" + METRIC_IMG} <= set(options)
    expect(frame.locator("figure[data-testid=chart-accuracy-training]")).to_have_attribute(
        "data-series-count", "2"
    )
    pareto = frame.locator("[data-testid=pareto-row]")
    expect(pareto).to_have_count(2)
    assert sorted(r.get_attribute("data-run") for r in pareto.all()) == RUNS
    metric.select_option("batch/" + METRIC_IMG)
    expect(metric).to_have_value("batch/" + METRIC_IMG)
    expect(frame.locator("figure[data-testid=chart-accuracy-training]")).to_have_attribute(
        "data-series-count", "2"
    )
    _assert_nothing_injected(page, frame, errors)


def test_newer_format_notice_is_shown_above_every_view(tab):
    page, frame, errors = tab
    notices = frame.locator("[data-testid=notices]")
    for view in ("overview", "schedules"):
        _open(frame, view)
        expect(notices).to_be_visible()
        expect(notices).to_have_text(NOTICE)
    _assert_nothing_injected(page, frame, errors)


def test_names_are_text_in_structure_configuration_and_statistics(tab):
    page, frame, errors = tab

    def labels(selector):
        chart = frame.locator(selector)
        expect(chart).to_have_attribute("data-series-count", re.compile(r"^\d+$"))
        return chart.evaluate("e => e.chartData.labels")

    _open(frame, "structure")
    chart = "figure[data-testid=chart-structure]"
    assert labels(chart) == [run + " units pruned" for run in RUNS]
    assert frame.locator(chart).get_attribute("data-weight") == WEIGHT
    assert labels("figure[data-testid=chart-model-nonzeros]") == [r + " non-zeros" for r in RUNS]
    _assert_nothing_injected(page, frame, errors)

    _open(frame, "configuration")
    columns = frame.locator("[data-testid=config-column]")
    expect(columns).to_have_count(2)
    assert columns.all_text_contents() == RUNS
    assert [c.get_attribute("data-run") for c in columns.all()] == RUNS
    # Manual runs: no schedule to preview, the actual sparsity only.
    assert labels("figure[data-testid=chart-schedule-preview]") == [r + " actual" for r in RUNS]
    _assert_nothing_injected(page, frame, errors)

    _open(frame, "statistics")
    assert frame.locator("#stat-weight option").all_text_contents() == [WEIGHT]
    assert labels("figure[data-testid=chart-statistic][data-stat=kept_mean_abs]") == RUNS
    _assert_nothing_injected(page, frame, errors)
