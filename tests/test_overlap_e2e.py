"""End to end: mask convergence and cross-run overlap in a real browser over two real TF-MOT
runs of one model (`poly`: PolynomialDecay, `seeded`: another PolynomialDecay from another seed;
tests/conftest.py). A real `tensorboard` serves them to Debian's headless Chromium, and what
the views draw is compared with the routes' answers exactly: the Mask stability view's
convergence charts (their `chartData`) and early-bird marks and sentences, its overlap heatmap
cells and pairs table, and the Masks view's run A against run B canvas, pixel by pixel."""

import base64
import re
import types
import urllib.parse

import numpy as np
import pytest

from tb_prune_plugin import reader
from tests import browser

expect, pytestmark = browser.browser_test_module()

WEIGHTS = ("hidden/kernel", "logits/kernel")


@pytest.fixture(scope="module")
def served(tfmot_pair_logdir):
    with browser.TensorBoardProcess(tfmot_pair_logdir) as tensorboard:
        tensorboard.wait_for_runs(["seeded", "poly"])
        yield types.SimpleNamespace(url=tensorboard.url)


@pytest.fixture(scope="module")
def tab(served):
    with browser.pruning_tab(served.url) as (page, frame, errors):
        yield types.SimpleNamespace(page=page, frame=frame, errors=errors)


def _route(served, route, params):
    query = urllib.parse.urlencode(params, doseq=True)
    return browser.fetch_json("%s%s/%s?%s" % (served.url, browser.PLUGIN_PREFIX, route, query))


def _chart_data(chart):
    """{label: {step: value}} of the points a chart drew (views/drawn.ts)."""
    expect(chart).to_have_attribute("data-series-count", re.compile(r"^\d+$"))
    data = chart.evaluate("e => e.chartData")
    return {
        label: {int(x): y for x, y in zip(data["x"], ys) if y is not None}
        for label, ys in zip(data["labels"], data["ys"])
    }


def test_convergence_charts_and_early_bird_marks_are_the_routes_values(served, tab):
    browser.open_view(tab.frame, expect, "stability", run=["seeded", "poly"])
    charts = tab.frame.locator("figure[data-testid=chart-convergence]")
    expect(charts).to_have_count(len(WEIGHTS))
    for weight in WEIGHTS:
        body = _route(served, "mask_convergence", {"weight": weight, "run": ["seeded", "poly"]})
        chart = tab.frame.locator(
            "figure[data-testid=chart-convergence][data-weight='%s']" % weight
        )
        drawn = _chart_data(chart)
        expected = {}
        for s in body["series"]:
            run = s["run"]
            expected["%s distance" % run] = dict(zip(s["steps"], s["fraction"]))
            at = s["steps"].index(s["early_bird_step"])
            expected["%s early bird" % run] = {s["early_bird_step"]: s["fraction"][at]}
            item = chart.locator("[data-testid=early-bird] li[data-run=%s]" % run)
            expect(item).to_have_attribute("data-step", str(s["early_bird_step"]))
            if s["early_bird_step"] == s["steps"][-1] and len(s["steps"]) > 1:
                expect(item).to_contain_text("no early-bird point before the end")
            else:
                expect(item).to_contain_text("early bird at step %d" % s["early_bird_step"])
        assert drawn == expected
        # The masks did change: each run starts away from its final mask.
        assert all(s["fraction"][0] > 0 for s in body["series"])
    assert tab.errors.messages == []


def _iou_color(iou):
    """The heatmap colour of transforms/overlap.ts: white to (31, 78, 121) by the IoU."""
    if iou is None:
        return "rgb(200, 200, 200)"
    c = [round(255 + (k - 255) * iou) for k in (31, 78, 121)]
    return "rgb(%d, %d, %d)" % tuple(c)


def test_overlap_heatmap_cells_and_pairs_table_are_the_routes_values(served, tab):
    browser.open_view(tab.frame, expect, "stability", run=["seeded", "poly"])
    for weight in WEIGHTS:
        # The view asks for the shown runs in /runs order.
        body = _route(served, "mask_overlap", {"weight": weight, "run": ["poly", "seeded"]})
        (group,) = body["groups"]
        block = tab.frame.locator("[data-testid=overlap][data-weight='%s']" % weight)
        cells = block.locator("[data-testid=overlap-cell]")
        expect(cells).to_have_count(len(group["runs"]) ** 2)
        for i, a in enumerate(group["runs"]):
            for j, b in enumerate(group["runs"]):
                cell = block.locator(
                    "[data-testid=overlap-cell][data-row=%s][data-col=%s]" % (a, b)
                )
                iou = group["iou"][i][j]
                expect(cell).to_have_attribute("data-iou", repr(iou) if iou != 1 else "1")
                expect(cell).to_have_css("background-color", _iou_color(iou))
        row = block.locator("[data-testid=overlap-pairs] tr[data-a=poly][data-b=seeded] td")
        expect(row).to_have_text(
            [
                "poly",
                "seeded",
                str(group["last_steps"][0]),
                str(group["last_steps"][1]),
                "{:,}".format(group["kept"][0]),
                "{:,}".format(group["kept"][1]),
                "{:,}".format(group["intersection"][0][1]),
                "{:,}".format(group["union"][0][1]),
                browser_number(group["iou"][0][1]),
            ]
        )
        drawn = _chart_data(block.locator("figure[data-testid=chart-overlap]"))
        (pair,) = group["pairs"]
        assert drawn == {"poly vs seeded": dict(zip(pair["steps"], pair["iou"]))}
    assert tab.errors.messages == []


def browser_number(value):
    """`formatNumber` of transforms/format.ts for 1e-3 <= value < 1e4: toPrecision(3)."""
    text = "%.3g" % value
    return str(int(float(text))) if float(text).is_integer() else repr(float(text))


_canvas_rgba = browser.canvas_rgba


def test_masks_view_shows_run_a_against_run_b_in_the_routes_colours(served, tab, tfmot_pair_logdir):
    weight, step = "hidden/kernel", 10
    browser.open_view(
        tab.frame, expect, "masks", run=["seeded", "poly"], focusRun="poly", focusWeight=weight
    )
    frame = tab.frame
    canvas = frame.locator("#mask-canvas")
    expect(canvas).to_have_attribute("data-state", "ready")
    frame.locator("[data-testid=mask-step-slider]").fill(str(step))
    expect(canvas).to_have_attribute("data-requested-step", str(step))
    frame.locator("[data-testid=mask-compare]").select_option("seeded")
    expect(canvas).to_have_attribute("data-compared", "true")
    expect(canvas).to_have_attribute("data-compare-run", "seeded")
    body = _route(
        served, "mask", {"run": "poly", "weight": weight, "step": step, "compare_run": "seeded"}
    )
    expect(canvas).to_have_attribute("data-compare-step", str(body["compare_step"]))
    assert body["exact"]
    rows, cols = body["grid"]["rows"], body["grid"]["cols"]
    grids = {
        name: np.frombuffer(base64.b64decode(body[name]), np.uint8).reshape(rows, cols) == 255
        for name in ("both", "only_a", "only_b")
    }
    # The route's sets are those of the loaded masks in force at the step ([in, out] as
    # [out, in]).
    loaded = reader.load(tfmot_pair_logdir).runs
    a = loaded["poly"].weights[weight].masks
    b = loaded["seeded"].weights[weight].masks
    ma, mb = a[max(s for s in a if s <= step)], b[max(s for s in b if s <= step)]
    np.testing.assert_array_equal(grids["both"], (ma & mb).T)
    np.testing.assert_array_equal(grids["only_a"], (ma & ~mb).T)
    np.testing.assert_array_equal(grids["only_b"], (mb & ~ma).T)
    colors = {
        name: [int(v) for v in canvas.get_attribute("data-%s-rgb" % name).split(",")]
        for name in ("both", "only-a", "only-b", "pruned")
    }
    assert len({tuple(c) for c in colors.values()}) == 4, colors
    image = np.where(grids["only_b"][..., None], colors["only-b"], colors["pruned"])
    image = np.where(grids["only_a"][..., None], colors["only-a"], image)
    image = np.where(grids["both"][..., None], colors["both"], image)
    k = int(canvas.get_attribute("data-cell-size"))
    image = np.repeat(np.repeat(image, k, axis=0), k, axis=1)
    alpha = np.full(image.shape[:2] + (1,), 255)
    expected = np.concatenate([image, alpha], axis=2).astype(np.uint8)
    np.testing.assert_array_equal(_canvas_rgba(frame, "#mask-canvas"), expected)
    # Every kind of cell is there: the runs differ, and overlap.
    assert all(g.any() for g in grids.values())
    expect(frame.locator("[data-testid=mask-legend] [data-legend=only-b]")).to_contain_text(
        "kept only in seeded"
    )
    # The comparison is in the URL: a link opens it again (and `diff` is off while it shows).
    assert "compare=seeded" in frame.evaluate("() => location.hash")
    browser.open_view(tab.frame, expect, "overview")
    browser.open_view(
        tab.frame,
        expect,
        "masks",
        run=["seeded", "poly"],
        focusRun="poly",
        focusWeight=weight,
        step=step,
        compare="seeded",
    )
    expect(canvas).to_have_attribute("data-compared", "true")
    expect(frame.locator("[data-testid=mask-compare]")).to_have_value("seeded")
    expect(frame.locator("[data-testid=mask-diff]")).to_be_disabled()
    np.testing.assert_array_equal(_canvas_rgba(frame, "#mask-canvas"), expected)
    assert tab.errors.messages == []
