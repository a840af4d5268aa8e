"""`tb-prune report`: one self-contained HTML file with the dashboard and its data.

The file holds the dashboard's own built frontend (`tb_prune_plugin/static/index.js` and
`index.css`, inlined) and the answers of the plugin's own routes, computed here by calling
the plugin's WSGI apps over the log directory, as TensorBoard would serve them. A small
script answers the frontend's `fetch` of a relative route from those answers, so the page
opens from `file://` with no server and no network. The frontend is not changed.

What the report holds: `/runs`, `/overview`, `/alerts`, `/overview.csv` (per run, for the Overview's
download link), `/config`, `/metrics`, `/model_series_multi`, `/sensitivity` (every scan),
`/weight_series_multi` (every field, filtered per request), `/histograms`, `/mask_steps`,
`/mask_convergence` and `/mask_overlap` (all runs, filtered per request: a run's convergence and
a pair's overlap do not depend on the other runs asked) for every run and weight, and `/mask`
(with the diff) for at most `max_mask_weights` weights and `max_mask_steps` recorded mask steps
per weight (the first, the last and evenly between), taking every run's first weight (in path
order), then every run's second, ...
`/mask_steps` then lists only the steps held; what was left out is said in
the notices the dashboard shows above every view, and on stderr. Zooming into a mask needs
the live dashboard (a region the report does not hold is answered with an error), and so does
comparing a mask with another run's.
"""

import json
import math
import os
import urllib.parse

from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from werkzeug import test as werkzeug_test

from tb_prune_plugin import metadata, plugin
from tb_prune_plugin.cli.logdir import UsageError, no_pruning_runs, progress

DEFAULT_MAX_MASK_WEIGHTS = 10
DEFAULT_MAX_MASK_STEPS = 5
# The runs one /weight_series_multi or /model_series_multi request may name (http_api.md).
_RUNS_PER_REQUEST = 100
STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")


class _Routes:
    """The plugin's routes over `logdir`, called in-process as TensorBoard would call them."""

    def __init__(self, logdir):
        multiplexer = plugin_event_multiplexer.EventMultiplexer(
            tensor_size_guidance={metadata.PLUGIN_NAME: 0}
        )
        multiplexer.AddRunsFromDirectory(logdir)
        multiplexer.Reload()
        provider = mux_data_provider.MultiplexerDataProvider(multiplexer, logdir)
        self._apps = plugin.PruningPlugin(
            base_plugin.TBContext(data_provider=provider, logdir=logdir)
        ).get_plugin_apps()

    def get(self, route, **params):
        """`(status, body)` of GET /route with `params` (lists repeat a parameter)."""
        query = urllib.parse.urlencode(params, doseq=True)
        response = werkzeug_test.Client(self._apps["/" + route]).get(
            "/" + route, query_string=query
        )
        return response.status_code, json.loads(response.get_data(as_text=True))

    def csv_lines(self, route, **params):
        """The lines of a `text/csv` route's answer."""
        response = werkzeug_test.Client(self._apps["/" + route]).get(
            "/" + route, query_string=urllib.parse.urlencode(params, doseq=True)
        )
        if response.status_code != 200:
            raise RuntimeError("/%s answered %d" % (route, response.status_code))
        return response.get_data(as_text=True).splitlines()

    def ok(self, route, **params):
        status, body = self.get(route, **params)
        if status != 200:
            raise RuntimeError("/%s answered %d: %s" % (route, status, body.get("error")))
        return body


def _max_cells_for(shape, budget=262144, max_side=2048):
    """The max_cells the Masks view asks for a whole mask of `shape` (frontend's maxCellsFor)."""
    if len(shape) == 0:
        rows, cols = 1, 1
    elif len(shape) == 1:
        rows, cols = 1, shape[0]
    else:
        rows, cols = shape[-1], 1
        for d in shape[:-1]:
            cols *= d
    total = rows * cols
    if total <= budget and rows <= max_side and cols <= max_side:
        return budget
    side = max(-(-rows // max_side), -(-cols // max_side), math.ceil(math.sqrt(total / budget)))
    return max(1, min(budget, total // (side * side)))


def _spread(steps, count):
    """At most `count` of `steps`: the first, the last and evenly between."""
    if len(steps) <= count:
        return list(steps)
    if count == 1:
        return [steps[-1]]
    picks = sorted({round(i * (len(steps) - 1) / (count - 1)) for i in range(count)})
    return [steps[i] for i in picks]


def _key(*parts):
    """A key of the embedded answers, as the page's `JSON.stringify([...parts])` writes it."""
    return json.dumps(list(parts), separators=(",", ":"), ensure_ascii=False)


def _chunks(items, size):
    return [items[i : i + size] for i in range(0, len(items), size)]


def collect(
    logdir, max_mask_weights=DEFAULT_MAX_MASK_WEIGHTS, max_mask_steps=DEFAULT_MAX_MASK_STEPS
):
    """The answers the report embeds, as one JSON-able dict (see the module docstring), and
    the notes on what was left out."""
    progress("reading %s ..." % logdir)
    routes = _Routes(logdir)
    runs_body = routes.ok("runs")
    runs = [r["run"] for r in runs_body["runs"]]
    if not runs:
        raise no_pruning_runs(logdir)
    data = {"runs": runs_body, "overview": routes.ok("overview"), "config": {}, "metrics": {}}
    data["alerts"] = routes.ok("alerts")
    data["overview_csv"] = {"header": routes.csv_lines("overview.csv")[0], "lines": {}}
    for run in runs:
        data["overview_csv"]["lines"][run] = routes.csv_lines("overview.csv", run=run)[1:]
        data["config"][run] = routes.get("config", run=run)
        data["metrics"][run] = routes.ok("metrics", run=run)
    data["sensitivity"] = routes.ok("sensitivity")
    data["model_series_multi"] = {"series": [], "missing": []}
    for chunk in _chunks(runs, _RUNS_PER_REQUEST):
        data["model_series_multi"]["series"] += routes.ok("model_series_multi", run=chunk)["series"]
    for name in ("weight_series_multi", "histograms", "mask_steps", "mask", "mask_convergence"):
        data[name] = {}
    weights = sorted({w for r in runs_body["runs"] for w in r["weights"]})
    # Masks of every run's first weight, then of every run's second, ... (in path order).
    pairs = [(i, r["run"], w) for r in runs_body["runs"] for i, w in enumerate(r["weights"])]
    budget = {"pairs": {(run, w) for _, run, w in sorted(pairs)[:max_mask_weights]}}
    budget["steps"] = max_mask_steps
    left_out = {"weights": [], "steps": 0}
    for i, weight in enumerate(weights):
        progress("reading weight %d of %d: %s" % (i + 1, len(weights), weight))
        weight_runs = [r["run"] for r in runs_body["runs"] if weight in r["weights"]]
        data["weight_series_multi"][weight] = []
        data["mask_convergence"][weight] = []
        for chunk in _chunks(weight_runs, _RUNS_PER_REQUEST):
            body = routes.ok("weight_series_multi", weight=weight, run=chunk)
            data["weight_series_multi"][weight] += body["series"]
            body = routes.ok("mask_convergence", weight=weight, run=chunk)
            data["mask_convergence"][weight] += body["series"]
        if len(weight_runs) > 1:
            data.setdefault("mask_overlap", {})[weight] = routes.ok(
                "mask_overlap", weight=weight, run=weight_runs[:_RUNS_PER_REQUEST]
            )
        for run in weight_runs:
            _collect_weight(routes, data, run, weight, budget, left_out)
    notes = _notes(max_mask_weights, max_mask_steps, sorted(left_out["weights"]), left_out["steps"])
    runs_body["notices"] = runs_body["notices"] + notes
    return data, notes


def _collect_weight(routes, data, run, weight, budget, left_out):
    """Histograms, mask steps and (within `budget`) masks of one run's weight into `data`."""
    key = _key(run, weight)
    data["histograms"][key] = routes.ok("histograms", run=run, weight=weight)
    steps_body = routes.ok("mask_steps", run=run, weight=weight)
    steps, shapes = steps_body["steps"], steps_body["shapes"]
    kept = []
    if steps and (run, weight) in budget["pairs"]:
        kept = _spread(steps, budget["steps"])
        left_out["steps"] += len(steps) - len(kept)
        for step in kept:
            shape = shapes[steps.index(step)]
            data["mask"][_key(run, weight, step)] = routes.ok(
                "mask", run=run, weight=weight, step=step, diff=1, max_cells=_max_cells_for(shape)
            )
    elif steps:
        left_out["weights"].append("%s: %s" % (run, weight))
    steps_body["shapes"] = [shapes[steps.index(s)] for s in kept]
    steps_body["steps"] = kept
    data["mask_steps"][key] = steps_body


def _notes(max_weights, max_steps, left_out_weights, left_out_steps):
    notes = []
    if left_out_weights:
        shown = ", ".join(left_out_weights[:5]) + (", ..." if len(left_out_weights) > 5 else "")
        notes.append(
            "This report holds the masks of at most %d weights (--max-mask-weights %d); the masks "
            "of %d more are left out (%s)."
            % (max_weights, max_weights, len(left_out_weights), shown)
        )
    if left_out_steps:
        notes.append(
            "This report holds at most %d mask steps per weight (--max-mask-steps %d); %d "
            "recorded mask steps are left out." % (max_steps, max_steps, left_out_steps)
        )
    return notes


_SHIM = r"""
(function () {
  const DATA = JSON.parse(document.getElementById("tb-prune-report-data").textContent);
  const CSS = document.getElementById("tb-prune-report-css").textContent;
  const cssUrl = "data:text/css;base64," + btoa(unescape(encodeURIComponent(CSS)));
  // The bundle links its stylesheet next to itself: point that link at the inlined one.
  const append = Node.prototype.appendChild;
  Node.prototype.appendChild = function (node) {
    if (node instanceof HTMLLinkElement && /\/index\.css$/.test(node.href)) node.href = cssUrl;
    return append.call(this, node);
  };
  const notHeld = (what) => [404, { error: "Not found: " + what + " is not held in this report" }];
  const held = (body, what) => (body ? [200, body] : notHeld(what));
  function pick(series, runs, fields) {
    const byRun = new Map(series.map((s) => [s.run, s]));
    const out = { series: [], missing: [] };
    for (const run of [...new Set(runs)]) {
      const s = byRun.get(run);
      if (!s) { out.missing.push(run); continue; }
      if (!fields.length) { out.series.push(s); continue; }
      const picked = {};
      for (const f of fields) picked[f] = s.fields[f];
      out.series.push(Object.assign({}, s, { fields: picked }));
    }
    return out;
  }
  // /mask_overlap for `runs` from the answer for every run: each group's rows, columns and
  // pairs of the runs asked (a pair's overlap depends on its two runs only).
  function overlapOf(full, weight, runs) {
    const out = { weight: weight, over_steps: full ? full.over_steps : "", groups: [] };
    const found = new Set();
    for (const g of full ? full.groups : []) {
      const idx = g.runs.map((r, i) => [r, i]).filter(([r]) => runs.includes(r)).map(([, i]) => i);
      if (!idx.length) continue;
      const names = idx.map((i) => g.runs[i]);
      names.forEach((r) => found.add(r));
      const sub = (m) => idx.map((i) => idx.map((j) => m[i][j]));
      out.groups.push(Object.assign({}, g, {
        runs: names, last_steps: idx.map((i) => g.last_steps[i]), kept: idx.map((i) => g.kept[i]),
        intersection: sub(g.intersection), union: sub(g.union), iou: sub(g.iou),
        pairs: g.pairs.filter((p) => names.includes(p.runs[0]) && names.includes(p.runs[1])),
      }));
    }
    out.missing = [...new Set(runs)].filter((r) => !found.has(r));
    return out;
  }
  function answer(route, q) {
    const run = q.get("run"), weight = q.get("weight"), runs = q.getAll("run");
    const fields = (q.get("fields") || "").split(",").filter((f) => f);
    const key = JSON.stringify([run, weight]);
    switch (route) {
      case "runs": return [200, DATA.runs];
      case "overview": {
        if (!runs.length) return [200, DATA.overview];
        const keep = (r) => runs.includes(r.run);
        const o = DATA.overview;
        return [200, { rows: o.rows.filter(keep), runs: o.runs.filter(keep) }];
      }
      case "alerts": {
        const all = DATA.alerts.alerts;
        return [200, { alerts: runs.length ? all.filter((a) => runs.includes(a.run)) : all }];
      }
      case "config": return DATA.config[run] || notHeld("run '" + run + "'");
      case "metrics": return held(DATA.metrics[run], "run '" + run + "'");
      case "model_series_multi": return [200, pick(DATA.model_series_multi.series, runs, fields)];
      case "sensitivity": return [200, DATA.sensitivity];
      case "weight_series_multi":
        const series = DATA.weight_series_multi[weight] || [];
        return [200, Object.assign({ weight: weight }, pick(series, runs, fields))];
      case "mask_convergence": {
        const picked = pick(DATA.mask_convergence[weight] || [], runs, []);
        return [200, Object.assign({ weight: weight, limit: 0.01 }, picked)];
      }
      case "mask_overlap": return [200, overlapOf((DATA.mask_overlap || {})[weight], weight, runs)];
      case "histograms": return held(DATA.histograms[key], "weight '" + weight + "'");
      case "mask_steps": return held(DATA.mask_steps[key], "weight '" + weight + "'");
      case "mask": {
        if (q.has("row0") || q.has("rows")) return notHeld("a zoomed region (zoom in TensorBoard)");
        if (q.get("compare_run")) return notHeld("a comparison of runs (compare in TensorBoard)");
        const step = q.get("step");
        const body = DATA.mask[JSON.stringify([run, weight, Number(step)])];
        if (!body) return notHeld("the mask of '" + weight + "' in '" + run + "' at step " + step);
        if (q.get("diff") === "1" || q.get("diff") === "true") return [200, body];
        const plain = Object.assign({}, body);
        for (const k of ["newly_pruned", "regrown", "previous_step", "shape_changed"]) {
          delete plain[k];
        }
        return [200, plain];
      }
    }
    return notHeld("route '" + route + "'");
  }
  // The Overview's "Download CSV" link: the CSV of the runs it names, from /overview.csv.
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[href*='overview.csv']");
    if (!link) return;
    const named = new URL(link.getAttribute("href"), "http://report.invalid/").searchParams;
    const runs = DATA.runs.runs.map((r) => r.run);
    const wanted = named.getAll("run").length ? named.getAll("run") : runs;
    const lines = [DATA.overview_csv.header];
    for (const run of runs) if (wanted.includes(run)) lines.push(...DATA.overview_csv.lines[run]);
    const blob = new Blob([lines.join("\n") + "\n"], { type: "text/csv" });
    link.setAttribute("href", URL.createObjectURL(blob));
  }, true);
  window.fetch = function (input, init) {
    const signal = init && init.signal;
    if (signal && signal.aborted) return Promise.reject(new DOMException("aborted", "AbortError"));
    const url = new URL(String(input), "http://report.invalid/");
    const [status, body] = answer(url.pathname.replace(/^\//, ""), url.searchParams);
    return Promise.resolve(new Response(JSON.stringify(body), {
      status: status, headers: { "Content-Type": "application/json" },
    }));
  };
})();
"""


def _script_text(text):
    """`text` safe inside a <script> or <style> element (no closing tag can appear)."""
    return text.replace("</", "<\\/")


def build_html(data, bundle, css, title):
    """The report page: inlined data, stylesheet, fetch shim and bundle (which renders)."""
    render = bundle.rstrip().rsplit("export{", 1)
    if len(render) != 2 or " as render}" not in render[1]:
        raise UsageError(
            "the dashboard bundle %s does not end in `export{... as render}`; rebuild it "
            "with `pip install .`" % os.path.join(STATIC_DIR, "index.js")
        )
    name = render[1].split(" as render}")[0].split(",")[-1].strip()
    module = render[0] + "\n%s();\n" % name
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        "<title>%s</title>\n"
        '<script type="application/json" id="tb-prune-report-data">%s</script>\n'
        '<script type="text/plain" id="tb-prune-report-css">%s</script>\n'
        "<script>%s</script>\n"
        '<script type="module">%s</script>\n'
        "</head><body></body></html>\n"
    ) % (
        _html_escape(title),
        _script_text(payload),
        _script_text(css),
        _SHIM,
        _script_text(module),
    )


def _html_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _read_static(name):
    path = os.path.join(STATIC_DIR, name)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise UsageError(
            "the dashboard's built frontend %s cannot be read (%s); install the package "
            "with `pip install .`, which builds it" % (path, e.strerror)
        ) from None


def report(logdir, output, max_mask_weights, max_mask_steps):
    """Writes the report of `logdir` to `output`; returns its size in bytes."""
    bundle, css = _read_static("index.js"), _read_static("index.css")
    data, notes = collect(logdir, max_mask_weights, max_mask_steps)
    for note in notes:
        progress(note)
    html = build_html(data, bundle, css, "Pruning report: %s" % os.path.abspath(logdir))
    try:
        with open(output, "w", encoding="utf-8") as f:
            f.write(html)
    except OSError as e:
        raise UsageError("cannot write %r: %s" % (output, e.strerror)) from None
    size = os.path.getsize(output)
    progress("wrote %s (%.1f MB, %d masks)" % (output, size / 1e6, len(data["mask"])))
    return size
