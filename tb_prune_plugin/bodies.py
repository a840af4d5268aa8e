"""The response bodies of the routes (http_api.md): pure functions of a `reader.PruningReader`
and parsed parameters that return JSON-ready data and know nothing of HTTP.

Numbers that are NaN or infinite are sent as null. Series are cut to at most `max_points`
steps by `thinning.thin_indices` (the reader has asked the data provider for a sample of one
more than that: see http_api.md, "Long series").
"""

import base64
import csv
import dataclasses
import functools
import io
import math

import numpy as np
from tensorboard import errors

from tb_prune_plugin import mask_layout, metadata, thinning

# An error message quotes what the request sent: longer ones are cut, so a huge parameter
# never comes back in full.
MAX_ERROR_CHARS = 1000
# /runs lists at most this many notices (one per skipped series); the rest are counted.
MAX_NOTICES = 20

OVERVIEW_CSV_COLUMNS = (
    "run",
    "weight",
    "shape",
    "size",
    "nonzeros",
    "sparsity",
    "target_sparsity",
    "threshold",
    "step",
)
# Values of the run config's "method" that /runs passes on (others become null).
RUN_METHODS = ("tfmot", "manual")


def _number(value):
    """A JSON number: None for NaN and infinities."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _numbers(array):
    return [_number(v) for v in np.asarray(array, dtype=np.float64).tolist()]


def _steps(array):
    return [int(s) for s in np.asarray(array).tolist()]


def _b64(cells):
    return base64.b64encode(np.ascontiguousarray(cells, dtype=np.uint8).tobytes()).decode("ascii")


def cut(message, limit=MAX_ERROR_CHARS):
    """`message`, cut to `limit` characters with a note of how many were left out."""
    if len(message) <= limit:
        return message
    return "%s... (%d more characters)" % (message[:limit], len(message) - limit)


def runs_body(pruning_reader, ctx, eid):
    """The body of /runs: every run with pruning data, sorted by name, and notices.

    `notices` says which series were skipped because a newer tb_prune_plugin wrote
    them (at most `MAX_NOTICES`, then a count of the others).
    """
    skipped = []
    index = pruning_reader.runs(ctx, eid, skipped=skipped)
    configs = pruning_reader.run_configs(ctx, eid, index.values())
    runs = []
    for name, contents in index.items():
        config = configs[name]
        method = config.get("method") if config is not None else None
        runs.append(
            {
                "run": name,
                "weights": sorted(contents.weights),
                "metrics": {
                    scope: sorted(contents.metrics.get(scope, {}))
                    for scope in metadata.METRIC_SCOPES
                },
                "last_step": contents.last_step,
                "method": method if method in RUN_METHODS else None,
            }
        )
    return {"runs": runs, "notices": notices(skipped)}


def notices(skipped):
    """The notices of /runs for a list of `reader.SkippedSeries`, sorted by run and tag."""
    skipped = sorted(set(skipped), key=lambda s: (s.run, s.tag, s.version))
    result = [
        cut(
            "Run %r, tag %r: skipped, written in format version %d, newer than this "
            "tb_prune_plugin reads (%d); upgrade tb_prune_plugin to see it."
            % (s.run, s.tag, s.version, metadata.FORMAT_VERSION),
            limit=500,
        )
        for s in skipped[:MAX_NOTICES]
    ]
    if len(skipped) > MAX_NOTICES:
        result.append(
            "%d more series skipped for a newer format version (each is named in "
            "TensorBoard's log)." % (len(skipped) - MAX_NOTICES)
        )
    return result


def config_body(pruning_reader, ctx, eid, run):
    """The body of /config: the run's run_config record (NaN and infinities as null)."""
    config = pruning_reader.run_config(ctx, eid, run)
    if config is None:
        raise errors.NotFoundError("run %r has no run_config record" % (run,))
    return _clean_json(config)


def _clean_json(value):
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_json(v) for v in value]
    return value


def overview_body(pruning_reader, ctx, eid, runs=None):
    """The body of /overview: the last state of every weight, and per run the model figures.

    Weights without a weight_stats record and runs without a model_stats record are left
    out; `shape` (from the run config, else the latest mask record) may be null. A run's
    `stripped_size` (its last stripped_size record: step, saved and gzipped bytes) is there
    only when the run has one, so that runs written before the record existed keep their
    body.
    """
    weights, models = pruning_reader.overview(ctx, eid, runs)
    rows = []
    for w in weights:
        if w.step is None:  # no weight_stats record: nothing to summarize
            continue
        row = {
            "run": w.run,
            "weight": w.weight,
            "shape": list(w.shape) if w.shape is not None else None,
        }
        for field in ("size", "nonzeros", "sparsity", "target_sparsity", "threshold"):
            row[field] = _number(w.stats.get(field))
        row["step"] = w.step
        rows.append(row)
    run_rows = []
    for m in models:
        if m.step is None:  # no model_stats record
            continue
        run_row = {"run": m.run, "step": m.step}
        for field in metadata.MODEL_STATS_FIELDS:
            run_row[field] = _number(m.stats.get(field))
        if m.stripped_step is not None:  # absent, not null, for a run without the record
            run_row["stripped_size"] = {"step": m.stripped_step}
            for field in metadata.STRIPPED_SIZE_FIELDS:
                run_row["stripped_size"][field] = _number(m.stripped.get(field))
        run_rows.append(run_row)
    return {"rows": rows, "runs": run_rows}


def alerts_body(pruning_reader, ctx, eid, runs=None):
    """The body of /alerts: every alert of `runs` (None: all runs), sorted by run and step
    (`reader.alerts`); numbers that are NaN or infinite as null."""
    found = pruning_reader.alerts(ctx, eid, runs)
    return {"alerts": [_clean_json(dataclasses.asdict(a)) for a in found]}


# A text cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    text = str(value)
    # Run and weight names are anyone's: make sure a spreadsheet shows them as text.
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def overview_csv_text(pruning_reader, ctx, eid, runs=None):
    """The body of /overview.csv: `overview_csv` of the /overview body."""
    return overview_csv(overview_body(pruning_reader, ctx, eid, runs))


def overview_csv(body):
    """The rows of an /overview body as CSV text (shape written as 64x32)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OVERVIEW_CSV_COLUMNS)
    for row in body["rows"]:
        cells = []
        for column in OVERVIEW_CSV_COLUMNS:
            value = row[column]
            if column == "shape":
                value = "x".join(str(d) for d in value) if value is not None else None
            cells.append(_csv_cell(value))
        writer.writerow(cells)
    return out.getvalue()


def _mask_change_steps(series):
    """The steps where the mask changed: read apart for a sampled series, else the steps
    whose `mask_changed` is 1."""
    if series.mask_change_steps is not None:
        return series.mask_change_steps
    if "mask_changed" not in series.fields:
        return series.steps[:0]
    return series.steps[series.fields["mask_changed"] == 1]


def _series_entry(series, max_points, fields=None, weight=False):
    """`total_steps`, `steps` and `fields` (only `fields`, None: all) of a `reader.Series`,
    thinned to `max_points`; for a weight also `mask_change_steps` (and the steps where the
    mask changed are kept while they fit)."""
    total = None if series.sampled else len(series.steps)
    mask_steps = _mask_change_steps(series) if weight else None
    keep = None
    if weight and "mask_changed" in series.fields:
        keep = series.fields["mask_changed"] == 1
    index = thinning.thin(len(series.steps), max_points, keep)
    names = list(series.fields) if fields is None else fields
    nan = np.full(len(series.steps), np.nan)
    entry = {
        "total_steps": total,
        "steps": _steps(series.steps[index]),
        "fields": {name: _numbers(series.fields.get(name, nan)[index]) for name in names},
    }
    if weight:
        entry["mask_change_steps"] = _steps(mask_steps)
    return entry


def weight_series_body(pruning_reader, ctx, eid, run, weight, max_points=None):
    """The body of /weight_series: every weight_stats field of `weight` by step.

    At most `max_points` steps are sent (see http_api.md, "Long series").
    """
    series = pruning_reader.weight_series(ctx, eid, run, weight, max_points)
    return dict(run=run, weight=weight, **_series_entry(series, max_points, weight=True))


def weight_series_multi_body(pruning_reader, ctx, eid, runs, weight, fields=None, max_points=None):
    """The body of /weight_series_multi: `weight`'s weight_stats fields by step in each run.

    One provider read for all runs. `series` follows the order of `runs` for the runs that
    have `weight`; the others are listed in `missing`. Each series is thinned as by
    /weight_series and holds only `fields` (None: all), in that order; a field a run's
    records lack is sent as nulls.
    """
    by_run, missing = pruning_reader.weight_series_many(ctx, eid, runs, weight, max_points)
    series = [
        dict(run=run, **_series_entry(s, max_points, fields, weight=True))
        for run, s in by_run.items()
    ]
    return {"weight": weight, "series": series, "missing": missing}


def model_series_multi_body(pruning_reader, ctx, eid, runs, fields=None, max_points=None):
    """The body of /model_series_multi: the model_stats fields by step in each run, read in
    one provider call (see `weight_series_multi_body`)."""
    by_run, missing = pruning_reader.model_series_many(ctx, eid, runs, max_points)
    series = [dict(run=run, **_series_entry(s, max_points, fields)) for run, s in by_run.items()]
    return {"series": series, "missing": missing}


def model_series_body(pruning_reader, ctx, eid, run, max_points=None):
    """The body of /model_series: every model_stats field by step (at most `max_points`)."""
    series = pruning_reader.model_series(ctx, eid, run, max_points)
    return dict(run=run, **_series_entry(series, max_points))


def metrics_body(pruning_reader, ctx, eid, run, max_points=None):
    """The body of /metrics: the training metrics by scope and name (each at most
    `max_points` steps)."""
    body = {"run": run}
    for scope, by_name in pruning_reader.metrics(ctx, eid, run, max_points).items():
        body[scope] = {}
        for name, s in sorted(by_name.items()):
            index = thinning.thin(len(s.steps), max_points)
            body[scope][name] = {
                "total_steps": None if s.sampled else len(s.steps),
                "steps": _steps(s.steps[index]),
                "values": _numbers(s.values[index]),
            }
    return body


def sensitivity_body(pruning_reader, ctx, eid, runs=None):
    """The body of /sensitivity: the sensitivity scans of `runs` (None: every run holding one),
    by run, each weight's curve with its shape and size (NaN sent as null)."""
    scans = pruning_reader.sensitivity(ctx, eid, runs)
    return {
        "scans": [
            {
                "run": run,
                "weights": [
                    {
                        "weight": weight,
                        "shape": list(scan.shape),
                        "size": scan.size,
                        "structure": scan.structure,
                        "mode": scan.mode,
                        "sparsities": _numbers(scan.sparsities),
                        "pruned_fractions": _numbers(scan.pruned_fractions),
                        "metrics": {name: _numbers(v) for name, v in sorted(scan.metrics.items())},
                    }
                    for weight, scan in weights.items()
                ],
            }
            for run, weights in scans.items()
        ]
    }


def histograms_body(pruning_reader, ctx, eid, run, weight, max_points=None):
    """The body of /histograms: |w| histograms of the kept weights by step (at most
    `max_points` of them)."""
    h = pruning_reader.histograms(ctx, eid, run, weight, max_points)
    index = thinning.thin(len(h.steps), max_points)
    return {
        "run": run,
        "weight": weight,
        "total_steps": None if h.sampled else len(h.steps),
        "steps": _steps(h.steps[index]),
        "lo": _numbers(h.lo[index]),
        "hi": _numbers(h.hi[index]),
        "counts": [[int(c) for c in h.counts[i].tolist()] for i in index],
        "threshold": _numbers(h.threshold[index]),
    }


def mask_steps_body(pruning_reader, ctx, eid, run, weight):
    """The body of /mask_steps: the steps with a mask record, each mask's shape, and how
    many records could not be read (left out)."""
    skipped = []
    steps = pruning_reader.mask_steps(ctx, eid, run, weight, skipped=skipped)
    return {
        "run": run,
        "weight": weight,
        "steps": [s for s, _ in steps],
        "shapes": [list(shape) for _, shape in steps],
        "unreadable": len(skipped),
    }


def mask_body(pruning_reader, ctx, eid, run, weight, step, bounds, max_cells, diff):
    """The body of /mask: the mask in force at `step`, laid out in 2-D and reduced to a grid.

    Args:
      bounds: {"row0", "col0", "rows", "cols"} -> int or None (None: the whole layout).
      max_cells: the largest number of grid cells.
      diff: also compare with the previous recorded mask: adds `previous_step` and
        `shape_changed`, and the `newly_pruned` and `regrown` grids when there is a
        previous mask of the same shape.

    The reader keeps the body while the mask records at or before `step` are the same
    (`PruningReader.mask_view`): then the masks' blobs are not read at all.

    Raises:
      NotFoundError: unknown run or weight, or no mask at or before `step`.
      InvalidArgumentError: the region does not fit the layout.
    """
    view_key = (tuple(sorted(bounds.items())), max_cells, diff)
    build = functools.partial(_mask_body, run, weight, step, bounds, max_cells, diff)
    return pruning_reader.mask_view(ctx, eid, run, weight, step, view_key, build)


def _mask_body(run, weight, step, bounds, max_cells, diff, at):
    mask = at.packed  # the grids and unit sparsity are counted on the packed bits
    layout = mask_layout.layout_of(mask.shape)
    try:
        region = mask_layout.select_region(layout, **bounds)
    except mask_layout.RegionError as e:
        raise errors.InvalidArgumentError(
            "%s (weight %r at step %d has shape %s)" % (e, weight, at.step, list(mask.shape))
        ) from None
    previous = at.previous_packed if diff else None
    shape_changed = previous is not None and previous.shape != mask.shape
    grid, newly, regrown = mask_layout.mask_grids(
        mask, region, max_cells, previous=None if shape_changed else previous
    )
    body = {
        "run": run,
        "weight": weight,
        "requested_step": step,
        "step": at.step,
        "shape": list(mask.shape),
        "size": mask.size,
        "kept_total": mask.kept,
        "layout": {
            "rows": layout.rows,
            "cols": layout.cols,
            "row_axis": layout.row_axis,
            "col_axes": list(layout.col_axes),
            "col_shape": list(layout.col_shape),
        },
        "region": {
            "row0": region.row0,
            "col0": region.col0,
            "rows": region.rows,
            "cols": region.cols,
        },
        "grid": {
            "rows": int(grid.cells.shape[0]),
            "cols": int(grid.cells.shape[1]),
            "cell_rows": grid.cell_rows,
            "cell_cols": grid.cell_cols,
        },
        "exact": grid.exact,
        "kept": _b64(grid.cells),
        "unit_sparsity": _numbers(mask_layout.unit_sparsity(mask, region)),
    }
    if diff:
        body["previous_step"] = at.previous_step
        body["shape_changed"] = shape_changed
        if newly is not None:
            body["newly_pruned"] = _b64(newly.cells)
            body["regrown"] = _b64(regrown.cells)
    return body
