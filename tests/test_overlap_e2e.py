"""End to end: mask convergence and cross-run overlap in a real browser over two real TF-MOT
runs of one model (`poly`: PolynomialDecay, `seeded`: another PolynomialDecay from another seed;
tests/conftest.py). A real `tensorboard` serves them to Debian's headless Chromium, and what
the views draw is compared with the routes' answers exactly: the Mask stability view's
convergence charts (their `chartData`) and early-bird marks and sentences."""

import re
import types
import urllib.parse

import pytest

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
