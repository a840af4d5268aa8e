"""TensorBoard over a ResNet-50-size run of 100,000 steps (issue 10, item 5).

    python benchmarks/scale_run.py --out scale.json [--md scale.md] [--steps 100000]
        [--logdir DIR] [--rounds 10] [--browser-trials 5] [--python-loader]
    python benchmarks/scale_run.py --quick --out scale.json   # tiny: a smoke test

`benchmarks/run.py` runs it as its `scale` stage (at these defaults; with --quick: 300 steps
of the 4 smallest kernels, 2 rounds, 2 browser trials).

1. Writes `scale_logdir.py`'s log directory (54 kernels, 23.5M weights, what the default
   `PruningMonitor()` records over `--steps` steps) into a temporary directory (or reuses
   `--logdir` if it holds the run), and says its size and how long it took.
2. Starts a real `tensorboard --logdir` (default flags: the Rust data server when installed,
   which is what `--load_fast=auto` picks) on 127.0.0.1 and waits until the last record is
   served; reads the resident memory of TensorBoard and its data server from /proc.
3. Times every route of `plugin.ROUTES` (parameters for the largest kernel and the run)
   against TensorBoard's own `/data/plugin/scalars/scalars` of that kernel's sparsity tag:
   the first request of each route (in `ROUTES` order, each right after a scalars request;
   so /mask's first request finds the headers /mask_steps read, as in the view), then `--rounds`
   interleaved rounds (order reversed every other round); ratios are per round.
4. In a second TensorBoard process over the same directory (so that nothing is cached),
   opens the plugin's frame at the Masks view of the largest kernel in headless Chromium
   and times, in the page, from navigation start until the mask canvas is drawn
   (`data-state=ready`); the first trial meets a cold server, the others a warm one.
5. With `--python-loader`, the same directory in TensorBoard's Python loader
   (`--load_fast=false`): load time, memory, the first /mask_steps and /mask.
6. For each route that misses 1.5x /scalars, profiles it in-process (cProfile, TensorBoard's
   WSGI app over the same directory with the Rust data server) and keeps the top calls.

Writes the JSON to `--out` and a Markdown section (`render`) to `--md`.
"""

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import checkout  # noqa: F401  (before tb_prune_plugin: this checkout's package)
import dashboard
import machine
import scale_logdir
import tb_server
from scale_report import TARGET_RATIO, render

from tb_prune_plugin import plugin

PREFIX = "/data/plugin/pruning"
SCALARS = "/data/plugin/scalars/scalars"
FRAME_PATH = "/data/plugin_entry.html?name=pruning"
# Defaults of --steps, --kernels, --rounds and --browser-trials; --quick's tiny sizes.
FULL = {"steps": 100_000, "kernels": None, "rounds": 10, "browser_trials": 5}
QUICK = {"steps": 300, "kernels": 4, "rounds": 2, "browser_trials": 2}


def masks_view_max_cells(shape, budget=262144, max_side=2048):
    """The `max_cells` the Masks view asks for a whole mask of `shape`
    (frontend/src/transforms/region.ts, `layoutSize` and `maxCellsFor`)."""
    rows, cols = shape[-1], math.prod(shape[:-1])
    total = rows * cols
    if total <= budget and rows <= max_side and cols <= max_side:
        return budget
    side = max(
        math.ceil(rows / max_side), math.ceil(cols / max_side), math.ceil(math.sqrt(total / budget))
    )
    return max(1, min(budget, total // (side * side)))


def route_queries(run, weight, shape, mask_step):
    """{route path: query string} for every route of `plugin.ROUTES`."""
    q = lambda **p: "?" + urllib.parse.urlencode(p)  # noqa: E731
    queries = {
        "/runs": "",
        "/config": q(run=run),
        "/overview": q(run=run),
        "/overview.csv": q(run=run),
        "/weight_series": q(run=run, weight=weight),
        "/model_series": q(run=run),
        "/weight_series_multi": q(weight=weight, run=run),
        "/model_series_multi": q(run=run),
        "/metrics": q(run=run),
        "/histograms": q(run=run, weight=weight),
        "/mask_steps": q(run=run, weight=weight),
        "/alerts": q(run=run),
        "/mask_convergence": q(weight=weight, run=run),
        "/mask_overlap": q(weight=weight, run=run),
        "/sensitivity": "",
        "/mask": q(
            run=run, weight=weight, step=mask_step, diff=1, max_cells=masks_view_max_cells(shape)
        ),
    }
    missing = {r.path for r in plugin.ROUTES} - set(queries)
    if missing:
        raise RuntimeError("scale_run.py has no parameters for routes %s" % sorted(missing))
    return {r.path: queries[r.path] for r in plugin.ROUTES}


def reference_query(run, weight):
    """TensorBoard's scalars route for the kernel's sparsity Time Series tag."""
    return (
        SCALARS + "?" + urllib.parse.urlencode({"run": run, "tag": "pruning/%s/sparsity" % weight})
    )


def wait_loaded(base, run, last_step, timeout):
    """Seconds until TensorBoard serves the global sparsity of the last step (written in the
    same event as the last step's masks). Only TensorBoard's scalars route is asked, so no
    cache of the plugin is warmed before the first requests are timed."""
    start = time.monotonic()
    scalars = SCALARS + "?" + urllib.parse.urlencode({"run": run, "tag": "pruning/global_sparsity"})
    while True:
        try:
            points = json.loads(_get(base + scalars))
            if points and points[-1][1] == last_step:
                return time.monotonic() - start
        except (OSError, RuntimeError, ValueError):
            pass
        if time.monotonic() - start > timeout:
            raise RuntimeError("TensorBoard did not load the run in %d s" % timeout)
        time.sleep(2.0)


def _get(url):
    with urllib.request.urlopen(url, timeout=600) as response:
        return response.read()


def time_routes(base, queries, reference, rounds):
    """First requests, then `rounds` interleaved rounds, of every route against `reference`."""
    first = {}
    for path, query in queries.items():
        ref_ms, _ = dashboard._request(base + reference)
        ms, size = dashboard._request(base + PREFIX + path + query)
        first[path] = {"ms": ms, "scalars_ms_before": ref_ms, "bytes": size}
    timings = {path: [] for path in queries}
    reference_ms, sizes = [], {}
    for r in range(rounds):
        order = [(None, reference)] + [(p, PREFIX + p + q) for p, q in queries.items()]
        if r % 2:
            order.reverse()
        this_round = {}
        for path, url in order:
            ms, size = dashboard._request(base + url)
            this_round[path] = ms
            sizes[path] = size
        reference_ms.append(this_round.pop(None))
        for path, ms in this_round.items():
            timings[path].append(ms)
    warm = {
        path: {
            "ms": dashboard._summary(values),
            "ratio": dashboard._summary([v / reference_ms[i] for i, v in enumerate(values)]),
            "bytes": sizes[path],
        }
        for path, values in timings.items()
    }
    # A single scalars request takes either about 45 ms or a few ms (the data server's
    # delayed ACK, docs/performance.md): a first request is compared with the rounds' median.
    reference_median = statistics.median(reference_ms)
    for entry in first.values():
        entry["ratio"] = entry["ms"] / reference_median
    return {
        "first": first,
        "warm": warm,
        "scalars_ms": dashboard._summary(reference_ms),
        "scalars_bytes": sizes[None],
    }


MASKS_VIEW_MARK = """
(() => {
  const marks = { ready: null };
  window.__masksMarks = marks;
  const check = () => {
    if (marks.ready === null &&
        document.querySelector('[data-testid="mask-canvas"][data-state="ready"]'))
      marks.ready = performance.now();
  };
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"],
  });
})();
"""

DATA_REQUESTS = """
() => performance.getEntriesByType("resource")
  .filter((e) => e.name.includes("/data/"))
  .map((e) => ({ url: e.name, start_ms: e.startTime, end_ms: e.responseEnd,
                 bytes: e.decodedBodySize }))
"""


def masks_view_trials(base, run, weight, trials):
    """Opens the frame at the Masks view of `weight` `trials` times (fresh browser contexts):
    ms from navigation start until the mask canvas is drawn, and the data requests made."""
    from playwright.sync_api import sync_playwright

    from benchmarks.fixtures import browser as shared

    url = "%s%s#tab=masks&focusRun=%s&focusWeight=%s" % (
        base,
        FRAME_PATH,
        urllib.parse.quote(run),
        urllib.parse.quote(weight, safe=""),
    )
    out = []
    with sync_playwright() as playwright:
        browser = shared.launch_chromium(playwright)
        try:
            for _ in range(trials):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(MASKS_VIEW_MARK)
                try:
                    page = context.new_page()
                    page.goto(url, wait_until="commit")
                    page.wait_for_selector(
                        '[data-testid="mask-canvas"][data-state="ready"]', timeout=120_000
                    )
                    ready = page.evaluate("() => window.__masksMarks.ready")
                    canvas = page.query_selector('[data-testid="mask-canvas"]')
                    out.append(
                        {
                            "drawn_ms": ready,
                            "step": int(canvas.get_attribute("data-step")),
                            "canvas": {
                                a: canvas.get_attribute("data-" + a)
                                for a in ("rows", "cols", "cell-size")
                            },
                            "requests": page.evaluate(DATA_REQUESTS),
                        }
                    )
                finally:
                    context.close()
            version = browser.version
        finally:
            browser.close()
    return {"chromium": version, "url": url, "trials": out}


PROFILED_CALLS = r"tb_prune_plugin|grpc_provider|_channel|scalars_plugin|numpy|zlib|json/"


def profile_routes(logdir, last_step, paths, queries, reference, top=16):
    """cProfile of the first and a warm request of each route in `paths` (and of the
    reference), in-process: TensorBoard's WSGI app with the Rust data server."""
    from werkzeug import test as wtest

    app, _ = dashboard.in_process_app(logdir, load_fast=True)
    client = wtest.Client(app)
    _wait_in_process(client, scale_logdir.RUN_NAME, last_step)
    out = {}
    for name, url in [("scalars", reference)] + [(p, PREFIX + p + queries[p]) for p in paths]:
        for label in ("first", "warm"):
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            response = client.get(url)
            profiler.disable()
            ms = (time.perf_counter() - start) * 1e3
            if response.status_code != 200:
                raise RuntimeError("%s: HTTP %d" % (url, response.status_code))
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            # The plugin's, the data provider's and the codecs' calls (not WSGI middleware).
            stats.sort_stats("cumulative").print_stats(PROFILED_CALLS, top)
            out.setdefault(name, {})[label] = {"ms": ms, "profile": _trim(text.getvalue())}
    return out


def blob_reads(logdir, last_step, weight, reads=40):
    """One mask payload read alone from the Rust data server, as TensorBoard's gRPC client
    reads it (`read_blob`) and nudged (`server_nudge.BlobReader`): the largest kernel's delta
    records, the two ways taking turns (the order alternating), ms each."""
    from tensorboard import context
    from werkzeug import test as wtest

    from tb_prune_plugin import server_nudge

    app, counter = dashboard.in_process_app(logdir, load_fast=True)
    _wait_in_process(wtest.Client(app), scale_logdir.RUN_NAME, last_step)
    provider, ctx = counter.provider, context.RequestContext()
    tag = "pruning/%s/mask" % weight
    data = provider.read_blob_sequences(
        ctx,
        experiment_id="",
        plugin_name="pruning",
        downsample=10**7,
        run_tag_filter=_run_tag_filter(scale_logdir.RUN_NAME, tag),
    )[scale_logdir.RUN_NAME][tag]
    keys = [d.values[1].blob_key for d in data[1:] if d.step % 1000][: 2 * reads]
    reader = server_nudge.BlobReader(provider)
    plain = lambda key: provider.read_blob(ctx, blob_key=key)  # noqa: E731
    nudged = lambda key: reader.read(ctx, key)  # noqa: E731
    times, sizes = {"plain": [], "nudged": []}, []
    for i in range(0, len(keys) - 1, 2):
        order = [("plain", plain), ("nudged", nudged)]
        for (name, read), key in zip(order if i % 4 else order[::-1], keys[i : i + 2]):
            start = time.perf_counter()
            sizes.append(len(read(key)))
            times[name].append((time.perf_counter() - start) * 1e3)
    out = {name: _spread(ms) for name, ms in times.items()}
    out["payload_bytes_median"] = statistics.median(sizes)
    return out


def _run_tag_filter(run, tag):
    from tensorboard.data import provider

    return provider.RunTagFilter(runs=[run], tags=[tag])


def _spread(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def _wait_in_process(client, run, last_step, timeout=1800):
    """Waits until the in-process data server serves the last step's global sparsity (the
    whole run loaded: profiles are not taken while it ingests)."""
    start = time.monotonic()
    url = SCALARS + "?" + urllib.parse.urlencode({"run": run, "tag": "pruning/global_sparsity"})
    while time.monotonic() - start < timeout:
        response = client.get(url)
        if response.status_code == 200:
            points = json.loads(response.get_data())
            if points and points[-1][1] == last_step:
                return
        time.sleep(2.0)
    raise RuntimeError("the in-process data server did not load in %d s" % timeout)


def _trim(profile_text):
    lines = profile_text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("ncalls"):
            return "\n".join(lines[i:]).rstrip()
    return profile_text.strip()


def smallest_kernels(kernels, count):
    """The `count` smallest of `kernels`, in layer order (a tiny log directory for --quick)."""
    if not count:
        return kernels
    keep = sorted(range(len(kernels)), key=lambda i: math.prod(kernels[i][1]))[:count]
    return [kernels[i] for i in sorted(keep)]


def generate(logdir, steps, kernel_count=None):
    """Writes the run into `logdir` (unless it is there) and returns its description.

    `kernel_count`: only that many of ResNet-50's kernels, the smallest (None: all 54)."""
    kernels, model_size = scale_logdir.resnet50_kernels()
    kernels = smallest_kernels(kernels, kernel_count)
    run_dir = os.path.join(logdir, scale_logdir.RUN_NAME)
    # The first of the largest in layer order (three 3x3x512x512 kernels tie).
    largest = max(kernels, key=lambda k: math.prod(k[1]))
    description = {
        "kernels": len(kernels),
        "prunable_weights": sum(math.prod(s) for _, s in kernels),
        "model_size": model_size,
        "largest_kernel": {"path": largest[0], "shape": list(largest[1])},
        "steps": steps,
    }
    info_path = os.path.join(logdir, "scale_run_info.json")
    if os.path.exists(info_path):
        with open(info_path) as f:
            cached = json.load(f)
        if cached["steps"] == steps and cached["kernels"] == len(kernels):
            cached["reused"] = True
            return cached
    run = scale_logdir.write_run(
        run_dir, kernels, steps, model_size=model_size, log=lambda m: print(m, file=sys.stderr)
    )
    description.update(
        records=len(run.steps),
        interval=run.interval,
        mask_records=sum(len(s) for s in run.mask_steps.values()),
        last_mask_step=run.mask_steps[largest[0]][-1],
        largest_mask_records=len(run.mask_steps[largest[0]]),
        generate_seconds=run.seconds,
        bytes=scale_logdir.dir_bytes(run_dir),
        reused=False,
    )
    with open(info_path, "w") as f:
        json.dump(description, f)
    return description


def serve_and_time(logdir, info, rounds, load_timeout):
    """Server 1: load time, memory, route timings."""
    run, weight = scale_logdir.RUN_NAME, info["largest_kernel"]["path"]
    with tb_server.TensorBoardProcess(logdir) as tb:
        wait_loaded(tb.url, run, info["steps"], load_timeout)
        loaded = time.monotonic() - tb.started_at
        memory_loaded = tb.memory()
        shape, last_mask = info["largest_kernel"]["shape"], info["last_mask_step"]
        queries = route_queries(run, weight, shape, last_mask)
        routes = time_routes(tb.url, queries, reference_query(run, weight), rounds)
        memory_after = tb.memory()
        served = json.loads(_get(tb.url + PREFIX + "/mask_steps" + queries["/mask_steps"]))
        written = info["largest_mask_records"]
        if served["steps"][-1] != last_mask or len(served["steps"]) != written:
            raise RuntimeError(
                "TensorBoard served %d mask records of %s up to step %d; %d were written, up "
                "to step %d"
                % (len(served["steps"]), weight, served["steps"][-1], written, last_mask)
            )
    return {
        "load_seconds": loaded,
        "memory_loaded": memory_loaded,
        "memory_after_routes": memory_after,
        "routes": routes,
        "queries": queries,
    }


def python_loader(logdir, info, load_timeout):
    """TensorBoard with `--load_fast=false` (its Python loader, as without the data server
    binary): seconds until the last record is served, memory, and the first /mask_steps and
    /mask of the largest kernel."""
    run, weight = scale_logdir.RUN_NAME, info["largest_kernel"]["path"]
    shape, last_mask = info["largest_kernel"]["shape"], info["last_mask_step"]
    queries = route_queries(run, weight, shape, last_mask)
    with tb_server.TensorBoardProcess(logdir, flags=["--load_fast=false"]) as tb:
        wait_loaded(tb.url, run, info["steps"], load_timeout)
        out = {"load_seconds": time.monotonic() - tb.started_at, "memory_loaded": tb.memory()}
        for path in ("/mask_steps", "/mask"):
            ms, size = dashboard._request(tb.url + PREFIX + path + queries[path])
            out[path] = {"first_ms": ms, "bytes": size}
        out["scalars_ms"] = dashboard._request(tb.url + reference_query(run, weight))[0]
    return out


def run(args):
    """Everything of the module docstring; returns the results."""
    began = time.perf_counter()
    own_dir = None
    logdir = args.logdir
    if logdir is None:
        own_dir = logdir = tempfile.mkdtemp(prefix="tb_prune_scale_")
    try:
        info = generate(logdir, args.steps, args.kernels)
        results = {
            "machine": machine.describe(),
            "load_average_start": os.getloadavg(),
            "logdir": info,
            "flags": "tensorboard --logdir DIR --host 127.0.0.1 --port 0 (defaults otherwise)",
            "quick": bool(args.quick),
        }
        results["server"] = serve_and_time(logdir, info, args.rounds, args.load_timeout)
        run_name, weight = scale_logdir.RUN_NAME, info["largest_kernel"]["path"]
        with tb_server.TensorBoardProcess(logdir) as tb:
            wait_loaded(tb.url, run_name, info["steps"], args.load_timeout)
            results["browser_server_load_seconds"] = time.monotonic() - tb.started_at
            results["masks_view"] = masks_view_trials(tb.url, run_name, weight, args.browser_trials)
            results["browser_server_memory"] = tb.memory()
        if args.python_loader:
            results["python_loader"] = python_loader(logdir, info, args.load_timeout)
        results["blob_reads"] = blob_reads(logdir, info["steps"], weight)
        missed = [
            path
            for path, warm in results["server"]["routes"]["warm"].items()
            if warm["ratio"]["median"] > TARGET_RATIO
            or results["server"]["routes"]["first"][path]["ratio"] > TARGET_RATIO
        ]
        results["profiled"] = (
            profile_routes(
                logdir,
                info["steps"],
                missed,
                results["server"]["queries"],
                reference_query(run_name, weight),
            )
            if missed and not args.no_profile
            else {}
        )
        results["load_average_end"] = os.getloadavg()
        results["total_seconds"] = time.perf_counter() - began
        return results
    finally:
        if own_dir is not None and not args.keep:
            shutil.rmtree(own_dir, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the JSON results")
    parser.add_argument("--md", help="also write the Markdown section here")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes (a smoke test whose figures mean nothing): --steps %d --kernels %d "
        "--rounds %d --browser-trials %d unless given" % tuple(QUICK.values()),
    )
    parser.add_argument("--steps", type=int)
    parser.add_argument("--kernels", type=int, help="only the N smallest kernels (default: all)")
    parser.add_argument("--logdir", help="write (or reuse) the log directory here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary log directory")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--browser-trials", type=int)
    parser.add_argument("--load-timeout", type=int, default=1800)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--python-loader",
        action="store_true",
        help="also load the directory with --load_fast=false (load time, memory)",
    )
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    results = run(args)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    if args.md:
        with open(args.md, "w") as f:
            f.write(render(results))
    print(render(results))


if __name__ == "__main__":
    main()
