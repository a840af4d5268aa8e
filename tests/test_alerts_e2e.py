"""End to end: the Overview's alert badges and list over real runs with alerts, in Debian's
headless Chromium against a real `tensorboard`; a click on an alert shows its view and step.

The runs are tests/alert_runs.py's `behind` (a kernel kept at 20% against a target of 50% from
step 2), `collapse` (units of `hidden` zeroed from step 2, the whole `mid` kernel from step 4),
`drop` (epoch metrics drop after the mask change at step 25) and `nonfinite` (a NaN weight at
step 4).
"""

import types
import urllib.parse

import pytest

from tests import alert_runs, browser

expect, pytestmark = browser.browser_test_module()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("alerts_e2e")
    for train in (alert_runs.train_behind, alert_runs.train_collapse, alert_runs.train_drop):
        train(str(logdir))
    alert_runs.train_nonfinite(str(logdir))
    with browser.TensorBoardProcess(logdir) as tensorboard:
        tensorboard.wait_for_runs(["behind", "collapse", "drop", "nonfinite"])
        yield types.SimpleNamespace(url=tensorboard.url)


def _route(served, route, params=()):
    query = urllib.parse.urlencode(list(params))
    return browser.fetch_json("%s%s/%s?%s" % (served.url, browser.PLUGIN_PREFIX, route, query))


def _hash_state(frame):
    return urllib.parse.parse_qs(frame.evaluate("() => location.hash.slice(1)"))


def test_overview_badges_and_list_lead_to_the_view_and_step(served):
    answer = _route(served, "alerts")["alerts"]
    assert [(a["run"], a["kind"], a["step"]) for a in answer] == [
        ("behind", "behind_target", 2),
        ("collapse", "unit_collapse", 2),
        ("collapse", "weight_collapse", 4),
    ] + [("drop", "metric_drop", 32)] * 4 + [("nonfinite", "nonfinite", 4)]
    with browser.pruning_tab(served.url) as (_, frame, errors):
        browser.open_view(frame, expect, "overview")
        # Badges: per run, a count by kind.
        collapse = frame.locator("[data-testid=alert-badges][data-run=collapse]")
        expect(collapse.locator("[data-testid=alert-badge]")).to_have_text(
            ["1 weight collapse", "1 unit collapse"]
        )
        drop = frame.locator("[data-testid=alert-badges][data-run=drop]")
        expect(drop.locator("[data-testid=alert-badge]")).to_have_text(["4 metric drop"])
        expect(drop.locator("[data-testid=alert-badge]")).to_have_attribute("data-count", "4")
        # The list: every alert of the route, in its order, with its message.
        items = frame.locator("[data-testid=alert]")
        expect(items).to_have_count(len(answer))
        listed = items.evaluate_all(
            "items => items.map(i => [i.dataset.run, i.dataset.kind, Number(i.dataset.step)])"
        )
        assert listed == [[a["run"], a["kind"], a["step"]] for a in answer]
        for i, a in enumerate(answer):
            expect(items.nth(i).locator(".alert-message")).to_have_text(a["message"])

        # A unit collapse leads to the Masks view of that weight at that step.
        items.nth(1).locator("[data-testid=alert-link]").click()
        expect(frame.locator("main[data-testid=view-masks]")).to_be_visible()
        state = _hash_state(frame)
        assert (state["tab"], state["focusRun"], state["focusWeight"], state["step"]) == (
            ["masks"],
            ["collapse"],
            ["hidden/kernel"],
            ["2"],
        )
        steps = _route(served, "mask_steps", [("run", "collapse"), ("weight", "hidden/kernel")])
        shown = "step 2 (%d of %d)" % (steps["steps"].index(2) + 1, len(steps["steps"]))
        expect(frame.locator("[data-testid=mask-step-label]")).to_have_text(shown)

        # A metric drop leads to the accuracy view with that metric chosen.
        browser.open_view(frame, expect, "overview")
        val_loss = [i for i, a in enumerate(answer) if a["metric"] == "epoch/val_loss"][0]
        items.nth(val_loss).locator("[data-testid=alert-link]").click()
        expect(frame.locator("main[data-testid=view-accuracy]")).to_be_visible()
        expect(frame.locator("[data-testid=metric-select]")).to_have_value("epoch/val_loss")
        state = _hash_state(frame)
        assert (state["focusRun"], state["step"], state["metric"]) == (
            ["drop"],
            ["32"],
            ["epoch/val_loss"],
        )

        # Behind target: the Schedules view, the step marked on that weight's chart.
        browser.open_view(frame, expect, "overview")
        items.nth(0).locator("[data-testid=alert-link]").click()
        expect(frame.locator("main[data-testid=view-schedules]")).to_be_visible()
        chart = frame.locator("figure[data-testid=chart-schedule][data-weight='fc/kernel']")
        expect(chart).to_have_attribute("data-mark-x", "2")
        assert _hash_state(frame)["focusRun"] == ["behind"]

        # Non-finite weights: the Weight statistics of that weight, the step marked.
        browser.open_view(frame, expect, "overview")
        items.nth(len(answer) - 1).locator("[data-testid=alert-link]").click()
        expect(frame.locator("main[data-testid=view-statistics]")).to_be_visible()
        expect(frame.locator("[data-testid=stat-weight]")).to_have_value("fc/kernel")
        charts = frame.locator("figure[data-testid=chart-statistic][data-mark-x='4']")
        expect(charts).to_have_count(3)
        assert errors.messages == []
