"""Makes the README's screenshots of the Pruning tab from the demo runs.

    python -m tb_prune_plugin.callbacks.demo --logdir /tmp/demo_runs --no-serve
    python docs/screenshots/make_screenshots.py --logdir /tmp/demo_runs

Starts `tensorboard --logdir <logdir>` on 127.0.0.1, opens each view in Debian's headless
Chromium (1280x800) and writes overview.png, schedules.png, masks.png, accuracy.png,
distributions.png, stability.png, convergence.png, overlap.png, masks_compare.png, structure.png,
configuration.png, statistics.png and sensitivity.png next to this script (or into --out). Each
view is shown through its URL state and captured once it has drawn; a console error fails the run.
"""

import argparse
import os
import re
import sys
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests import browser  # noqa: E402

DEMO_RUNS = [
    "dense_baseline",
    "manual_keras3_80",
    "tfmot_2of4",
    "tfmot_cnn_60",
    "tfmot_const_70",
    "tfmot_poly_90",
    "scan_dense_baseline",
]
# Three runs for the weight statistics (one chart per statistic, fewer lines to tell apart).
SOME_RUNS = ["manual_keras3_80", "tfmot_const_70", "tfmot_poly_90"]
# The CNN's filters (units pruned), 2:4's N:M compliance, and the MLP pruned furthest.
STRUCTURE_RUNS = ["tfmot_2of4", "tfmot_cnn_60", "tfmot_poly_90"]
# Every kind of schedule: polynomial, constant, 2:4, and manual pruning (none).
CONFIG_RUNS = ["manual_keras3_80", "tfmot_2of4", "tfmot_const_70", "tfmot_poly_90"]
# Two TF-MOT runs of one MLP on other schedules: their masks' convergence and overlap.
PAIR_RUNS = ["tfmot_const_70", "tfmot_poly_90"]
PAIR_STATE = [("tab", "stability"), ("weightFilter", "fc2")] + [("run", r) for r in PAIR_RUNS]

# (file name, URL state of the plugin, (a selector to wait for, an attribute it must have))
SHOTS = [
    ("overview", [], ("[data-testid=overview-row]", None)),
    (
        "schedules",
        [("tab", "schedules"), ("weightFilter", "fc")],
        ("figure[data-testid=chart-schedule][data-weight='fc2/kernel']", "data-series-count"),
    ),
    (
        "masks",
        [
            ("tab", "masks"),
            ("focusRun", "tfmot_poly_90"),
            ("focusWeight", "fc2/kernel"),
            ("step", "40"),
        ],
        ("#mask-canvas[data-state=ready][data-step='40']", None),
    ),
    ("accuracy", [("tab", "accuracy")], ("[data-testid=pareto-row]", None)),
    (
        "distributions",
        [("tab", "distributions"), ("focusRun", "tfmot_poly_90"), ("focusWeight", "fc2/kernel")],
        ("figure[data-testid=chart-histogram]", "data-series-count"),
    ),
    (
        "stability",
        [("tab", "stability"), ("weightFilter", "fc")],
        ("figure[data-testid=chart-stability][data-weight='fc2/kernel']", "data-series-count"),
    ),
    (
        "convergence",
        PAIR_STATE,
        ("figure[data-testid=chart-convergence][data-weight='fc2/kernel']", "data-series-count"),
    ),
    ("overlap", PAIR_STATE, ("figure[data-testid=chart-overlap]", "data-series-count")),
    (
        "masks_compare",
        [
            ("tab", "masks"),
            ("focusRun", "tfmot_poly_90"),
            ("focusWeight", "fc2/kernel"),
            ("step", "40"),
        ]
        + [("run", r) for r in PAIR_RUNS],
        ("#mask-canvas[data-state=ready][data-step='40']", None),
    ),
    (
        "structure",
        [("tab", "structure")] + [("run", r) for r in STRUCTURE_RUNS],
        ("figure[data-testid=chart-structure][data-weight='conv2/kernel']", "data-series-count"),
    ),
    (
        "configuration",
        [("tab", "configuration")] + [("run", r) for r in CONFIG_RUNS],
        ("figure[data-testid=chart-schedule-preview]", "data-series-count"),
    ),
    (
        "statistics",
        [("tab", "statistics"), ("focusWeight", "fc2/kernel")] + [("run", r) for r in SOME_RUNS],
        ("figure[data-testid=chart-statistic][data-stat=std]", "data-series-count"),
    ),
    # The demo's scan of its dense baseline: allocation, snippet, ranking and curves.
    (
        "sensitivity",
        [("tab", "sensitivity")],
        ("figure[data-testid=chart-sensitivity]", "data-series-count"),
    ),
]


def main(argv=None):
    """Writes one PNG per view; returns 0, or raises when a view does not draw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="/tmp/demo_runs", help="the demo's log directory")
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args(argv)
    with browser.TensorBoardProcess(args.logdir) as tensorboard:
        tensorboard.wait_for_runs(DEMO_RUNS)
        with sync_playwright() as playwright:
            chromium = browser.launch_chromium(playwright)
            try:
                page = chromium.new_page(viewport={"width": 1280, "height": 800})
                errors = browser.ConsoleErrors(page)
                page.goto(tensorboard.url + "/#pruning")
                frame = browser.plugin_frame(page)
                for name, state, (selector, attribute) in SHOTS:
                    frame.evaluate(
                        "hash => { location.hash = hash; }", urllib.parse.urlencode(state)
                    )
                    target = frame.locator(selector).first
                    expect(target).to_be_visible(timeout=20_000)
                    if attribute:
                        expect(target).to_have_attribute(
                            attribute, re.compile(".+"), timeout=20_000
                        )
                    # Every chart of the view has drawn: nothing says "Loading" any more.
                    expect(frame.locator("[data-testid=state-loading]")).to_have_count(0)
                    if name == "masks_compare":  # run A against run B, once drawn
                        frame.locator("[data-testid=mask-compare]").select_option(PAIR_RUNS[0])
                        expect(target).to_have_attribute("data-compared", "true")
                    if name in ("convergence", "overlap"):  # below the churn charts
                        target.scroll_into_view_if_needed()
                        if name == "overlap":
                            frame.locator("[data-testid=overlap-heatmap]").first.evaluate(
                                "e => e.scrollIntoView()"
                            )
                    if name == "schedules":  # the readout under the chart, at about step 60
                        box = target.locator(".u-over").bounding_box()
                        page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + 10)
                    path = os.path.join(args.out, name + ".png")
                    page.screenshot(path=path)
                    print(path)
                assert errors.messages == [], errors.messages
            finally:
                chromium.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
