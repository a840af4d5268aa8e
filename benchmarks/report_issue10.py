"""Issue 10's figures in docs/performance.md: each beside its target, and where the time goes.

The summary table gets a row per model per target of the real_models stage (one record against
the floor, with and without `masks_unchanged`; the step ratio with default arguments and with
`every_n_steps=1`; bytes per 10,000 steps beyond the mask changes; TensorBoard's memory), of the
mask_deltas stage (bits per weight per change, the longest chain's decode, the first `/mask`
request at the end of a chain) and of the scale_run stage (load, memory, every route against
`/scalars`, the Masks view's first draw). Every verdict is computed from the results.

Then, for each missed figure, where its time goes (`missed_section`): the parts of one record
measured by benchmarks/record_breakdown.py, the decode of the chain beside the request, the
profiles scale_run.py took of the routes that missed.
"""

import statistics

import scale_report
from report_text import fill, num, table_rows, verdict

RECORD_TARGET = 2.0  # one record against one read pass of the recorded weights and masks
DEFAULT_STEP_TARGET = 1.03  # PruningMonitor() with default arguments, every model
EVERY_1_TARGETS = {"tfmot_mlp": 1.10, "resnet50": 1.05}  # every_n_steps=1; others reported
BYTES_TARGET = {"resnet50": 5e6}  # per 10,000 steps beyond the mask changes; others reported
BITS_TARGET = 0.15  # bits per weight per mask change on the gradual schedule
MASK_MS_TARGET = 100.0


def _ratio(summary):
    return "%.2f x (%.2f to %.2f, n=%d)" % (
        summary["median"],
        summary["min"],
        summary["max"],
        summary["n"],
    )


def _ms(summary):
    return "%s ms" % num(summary["median"], 1)


# real_models ----------------------------------------------------------------------------------


def _records(rm):
    records = dict(rm.get("small_models", {}))
    records.update({name: m["record"] for name, m in rm["models"].items()})
    return records


# (ratio key, ms key, label) of each kind of record measured against the floor.
RECORD_KINDS = (
    ("ratio", "record_ms", "one record"),
    ("ratio_masks_unchanged", "record_masks_unchanged_ms", "one record, masks_unchanged"),
    (
        "ratio_without_histograms",
        "record_without_histograms_ms",
        "one record without histograms",
    ),
    (
        "ratio_masks_unchanged_without_histograms",
        "record_masks_unchanged_without_histograms_ms",
        "one record, masks_unchanged, without histograms",
    ),
)


def record_rows(rm):
    """One record and one with `masks_unchanged`, against the floor, per model."""
    rows = []
    for name, r in _records(rm).items():
        setting = "%d weights recorded, %s values" % (
            r["recorded_weights"],
            format(r["recorded_values"], ","),
        )
        for key, ms, label in RECORD_KINDS:
            if key not in r:  # results of a run before records without histograms
                continue
            rows.append(
                (
                    "10.2 %s / floor, %s" % (label, name),
                    setting,
                    "%s (%s vs %s)" % (_ratio(r[key]), _ms(r[ms]), _ms(r["floor_ms"])),
                    "<= %.0f x" % RECORD_TARGET,
                    verdict(r[key]["median"] <= RECORD_TARGET),
                )
            )
    return rows


def _every_1(model, default_every_n):
    if "monitor_every_1" in model["ratio"]:
        return model["ratio"]["monitor_every_1"]
    return model["ratio"].get("monitor_default") if default_every_n == 1 else None


def step_rows(rm, overhead=None):
    """The step ratio with default arguments and with every_n_steps=1, per model."""
    rows = []
    default = rm["monitor_default_every_n_steps"]
    for name, m in rm["models"].items():
        setting = "batch %d, %s ms per step with UpdatePruningStep alone" % (
            m["batch"],
            num(m["per_step_ms"]["update_pruning_step"]["median"], 0),
        )
        ratio = m["ratio"]["monitor_default"]
        rows.append(_default_policy_row(name, m.get("default_policy")))
        rows.append(
            (
                "10.4 step ratio in the short fits (a mask change every %d steps), "
                "PruningMonitor() default arguments, %s" % (rm["config"]["frequency"], name),
                setting + "; PruningMonitor's every_n_steps default: %s" % default,
                _ratio(ratio),
                "(reported)",
                "",
            )
        )
        dp = m.get("default_policy") or {}
        if "ratio_every_1" in dp:
            accounted = _accounting_estimate(dp, "monitor_every_1")
            setting_1 = _usual_setting(dp, "monitor_every_1")
            rows.append(_every_1_row(name, setting_1, dp["ratio_every_1"], accounted))
            short = (
                "10.2 step ratio in the short fits (a mask change every %d steps), "
                % (rm["config"]["frequency"])
            )
            every_1 = _every_1(m, default)
            rows.append(
                (
                    short + "every_n_steps=1, %s" % name,
                    setting,
                    _ratio(every_1) if every_1 else "not measured in this run",
                    "(reported)",
                    "",
                )
            )
        else:  # a run from before default_policy.py measured every_n_steps=1
            rows.append(_every_1_row(name, setting, _every_1(m, default)))
    for name in rm.get("small_models", {}):
        group = ((overhead or {}).get("groups") or {}).get(name) or {}
        ratio = (group.get("ratio") or {}).get("monitor_default")
        rows.append(
            (
                "10.4 step ratio, PruningMonitor() default arguments, %s" % name,
                "overhead.py's model (the overhead stage)",
                _ratio(ratio) if ratio else "not measured in this run",
                "<= %.2f x" % DEFAULT_STEP_TARGET,
                verdict(ratio["median"] <= DEFAULT_STEP_TARGET if ratio else None),
            )
        )
        every_1 = (group.get("ratio") or {}).get("monitor_every_1")
        rows.append(_every_1_row(name, "overhead.py's model (the overhead stage)", every_1))
    return rows


def _default_policy_row(name, dp):
    """The default arguments' step ratio at TF-MOT's frequency 100 (default_policy.py)."""
    figure = "10.4 step ratio, PruningMonitor() default arguments, %s" % name
    target = "<= %.2f x" % DEFAULT_STEP_TARGET
    if not dp:
        return (figure, "", "not measured in this run", target, verdict(None))
    text, estimate = _accounting_estimate(dp, "monitor")
    ok = _within(dp["ratio"], estimate, DEFAULT_STEP_TARGET)
    return (figure, _usual_setting(dp, "monitor"), _ratio(dp["ratio"]) + text, target, verdict(ok))


def _within(ratio, estimate, target):
    """Whether a step ratio meets `target`: its measured median and the monitor's own
    accounting (`estimate`) both within it."""
    return max(ratio["median"], estimate) <= target


def _median_of(record, key):
    """A record/floor ratio's median as the missed lines say it ("not measured" if absent)."""
    return "%.2f" % record[key]["median"] if record and key in record else "not measured"


def _fit_seconds(dp):
    """A default_policy.py fit's seconds with UpdatePruningStep alone (the median step)."""
    return dp["steps_per_fit"] * dp["per_step_ms"]["update_pruning_step"]["median"] / 1e3


def _accounting_estimate(dp, key):
    """`(text, estimate)`: the step ratio the monitor's own accounting of its fits (`dp[key]`)
    implies, 1 + its hooks' time and its `on_train_end` over the training time (medians over
    the fits), said after a measured ratio. The fits' wall times vary from one to the next
    more than a few percent on this machine; the accounting does not depend on them."""
    steps = dp["steps_per_fit"]
    hooks = sorted(
        a["monitor_seconds"] / (a["training_seconds_per_step"] * steps)
        for a in dp[key]
        if a.get("training_seconds_per_step")
    )
    if not hooks:
        return "", 0.0
    ends = sorted(a.get("on_train_end_seconds", 0.0) for a in dp[key])
    end = ends[len(ends) // 2] / _fit_seconds(dp)
    hook = hooks[len(hooks) // 2]
    estimate = 1 + hook + end
    text = "; by its own accounting %.2f x (its hooks +%.1f%%, %.1f to %.1f over the fits; " % (
        estimate,
        100 * hook,
        100 * hooks[0],
        100 * hooks[-1],
    ) + "its on_train_end %.2f s a fit, +%.1f%%)" % (ends[len(ends) // 2], 100 * end)
    return text, estimate


def _usual_setting(dp, accounting=None):
    """The setting of a default_policy.py figure, with the records per fit of `accounting`
    (a key of `dp`: the monitor variant's accounting per fit) when given."""
    setting = (
        "TF-MOT PolynomialDecay at frequency %d; fits of one %d-step epoch; %s ms per step "
        "with UpdatePruningStep alone"
        % (
            dp["frequency"],
            dp["steps_per_fit"],
            num(dp["per_step_ms"]["update_pruning_step"]["median"], 0),
        )
    )
    if accounting:
        records = [a["records"] for a in dp[accounting]]
        setting += "; records per fit: %s" % ", ".join(str(r) for r in records)
    return setting


def _every_1_row(name, setting, ratio, accounted=("", 0.0)):
    """The every_n_steps=1 row; `accounted`: `_accounting_estimate`'s answer for the fits
    measured."""
    target = EVERY_1_TARGETS.get(name)
    if ratio is None:
        measured, ok = "not measured in this run", None
    else:
        measured = _ratio(ratio) + accounted[0]
        ok = _within(ratio, accounted[1], target) if target else None
    return (
        "10.2 step ratio, every_n_steps=1, %s" % name,
        setting,
        measured,
        "<= %.2f x" % target if target else "(reported)",
        verdict(ok) if target else "",
    )


def bytes_rows(rm):
    """Bytes per 10,000 steps beyond the mask changes, and TensorBoard's memory, per model."""
    rows = []
    for name, m in rm["models"].items():
        b = (m.get("bytes") or {}).get("monitor_default")
        target = BYTES_TARGET.get(name)
        if b:
            per = 10_000 * b["bytes_per_other_step"]
            measured = "%s MB (%s B per step without a mask change, mean of %d steps)" % (
                num(per / 1e6, 2),
                num(b["bytes_per_other_step"], 0),
                b["other_steps"],
            )
            ok = per <= target if target else None
        else:
            measured, ok = "n/a: no step without a mask change in the timed fits", None
        rows.append(
            (
                "10.4 bytes per 10,000 steps beyond the mask changes, %s" % name,
                "PruningMonitor() default arguments, during the timed fits",
                measured,
                "<= %s MB" % num(target / 1e6, 0) if target else "(reported)",
                verdict(ok) if target else "",
            )
        )
        tb = m["tensorboard"]
        rows.append(
            (
                "10.1 TensorBoard memory, %s" % name,
                "`tensorboard --logdir` over the every_n_steps=1 run, %s of events"
                % scale_report._bytes(tb["log_dir_bytes"]),
                "%s MiB RSS (peak %s MiB)" % (num(tb["rss_mib"], 0), num(tb["peak_rss_mib"], 0)),
                "(reported)",
                "",
            )
        )
    return rows


# mask_deltas ----------------------------------------------------------------------------------


def _interval(md):
    k = md["config"]["keyframe_interval"]
    return k, md["intervals"][str(k)], md["intervals"].get("1")


def mask_delta_rows(md):
    """Bits per weight per change, the longest chain's decode and /mask's first request."""
    cfg = md["config"]
    k, at_k, at_1 = _interval(md)
    side, units = cfg["side"], cfg["units"]
    schedule = "PolynomialDecay 0 -> %d%%, %d changes" % (
        100 * cfg["final_sparsity"],
        cfg["changes"],
    )
    v1 = ""
    if at_1:
        v1 = (
            "; format version 1 (every record whole): %.3f"
            % (at_1["big_bits_per_weight_per_change"])
        )
    return [
        (
            "10.3 delta-coded masks, bits per weight per change, %dx%d" % (side, side),
            "%s; magnitude masks; a keyframe every %d records" % (schedule, k),
            "%.3f%s" % (at_k["big_bits_per_weight_per_change"], v1),
            "<= %.2f" % BITS_TARGET,
            verdict(at_k["big_bits_per_weight_per_change"] <= BITS_TARGET),
        ),
        (
            "10.3 delta-coded masks, bits per weight per change as the monitor wrote them",
            "real TF-MOT training of a %dx%d kernel; %s; %d mask records, %d keyframes"
            % (
                units,
                units,
                schedule,
                md["written"]["mask_records"],
                md["written"]["keyframes"],
            ),
            "%.3f" % md["written"]["bits_per_weight_per_change"],
            "<= %.2f" % BITS_TARGET,
            verdict(md["written"]["bits_per_weight_per_change"] <= BITS_TARGET),
        ),
        (
            "10.3 delta-coded masks, decode of the longest chain, %dx%d" % (side, side),
            "a keyframe and %d deltas, `mask_codec.decode_chain`, median of 3" % (k - 1),
            "%s ms" % num(at_k["big_longest_chain_read_ms"], 1),
            "< %.0f ms" % MASK_MS_TARGET,
            verdict(at_k["big_longest_chain_read_ms"] < MASK_MS_TARGET),
        ),
        _first_request_row(md),
    ]


def _first_request_row(md):
    """/mask's first request at the end of each chain: every one must be under the target."""
    side = md["config"]["side"]
    first = md["route"]["first_request_ms"]
    deltas, keyframes = first["deltas"], first["keyframes"]
    return (
        "10.3 delta-coded masks, /mask first request at the end of a chain, %dx%d" % (side, side),
        "real TensorBoard; the last record of each of %d chains, as the Masks view asks; "
        "every first request counts" % len(deltas),
        "%s ms (%s to %s); the same masks as keyframes: %s ms"
        % (
            num(statistics.median(deltas), 0),
            num(min(deltas), 0),
            num(max(deltas), 0),
            num(statistics.median(keyframes), 0),
        ),
        "< %.0f ms" % MASK_MS_TARGET,
        verdict(max(deltas) < MASK_MS_TARGET),
    )


def mask_deltas_section(md):
    """The mask_deltas stage's section: per keyframe interval, and the route's requests."""
    cfg = md["config"]
    rows = []
    for k, iv in sorted(md["intervals"].items(), key=lambda kv: int(kv[0])):
        rows.append(
            (
                k,
                "%.3f" % iv["bits_per_weight_per_change"],
                "%.3f" % iv["big_bits_per_weight_per_change"],
                num(iv["encode_ms_per_1M_weights"], 1),
                num(iv["big_encode_ms"], 1),
                num(iv["longest_chain_read_ms"], 1),
                num(iv["big_longest_chain_read_ms"], 1),
            )
        )
    route = md["route"]
    first = route["first_request_ms"]
    return fill(
        "issue10_mask_deltas",
        units=cfg["units"],
        side=cfg["side"],
        changes=cfg["changes"],
        sparsity="%d" % (100 * cfg["final_sparsity"]),
        keyframe_interval=cfg["keyframe_interval"],
        changes_seen=md["changes"]["count"],
        fraction="%.2f%%" % (100 * md["changes"]["mean_fraction_changed"]),
        entropy="%.3f" % md["changes"]["entropy_bits_per_weight"],
        written="%.3f" % md["written"]["bits_per_weight_per_change"],
        interval_rows=table_rows(rows),
        chains=len(first["deltas"]),
        deltas=", ".join(num(v, 0) for v in first["deltas"]),
        keyframes=", ".join(num(v, 0) for v in first["keyframes"]),
        scrub=", ".join(num(v, 0) for v in route["scrub_forward_ms"]),
        seconds=num(md.get("seconds"), 0),
    )


# scale_run ------------------------------------------------------------------------------------


def scale_rows(sr):
    """Load, memory, every route's first and warm request against /scalars, the Masks view."""
    info, server = sr["logdir"], sr["server"]
    routes = server["routes"]
    setting = "%d kernels, %s weights, %s steps, default policy; Rust data server" % (
        info["kernels"],
        format(info["prunable_weights"], ","),
        format(info["steps"], ","),
    )
    memory = server["memory_after_routes"]
    rows = [
        (
            "10.5 TensorBoard loads the log directory",
            setting + "; %s on disk" % scale_report._mib(info["bytes"]),
            "last record served %s s after the process started" % num(server["load_seconds"], 0),
            "loads; memory reported",
            "",
        ),
        (
            "10.5 TensorBoard memory",
            setting + "; after every route was asked",
            "%s MiB RSS (peak %s MiB)"
            % (num(memory["rss_mib"], 0), num(memory["peak_rss_mib"], 0)),
            "(reported)",
            "",
        ),
    ]
    for path, warm in routes["warm"].items():
        first = routes["first"][path]
        ok = max(first["ratio"], warm["ratio"]["median"]) <= scale_report.TARGET_RATIO
        rows.append(
            (
                "10.5 %s vs /scalars, first and warm request" % path,
                setting,
                "first %.2f x (%s ms), warm %.2f x (%s ms)"
                % (
                    first["ratio"],
                    num(first["ms"], 0),
                    warm["ratio"]["median"],
                    num(warm["ms"]["median"], 0),
                ),
                "<= %.1f x" % scale_report.TARGET_RATIO,
                verdict(ok),
            )
        )
    drawn = sr["masks_view"]["trials"][0]["drawn_ms"]
    rows.append(
        (
            "10.5 Masks view of the largest kernel drawn, first open",
            "`%s` %s; a TensorBoard that read no mask yet; headless Chromium"
            % (info["largest_kernel"]["path"], "x".join(map(str, info["largest_kernel"]["shape"]))),
            "%s ms" % num(drawn, 0),
            "< %d ms" % scale_report.TARGET_MASKS_VIEW_MS,
            verdict(drawn < scale_report.TARGET_MASKS_VIEW_MS),
        )
    )
    return rows


# The summary's rows, the sections -----------------------------------------------------------


def summary_rows(results):
    """Issue 10's rows of the summary table, from the stages the results hold."""
    rows = []
    rm = results.get("real_models")
    if rm:
        rows += record_rows(rm) + step_rows(rm, results.get("overhead")) + bytes_rows(rm)
    if "mask_deltas" in results:
        rows += mask_delta_rows(results["mask_deltas"])
    if "scale_run" in results:
        rows += scale_rows(results["scale_run"])
    return rows


def record_parts_section(rm):
    """Where one record's time goes, per model: each part against the floor."""
    rows = []
    for name, r in _records(rm).items():
        parts = r.get("breakdown")
        if not parts:
            continue
        record = (name, "**one record**", _ms(parts["record_ms"]), _ratio(parts["record_ratio"]))
        rows.append(record)
        for part, entry in parts["parts"].items():
            rows.append((name, part, _ms(entry["ms"]), _ratio(entry["ratio"])))
    if not rows:
        return ""
    return fill("issue10_record_parts", rows=table_rows(rows))


def _without_histograms(r):
    """The record's ratios without histograms, as the missed-record line says them ("" for the
    results of a run from before records without histograms)."""
    keys = ("ratio_without_histograms", "ratio_masks_unchanged_without_histograms")
    if not all(k in r for k in keys):
        return ""
    return "; without histograms %.2f x, and %.2f x with `masks_unchanged`" % tuple(
        r[k]["median"] for k in keys
    )


def _largest_parts(breakdown, count=3):
    """The largest parts of a record at a step without a mask change (the parts run only at a
    change, named so, are said after them)."""
    parts = sorted(breakdown["parts"].items(), key=lambda kv: -kv[1]["ratio"]["median"])
    ordinary = [(n, e) for n, e in parts if "change" not in n]
    at_change = [(n, e) for n, e in parts if "change" in n]
    text = "; ".join("%s %.2f x" % (name, e["ratio"]["median"]) for name, e in ordinary[:count])
    if at_change:
        text += " (only at a mask change: %s)" % "; ".join(
            "%s %.2f x" % (name, e["ratio"]["median"]) for name, e in at_change
        )
    return text


def _end_share(dp):
    """The median `on_train_end` time as a share of a fit with UpdatePruningStep alone."""
    ends = [a.get("on_train_end_seconds") for a in dp["monitor"]]
    if not ends or None in ends:
        return "not measured"
    end = sorted(ends)[len(ends) // 2]
    return "%.1f%%" % (100 * end / _fit_seconds(dp))


def _accounting_placeholders(dp, fits):
    """The placeholders of the monitor's own accounting over `fits` (default_policy.py's)."""
    share = [
        a["monitor_seconds"] / (a["monitor_seconds"] + a["training_seconds_per_step"] * steps)
        for a in fits
        if a.get("training_seconds_per_step")
        for steps in [dp["steps_per_fit"]]
    ]
    return dict(
        frequency=dp["frequency"],
        steps=dp["steps_per_fit"],
        records=", ".join(str(a["records"]) for a in fits),
        record=", ".join(num(1e3 * (a["record_seconds"] or 0), 0) for a in fits),
        share=", ".join("%.1f%%" % (100 * x) for x in share) or "not measured",
        end=", ".join("%.2f" % a.get("on_train_end_seconds", float("nan")) for a in fits),
    )


def _missed_default_policy(name, dp, record=None):
    """Where the default's time went, by the monitor's own accounting, if its target is missed
    (and the same for every_n_steps=1 at the same settings)."""
    lines = []
    if not dp:
        return lines
    estimate = _accounting_estimate(dp, "monitor")[1]
    if not _within(dp["ratio"], estimate, DEFAULT_STEP_TARGET):
        lines.append(
            fill(
                "issue10_missed_default",
                model=name,
                ratio="%.3f" % dp["ratio"]["median"],
                end_share=_end_share(dp),
                **_accounting_placeholders(dp, dp["monitor"]),
            )
        )
    target = EVERY_1_TARGETS.get(name)
    if "ratio_every_1" not in dp or not target:
        return lines
    estimate = _accounting_estimate(dp, "monitor_every_1")[1]
    if not _within(dp["ratio_every_1"], estimate, target):
        lines.append(
            fill(
                "issue10_missed_every_1",
                model=name,
                ratio="%.3f" % dp["ratio_every_1"]["median"],
                estimate="%.2f" % estimate,
                compared=_median_of(record, "ratio_without_histograms"),
                promised=_median_of(record, "ratio_masks_unchanged_without_histograms"),
                **_accounting_placeholders(dp, dp["monitor_every_1"]),
            )
        )
    return lines


def _missed_small_default(name, group):
    """Where the default's time went on an overhead-stage model, if its target is missed: the
    profiled fit's hook (nothing more when the stage did not profile the default)."""
    ratio = ((group or {}).get("ratio") or {}).get("monitor_default")
    if not ratio or ratio["median"] <= DEFAULT_STEP_TARGET:
        return []
    profile = group.get("profile", {}).get("monitor_default")
    reference = group["per_step_ms"][group["reference"]]["median"]
    summaries = group["ratio"].get("pruning_summaries")
    return [
        fill(
            "issue10_missed_small_default",
            model=name,
            ratio="%.3f" % ratio["median"],
            spread="%.3f to %.3f" % (ratio["min"], ratio["max"]),
            hook="This run did not profile the default arguments."
            if profile is None
            else "The monitor's hook in the profiled fit with default arguments: %s ms per step, "
            "%.1f%% of the reference step, for %d records in its batch hooks (section 1 says what "
            "it is made of)."
            % (
                num(profile["hook_ms_per_step"], 3),
                100 * profile["hook_ms_per_step"] / reference,
                profile["records"],
            ),
            summaries=""
            if summaries is None
            else " TF-MOT's own `PruningSummaries`, in the same rounds: %.3f x."
            % summaries["median"],
        )
    ]


def missed_lines(results):
    """A line per missed figure of issue 10: where its time goes, from the same results."""
    lines = []
    rm = results.get("real_models")
    for name, r in (_records(rm) if rm else {}).items():
        missed = [k for k in ("ratio", "ratio_masks_unchanged") if r[k]["median"] > RECORD_TARGET]
        if missed:
            lines.append(
                fill(
                    "issue10_missed_record",
                    model=name,
                    ratio="%.2f" % r["ratio"]["median"],
                    unchanged="%.2f" % r["ratio_masks_unchanged"]["median"],
                    without=_without_histograms(r),
                    largest=_largest_parts(r["breakdown"])
                    if r.get("breakdown")
                    else "not measured in this run (no breakdown in its results)",
                )
            )
    for name, m in (rm or {}).get("models", {}).items():
        lines += _missed_default_policy(name, m.get("default_policy"), m.get("record"))
        usual = m.get("default_policy") or {}
        for variant, ratio in m["ratio"].items():
            # The short fits' default ratio is reported only; the target's is default_policy's,
            # and so is every_n_steps=1's when default_policy.py measured it.
            reported = variant == "monitor_default" or "ratio_every_1" in usual
            target = None if reported else EVERY_1_TARGETS.get(name)
            if target and ratio["median"] > target:
                step = m["per_step_ms"]["update_pruning_step"]["median"]
                record = m["record"]["record_ms"]["median"]
                lines.append(
                    fill(
                        "issue10_missed_step",
                        model=name,
                        variant=variant,
                        ratio="%.3f" % ratio["median"],
                        record=num(record, 1),
                        step=num(step, 0),
                        share="%.1f%%" % (100 * record / step),
                    )
                )
    groups = (results.get("overhead") or {}).get("groups") or {}
    for name in (rm or {}).get("small_models", {}):
        lines += _missed_small_default(name, groups.get(name))
    md = results.get("mask_deltas")
    if md:
        k, at_k, _ = _interval(md)
        first = md["route"]["first_request_ms"]
        if max(first["deltas"]) >= MASK_MS_TARGET or at_k["big_longest_chain_read_ms"] >= 100:
            lines.append(
                fill(
                    "issue10_missed_mask",
                    side=md["config"]["side"],
                    request=num(max(first["deltas"]), 0),
                    decode=num(at_k["big_longest_chain_read_ms"], 1),
                    records=k,
                    keyframes=num(statistics.median(first["keyframes"]), 0),
                )
            )
    sr = results.get("scale_run")
    if sr:
        lines += _scale_missed(sr)
    return lines


def _scale_missed(sr):
    routes = sr["server"]["routes"]
    missed = [
        path
        for path, warm in routes["warm"].items()
        if max(routes["first"][path]["ratio"], warm["ratio"]["median"]) > scale_report.TARGET_RATIO
    ]
    lines = []
    if missed:
        profiled = sorted(set(missed) & set(sr.get("profiled", {})))
        lines.append(
            fill(
                "issue10_missed_routes",
                routes=", ".join("`%s`" % p for p in missed),
                scalars=num(routes["scalars_ms"]["median"], 0),
                profiled=", ".join("`%s`" % p for p in profiled) or "none (`--no-profile`)",
            )
        )
    first = sr["masks_view"]["trials"][0]
    if first["drawn_ms"] >= scale_report.TARGET_MASKS_VIEW_MS:
        lines.append(
            fill(
                "issue10_missed_masks_view",
                drawn=num(first["drawn_ms"], 0),
                requests=scale_report._requests_line(first),
            )
        )
    return lines


def missed_section(results):
    """Where the time goes in each missed figure of issue 10 (nothing when none missed)."""
    lines = missed_lines(results)
    if not lines:
        return ""
    return fill("issue10_missed", lines="\n".join("- " + line for line in lines))


def sections(results):
    """Issue 10's sections after the stages' own: the parts of a record, the delta-coded
    masks, TensorBoard at ResNet-50 size."""
    out = []
    if "real_models" in results:
        out.append(record_parts_section(results["real_models"]))
    if "mask_deltas" in results:
        out.append(mask_deltas_section(results["mask_deltas"]))
    if "scale_run" in results:
        out.append(scale_report.render(results["scale_run"]).rstrip())
    return [s for s in out if s]
