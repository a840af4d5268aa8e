"""Figures 3 and 4: the dashboard's routes, TensorBoard's memory, and the frontend.

    python benchmarks/dashboard.py --out dashboard.json [--quick]

A log directory of 20 runs x 50 pruned weights x 1,000 recorded steps (masks changing every
10 steps, so 100 mask records per weight) is generated with the real record writers
(`logdir_gen`). Real TensorBoard processes serve it on 127.0.0.1 (`tb_server`), with the data
loader users get by default (`--load_fast=auto` picks the Rust data server, which is
installed with TensorBoard; it is asked for explicitly here).

- Routes: `/overview`, `/weight_series` (what the Schedules view reads) and the others the
  frontend calls, against TensorBoard's own `/data/plugin/scalars/scalars` reading one series
  of the same number of points (1,000: `pruning/<w>/sparsity`, written by the monitor as an
  ordinary scalar). Requests take turns in rounds (a different run and weight each round) and
  the ratio is taken per round; medians are reported. The overview of all 20 runs is slow
  enough to be timed once. The multi-run routes (`/weight_series_multi` for one weight,
  `/model_series_multi`) over all runs are timed in the same rounds.
- The mask route for a 4096x4096 weight, as the frontend asks for it (diff, 512x512 grid) and
  with the API's defaults, with its response size, from a real TensorBoard and in-process
  with the Python loader.
- Memory: resident memory of the TensorBoard process and its children (the Rust data server)
  with the plugin, and without it (TensorBoard's own `main` with every installed plugin but
  this one, `tb_server --without-pruning`); also without it but keeping every pruning sample
  as the plugin asks (`--samples_per_plugin pruning=0`), which separates what the plugin's
  data costs from what its code costs.
- Calls to the data provider per request (in-process, wrapping the provider), which is what
  the routes' time is made of. Each route is requested once before it is counted, so the
  plugin's run/tag index is reused (a request more than 30 s after the last listing lists
  afresh: two more calls).
- Frontend (`browser.py`) against the TensorBoard with the plugin.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import browser
import checkout  # noqa: F401  (before tb_prune_plugin: this checkout's package)
import logdir_gen
import tb_server
from dashboard_setup import FLAGS, FULL, PREFIX, QUICK, wait_loaded
from dashboard_setup import query as _q


def _request(url, data=None, timeout=600):
    """(milliseconds, response bytes) of one request; raises on HTTP errors."""
    headers = {"X-XSRF-Protected": "1"} if data is not None else {}
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content = response.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError("%s: HTTP %d %s" % (url, e.code, e.read()[:500])) from None
    return (time.perf_counter() - start) * 1e3, len(content)


def _summary(values):
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def route_rounds(base, runs, weights, mask_steps, rounds):
    """Interleaved timing of the per-run and per-weight routes against the scalars route."""
    timings, sizes = {}, {}
    for r in range(rounds):
        run = runs[(3 * r + 1) % len(runs)]
        weight = weights[(7 * r + 2) % len(weights)]
        step = mask_steps[(11 * r + 5) % len(mask_steps)]
        requests = [
            (
                "scalars (TensorBoard)",
                "/data/plugin/scalars/scalars" + _q(run=run, tag="pruning/%s/sparsity" % weight),
            ),
            # A TensorBoard route that makes no data provider call: HTTP and WSGI alone.
            ("environment (TensorBoard, no provider call)", "/data/environment"),
            ("runs", PREFIX + "/runs"),
            ("weight_series", PREFIX + "/weight_series" + _q(run=run, weight=weight)),
            ("model_series", PREFIX + "/model_series" + _q(run=run)),
            ("histograms", PREFIX + "/histograms" + _q(run=run, weight=weight)),
            ("mask_steps", PREFIX + "/mask_steps" + _q(run=run, weight=weight)),
            (
                "mask (diff, as the Masks view asks)",
                PREFIX + "/mask" + _q(run=run, weight=weight, step=step, diff=1, max_cells=262144),
            ),
            ("overview of one run", PREFIX + "/overview" + _q(run=run)) if r < 3 else None,
            (
                "weight_series_multi (all runs)",
                PREFIX
                + "/weight_series_multi?"
                + urllib.parse.urlencode([("weight", weight)] + [("run", name) for name in runs]),
            ),
            (
                "model_series_multi (all runs)",
                PREFIX
                + "/model_series_multi?"
                + urllib.parse.urlencode([("run", name) for name in runs]),
            ),
        ]
        requests += [
            # What a schedule chart asks for: the fields it draws, one weight, every run.
            (
                "weight_series_multi (all runs, as Schedules asks)",
                PREFIX
                + "/weight_series_multi?"
                + urllib.parse.urlencode(
                    [("weight", weight), ("fields", ",".join(SCHEDULE_FIELDS))]
                    + [("run", name) for name in runs]
                ),
            ),
            # TensorBoard's own chart of one tag over every run: the same number of points.
            (
                MULTIRUN_REFERENCE,
                (
                    "/data/plugin/scalars/scalars_multirun",
                    {"tag": "pruning/%s/sparsity" % weight, "runs": list(runs)},
                ),
            ),
        ]
        requests = [x for x in requests if x is not None]
        if r % 2:
            requests.reverse()
        for name, path in requests:
            path, data = path if isinstance(path, tuple) else (path, None)
            ms, size = _request(base + path, data=data)
            timings.setdefault(name, []).append(ms)
            sizes[name] = size
    reference = timings["scalars (TensorBoard)"]
    multirun = timings[MULTIRUN_REFERENCE]
    out = {}
    for name, values in timings.items():
        ratios = [v / reference[i] for i, v in enumerate(values)]
        out[name] = {
            "ms": _summary(values),
            "ratio_to_scalars": _summary(ratios),
            "ratio_to_scalars_multirun": _summary([v / multirun[i] for i, v in enumerate(values)]),
            "bytes": sizes[name],
        }
    return out


# The fields a schedule chart draws (frontend/src/views/schedules.ts), and the reference of
# the multi-run routes: TensorBoard's scalars_multirun of one tag over the same runs.
SCHEDULE_FIELDS = ("sparsity", "target_sparsity")
MULTIRUN_REFERENCE = "scalars_multirun (TensorBoard, all runs)"


def overview_all_runs(base, runs, weights, timeout):
    """The overview of every run (timed once), the scalars reference right before and after,
    and TensorBoard's own way to the same last values: one scalars_multirun per tag."""
    before, _ = _request(
        base
        + "/data/plugin/scalars/scalars"
        + _q(run=runs[0], tag="pruning/%s/sparsity" % weights[0])
    )
    try:
        ms, size = _request(base + PREFIX + "/overview", timeout=timeout)
    except OSError as e:
        ms, size = None, "failed: %s" % e
    after, _ = _request(
        base
        + "/data/plugin/scalars/scalars"
        + _q(run=runs[0], tag="pruning/%s/sparsity" % weights[0])
    )
    start = time.perf_counter()
    multirun_bytes = 0
    for weight in weights:
        _, b = _request(
            base + "/data/plugin/scalars/scalars_multirun",
            data={"tag": "pruning/%s/sparsity" % weight, "runs": list(runs)},
        )
        multirun_bytes += b
    multirun_ms = (time.perf_counter() - start) * 1e3
    return {
        "ms": ms,
        "bytes": size,
        "scalars_reference_ms": [before, after],
        "tensorboard_scalars_multirun_all_weights": {
            "requests": len(weights),
            "ms": multirun_ms,
            "bytes": multirun_bytes,
        },
    }


def big_mask_routes(base, run, weight, step, side, repeats):
    """Timings of the mask route for the big weight."""
    variants = {
        "as the Masks view asks (diff, max_cells 262144)": _q(
            run=run, weight=weight, step=step, diff=1, max_cells=262144
        ),
        "API defaults (no diff, max_cells 65536)": _q(run=run, weight=weight, step=step),
        "zoomed to a %dx%d region, exact" % (min(side, 512), min(side, 512)): _q(
            run=run,
            weight=weight,
            step=step,
            diff=1,
            row0=0,
            col0=0,
            rows=min(side, 512),
            cols=min(side, 512),
            max_cells=262144,
        ),
    }
    out = {}
    for _ in range(repeats):
        for name, query in variants.items():
            ms, size = _request(base + PREFIX + "/mask" + query)
            entry = out.setdefault(name, {"ms": [], "bytes": size})
            entry["ms"].append(ms)
    return {
        name: {
            "ms": _summary(v["ms"]),
            "first_ms": v["ms"][0],
            "later_ms": _summary(v["ms"][1:]) if len(v["ms"]) > 1 else None,
            "bytes": v["bytes"],
        }
        for name, v in out.items()
    }


def in_process_app(logdir, load_fast):
    """TensorBoard's WSGI app (core, scalars, pruning) in this process, and its provider.

    With `load_fast`, the data provider talks to a Rust data server subprocess over gRPC, as
    `tensorboard --load_fast=true` does; otherwise it is the Python loader's.
    """
    from tensorboard import program
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_ingester
    from tensorboard.data import server_ingester
    from tensorboard.plugins.core import core_plugin
    from tensorboard.plugins.scalar import scalars_plugin
    from tensorboard.util import grpc_util

    from tb_prune_plugin import plugin

    tb = program.TensorBoard(
        plugins=[
            core_plugin.CorePluginLoader(),
            scalars_plugin.ScalarsPlugin,
            plugin.PruningLoader(),
        ],
        assets_zip_provider=application._placeholder_assets_zip_provider,
    )
    tb.configure(
        argv=["", "--logdir", logdir, "--reload_task=blocking", "--reload_interval", "0"],
    )
    if load_fast:
        ingester = server_ingester.SubprocessServerDataIngester(
            server_binary=server_ingester.get_server_binary(),
            logdir=logdir,
            reload_interval=0,
            channel_creds_type=grpc_util.ChannelCredsType.LOCAL,
            samples_per_plugin=tb.flags.samples_per_plugin,
        )
        multiplexer = None
    else:
        ingester = data_ingester.LocalDataIngester(tb.flags)
    ingester.start()
    provider = ingester.data_provider
    if not load_fast:
        multiplexer = ingester.deprecated_multiplexer
    counter = _CallCounter(provider)
    counter.provider = provider
    app = application.TensorBoardWSGIApp(
        tb.flags, tb.plugin_loaders, provider, tb.assets_zip_provider, multiplexer
    )
    return app, counter


class _CallCounter:
    """Counts calls to a data provider's methods (wrapping them on the instance)."""

    METHODS = (
        "list_runs",
        "list_scalars",
        "read_scalars",
        "list_tensors",
        "read_tensors",
        "list_blob_sequences",
        "read_blob_sequences",
        "read_blob",
    )

    def __init__(self, provider):
        self.calls = {}
        stub = getattr(provider, "_stub", None)
        if stub is not None:
            # TensorBoard's gRPC client: count the requests to the data server themselves (the
            # plugin sends some through the client's stub: tb_prune_plugin/provider_reads.py).
            for name in self.METHODS:
                rpc = "".join(part.capitalize() for part in name.split("_"))
                setattr(stub, rpc, self._counted(name, getattr(stub, rpc)))
            return
        for name in self.METHODS:
            setattr(provider, name, self._counted(name, getattr(provider, name)))

    def _counted(self, name, original):
        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return original(*args, **kwargs)

        return counted


def provider_calls(logdir, run, weight, step, big=None):
    """Per route: data provider calls and in-process time, with both loaders."""
    from werkzeug import test as werkzeug_test

    routes = {
        "scalars (TensorBoard)": "/data/plugin/scalars/scalars"
        + _q(run=run, tag="pruning/%s/sparsity" % weight),
        "runs": PREFIX + "/runs",
        "overview of one run": PREFIX + "/overview" + _q(run=run),
        "weight_series": PREFIX + "/weight_series" + _q(run=run, weight=weight),
        "weight_series_multi": PREFIX + "/weight_series_multi" + _q(run=run, weight=weight),
        "model_series": PREFIX + "/model_series" + _q(run=run),
        "histograms": PREFIX + "/histograms" + _q(run=run, weight=weight),
        "mask_steps": PREFIX + "/mask_steps" + _q(run=run, weight=weight),
        "mask (diff, as the Masks view asks)": PREFIX
        + "/mask"
        + _q(run=run, weight=weight, step=step, diff=1, max_cells=262144),
    }
    out = {}
    for load_fast in (True, False):
        app, counter = in_process_app(logdir, load_fast)
        client = werkzeug_test.Client(app)
        deadline = time.monotonic() + 300
        while True:  # the Rust server loads in the background
            response = client.get(routes["weight_series"])
            if response.status_code == 200 and response.get_json()["steps"]:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("in-process TensorBoard did not load %s" % logdir)
            time.sleep(0.5)
        loader = "rust data server (gRPC)" if load_fast else "python loader"
        for name, path in routes.items():
            client.get(path)  # warm
            counter.calls.clear()
            start = time.perf_counter()
            response = client.get(path)
            ms = (time.perf_counter() - start) * 1e3
            if response.status_code != 200:
                raise RuntimeError(
                    "%s: HTTP %d %s" % (path, response.status_code, response.get_data())
                )
            entry = out.setdefault(name, {})
            entry[loader] = {
                "ms": ms,
                "provider_calls": dict(counter.calls),
                "total_calls": sum(counter.calls.values()),
            }
    return out


def big_mask_in_process(logdir, run, weight, step, repeats):
    """The big mask route in-process with the Python loader, with the time of its parts.

    The first request decodes both masks; later ones find them in the plugin's mask cache.
    """
    from tensorboard.backend import http_util
    from werkzeug import test as werkzeug_test

    from tb_prune_plugin import bodies, mask_codec, mask_layout, reader

    app, _ = in_process_app(logdir, load_fast=False)
    client = werkzeug_test.Client(app)
    query = _q(run=run, weight=weight, step=step, diff=1, max_cells=262144)
    parts = {
        "read both masks (PruningReader.mask_at: blobs, cache, decode)": (
            reader.PruningReader,
            "mask_at",
        ),
        "of which decode, bits kept packed (mask_codec.decode_packed)": (
            mask_codec,
            "decode_packed",
        ),
        "grids: kept, newly pruned, regrown (mask_layout.mask_grids)": (mask_layout, "mask_grids"),
        "unit sparsity (mask_layout.unit_sparsity)": (mask_layout, "unit_sparsity"),
        "base64 of the grids": (bodies, "_b64"),
        "JSON response (http_util.Respond)": (http_util, "Respond"),
    }
    seconds, originals = {}, {}
    for name, (owner, attribute) in parts.items():
        original = getattr(owner, attribute)
        originals[name] = (owner, attribute, original)

        def timed(*args, _original=original, _name=name, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                seconds[_name] = seconds.get(_name, 0.0) + time.perf_counter() - start

        setattr(owner, attribute, timed)
    times, breakdown, size = [], [], None
    try:
        for _ in range(repeats):
            seconds.clear()
            start = time.perf_counter()
            response = client.get(PREFIX + "/mask" + query)
            times.append((time.perf_counter() - start) * 1e3)
            breakdown.append({k: seconds.get(k, 0.0) * 1e3 for k in parts})
            size = len(response.get_data())
    finally:
        for owner, attribute, original in originals.values():
            setattr(owner, attribute, original)
    return {
        "ms": _summary(times),
        "first_ms": times[0],
        "later_ms": _summary(times[1:]) if len(times) > 1 else None,
        "bytes": size,
        "parts_first_ms": breakdown[0],
        "parts_later_ms": breakdown[-1],
    }


@contextlib.contextmanager
def _phase(results, name):
    """Times a phase of the stage (reported, and printed for whoever watches the log)."""
    start = time.monotonic()
    print("dashboard: %s" % name, file=sys.stderr, flush=True)
    try:
        yield
    finally:
        results.setdefault("phase_seconds", {})[name] = time.monotonic() - start


def run(config, workdir):
    results = {"config": dict(config), "flags": FLAGS}
    grid = os.path.join(workdir, "grid")
    start = time.monotonic()
    runs = logdir_gen.write_grid(
        grid, config["runs"], config["weights"], config["steps"], config["mask_every"]
    )
    weights = logdir_gen.weight_names(config["weights"])
    mask_steps = list(range(0, config["steps"], config["mask_every"]))
    results["logdir"] = {
        "runs": len(runs),
        "weights_per_run": len(weights),
        "recorded_steps": config["steps"],
        "mask_records_per_weight": len(mask_steps),
        "bytes_per_run": os.path.getsize(
            os.path.join(grid, runs[0], os.listdir(os.path.join(grid, runs[0]))[0])
        ),
        "generation_seconds": time.monotonic() - start,
    }
    last_tag = "pruning/%s/sparsity" % weights[-1]
    memory = {}

    big = os.path.join(workdir, "big")
    big_run, big_weight, big_steps = logdir_gen.write_big_mask(big, config["big_side"])
    without = [("without plugin", [])]
    if config["memory_without_plugin_keeping_samples"]:
        without.append(
            (
                "without plugin, --samples_per_plugin pruning=0",
                ["--samples_per_plugin", "pruning=0"],
            )
        )
    servers = {
        "with plugin": tb_server.TensorBoardProcess(grid, flags=FLAGS),
        "big": tb_server.TensorBoardProcess(big, flags=FLAGS),
    }
    for name, extra in without:
        servers[name] = tb_server.TensorBoardProcess(grid, with_pruning=False, flags=FLAGS + extra)
    try:
        if config["parallel_servers"]:  # quick mode: start-up times overlap; timings mean nothing
            for server in servers.values():
                server.start()

        with servers["with plugin"] as tb:
            print(
                "dashboard: TensorBoard with the plugin at %s" % tb.url, file=sys.stderr, flush=True
            )
            load = wait_loaded(tb.url, runs, last_tag, config["steps"], config["load_timeout"])
            memory["with plugin"] = {"load_seconds": load, "after_load": tb.memory()}
            results["plugins_listing"] = {
                "with plugin": sorted(
                    json.loads(urllib.request.urlopen(tb.url + "/data/plugins_listing").read())
                )
            }
            with _phase(results, "routes"):
                results["routes"] = route_rounds(
                    tb.url, runs, weights, mask_steps, config["rounds"]
                )
            with _phase(results, "overview of all runs"):
                results["overview_all_runs"] = overview_all_runs(
                    tb.url, runs, weights, config["overview_all_runs_timeout"]
                )
            recorded = json.loads(
                urllib.request.urlopen(
                    tb.url + PREFIX + "/mask_steps" + _q(run=runs[0], weight=weights[1])
                ).read()
            )["steps"]
            with _phase(results, "browser"):
                results["frontend"] = browser.measure(
                    tb.url,
                    charts=min(len(weights), 24),
                    mask_run=runs[0],
                    mask_weight=weights[1],
                    mask_steps=recorded[:100],
                    trials=config["browser_trials"],
                    open_timeout_s=config["overview_all_runs_timeout"],
                )
            memory["with plugin"]["after_requests_and_browser"] = tb.memory()

        for name, extra in without:
            with (
                _phase(results, name),
                servers[name] as tb,
            ):
                load = wait_loaded(tb.url, runs, last_tag, config["steps"], config["load_timeout"])
                memory[name] = {"load_seconds": load, "after_load": tb.memory()}
                if not extra:
                    results["plugins_listing"][name] = sorted(
                        json.loads(urllib.request.urlopen(tb.url + "/data/plugins_listing").read())
                    )
                for r in range(config["rounds"]):  # the same scalar reads as with the plugin
                    run_name = runs[(3 * r + 1) % len(runs)]
                    weight = weights[(7 * r + 2) % len(weights)]
                    _request(
                        tb.url
                        + "/data/plugin/scalars/scalars"
                        + _q(run=run_name, tag="pruning/%s/sparsity" % weight)
                    )
                memory[name]["after_requests"] = tb.memory()
        results["memory"] = memory

        with _phase(results, "big mask"), servers["big"] as tb:
            wait_loaded_big(tb.url, big_run, big_weight, len(big_steps), config["load_timeout"])
            results["big_mask"] = {
                "shape": [config["big_side"], config["big_side"]],
                "step": big_steps[-1],
                "real tensorboard (rust data server)": big_mask_routes(
                    tb.url, big_run, big_weight, big_steps[-1], config["big_side"], 5
                ),
            }
        results["big_mask"]["in process, python loader, as the Masks view asks"] = (
            big_mask_in_process(big, big_run, big_weight, big_steps[-1], 5)
        )

        # Call counts do not depend on the number of steps: a one-run directory of the same weights
        # with fewer steps loads quickly in-process, with either loader.
        one_run = os.path.join(workdir, "one_run")
        steps = min(config["steps"], 100)
        logdir_gen.write_grid(one_run, 1, config["weights"], steps, config["mask_every"])
        with _phase(results, "provider calls"):
            results["provider_calls"] = provider_calls(
                one_run,
                runs[0],
                weights[1],
                config["mask_every"] * (steps // config["mask_every"] // 2),
            )
            results["provider_calls_steps"] = steps
    finally:
        for server in servers.values():
            server.stop()
    return results


def wait_loaded_big(base, run, weight, records, timeout):
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(
                base + PREFIX + "/mask_steps" + _q(run=run, weight=weight), timeout=60
            ) as r:
                if len(json.loads(r.read())["steps"]) >= records:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("TensorBoard did not load the big mask")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="tb_prune_dashboard_")
    start = time.monotonic()
    try:
        results = run(QUICK if args.quick else FULL, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["seconds"] = time.monotonic() - start
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
