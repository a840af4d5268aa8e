"""Renders the benchmark results (the stages' JSON) as docs/performance.md.

The text is in benchmarks/templates/: a Markdown file per section (and per paragraph that is there
only for some results), with `string.Template` placeholders. The functions here compute the values
and the table rows from the stages' results and fill the templates in; the summary table's rows
(each figure beside its target) are computed from the same results.
"""

import datetime

import report_issue10
from report_text import fill, table_rows
from report_text import num as _num
from report_text import paragraph as _paragraph
from report_text import verdict as _verdict

OVERHEAD_TARGETS = {"monitor_default": 1.03, "monitor_every_1": 1.05, "monitor_every_10": 1.02}
BITS_TARGET = 1.0
BITS_TARGET_90 = 0.6
ROUTE_RATIO_TARGET = 1.5
MASK_MS_TARGET = 100.0
FRONTEND_MS_TARGET = 1000.0
LARGE_MASK = 65536  # masks from this many weights on, the record's fixed part is < 0.03 bits/w

GROUP_TITLES = {
    "tfmot_mlp": "TF-MOT, MLP",
    "tfmot_cnn": "TF-MOT, small CNN",
    "keras3_mlp": "Keras 3, manual pruning, MLP",
}
VARIANT_TITLES = {
    "update_pruning_step": "UpdatePruningStep only (reference)",
    "manual_pruning": "manual pruning callback only (reference)",
    "monitor_default": "+ PruningMonitor() (default arguments)",
    "monitor_every_1": "+ PruningMonitor(every_n_steps=1)",
    "monitor_every_10": "+ PruningMonitor(every_n_steps=10)",
    "pruning_summaries": "+ TF-MOT PruningSummaries (instead of the monitor)",
}


def _pct(ratio):
    if ratio is None:
        return "n/a"
    return "%+.1f%%" % ((ratio - 1) * 100)


def _bytes(n):
    if n is None:
        return "n/a"
    if n >= 2**30:
        return "%.2f GiB" % (n / 2**30)
    if n >= 2**20:
        return "%.1f MiB" % (n / 2**20)
    if n >= 10 * 2**10:
        return "%.1f KiB" % (n / 2**10)
    return "{:,} B".format(int(n))


def _spread(summary, fmt=_num):
    if not summary:
        return "n/a"
    return "%s (%s to %s)" % (fmt(summary["median"]), fmt(summary["min"]), fmt(summary["max"]))


def _ratio_spread(summary):
    if not summary:
        return "n/a"
    return "%.3f (%s; %.3f to %.3f)" % (
        summary["median"],
        _pct(summary["median"]),
        summary["min"],
        summary["max"],
    )


# Sections ------------------------------------------------------------------------------------


def _header(meta, machine, kept_stages=None):
    m = machine
    notes = "".join(
        fill(
            "kept_stage",
            stage=stage,
            date=origin["date"],
            commit=origin["commit"],
            load_start=_num(origin["load_start"], 2),
            load_end=_num(origin["load_end"], 2),
        )
        + "\n\n"
        for stage, origin in sorted((kept_stages or {}).items())
    )
    return fill(
        "header",
        mode=meta["mode"],
        date=meta["date"],
        commit=meta["commit"],
        minutes="%.1f" % (meta["seconds"] / 60),
        kept_notes=notes,
        cpu=m["cpu_model"],
        logical_cpus=m["logical_cpus"],
        usable_cpus=m["usable_cpus"],
        memory="%.1f" % (m["memory_gib"] or 0),
        os=m["os"],
        python=m["python"],
        packages=", ".join("%s %s" % (k, v) for k, v in m["packages"].items() if v),
        chromium=m["chromium"] or "n/a",
        load_start=_num(meta["load_start"], 2),
        load_end=_num(meta["load_end"], 2),
    )


FIGURES = (
    "1. overhead, TF-MOT MLP, monitor every step",
    "1. overhead, TF-MOT MLP, monitor every 10 steps",
    "1. overhead, TF-MOT CNN, monitor every step",
    "1. overhead, TF-MOT CNN, monitor every 10 steps",
    "1. overhead, Keras 3 manual pruning MLP, monitor every step",
    "1. overhead, Keras 3 manual pruning MLP, monitor every 10 steps",
    "2. bytes, recorded step without mask change vs its figures as TensorBoard scalars",
    "2. bytes, the same step vs its Time Series scalars alone",
    "2. bytes, changed mask, worst bits per weight",
    "2. bytes, 90%-sparse magnitude mask, bits per weight",
    "2. bytes, log directory of the long run",
    "3. latency, /overview of all runs vs /scalars",
    "3. latency, /overview of one run vs /scalars",
    "3. latency, /weight_series vs /scalars",
    "3. latency, /mask of the big weight, real TensorBoard",
    "3. latency, /mask of the big weight, in-process Python loader",
    "3. memory, TensorBoard with the plugin vs without",
    "4. frontend, Schedules opened to the first schedule chart drawn",
    "4. frontend, Schedules opened to all schedule charts drawn",
    "4. frontend, TensorBoard opened at #pruning to the overview drawn",
    "4. frontend, then a click on Schedules to the first schedule chart drawn",
    "4. frontend, scrubbing the recorded mask steps",
    # Added later; rows are placed in their section (the table's order is the rows' order).
    "3. latency, /weight_series_multi as Schedules asks vs TensorBoard's scalars_multirun",
    "4. frontend, Schedules opened to the first screen of schedule charts drawn",
)
OVERHEAD_FIGURES = {
    ("tfmot_mlp", "monitor_every_1"): FIGURES[0],
    ("tfmot_mlp", "monitor_every_10"): FIGURES[1],
    ("tfmot_cnn", "monitor_every_1"): FIGURES[2],
    ("tfmot_cnn", "monitor_every_10"): FIGURES[3],
    ("keras3_mlp", "monitor_every_1"): FIGURES[4],
    ("keras3_mlp", "monitor_every_10"): FIGURES[5],
}


def _model_setting(overhead, group):
    cfg = overhead["config"]
    weights = "{:,}".format(overhead["groups"][group]["trainable_weights"])
    if group.endswith("cnn"):
        c1, c2, d = cfg["cnn"]
        return "conv %d-%d, dense %d-10; %s weights; batch %d" % (c1, c2, d, weights, cfg["batch"])
    h1, h2 = cfg["mlp"]
    return "784-%d-%d-10; %s weights; batch %d" % (h1, h2, weights, cfg["batch"])


def _overhead_summary_rows(overhead):
    rows = []
    for (group, variant), name in OVERHEAD_FIGURES.items():
        result = overhead["groups"].get(group)
        ratio = result["ratio"].get(variant) if result else None
        if ratio is None:
            continue
        target = OVERHEAD_TARGETS[variant]
        rows.append(
            (
                name,
                _model_setting(overhead, group),
                "%.3f x (%s)" % (ratio["median"], _pct(ratio["median"])),
                "<= %.2f x" % target,
                _verdict(ratio["median"] <= target),
            )
        )
    return rows


def _disk_summary_rows(disk):
    rows = []
    step = disk["step_without_mask_change"]
    refs = disk["references"]
    same, alone = refs["tf_summary_scalars"], refs["time_series_scalars_alone"]
    setting = "%d weights, median of %s steps" % (step["weights"], "{:,}".format(step["steps"]))
    rows.append(
        (
            FIGURES[6],
            setting,
            "%s vs %s (%.2f x)" % (_bytes(step["bytes"]), _bytes(same), step["bytes"] / same),
            "<= 1 x",
            _verdict(step["bytes"] <= same),
        )
    )
    rows.append(
        (
            FIGURES[7],
            setting,
            "%s vs %s (%.2f x)" % (_bytes(step["bytes"]), _bytes(alone), step["bytes"] / alone),
            "<= 1 x",
            _verdict(step["bytes"] <= alone),
        )
    )
    large = [m for m in _all_masks(disk) if m["size"] >= LARGE_MASK]
    worst = max(large, key=lambda m: m["bits_per_weight"]) if large else None
    codec = disk["masks"]["codec_1m_weights"]
    worst_kind = max(codec, key=codec.get)
    measured = "%.3f (%s, 1M weights)" % (codec[worst_kind], worst_kind)
    if worst is not None:
        measured += "; real masks: %.3f (%s, %.0f%% sparse)" % (
            worst["bits_per_weight"],
            worst["weight"],
            100 * worst["sparsity"],
        )
    ok = codec[worst_kind] <= BITS_TARGET and (
        worst is None or worst["bits_per_weight"] <= BITS_TARGET
    )
    rows.append(
        (
            FIGURES[8],
            "whole records; real masks of >= 64k weights",
            measured,
            "<= 1",
            _verdict(ok),
        )
    )
    at90 = codec.get("magnitude 90%")
    rows.append(
        (
            FIGURES[9],
            "1,048,576 weights",
            _num(at90, 3),
            "<= 0.6",
            _verdict(at90 is not None and at90 <= BITS_TARGET_90),
        )
    )
    run = disk["run"]
    rows.append(
        (
            FIGURES[10],
            "%s steps of %s, every step recorded" % ("{:,}".format(run["steps"]), run["model"]),
            "%s (%s per step)"
            % (_bytes(run["logdir_bytes"]), _bytes(run["logdir_bytes"] / run["steps"])),
            "(reported)",
            "",
        )
    )
    return rows


def _all_masks(disk):
    masks = list(disk["masks"]["run_10k"])
    for records in disk["masks"]["other_runs"].values():
        masks.extend(records)
    return masks


def _dashboard_summary_rows(dash):
    rows = []
    log = dash["logdir"]
    routes = dash["routes"]
    setting = "%d runs x %d weights x %s steps, Rust data server" % (
        log["runs"],
        log["weights_per_run"],
        "{:,}".format(log["recorded_steps"]),
    )
    allruns = dash["overview_all_runs"]
    ref = sum(allruns["scalars_reference_ms"]) / len(allruns["scalars_reference_ms"])
    if allruns["ms"] is not None:
        ratio = allruns["ms"] / ref
        measured = "%.0f x (%s ms vs %s ms)" % (ratio, _num(allruns["ms"], 0), _num(ref, 0))
    else:
        ratio, measured = None, str(allruns["bytes"])
    rows.append(
        (FIGURES[11], setting, measured, "<= 1.5 x", _verdict(ratio is not None and ratio <= 1.5))
    )
    scalars_ms = routes["scalars (TensorBoard)"]["ms"]["median"]
    for figure, name in ((FIGURES[12], "overview of one run"), (FIGURES[13], "weight_series")):
        r = routes[name]
        ratio = r["ratio_to_scalars"]["median"]
        rows.append(
            (
                figure,
                setting,
                "%.2f x (%s ms vs %s ms)"
                % (ratio, _num(r["ms"]["median"], 0), _num(scalars_ms, 0)),
                "<= 1.5 x",
                _verdict(ratio <= ROUTE_RATIO_TARGET),
            )
        )
    multi = routes["weight_series_multi (all runs, as Schedules asks)"]
    multirun = routes["scalars_multirun (TensorBoard, all runs)"]
    ratio = multi["ratio_to_scalars_multirun"]["median"]
    rows.append(
        (
            FIGURES[22],
            setting + "; one weight, every run, the fields a chart draws",
            "%.2f x (%s ms vs %s ms)"
            % (ratio, _num(multi["ms"]["median"], 0), _num(multirun["ms"]["median"], 0)),
            "<= 1.5 x",
            _verdict(ratio <= ROUTE_RATIO_TARGET),
        )
    )
    big = dash["big_mask"]
    side = big["shape"][0]
    for figure, entry, how in (
        (
            FIGURES[14],
            big["real tensorboard (rust data server)"][
                "as the Masks view asks (diff, max_cells 262144)"
            ],
            "Rust data server",
        ),
        (FIGURES[15], big["in process, python loader, as the Masks view asks"], "Python loader"),
    ):
        first = entry.get("first_ms", entry["ms"]["median"])
        later = entry.get("later_ms") or entry["ms"]
        rows.append(
            (
                figure,
                "%dx%d, as the Masks view asks (diff, 512x512 grid); %s" % (side, side, how),
                "first request %s ms, repeated %s ms; %s"
                % (_num(first, 0), _num(later["median"], 0), _bytes(entry["bytes"])),
                "< 100 ms",
                _verdict(first < MASK_MS_TARGET),
            )
        )
    mem = dash["memory"]
    with_ = mem["with plugin"]["after_requests_and_browser"]["rss_mib"]
    without = mem["without plugin"]["after_requests"]["rss_mib"]
    rows.append(
        (
            FIGURES[16],
            setting + "; RSS incl. data server",
            "%s MiB vs %s MiB (%+.0f MiB)" % (_num(with_, 0), _num(without, 0), with_ - without),
            "(reported)",
            "",
        )
    )
    return rows


def _frontend_summary_rows(dash):
    rows = []
    fe = dash["frontend"]
    direct = fe["open_schedules_directly"]
    setting = "headless Chromium; %d runs" % dash["logdir"]["runs"]
    first, every = direct.get("first_schedule_chart_ms"), direct.get("all_schedule_charts_ms")
    rows.append(
        (
            FIGURES[17],
            setting + "; plugin frame at #tab=schedules",
            "%s ms" % _num(first, 0),
            "< 1 s",
            _verdict(first is not None and first < FRONTEND_MS_TARGET),
        )
    )
    screen = direct.get("first_screen_schedule_charts_ms")
    rows.append(
        (
            FIGURES[23],
            setting
            + "; the %s charts in the frame's viewport before scrolling"
            % _num(direct.get("first_screen_schedule_charts"), 0),
            "%s ms" % _num(screen, 0),
            "< 1 s",
            _verdict(screen is not None and screen < FRONTEND_MS_TARGET),
        )
    )
    rows.append(
        (
            FIGURES[18],
            setting + "; %s charts" % _num(direct.get("schedule_charts"), 0),
            "%s ms" % _num(every, 0),
            "< 1 s",
            _verdict(every is not None and every < FRONTEND_MS_TARGET),
        )
    )
    opened = fe["open_tensorboard_at_pruning_then_click_schedules"]
    if "error" in opened:
        rows.append((FIGURES[19], setting, opened["error"], "< 1 s", _verdict(False)))
        rows.append((FIGURES[20], setting, "n/a", "< 1 s", "n/a"))
    else:
        rows.append(
            (
                FIGURES[19],
                setting
                + "; TensorBoard's own page until the plugin's iframe: %s ms"
                % _num(opened["plugin_iframe_created_ms"], 0),
                "%s ms" % _num(opened["overview_drawn_ms"], 0),
                "< 1 s",
                _verdict(opened["overview_drawn_ms"] < FRONTEND_MS_TARGET),
            )
        )
        first = opened.get("first_schedule_chart_ms")
        rows.append(
            (
                FIGURES[20],
                setting,
                "%s ms" % _num(first, 0),
                "< 1 s",
                _verdict(first is not None and first < FRONTEND_MS_TARGET),
            )
        )
    scrub = fe["scrub"]
    rows.append(
        (
            FIGURES[21],
            "%d steps, Next pressed, each mask drawn before the next press" % scrub["steps"],
            "%s ms per step (median), %s s in all"
            % (
                _num(scrub["step_through_ms"]["median"], 0),
                _num(scrub["step_through_ms"]["total"] / 1000, 1),
            ),
            "(reported)",
            "",
        )
    )
    return rows


def _summary_table(results):
    rows = []
    if "overhead" in results:
        rows += _overhead_summary_rows(results["overhead"])
    if "disk" in results:
        rows += _disk_summary_rows(results["disk"])
    if "dashboard" in results:
        rows += _dashboard_summary_rows(results["dashboard"])
        rows += _frontend_summary_rows(results["dashboard"])
    rows += report_issue10.summary_rows(results)
    return fill("summary", rows=table_rows(rows))


def _overhead_section(overhead):
    cfg = overhead["config"]
    intro = fill(
        "overhead",
        batch=cfg["batch"],
        frequency=cfg["frequency"],
        steps_per_fit=cfg["steps_per_fit"],
        rounds=cfg["rounds"],
        epochs_per_fit=cfg["epochs_per_fit"],
        steps_per_epoch=cfg["steps_per_fit"] // cfg["epochs_per_fit"],
        skip=cfg["skip"],
    )
    groups = [
        _overhead_group(overhead, group, result) for group, result in overhead["groups"].items()
    ]
    return "\n\n".join([intro] + groups)


def _variant_rows(result):
    """A row per variant of a group: ms per step, ratio, CPU-time ratio, target."""
    rows = []
    for variant, ms in result["per_step_ms"].items():
        ratio = result["ratio"].get(variant)
        cpu = result["cpu_ratio"].get(variant)
        target = OVERHEAD_TARGETS.get(variant)
        rows.append(
            (
                VARIANT_TITLES.get(variant, variant),
                _spread(ms),
                _ratio_spread(ratio) if ratio else "1",
                "%.3f" % cpu["median"] if cpu else "1",
                "<= %.2f: %s" % (target, _verdict(ratio["median"] <= target))
                if target and ratio
                else "",
            )
        )
    return rows


def _overhead_group(overhead, group, result):
    """A group's variants, and where the monitor's time goes."""
    profile = result["profile"]
    every1, every10 = profile["monitor_every_1"], profile["monitor_every_10"]
    # The default's column, first, in the results of a run that profiled it.
    columns = [v for v in PROFILE_COLUMNS if v in profile]
    reference = result["per_step_ms"][result["reference"]]["median"]
    parts = [
        (part,) + tuple(_num(profile[v]["parts_ms_per_step"].get(part), 3) for v in columns)
        for part in every1["parts_ms_per_step"]
    ]
    largest = sorted(every1["parts_ms_per_step"].items(), key=lambda kv: -kv[1])[:3]
    total = every1["hook_ms_per_step"] or 1
    floor = result.get("one_pass_floor_ms")
    floor_text = ""
    if floor is not None:
        share = "%.1f%%" % (100 * floor / reference)
        floor_text = " " + fill("overhead_floor", floor=_num(floor, 2), share=share)
    return fill(
        "overhead_group",
        title=GROUP_TITLES.get(group, group),
        setting=_model_setting(overhead, group),
        rows=table_rows(_variant_rows(result)),
        reference=_num(reference, 2),
        parts=table_rows(parts),
        columns="".join(" %s |" % PROFILE_COLUMNS[v] for v in columns),
        rules="---|" * len(columns),
        records=_and([str(profile[v]["records"]) for v in columns]),
        hooks="".join(" **%s** |" % _num(profile[v]["hook_ms_per_step"], 3) for v in columns),
        hook_1_short=_num(every1["hook_ms_per_step"], 2),
        hook_share="%.0f%%" % (100 * every1["hook_ms_per_step"] / reference),
        largest="; ".join(
            "%s %s ms (%.0f%%)" % (name, _num(ms, 2), 100 * ms / total) for name, ms in largest
        ),
        floor=floor_text,
        every_10=_paragraph(_every_10_sentence(result, every10, reference)),
        default=_paragraph(_default_sentence(result, profile.get("monitor_default"), reference)),
    )


# The profiled variants' columns, in order.
PROFILE_COLUMNS = {
    "monitor_default": "default arguments",
    "monitor_every_1": "every step",
    "monitor_every_10": "every 10 steps",
}


def _and(items):
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _default_sentence(result, default, reference):
    """What the hook costs with default arguments, against the measured ratio."""
    ratio = result.get("ratio", {}).get("monitor_default")
    if default is None or ratio is None:
        return ""
    parts = default["parts_ms_per_step"]
    graph = next((ms for name, ms in parts.items() if name.startswith("measuring graph")), 0.0)
    hook = default["hook_ms_per_step"]
    return fill(
        "overhead_default",
        hook=_num(hook, 3),
        hook_share="%.1f%%" % (100 * hook / reference),
        records=default["records"],
        graph=_num(graph, 3),
        **_measured_against_hook(ratio, hook, reference),
    )


def _measured_against_hook(ratio, hook, reference):
    """The placeholders saying a measured ratio (median, range) against the hook's share."""
    return dict(
        median="%.3f" % ratio["median"],
        min="%.3f" % ratio["min"],
        max="%.3f" % ratio["max"],
        verdict="is above the hook's share: the rest is spent outside the monitor's hooks"
        if ratio["median"] - 1 > hook / reference
        else "is below the hook's share, which the spread of the rounds allows",
    )


def _every_10_sentence(result, every10, reference):
    """What the hook costs when recording every 10 steps, against the measured ratio."""
    ratio = result.get("ratio", {}).get("monitor_every_10")
    parts = every10["parts_ms_per_step"]
    graph = next((ms for name, ms in parts.items() if name.startswith("measuring graph")), None)
    encode = next((ms for name, ms in parts.items() if name.startswith("encode changed")), None)
    if ratio is None or graph is None or encode is None:
        return ""
    hook = every10["hook_ms_per_step"]
    return fill(
        "overhead_every_10",
        hook=_num(hook, 3),
        hook_share="%.1f%%" % (100 * hook / reference),
        graph=_num(graph, 3),
        graph_share="%.1f%%" % (100 * graph / reference),
        graph_per_record=_num(graph * 10, 2),
        encode=_num(encode, 3),
        encode_share="%.1f%%" % (100 * encode / reference),
        **_measured_against_hook(ratio, hook, reference),
    )


def _disk_section(disk):
    run = disk["run"]
    step = disk["step_without_mask_change"]
    refs = disk["references"]
    note = ""
    ts_copy = step["by_kind"].get("time_series_scalar")
    if ts_copy is not None:
        note = fill(
            "disk_time_series",
            copy=_num(ts_copy, 0),
            scalars=_num(refs["tf_summary_scalars"], 0),
            ratio="%.2f" % (refs["tf_summary_scalars"] / step["bytes"]),
        )
        note += "\n\n"
    return fill(
        "disk",
        model=run["model"],
        trainable_weights="{:,}".format(run["trainable_weights"]),
        pruned_weights="{:,}".format(run["pruned_weights"]),
        steps="{:,}".format(run["steps"]),
        frequency=disk["config"]["frequency"],
        batch=disk["config"]["batch"],
        training_seconds=_num(run["training_seconds"], 0),
        file_rows=table_rows(
            ("`%s`" % name, "{:,}".format(size)) for name, size in sorted(run["files"].items())
        ),
        logdir_bytes="{:,}".format(run["logdir_bytes"]),
        logdir_size=_bytes(run["logdir_bytes"]),
        per_step=_bytes(run["logdir_bytes"] / run["steps"]),
        step_weights=step["weights"],
        step_count="{:,}".format(step["steps"]),
        kind_rows=table_rows((kind, _num(size, 0)) for kind, size in step["by_kind"].items()),
        step_bytes=_num(step["bytes"], 0),
        **_reference_cells(step, refs),
        time_series_note=note,
        codec_rows=table_rows(
            (kind, "%.3f" % bits) for kind, bits in disk["masks"]["codec_1m_weights"].items()
        ),
        real_mask_rows=table_rows(_real_mask_rows(disk)),
    )


def _reference_cells(step, refs):
    """The step's bytes written other ways, and the monitor's step over each."""
    cells = {}
    for key, ref in (
        ("scalars", "tf_summary_scalars"),
        ("histograms", "tf_summary_scalars_and_histograms"),
        ("time_series", "time_series_scalars_alone"),
    ):
        cells[key] = _num(refs[ref], 0)
        cells[key + "_ratio"] = "%.2f" % (step["bytes"] / refs[ref])
    return cells


def _real_mask_rows(disk):
    """Per run and weight: the last mask and the worst record (sparsity, bits per weight)."""
    sources = [("10k-step run", disk["masks"]["run_10k"])]
    for path, records in disk["masks"]["other_runs"].items():
        sources.append(("overhead MLP (%s)" % path.rstrip("/").split("/")[-1], records))
    rows = []
    for name, records in sources:
        by_weight = {}
        for r in records:
            by_weight.setdefault(r["weight"], []).append(r)
        for weight, rs in by_weight.items():
            last = max(rs, key=lambda r: r["step"])
            worst = max(rs, key=lambda r: r["bits_per_weight"])
            rows.append(
                (
                    name,
                    weight,
                    "{:,}".format(last["size"]),
                    "%.1f%%, %.3f" % (100 * last["sparsity"], last["bits_per_weight"]),
                    "%.1f%%, %.3f (%.3f)"
                    % (
                        100 * worst["sparsity"],
                        worst["bits_per_weight"],
                        worst["payload_bits_per_weight"],
                    ),
                )
            )
    return rows


def _dashboard_section(dash):
    log = dash["logdir"]
    allruns = dash["overview_all_runs"]
    multirun = allruns["tensorboard_scalars_multirun_all_weights"]
    route_rows = [
        (
            name,
            _spread(r["ms"], lambda v: _num(v, 0)),
            "%.2f" % r["ratio_to_scalars"]["median"],
            _bytes(r["bytes"]),
        )
        for name, r in dash["routes"].items()
    ]
    return fill(
        "dashboard",
        runs=log["runs"],
        weights_per_run=log["weights_per_run"],
        recorded_steps="{:,}".format(log["recorded_steps"]),
        mask_records=log["mask_records_per_weight"],
        bytes_per_run=_bytes(log["bytes_per_run"]),
        generation_seconds=_num(log["generation_seconds"], 0),
        flags=" ".join(dash["flags"]),
        route_rows=table_rows(route_rows),
        all_weights=log["runs"] * log["weights_per_run"],
        overview_ms=_num(allruns["ms"], 0),
        overview_bytes=_bytes(allruns["bytes"])
        if isinstance(allruns["bytes"], int)
        else allruns["bytes"],
        reference_ms=" and ".join(_num(v, 0) for v in allruns["scalars_reference_ms"]),
        multirun_requests=multirun["requests"],
        multirun_ms=_num(multirun["ms"], 0),
        multirun_bytes=_bytes(multirun["bytes"]),
        **_provider_calls(dash),
        **_big_mask(dash),
        **_memory(dash),
    )


def _provider_calls(dash):
    """The provider calls per route, and what one call costs with each loader."""
    calls = dash["provider_calls"]
    rows = []
    for name, by_loader in calls.items():
        rust = by_loader["rust data server (gRPC)"]
        python = by_loader["python loader"]
        detail = ", ".join("%s %d" % (k, v) for k, v in sorted(rust["provider_calls"].items()))
        rows.append(
            (
                name,
                "%d (%s)" % (rust["total_calls"], detail),
                _num(rust["ms"], 1),
                _num(python["ms"], 1),
                _num(rust["ms"] / rust["total_calls"], 1) if rust["total_calls"] else "n/a",
            )
        )
    scalars = calls.get("scalars (TensorBoard)", {})
    environment = dash["routes"].get("environment (TensorBoard, no provider call)")
    return {
        "call_rows": table_rows(rows),
        "rust_call_ms": _num(scalars.get("rust data server (gRPC)", {}).get("ms"), 0),
        "python_call_ms": _num(scalars.get("python loader", {}).get("ms"), 1),
        "environment_note": fill("dashboard_environment", ms=_num(environment["ms"]["median"], 0))
        + " "
        if environment
        else "",
    }


def _big_mask(dash):
    """The mask route for the big weight: its requests, and where the in-process one's time goes."""
    big = dash["big_mask"]
    side = big["shape"][0]
    in_process = big["in process, python loader, as the Masks view asks"]
    requests = [
        (name, "real TensorBoard, Rust data server", entry)
        for name, entry in big["real tensorboard (rust data server)"].items()
    ]
    requests.append(
        (
            "as the Masks view asks (diff, max_cells 262144)",
            "in-process app, Python loader",
            in_process,
        )
    )
    rows = [
        (
            name,
            where,
            _num(entry.get("first_ms"), 0),
            _spread(entry.get("later_ms"), lambda v: _num(v, 0)),
            _bytes(entry["bytes"]),
        )
        for name, where, entry in requests
    ]
    first, later = in_process.get("parts_first_ms"), in_process.get("parts_later_ms")
    parts = ""
    if first:
        parts = "\n\n" + fill(
            "dashboard_mask_parts",
            rows=table_rows(
                (part, _num(ms, 1), _num(later.get(part), 1)) for part, ms in first.items()
            ),
            first=_num(in_process["first_ms"], 1),
            later=_num(in_process["later_ms"]["median"], 1),
        )
    return {
        "side": side,
        "mask_weights": "{:,}".format(side * side),
        "mask_rows": table_rows(rows),
        "mask_parts": parts,
    }


def _memory(dash):
    """TensorBoard's resident memory with and without the plugin."""
    rows = []
    for name, entry in dash["memory"].items():
        after = entry.get("after_requests_and_browser") or entry.get("after_requests")
        procs = {p["name"]: p["rss_mib"] for p in after["processes"]}
        rows.append(
            (
                name,
                "%s s" % _num(entry["load_seconds"], 0),
                "%s MiB" % _num(procs.get("python"), 0),
                "%s MiB" % _num(procs.get("server"), 0),
                "%s MiB" % _num(after["rss_mib"], 0),
                "%s MiB" % _num(after["peak_rss_mib"], 0),
            )
        )
    return {
        "plugins_with": ", ".join(dash["plugins_listing"]["with plugin"]),
        "plugins_without": ", ".join(dash["plugins_listing"]["without plugin"]),
        "memory_rows": table_rows(rows),
        "samples_note": fill("dashboard_samples") if len(dash["memory"]) > 2 else "",
    }


def _frontend_section(dash):
    fe = dash["frontend"]
    direct = fe["open_schedules_directly"]
    opened = fe["open_tensorboard_at_pruning_then_click_schedules"]
    network = fe.get("open_schedules_directly_network")
    scrub = fe["scrub"]
    st, drag = scrub["step_through_ms"], scrub["drag"]
    if "error" in opened:
        opened_row = fill("frontend_opened_error", error=opened["error"])
    else:
        opened_row = fill(
            "frontend_opened",
            overview_ms=_num(opened["overview_drawn_ms"], 0),
            iframe_ms=_num(opened["plugin_iframe_created_ms"], 0),
            **_chart_times(opened),
        )
    network_text = ""
    if network:
        network_text = fill(
            "frontend_network",
            requests=network["requests"],
            by_route=", ".join("%s %d" % kv for kv in sorted(network["by_route"].items())),
            json=_bytes(network["json_bytes"]),
            transferred=_bytes(network["transferred_bytes"]),
        )
    return fill(
        "frontend",
        chromium=fe["chromium"],
        runs=dash["logdir"]["runs"],
        trials=fe["trials"],
        **_chart_times(direct),
        screen_charts=_num(direct.get("first_screen_schedule_charts"), 0),
        charts=_num(direct.get("schedule_charts"), 0),
        opened_row=opened_row,
        network=_paragraph(network_text),
        first_chart=_paragraph(_first_chart_timeline(fe, dash["routes"])),
        all_charts=_paragraph(_all_charts_sentence(direct, network, dash["routes"])),
        rows=scrub["canvas"]["rows"],
        cols=scrub["canvas"]["cols"],
        steps=scrub["steps"],
        step_median=_num(st["median"], 0),
        step_p90=_num(st["p90"], 0),
        step_max=_num(st["max"], 0),
        step_total=_num(st["total"] / 1000, 1),
        drag_total=_num(drag["total_ms"] / 1000, 2),
        after_last_input=_num(drag["after_last_input_ms"], 0),
        steps_drawn=drag["steps_drawn"],
    )


def _chart_times(scenario):
    """When a scenario's charts were drawn, in ms."""
    return {
        "global_ms": _num(scenario.get("global_sparsity_chart_ms"), 0),
        "first_ms": _num(scenario.get("first_schedule_chart_ms"), 0),
        "screen_ms": _num(scenario.get("first_screen_schedule_charts_ms"), 0),
        "all_ms": _num(scenario.get("all_schedule_charts_ms"), 0),
    }


def _first_chart_timeline(fe, routes):
    """Where the first schedule chart's time goes, in the direct-open trial of median time."""
    trials = [
        t
        for t in fe.get("open_schedules_directly_trials") or []
        if t.get("timeline") and t.get("first_schedule_chart_ms") is not None
    ]
    if not trials:
        return ""
    trial = sorted(trials, key=lambda t: t["first_schedule_chart_ms"])[(len(trials) - 1) // 2]
    timeline = trial["timeline"]
    if not all(timeline.get(k) for k in ("page", "bundle", "runs", "first_weight_series_multi")):
        return ""
    drawn = trial["first_schedule_chart_ms"]
    runs, multi = timeline["runs"], timeline["first_weight_series_multi"]
    runs_ms, multi_ms = runs["end"] - runs["start"], multi["end"] - multi["start"]
    rounds = ""
    runs_route = routes.get("runs")
    multi_route = routes.get("weight_series_multi (all runs, as Schedules asks)")
    if runs_route and multi_route:
        rounds = " " + fill(
            "frontend_rounds",
            runs_ms=_num(runs_route["ms"]["median"], 0),
            multi_ms=_num(multi_route["ms"]["median"], 0),
        )
    return fill(
        "frontend_first_chart",
        drawn=_num(drawn, 0),
        page=_num(timeline["page"]["end"], 0),
        bundle=_num(timeline["bundle"]["end"], 0),
        runs_start=_num(runs["start"], 0),
        runs_end=_num(runs["end"], 0),
        runs_ms=_num(runs_ms, 0),
        multi_start=_num(multi["start"], 0),
        multi_end=_num(multi["end"], 0),
        multi_ms=_num(multi_ms, 0),
        after=_num(drawn - multi["end"], 0),
        both=_num(runs_ms + multi_ms, 0),
        rounds=rounds,
    )


def _all_charts_sentence(direct, network, routes):
    """What the time to all schedule charts is made of, from section 3's request times."""
    multi = routes.get("weight_series_multi (all runs, as Schedules asks)")
    charts = direct.get("schedule_charts")
    total = direct.get("all_schedule_charts_ms")
    if not multi or not charts or not total or not network:
        return ""
    return fill(
        "frontend_all_charts",
        multi_ms=_num(multi["ms"]["median"], 0),
        charts=charts,
        serial=_num(charts * multi["ms"]["median"] / 1000, 1),
        json=_bytes(network["json_bytes"]),
        total=_num(total / 1000, 1),
    )


def _real_spread(s, fmt="%.2f"):
    """median (min to max, n=count) of a real_models summary."""
    return "%s (%s to %s, n=%d)" % (fmt % s["median"], fmt % s["min"], fmt % s["max"], s["n"])


def real_models_section(results):
    """The real_models stage's section: one record against the floor, step time, bytes."""
    records = dict(results.get("small_models", {}))
    records.update({k: v["record"] for k, v in results["models"].items()})
    record_rows = [
        (
            name,
            "%d" % r["recorded_weights"],
            format(r["recorded_values"], ","),
            _real_spread(r["record_ms"], "%.1f"),
            _real_spread(r["floor_ms"], "%.1f"),
            _real_spread(r["ratio"]),
            _real_spread(r["ratio_masks_unchanged"]),
        )
        for name, r in records.items()
    ]
    step_rows = []
    for name, r in results["models"].items():
        for v, ratio in r["ratio"].items():
            b = r["bytes"].get(v) or {}
            step_rows.append(
                (
                    name,
                    "%d" % r["batch"],
                    _real_spread(r["per_step_ms"]["update_pruning_step"], "%.0f"),
                    v,
                    _real_spread(ratio),
                    format(int(b["bytes_per_change_step"]), ",") if b else "-",
                    format(int(b["bytes_per_other_step"]), ",") if b else "-",
                    "%.1f" % (b["per_1000_steps_at_frequency_100"] / 1e6) if b else "-",
                    "%.0f" % r["tensorboard"]["rss_mib"],
                )
            )
    default = results["monitor_default_every_n_steps"]
    return fill(
        "real_models",
        load_start="%.1f" % results["load_start"],
        load_end="%.1f" % results["load_end"],
        seconds="%.0f" % results["seconds"],
        record_rows=table_rows(record_rows),
        default=default,
        also="" if default != 1 else ", which is also `every_n_steps=1`",
        step_rows=table_rows(step_rows),
    )


def render(results, machine, meta, kept_stages=None):
    """The whole document as a string.

    `kept_stages`: stage -> the meta of the earlier run its results come from (`--from-json`).
    """
    sections = [_header(meta, machine, kept_stages), _summary_table(results)]
    missed = report_issue10.missed_section(results)
    if missed:
        sections.append(missed)
    if "overhead" in results:
        sections.append(_overhead_section(results["overhead"]))
    if "disk" in results:
        sections.append(_disk_section(results["disk"]))
    if "dashboard" in results:
        sections.append(_dashboard_section(results["dashboard"]))
        sections.append(_frontend_section(results["dashboard"]))
    if "real_models" in results:
        sections.append(real_models_section(results["real_models"]))
    sections += report_issue10.sections(results)
    return "\n\n".join(sections).rstrip() + "\n"


def today():
    """The date for the document's header."""
    return datetime.date.today().isoformat()
