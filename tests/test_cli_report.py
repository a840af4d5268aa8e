"""`tb-prune report`: one HTML file that shows every view from file://, with no server."""

import json
import os
import re

import pytest

from tb_prune_plugin import bodies
from tb_prune_plugin.cli import main
from tb_prune_plugin.cli import report as report_cmd
from tests import browser
from tests import logdir_builder as builder

TABS = (
    "overview",
    "schedules",
    "masks",
    "accuracy",
    "distributions",
    "stability",
    "structure",
    "configuration",
    "statistics",
)
needs_chromium = pytest.mark.skipif(
    not os.path.exists(browser.CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"
)


def _embedded(html):
    match = re.search(
        r'<script type="application/json" id="tb-prune-report-data">(.*?)</script>', html, re.S
    )
    return json.loads(match.group(1))


def _overview_body(logdir):
    """The /overview body of `logdir` as the plugin serves it."""
    return report_cmd._Routes(logdir).ok("overview")


def _open_every_tab(path, check):
    """Opens `path` from file:// in headless chromium, visits every tab and calls
    `check(tab, page)`; returns the console errors and the URLs the page requested."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = browser.launch_chromium(p)
        try:
            page = chromium.new_page(viewport={"width": 1300, "height": 900})
            errors = browser.ConsoleErrors(page)
            requests = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto("file://" + path)
            for tab in TABS:
                page.click("[data-testid=tab-%s]" % tab, timeout=20_000)
                page.wait_for_selector("[data-testid=view-%s]" % tab)
                check(tab, page)
            return errors.messages, requests
        finally:
            chromium.close()


@needs_chromium
def test_report_of_a_tfmot_training_shows_every_view_offline(tfmot_poly_run, tmp_path, capsys):
    out = str(tmp_path / "report.html")
    assert main(["report", tfmot_poly_run.logdir, "-o", out]) == 0
    err = capsys.readouterr().err
    size = os.path.getsize(out)
    assert "wrote %s (%.1f MB, " % (out, size / 1e6) in err
    with open(out, encoding="utf-8") as f:
        data = _embedded(f.read())
    run = tfmot_poly_run.run
    steps = data["mask_steps"][json.dumps([run, "hidden/kernel"], separators=(",", ":"))]["steps"]
    assert 1 <= len(steps) <= report_cmd.DEFAULT_MAX_MASK_STEPS

    def check(tab, page):
        main_view = page.locator("[data-testid=view-%s]" % tab)
        # Each view drew its data: the text of a loaded view, and its charts or mask canvas.
        expected = {
            "overview": "hidden/kernel",
            "schedules": "Global sparsity",
            "masks": "Mask in force at step",
            "accuracy": "against global sparsity",
            "distributions": "|w| of kept weights at step %d" % tfmot_poly_run.final_step,
            "stability": "logits/kernel",
            "structure": "Model non-zeros",
            "configuration": "Schedule preview",
            "statistics": "Mean |w| of the kept weights: hidden/kernel",
        }[tab]
        main_view.get_by_text(expected, exact=False).first.wait_for(timeout=20_000)
        text = main_view.inner_text()
        assert "Could not" not in text and "answered" not in text, (tab, text[:500])
        if tab != "overview":
            assert main_view.locator("svg, canvas").count() > 0, tab
        else:
            with page.expect_download() as download:
                page.click("[data-testid=overview-csv]")
            with open(download.value.path(), encoding="utf-8") as f:
                downloaded.append(f.read())

    downloaded = []
    errors, requests = _open_every_tab(out, check)
    assert errors == []
    assert downloaded == [bodies.overview_csv(_overview_body(tfmot_poly_run.logdir))]
    assert all(url.startswith(("file://", "data:")) for url in requests), requests


def test_report_caps_masks_and_says_what_was_left_out(tmp_path, capsys):
    logdir = tmp_path / "logs"
    builder.write_demo_logdir(str(logdir))
    out = str(tmp_path / "report.html")
    args = ["report", str(logdir), "-o", out, "--max-mask-weights", "2", "--max-mask-steps", "1"]
    assert main(args) == 0
    notes = [
        "This report holds the masks of at most 2 weights (--max-mask-weights 2); the masks of 1 "
        "more are left out (alpha: dense/kernel).",
        "This report holds at most 1 mask steps per weight (--max-mask-steps 1); 1 recorded mask "
        "steps are left out.",
    ]
    assert capsys.readouterr().err.splitlines()[-3:-1] == ["tb-prune: " + n for n in notes]
    with open(out, encoding="utf-8") as f:
        data = _embedded(f.read())
    assert data["runs"]["notices"] == notes
    # Every run's first weight: alpha's dense/bias (one mask step), beta/manual's conv/kernel
    # (steps 0 and 5, of which the last is kept).
    assert sorted(data["mask"]) == ['["alpha","dense/bias",0]', '["beta/manual","conv/kernel",5]']
    assert data["mask_steps"]['["beta/manual","conv/kernel"]']["steps"] == [5]
    assert data["mask_steps"]['["beta/manual","conv/kernel"]']["shapes"] == [[1, 2, 2, 3]]
    assert data["mask_steps"]['["alpha","dense/kernel"]']["steps"] == []
    body = data["mask"]['["beta/manual","conv/kernel",5]']
    assert (body["step"], body["previous_step"], body["kept_total"]) == (5, 0, 8)


def test_report_spreads_mask_steps_first_last_between():
    assert report_cmd._spread([0, 10, 20, 30, 40, 50, 60], 3) == [0, 30, 60]
    assert report_cmd._spread([0, 10], 5) == [0, 10]
    assert report_cmd._spread([0, 10, 20], 1) == [20]


def test_report_of_logdir_without_pruning_runs_exits_2(tmp_path, capsys):
    with builder.RunWriter(tmp_path / "plain") as w:
        from tb_prune_plugin import summary

        w.add(0, [summary.scalar("loss", 1.0)])
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "r.html")]) == 2
    assert "holds event files but no pruning runs" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()
