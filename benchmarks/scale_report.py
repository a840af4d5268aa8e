"""The Markdown of `scale_run.py`'s results (TensorBoard at ResNet-50 size, issue 10 item 5).

Kept apart from scale_run.py so that the report (benchmarks/report_issue10.py) renders a kept run
without importing TensorBoard or the plugin.
"""

import statistics
import urllib.parse

TARGET_RATIO = 1.5
TARGET_MASKS_VIEW_MS = 1000


def _mib(n):
    return "%.1f MiB" % (n / 2**20)


def _bytes(n):
    return _mib(n) if n >= 2**20 else ("%.1f KiB" % (n / 1024) if n >= 1024 else "%d B" % n)


def _ok(flag):
    return "met" if flag else "**missed**"


def render(results):
    """The Markdown section of `results`: figures beside their targets."""
    info, server = results["logdir"], results["server"]
    routes = server["routes"]
    lines = [
        "## TensorBoard at ResNet-50 size (issue 10, item 5)",
        "",
        "Log directory: `benchmarks/scale_logdir.py`, what `PruningMonitor()` (default arguments) "
        "writes for ResNet-50 (%d kernels, %s prunable weights; largest kernel `%s` %s) pruned by "
        "TF-MOT PolynomialDecay 0 -> 90%% over %s steps at frequency 100: %s recorded steps "
        "(ordinary interval %d), %s mask records; %s on disk, written in %.0f s."
        % (
            info["kernels"],
            format(info["prunable_weights"], ","),
            info["largest_kernel"]["path"],
            "x".join(str(d) for d in info["largest_kernel"]["shape"]),
            format(info["steps"], ","),
            format(info["records"], ","),
            info["interval"],
            format(info["mask_records"], ","),
            _mib(info["bytes"]),
            info["generate_seconds"],
        ),
        "",
        "Served by `%s` (`benchmarks/tb_server.py`), requests one at a time with urllib on "
        "loopback. Load average %.2f at the start, %.2f at the end (2 cores, shared)."
        % (results["flags"], results["load_average_start"][0], results["load_average_end"][0]),
        "",
        "| figure | measured | target | |",
        "|---|---|---|---|",
        "| loaded (last record served) | %.0f s after the process started | loads | %s |"
        % (server["load_seconds"], _ok(True)),
    ]
    for label, memory in (
        ("memory once loaded", server["memory_loaded"]),
        ("memory after the route rounds", server["memory_after_routes"]),
    ):
        per = ", ".join("%s %.0f MiB" % (p["name"], p["rss_mib"]) for p in memory["processes"])
        lines.append(
            "| %s (RSS; peak %.0f MiB) | %.0f MiB (%s) | reported | |"
            % (label, memory["peak_rss_mib"], memory["rss_mib"], per)
        )
    lines.append(
        "| the second TensorBoard (for the browser) loaded | %.0f s after it started | loads | |"
        % results["browser_server_load_seconds"]
    )
    loader = results.get("python_loader")
    if loader:
        lines.append(
            "| with `--load_fast=false` (the Python loader): loaded; RSS | %.0f s after it "
            "started; %.0f MiB (peak %.0f MiB) | reported | |"
            % (
                loader["load_seconds"],
                loader["memory_loaded"]["rss_mib"],
                loader["memory_loaded"]["peak_rss_mib"],
            )
        )
        lines.append(
            "| with `--load_fast=false`: first /mask_steps, /mask; a /scalars after them "
            "| %.0f ms, %.0f ms; %.0f ms | | |"
            % (loader["/mask_steps"]["first_ms"], loader["/mask"]["first_ms"], loader["scalars_ms"])
        )
    view = results["masks_view"]["trials"]
    drawn = [t["drawn_ms"] for t in view]
    lines.append(
        "| Masks view of `%s` drawn, first open (a second TensorBoard, no mask read yet) "
        "| %.0f ms | < %d ms | %s |"
        % (
            info["largest_kernel"]["path"],
            drawn[0],
            TARGET_MASKS_VIEW_MS,
            _ok(drawn[0] < TARGET_MASKS_VIEW_MS),
        )
    )
    if len(drawn) > 1:
        warm = statistics.median(drawn[1:])
        lines.append(
            "| the same, opened again (median of %d, range %.0f to %.0f) | %.0f ms | < %d ms | %s |"
            % (
                len(drawn) - 1,
                min(drawn[1:]),
                max(drawn[1:]),
                warm,
                TARGET_MASKS_VIEW_MS,
                _ok(warm < TARGET_MASKS_VIEW_MS),
            )
        )
    lines += [
        "",
        "Routes against `%s` (the largest kernel's sparsity tag; %s): the first request of "
        "each route (right after a scalars request; its ratio is to the rounds' median "
        "scalars time), then %d interleaved rounds (ratios per round; medians and range). "
        "Target: every route within %.1fx /scalars. The log directory holds one run, and every "
        "route is asked for it alone: the frontend asks `/mask_overlap` only for two runs or "
        "more, whose records it walks together, so a first request there grows with the runs "
        "compared."
        % (
            "/data/plugin/scalars/scalars",
            _bytes(routes["scalars_bytes"]),
            routes["warm"][next(iter(routes["warm"]))]["ms"]["n"],
            TARGET_RATIO,
        ),
        "",
        "| route | first ms (ratio) | warm ms, median (range) | warm ratio, median (range) "
        "| response | target |",
        "|---|---|---|---|---|---|",
        "| scalars (TensorBoard) | | %.0f (%.0f to %.0f) | 1.00 | %s | |"
        % (
            routes["scalars_ms"]["median"],
            routes["scalars_ms"]["min"],
            routes["scalars_ms"]["max"],
            _bytes(routes["scalars_bytes"]),
        ),
    ]
    for path, warm in routes["warm"].items():
        first = routes["first"][path]
        met = warm["ratio"]["median"] <= TARGET_RATIO and first["ratio"] <= TARGET_RATIO
        lines.append(
            "| %s | %.0f (%.2f) | %.0f (%.0f to %.0f) | %.2f (%.2f to %.2f) | %s | %s |"
            % (
                path,
                first["ms"],
                first["ratio"],
                warm["ms"]["median"],
                warm["ms"]["min"],
                warm["ms"]["max"],
                warm["ratio"]["median"],
                warm["ratio"]["min"],
                warm["ratio"]["max"],
                _bytes(warm["bytes"]),
                _ok(met),
            )
        )
    lines += ["", "Masks view requests (first open): " + _requests_line(view[0])]
    blobs = results.get("blob_reads")
    if blobs:
        lines += [
            "",
            "One mask delta payload (median %s) read alone from the data server, %d reads each "
            "way, taking turns: %.1f ms (%.1f to %.1f) as TensorBoard's gRPC client reads it; "
            "%.1f ms (%.1f to %.1f) nudged by the plugin (`tb_prune_plugin/server_nudge.py`: the "
            "server holds a small answer until the client acknowledges the part before it)."
            % (
                _bytes(blobs["payload_bytes_median"]),
                blobs["plain"]["n"],
                blobs["plain"]["median"],
                blobs["plain"]["min"],
                blobs["plain"]["max"],
                blobs["nudged"]["median"],
                blobs["nudged"]["min"],
                blobs["nudged"]["max"],
            ),
        ]
    for name, runs in results.get("profiled", {}).items():
        for label, prof in runs.items():
            lines += [
                "",
                "Profile of `%s`, %s request in-process (%.0f ms), top calls by cumulative time:"
                % (name, label, prof["ms"]),
                "",
                "```",
                prof["profile"],
                "```",
            ]
    return "\n".join(lines) + "\n"


def _requests_line(trial):
    parts = []
    for r in trial["requests"]:
        path = urllib.parse.urlparse(r["url"]).path.rsplit("/", 1)[-1]
        parts.append(
            "%s %.0f to %.0f ms (%s)" % (path, r["start_ms"], r["end_ms"], _bytes(r["bytes"] or 0))
        )
    return "; ".join(parts) + "."
