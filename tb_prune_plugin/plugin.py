"""The TensorBoard plugin `pruning`: routes of http_api.md over `reader.PruningReader`.

TensorBoard finds `PruningLoader` through the `tensorboard_plugins` entry point.
Routes are thin: they parse and check parameters, call the pure `*_body` functions
of this module (which know nothing of HTTP) and respond with
`tensorboard.backend.http_util.Respond`. Bad parameters give 400, unknown runs,
weights and steps 404, both as JSON `{"error": "..."}` quoting the offending
value. The plugin reads only through `context.data_provider`, so it works with
both the Python loader and the Rust data server (`--load_fast=true`).
"""

import base64
import csv
import functools
import io
import math
import os
import re

import numpy as np
from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from tensorboard.util import tb_logging
from werkzeug import wrappers

from tb_prune_plugin import mask_layout, metadata, reader, thinning

logger = tb_logging.get_logger()

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_STATIC_ROUTE = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME

DEFAULT_MAX_CELLS = 65536
MAX_MAX_CELLS = 1048576
# Steps per series sent by the series routes unless `max_points` asks otherwise: a chart is a few
# hundred pixels wide, and a run recorded at every step of 100,000 would send 22 MB per weight.
DEFAULT_MAX_POINTS = 4000
DEFAULT_MAX_HISTOGRAMS = 500
MAX_MAX_POINTS = 10_000_000
# The multi-run series routes take 1 to this many `run` parameters.
MAX_MULTI_RUNS = 100
_MAX_INT = 2**63 - 1
_INT_RE = re.compile(r"-?[0-9]{1,19}")
# An error message quotes what the request sent: longer ones are cut, so a huge parameter
# never comes back in full.
MAX_ERROR_CHARS = 1000
# /runs lists at most this many notices (one per skipped series); the rest are counted.
MAX_NOTICES = 20

CONTENT_TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".css": "text/css",
    ".map": "application/json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain",
}

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
OVERVIEW_CSV_FILENAME = "pruning_overview.csv"
# Values of the run config's "method" that /runs passes on (others become null).
RUN_METHODS = ("tfmot", "manual")


class PruningLoader(base_plugin.TBLoader):
    """Loads `PruningPlugin`, and makes TensorBoard keep every sample of its data."""

    def fix_flags(self, flags):
        """Sets `--samples_per_plugin pruning=0` (keep all) unless the user set it."""
        samples = getattr(flags, "samples_per_plugin", None)
        if isinstance(samples, dict):
            samples.setdefault(metadata.PLUGIN_NAME, 0)

    def load(self, context):
        """Returns the `PruningPlugin`, or None when TensorBoard has no data provider."""
        if context.data_provider is None:
            logger.warning("pruning plugin: TensorBoard gave no data provider; disabled")
            return None
        return PruningPlugin(context)


def _json_errors(method):
    """Wraps a route method so that TensorBoard's public errors become JSON responses."""

    @functools.wraps(method)
    def wrapper(self, request):
        try:
            return method(self, request)
        except errors.PublicError as e:
            return http_util.Respond(
                request, {"error": _cut(str(e))}, "application/json", code=e.http_code
            )

    return wrappers.Request.application(wrapper)


class PruningPlugin(base_plugin.TBPlugin):
    """Shows what pruning did to a model: sparsity over time, masks, histograms, metrics."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        self._reader = reader.PruningReader(context.data_provider)

    def get_plugin_apps(self):
        """The routes of http_api.md."""
        return {
            "/runs": self._serve_runs,
            "/config": self._serve_config,
            "/overview": self._serve_overview,
            "/overview.csv": self._serve_overview_csv,
            "/weight_series": self._serve_weight_series,
            "/model_series": self._serve_model_series,
            "/weight_series_multi": self._serve_weight_series_multi,
            "/model_series_multi": self._serve_model_series_multi,
            "/metrics": self._serve_metrics,
            "/histograms": self._serve_histograms,
            "/mask_steps": self._serve_mask_steps,
            "/mask": self._serve_mask,
            "/static/*": self._serve_static,
        }

    def is_active(self):
        """False: `data_plugin_names` makes the plugin active when pruning data exists."""
        return False

    def data_plugin_names(self):
        """The plugin reads the summaries of plugin name `pruning` only."""
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        """An iframed ES module frontend served from /static/index.js."""
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name="Pruning")

    # Routes -----------------------------------------------------------------------------------

    @_json_errors
    def _serve_runs(self, request):
        ctx, eid = _request_scope(request)
        return _respond_json(request, runs_body(self._reader, ctx, eid))

    @_json_errors
    def _serve_config(self, request):
        run = _single(request, "run")
        ctx, eid = _request_scope(request)
        return _respond_json(request, config_body(self._reader, ctx, eid, run))

    @_json_errors
    def _serve_overview(self, request):
        runs = _runs(request)
        ctx, eid = _request_scope(request)
        return _respond_json(request, overview_body(self._reader, ctx, eid, runs))

    @_json_errors
    def _serve_overview_csv(self, request):
        runs = _runs(request)
        ctx, eid = _request_scope(request)
        text = overview_csv(overview_body(self._reader, ctx, eid, runs))
        return http_util.Respond(
            request,
            text,
            "text/csv",
            headers=[("Content-Disposition", 'attachment; filename="%s"' % OVERVIEW_CSV_FILENAME)],
        )

    @_json_errors
    def _serve_weight_series(self, request):
        run, weight = _single(request, "run"), _single(request, "weight")
        max_points = _max_points(request, DEFAULT_MAX_POINTS)
        ctx, eid = _request_scope(request)
        return _respond_json(
            request, weight_series_body(self._reader, ctx, eid, run, weight, max_points)
        )

    @_json_errors
    def _serve_model_series(self, request):
        run = _single(request, "run")
        max_points = _max_points(request, DEFAULT_MAX_POINTS)
        ctx, eid = _request_scope(request)
        return _respond_json(request, model_series_body(self._reader, ctx, eid, run, max_points))

    @_json_errors
    def _serve_weight_series_multi(self, request):
        weight = _single(request, "weight")
        runs = _multi_runs(request)
        fields = _fields(request, metadata.WEIGHT_STATS_FIELDS, "weight_stats")
        max_points = _max_points(request, DEFAULT_MAX_POINTS)
        ctx, eid = _request_scope(request)
        body = weight_series_multi_body(self._reader, ctx, eid, runs, weight, fields, max_points)
        return _respond_json(request, body)

    @_json_errors
    def _serve_model_series_multi(self, request):
        runs = _multi_runs(request)
        fields = _fields(request, metadata.MODEL_STATS_FIELDS, "model_stats")
        max_points = _max_points(request, DEFAULT_MAX_POINTS)
        ctx, eid = _request_scope(request)
        body = model_series_multi_body(self._reader, ctx, eid, runs, fields, max_points)
        return _respond_json(request, body)

    @_json_errors
    def _serve_metrics(self, request):
        run = _single(request, "run")
        max_points = _max_points(request, DEFAULT_MAX_POINTS)
        ctx, eid = _request_scope(request)
        return _respond_json(request, metrics_body(self._reader, ctx, eid, run, max_points))

    @_json_errors
    def _serve_histograms(self, request):
        run, weight = _single(request, "run"), _single(request, "weight")
        max_points = _max_points(request, DEFAULT_MAX_HISTOGRAMS)
        ctx, eid = _request_scope(request)
        return _respond_json(
            request, histograms_body(self._reader, ctx, eid, run, weight, max_points)
        )

    @_json_errors
    def _serve_mask_steps(self, request):
        run, weight = _single(request, "run"), _single(request, "weight")
        ctx, eid = _request_scope(request)
        return _respond_json(request, mask_steps_body(self._reader, ctx, eid, run, weight))

    @_json_errors
    def _serve_mask(self, request):
        run, weight = _single(request, "run"), _single(request, "weight")
        step = _int(request, "step", minimum=0)
        diff = _flag(request, "diff")
        bounds = {
            "row0": _int(request, "row0", minimum=0, default=None),
            "col0": _int(request, "col0", minimum=0, default=None),
            "rows": _int(request, "rows", minimum=1, default=None),
            "cols": _int(request, "cols", minimum=1, default=None),
        }
        max_cells = _int(
            request, "max_cells", minimum=1, maximum=MAX_MAX_CELLS, default=DEFAULT_MAX_CELLS
        )
        ctx, eid = _request_scope(request)
        body = mask_body(self._reader, ctx, eid, run, weight, step, bounds, max_cells, diff)
        return _respond_json(request, body)

    @_json_errors
    def _serve_static(self, request):
        path = request.path
        relative = path[len(_STATIC_ROUTE) :] if path.startswith(_STATIC_ROUTE) else ""
        full = resolve_static(STATIC_DIR, relative)
        if full is None:
            raise errors.NotFoundError("no static file %r" % (relative,))
        with open(full, "rb") as f:
            content = f.read()
        content_type = CONTENT_TYPES.get(
            os.path.splitext(full)[1].lower(), "application/octet-stream"
        )
        return http_util.Respond(request, content, content_type)


# Parameters -----------------------------------------------------------------------------------


def _request_scope(request):
    return plugin_util.context(request.environ), plugin_util.experiment_id(request.environ)


def _single(request, name, required=True):
    """The one value of query parameter `name` (None if absent and not required)."""
    values = request.args.getlist(name)
    if not values:
        if required:
            raise errors.InvalidArgumentError("missing parameter %r" % name)
        return None
    if len(values) > 1:
        raise errors.InvalidArgumentError(
            "parameter %r must be given once, got %d values: %r" % (name, len(values), values)
        )
    if required and not values[0]:
        raise errors.InvalidArgumentError("parameter %r must not be empty" % name)
    return values[0]


def _max_points(request, default):
    """The series routes' `max_points` parameter (see `thinning`)."""
    return _int(request, "max_points", minimum=1, maximum=MAX_MAX_POINTS, default=default)


def _runs(request):
    """The repeated `run` parameter: None when absent, else the list of names."""
    runs = request.args.getlist("run")
    for run in runs:
        if not run:
            raise errors.InvalidArgumentError("parameter 'run' must not be empty")
    return runs or None


def _multi_runs(request):
    """The repeated `run` parameter of the multi-run routes: 1 to `MAX_MULTI_RUNS` names,
    duplicates dropped (first one kept)."""
    runs = request.args.getlist("run")
    if not 1 <= len(runs) <= MAX_MULTI_RUNS:
        raise errors.InvalidArgumentError(
            "parameter 'run' must be given 1 to %d times, got %d" % (MAX_MULTI_RUNS, len(runs))
        )
    for run in runs:
        if not run:
            raise errors.InvalidArgumentError("parameter 'run' must not be empty")
    return list(dict.fromkeys(runs))


def _fields(request, known, kind):
    """The optional `fields` parameter: a comma-separated list of names from `known`
    (None when absent: every field)."""
    raw = _single(request, "fields", required=False)
    if raw is None:
        return None
    names = raw.split(",")
    for name in names:
        if name not in known:
            raise errors.InvalidArgumentError(
                "parameter 'fields': unknown %s field %r in %r (known: %s)"
                % (kind, name, raw, ", ".join(known))
            )
    return list(dict.fromkeys(names))


def _int(request, name, minimum, maximum=_MAX_INT, default=Ellipsis):
    """Integer parameter `name` in [minimum, maximum]; required unless a default is given."""
    raw = _single(request, name, required=default is Ellipsis)
    if raw is None or (raw == "" and default is not Ellipsis):
        return default
    value = int(raw) if _INT_RE.fullmatch(raw) else None
    if value is None or not minimum <= value <= maximum:
        raise errors.InvalidArgumentError(
            "parameter %r must be an integer from %d to %d, got %r" % (name, minimum, maximum, raw)
        )
    return value


def _flag(request, name):
    raw = _single(request, name, required=False)
    if raw is None or raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise errors.InvalidArgumentError("parameter %r must be 0 or 1, got %r" % (name, raw))


# JSON helpers ---------------------------------------------------------------------------------


def _cut(message, limit=MAX_ERROR_CHARS):
    """`message`, cut to `limit` characters with a note of how many were left out."""
    if len(message) <= limit:
        return message
    return "%s... (%d more characters)" % (message[:limit], len(message) - limit)


def _respond_json(request, body):
    return http_util.Respond(request, body, "application/json")


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


# Bodies (no HTTP below) -----------------------------------------------------------------------


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
        _cut(
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
    out; `shape` (from the run config, else the latest mask record) may be null.
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
        run_rows.append(run_row)
    return {"rows": rows, "runs": run_rows}


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


def _thinned(series, max_points, keep_field=None):
    """`series` (steps + fields) cut to at most `max_points` steps (see `thinning`)."""
    keep = None
    if keep_field is not None and keep_field in series.fields:
        keep = series.fields[keep_field] == 1
    index = thinning.thin_indices(len(series.steps), max_points, keep)
    if len(index) == len(series.steps):
        return series
    return reader.Series(
        steps=series.steps[index], fields={k: v[index] for k, v in series.fields.items()}
    )


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
    if max_points is not None:
        series = _thinned(series, max_points, keep_field="mask_changed" if weight else None)
    names = list(series.fields) if fields is None else fields
    nan = np.full(len(series.steps), np.nan)
    entry = {
        "total_steps": total,
        "steps": _steps(series.steps),
        "fields": {name: _numbers(series.fields.get(name, nan)) for name in names},
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
            index = thinning.thin_indices(len(s.steps), max_points or len(s.steps) or 1)
            body[scope][name] = {
                "total_steps": None if s.sampled else len(s.steps),
                "steps": _steps(s.steps[index]),
                "values": _numbers(s.values[index]),
            }
    return body


def histograms_body(pruning_reader, ctx, eid, run, weight, max_points=None):
    """The body of /histograms: |w| histograms of the kept weights by step (at most
    `max_points` of them)."""
    h = pruning_reader.histograms(ctx, eid, run, weight, max_points)
    index = thinning.thin_indices(len(h.steps), max_points or len(h.steps) or 1)
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


def resolve_static(static_dir, relative):
    """The file `relative` names inside `static_dir`, or None if it is outside or missing.

    Refuses empty paths, absolute paths, `.` and `..` components, backslashes and NUL
    bytes, and anything whose real path (symlinks resolved) leaves `static_dir`.
    """
    if not relative or relative.startswith("/") or "\\" in relative or "\x00" in relative:
        return None
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    root = os.path.realpath(static_dir)
    full = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, full]) != root or not os.path.isfile(full):
        return None
    return full
