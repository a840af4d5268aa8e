"""Figure 4: the Pruning tab in headless Chromium against a running TensorBoard.

Times are taken inside the browser: a script added to every page and frame records, with
`performance.timeOrigin + performance.now()`, when the overview table appears and when each
chart container gets its `data-series-count` attribute (the frontend sets it once the chart is
drawn, frontend/src/ui/chart.ts). Scenarios, each in a fresh browser context (empty cache):

- `open_tensorboard_at_pruning`: TensorBoard's page at `/#pruning` (TensorBoard's own app, the
  plugin's iframe, /runs, /overview) until the overview table is drawn;
- `click_schedules`: then a click on the plugin's Schedules tab until the global sparsity chart,
  the first weight's schedule chart and every weight chart on the page are drawn;
- `open_schedules_directly`: the plugin's frame document opened at `#tab=schedules` (as after a
  reload of the tab) until the same charts are drawn.

Scrubbing (Masks view, diff on, as it opens): the "next" button pressed 99 times, each press
waiting for the mask to be drawn (canvas `data-state=ready` at that step, then one animation
frame); and a drag of the slider over all 100 steps at one input event per frame.
"""

import statistics
import time

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
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
    slider.value = String(i);
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


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _plugin_frame(page, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "plugin_entry.html" in frame.url and "name=pruning" in frame.url:
                return frame
        page.wait_for_timeout(20)
    raise RuntimeError("the pruning plugin's iframe did not appear")


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


def _chart_times(marks, start):
    weights = sorted(v for k, v in marks["charts"].items() if k.startswith("chart-schedule|"))
    global_chart = marks["charts"].get("chart-global-sparsity|")
    return {
        "global_sparsity_chart_ms": global_chart - start if global_chart else None,
        "first_schedule_chart_ms": weights[0] - start if weights else None,
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
        frame = _plugin_frame(page, timeout_ms / 1000)
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
        result.update(_chart_times(_marks(frame), click))
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
        result = _chart_times(_marks(page.main_frame), start)
        result["network"] = page.evaluate(RESOURCES)
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
            " s.value = '0'; s.dispatchEvent(new Event('input', {bubbles: true})); }"
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
        browser = _browser(playwright)
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
        "scrub": scrub,
    }
