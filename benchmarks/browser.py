"""Figure 4: the Pruning tab in headless Chromium against a running TensorBoard.

Times are taken inside the browser: a script added to every page and frame records, with
`performance.timeOrigin + performance.now()`, when the overview table appears and when each
chart container gets its `data-series-count` attribute (the frontend sets it once the chart is
drawn, frontend/src/ui/chart.ts). Scenarios, each in a fresh browser context (empty cache):

- `open_tensorboard_at_pruning`: TensorBoard's page at `/#pruning` (TensorBoard's own app, the
  plugin's iframe, /runs, /overview) until the overview table is drawn;
- `click_schedules`: then a click on the plugin's Schedules tab until the global sparsity chart,
  the first weight's schedule chart, the weight charts of the first screen (those in the frame's
  viewport before any scrolling) and every weight chart on the page are drawn;
- `open_schedules_directly`: the plugin's frame document opened at `#tab=schedules` (as after a
  reload of the tab) until the same charts are drawn.

Scrubbing (Masks view, diff on, as it opens): the "next" button pressed 99 times, each press
waiting for the mask to be drawn (canvas `data-state=ready` at that step, then one animation
frame); and a drag of the slider over all 100 steps at one input event per frame.

`benchmarks/dashboard.py` calls `measure`. As a program, this measures the frontend alone:

    python benchmarks/browser.py [--logdir DIR] [--out FILE] [--quick] [--trials N]

generates dashboard.py's log directory under DIR (kept for the next time), serves it with
dashboard.py's flags and prints the same JSON as the `frontend` entry of dashboard.py's output.
"""

import argparse
import json
import os
import statistics
import sys
import time

import checkout  # noqa: F401  (first: this checkout's tb_prune_plugin)

from benchmarks.fixtures import browser as shared

FRAME_PATH = "/data/plugin_entry.html?name=pruning"
TIMEOUT_MS = 120_000

MARKS_SCRIPT = """
(() => {
  performance.setResourceTimingBufferSize(100000);
  const marks = { origin: performance.timeOrigin, overview: null, charts: {} };
  window.__pruneMarks = marks;
  const now = () => performance.timeOrigin + performance.now();
  const check = () => {
    if (marks.overview === null && document.querySelector('[data-testid="overview-table"]'))
      marks.overview = now();
    for (const box of document.querySelectorAll("[data-series-count]")) {
      const id = box.getAttribute("data-testid") + "|" + (box.getAttribute("data-weight") || "");
      if (!(id in marks.charts)) marks.charts[id] = now();
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-series-count"],
  });
})();
"""

STEP_THROUGH = """
async ([steps]) => {
  const canvas = document.querySelector('[data-testid="mask-canvas"]');
  const next = document.querySelector('[data-testid="mask-next"]');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const drawn = (step) => new Promise((resolve, reject) => {
    const ok = () => canvas.getAttribute("data-state") === "ready" &&
      canvas.getAttribute("data-step") === String(step);
    if (ok()) return resolve();
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error("mask step " + step + " not drawn within 60 s"));
    }, 60000);
    const observer = new MutationObserver(() => {
      if (ok()) { observer.disconnect(); clearTimeout(timer); resolve(); }
    });
    observer.observe(canvas, { attributes: true });
  });
  const times = [];
  for (let i = 1; i < steps.length; i++) {
    const start = performance.now();
    next.click();
    await drawn(steps[i]);
    await frame();
    times.push(performance.now() - start);
  }
  return times;
}
"""

DRAG = """
async ([steps]) => {
  const canvas = document.querySelector('[data-testid="mask-canvas"]');
  const slider = document.querySelector('[data-testid="mask-step-slider"]');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const seen = new Set();
  const observer = new MutationObserver(() => {
    if (canvas.getAttribute("data-state") === "ready") seen.add(canvas.getAttribute("data-step"));
  });
  observer.observe(canvas, { attributes: true });
  const last = String(steps[steps.length - 1]);
  const start = performance.now();
  for (let i = 1; i < steps.length; i++) {
    slider.value = String(steps[i]);  // the slider's values are the recorded steps
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    await frame();
  }
  const inputsDone = performance.now();
  const done = () =>
    canvas.getAttribute("data-state") === "ready" && canvas.getAttribute("data-step") === last;
  while (!done()) {
    if (performance.now() - inputsDone > 60000) throw new Error("last mask step not drawn in 60 s");
    await frame();
  }
  await frame();
  observer.disconnect();
  const end = performance.now();
  return { total_ms: end - start, after_last_input_ms: end - inputsDone, steps_drawn: seen.size };
}
"""


def _marks(frame):
    return frame.evaluate("() => window.__pruneMarks")


def _wait_charts(frame, count, timeout_ms=TIMEOUT_MS):
    frame.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=\"chart-schedule\"][data-series-count]')"
        ".length >= n && document.querySelector("
        "'[data-testid=\"chart-global-sparsity\"][data-series-count]')",
        arg=count,
        timeout=timeout_ms,
    )


RESOURCES = """
() => {
  const data = performance.getEntriesByType("resource").filter((e) => e.name.includes("/data/"));
  const sum = (key) => data.reduce((total, e) => total + (e[key] || 0), 0);
  return {
    requests: data.length,
    transferred_bytes: sum("transferSize"),
    json_bytes: sum("decodedBodySize"),
    by_route: data.reduce((acc, e) => {
      const route = new URL(e.name).pathname.split("/").pop();
      acc[route] = (acc[route] || 0) + 1;
      return acc;
    }, {}),
  };
}
"""


# When the first schedule chart's inputs arrived, in ms from the page's time origin (the
# navigation's start): the page, the bundle, /runs and the chart's own request.
TIMELINE = """
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource");
  const first = (name) => res
    .filter((e) => new URL(e.name).pathname.endsWith(name))
    .sort((a, b) => a.startTime - b.startTime)[0];
  const span = (e) => (e ? { start: e.startTime, end: e.responseEnd } : null);
  return {
    page: nav ? { start: 0, end: nav.responseEnd } : null,
    dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
    bundle: span(first("/index.js")),
    runs: span(first("/runs")),
    first_weight_series_multi: span(first("/weight_series_multi")),
    model_series_multi: span(first("/model_series_multi")),
  };
}
"""


ON_SCREEN = """
() => [...document.querySelectorAll('[data-testid="chart-schedule"]')]
  .filter((box) => {
    const r = box.getBoundingClientRect();
    return r.top < innerHeight && r.bottom > 0 && r.left < innerWidth && r.right > 0;
  })
  .map((box) => box.getAttribute("data-weight"))
"""


def _chart_times(marks, start, on_screen):
    """Times from `start` to the charts drawn; `on_screen`: the weights whose charts are in
    the first screen (the frame's viewport, not scrolled)."""
    charts = marks["charts"]
    weights = sorted(v for k, v in charts.items() if k.startswith("chart-schedule|"))
    first_screen = [charts.get("chart-schedule|" + w) for w in on_screen]
    global_chart = charts.get("chart-global-sparsity|")
    return {
        "global_sparsity_chart_ms": global_chart - start if global_chart else None,
        "first_schedule_chart_ms": weights[0] - start if weights else None,
        "first_screen_schedule_charts_ms": (
            max(first_screen) - start if first_screen and None not in first_screen else None
        ),
        "first_screen_schedule_charts": len(first_screen),
        "all_schedule_charts_ms": weights[-1] - start if weights else None,
        "schedule_charts": len(weights),
    }


def open_and_schedules(browser, base_url, charts, timeout_ms):
    """One trial of `open_tensorboard_at_pruning` followed by `click_schedules`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(MARKS_SCRIPT)
    try:
        page = context.new_page()
        page.goto(base_url + "/#pruning", wait_until="commit", timeout=timeout_ms)
        start = page.evaluate("() => performance.timeOrigin")
        frame = shared.plugin_frame(page, timeout_ms / 1000, poll_ms=20)
        frame.wait_for_selector('[data-testid="overview-table"]', timeout=timeout_ms)
        marks = _marks(frame)
        result = {
            "plugin_iframe_created_ms": marks["origin"] - start,
            "overview_drawn_ms": marks["overview"] - start,
        }
        click = frame.evaluate(
            "() => { const t = performance.timeOrigin + performance.now();"
            " document.querySelector('[data-testid=\"tab-schedules\"]').click(); return t; }"
        )
        _wait_charts(frame, charts, timeout_ms)
        result.update(_chart_times(_marks(frame), click, frame.evaluate(ON_SCREEN)))
        return result
    finally:
        context.close()


def open_schedules_directly(browser, base_url, charts):
    """One trial of `open_schedules_directly`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(MARKS_SCRIPT)
    try:
        page = context.new_page()
        page.goto(base_url + FRAME_PATH + "#tab=schedules", wait_until="commit")
        start = page.evaluate("() => performance.timeOrigin")
        _wait_charts(page.main_frame, charts)
        result = _chart_times(_marks(page.main_frame), start, page.evaluate(ON_SCREEN))
        result["network"] = page.evaluate(RESOURCES)
        result["timeline"] = page.evaluate(TIMELINE)
        return result
    finally:
        context.close()


def scrub_masks(browser, base_url, run, weight, steps):
    """Steps through and drags over the recorded masks of `weight` in `run`."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        url = "%s%s#tab=masks&focusRun=%s&focusWeight=%s&step=%d" % (
            base_url,
            FRAME_PATH,
            run,
            weight,
            steps[0],
        )
        page.goto(url)
        page.wait_for_selector(
            '[data-testid="mask-canvas"][data-state="ready"][data-step="%d"]' % steps[0],
            timeout=TIMEOUT_MS,
        )
        through = page.evaluate(STEP_THROUGH, [steps])
        page.evaluate(
            "() => { const s = document.querySelector('[data-testid=\"mask-step-slider\"]');"
            " s.value = s.min; s.dispatchEvent(new Event('input', {bubbles: true})); }"
        )
        page.wait_for_selector(
            '[data-testid="mask-canvas"][data-state="ready"][data-step="%d"]' % steps[0],
            timeout=TIMEOUT_MS,
        )
        drag = page.evaluate(DRAG, [steps])
        canvas = page.query_selector('[data-testid="mask-canvas"]')
        grid = {a: canvas.get_attribute("data-" + a) for a in ("rows", "cols", "cell-size")}
        return {
            "steps": len(steps),
            "step_through_ms": {
                "median": statistics.median(through),
                "p90": sorted(through)[int(0.9 * (len(through) - 1))],
                "max": max(through),
                "total": sum(through),
            },
            "drag": drag,
            "canvas": grid,
        }
    finally:
        context.close()


def _median_of(trials, key):
    values = [t[key] for t in trials if t.get(key) is not None]
    return statistics.median(values) if values else None


def measure(base_url, charts, mask_run, mask_weight, mask_steps, trials=3, open_timeout_s=600):
    """All frontend figures against the TensorBoard at `base_url`.

    `open_schedules_directly` is repeated `trials` times (median reported); opening TensorBoard
    at the Pruning tab waits for the overview of every run, so it runs once.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = shared.launch_chromium(playwright)
        try:
            direct = [open_schedules_directly(browser, base_url, charts) for _ in range(trials)]
            try:
                opened = open_and_schedules(browser, base_url, charts, open_timeout_s * 1000)
            except Exception as e:  # noqa: BLE001 - a timeout is a result here
                opened = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0])}
            scrub = scrub_masks(browser, base_url, mask_run, mask_weight, mask_steps)
            version = browser.version
        finally:
            browser.close()
    keys = (
        "global_sparsity_chart_ms",
        "first_schedule_chart_ms",
        "first_screen_schedule_charts_ms",
        "first_screen_schedule_charts",
        "all_schedule_charts_ms",
        "schedule_charts",
    )
    return {
        "chromium": version,
        "trials": trials,
        "open_tensorboard_at_pruning_then_click_schedules": opened,
        "open_schedules_directly": {k: _median_of(direct, k) for k in keys},
        "open_schedules_directly_trials": direct,
        "open_schedules_directly_network": direct[0].get("network") if direct else None,
        "open_schedules_directly_timeline": direct[0].get("timeline") if direct else None,
        "scrub": scrub,
    }


def main(argv=None):
    """Generates (or reuses) the benchmark's log directory, serves it, and measures the tab."""
    import dashboard_setup
    import logdir_gen
    import tb_server

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--logdir",
        default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "tb_prune_browser_bench"),
        help="where the generated runs are (written there first if missing)",
    )
    parser.add_argument("--out", help="write the JSON here as well as to stdout")
    parser.add_argument("--quick", action="store_true", help="dashboard.py's quick sizes")
    parser.add_argument("--trials", type=int, help="trials of opening Schedules directly")
    args = parser.parse_args(argv)
    config = dashboard_setup.QUICK if args.quick else dashboard_setup.FULL
    shape = (config["runs"], config["weights"], config["steps"], config["mask_every"])
    grid = os.path.join(args.logdir, "grid_%dx%dx%dx%d" % shape)
    runs = ["run_%02d" % i for i in range(config["runs"])]
    if not all(os.path.isdir(os.path.join(grid, r)) for r in runs):
        start = time.monotonic()
        runs = logdir_gen.write_grid(grid, *shape)
        print("browser: wrote %s in %.0f s" % (grid, time.monotonic() - start), file=sys.stderr)
    weights = logdir_gen.weight_names(config["weights"])
    with tb_server.TensorBoardProcess(grid, flags=dashboard_setup.FLAGS) as tb:
        print("browser: TensorBoard at %s" % tb.url, file=sys.stderr, flush=True)
        last_tag = "pruning/%s/sparsity" % weights[-1]
        dashboard_setup.wait_loaded(tb.url, runs, last_tag, config["steps"], config["load_timeout"])
        query = dashboard_setup.query(run=runs[0], weight=weights[1])
        recorded = shared.fetch_json(tb.url + shared.PLUGIN_PREFIX + "/mask_steps" + query)["steps"]
        results = measure(
            tb.url,
            charts=min(len(weights), 24),
            mask_run=runs[0],
            mask_weight=weights[1],
            mask_steps=recorded[:100],
            trials=args.trials or config["browser_trials"],
            open_timeout_s=config["overview_all_runs_timeout"],
        )
    text = json.dumps(results, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
