"""The TensorBoard plugin `pruning`: routes of http_api.md over `reader.PruningReader`.

TensorBoard finds `PruningLoader` through the `tensorboard_plugins` entry point.
Routes are declared in one table, `ROUTES`: each names its path, the function of `bodies`
that computes its answer (pure, no HTTP), its parameters (parsed and checked by `params`)
and the kind of response. Bad parameters give 400, unknown runs, weights and steps 404,
both as JSON `{"error": "..."}` quoting the offending value. The plugin reads only through
`context.data_provider`, so it works with both the Python loader and the Rust data server
(`--load_fast=true`).
"""

import dataclasses
import functools
import os
from typing import Callable, Tuple

from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from tensorboard.plugins import base_plugin
from tensorboard.util import tb_logging
from werkzeug import wrappers

from tb_prune_plugin import analysis_bodies, bodies, metadata, params, reader

logger = tb_logging.get_logger()

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_STATIC_ROUTE = "/data/plugin/%s/static/" % metadata.PLUGIN_NAME

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

OVERVIEW_CSV_FILENAME = "pruning_overview.csv"


@dataclasses.dataclass(frozen=True)
class Route:
    """One route of http_api.md.

    Attributes:
      path: the path under /data/plugin/pruning.
      body: `body(pruning_reader, ctx, experiment_id, **parameters)`, a function of `bodies`.
      params: `(name, parse)` pairs, parsed in this order (the first bad one is reported):
        `parse(args)` takes the query arguments and returns the value passed as `name`.
      kind: "json", or "csv" (the body is CSV text sent as a download).
    """

    path: str
    body: Callable
    params: Tuple[Tuple[str, Callable], ...] = ()
    kind: str = "json"


def _param(key, parse, /, **kwargs):
    """`(key, parse)` of a `Route`: `parse(args, **kwargs)` gives the value passed as `key`."""
    return key, functools.partial(parse, **kwargs)


def _text(name):
    return _param(name, lambda args: params.single(args, name))


def _max_points(default):
    return _param("max_points", params.max_points, default=default)


_RUN, _WEIGHT, _RUNS = _text("run"), _text("weight"), ("runs", params.runs)
_MULTI_RUNS = ("runs", params.multi_runs)
_SERIES_POINTS = _max_points(params.DEFAULT_MAX_POINTS)

ROUTES = (
    Route("/runs", bodies.runs_body),
    Route("/config", bodies.config_body, (_RUN,)),
    Route("/overview", bodies.overview_body, (_RUNS,)),
    Route("/overview.csv", bodies.overview_csv_text, (_RUNS,), kind="csv"),
    Route("/alerts", bodies.alerts_body, (_RUNS,)),
    Route("/weight_series", bodies.weight_series_body, (_RUN, _WEIGHT, _SERIES_POINTS)),
    Route("/model_series", bodies.model_series_body, (_RUN, _SERIES_POINTS)),
    Route(
        "/weight_series_multi",
        bodies.weight_series_multi_body,
        (
            _WEIGHT,
            _MULTI_RUNS,
            _param(
                "fields", params.fields, known=metadata.WEIGHT_STATS_FIELDS, kind="weight_stats"
            ),
            _SERIES_POINTS,
        ),
    ),
    Route(
        "/model_series_multi",
        bodies.model_series_multi_body,
        (
            _MULTI_RUNS,
            _param("fields", params.fields, known=metadata.MODEL_STATS_FIELDS, kind="model_stats"),
            _SERIES_POINTS,
        ),
    ),
    Route("/metrics", bodies.metrics_body, (_RUN, _SERIES_POINTS)),
    Route("/sensitivity", bodies.sensitivity_body, (_RUNS,)),
    Route(
        "/histograms",
        bodies.histograms_body,
        (_RUN, _WEIGHT, _max_points(params.DEFAULT_MAX_HISTOGRAMS)),
    ),
    Route("/mask_steps", bodies.mask_steps_body, (_RUN, _WEIGHT)),
    Route(
        "/mask",
        analysis_bodies.mask_body,
        (
            _RUN,
            _WEIGHT,
            _param("step", params.integer, name="step", minimum=0),
            _param("diff", params.flag, name="diff"),
            ("bounds", params.bounds),
            ("max_cells", params.max_cells),
            _param("compare_run", params.single, name="compare_run", required=False),
        ),
    ),
    Route("/mask_convergence", analysis_bodies.mask_convergence_body, (_WEIGHT, _MULTI_RUNS)),
    Route("/mask_overlap", analysis_bodies.mask_overlap_body, (_WEIGHT, _MULTI_RUNS)),
)


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


def _error_response(request, error):
    """TensorBoard's public error as a JSON response with its HTTP code."""
    body = {"error": bodies.cut(str(error))}
    return http_util.Respond(request, body, "application/json", code=error.http_code)


def _respond(request, route, body):
    if route.kind == "csv":
        disposition = 'attachment; filename="%s"' % OVERVIEW_CSV_FILENAME
        headers = [("Content-Disposition", disposition)]
        return http_util.Respond(request, body, "text/csv", headers=headers)
    return http_util.Respond(request, body, "application/json")


class PruningPlugin(base_plugin.TBPlugin):
    """Shows what pruning did to a model: sparsity over time, masks, histograms, metrics."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, context):
        self._reader = reader.PruningReader(context.data_provider)

    def get_plugin_apps(self):
        """The routes of http_api.md: those of `ROUTES`, and the frontend's static files."""
        apps = {route.path: self._app(route) for route in ROUTES}
        apps["/static/*"] = self._serve_static
        return apps

    def is_active(self):
        """False: `data_plugin_names` makes the plugin active when pruning data exists."""
        return False

    def data_plugin_names(self):
        """The plugin reads the summaries of plugin name `pruning` only."""
        return (metadata.PLUGIN_NAME,)

    def frontend_metadata(self):
        """An iframed ES module frontend served from /static/index.js."""
        return base_plugin.FrontendMetadata(es_module_path="/static/index.js", tab_name="Pruning")

    def _app(self, route):
        """The WSGI app of `route`: parses its parameters, computes its body, responds."""

        @wrappers.Request.application
        def serve(request):
            try:
                values = {name: parse(request.args) for name, parse in route.params}
                ctx = plugin_util.context(request.environ)
                eid = plugin_util.experiment_id(request.environ)
                body = route.body(self._reader, ctx, eid, **values)
            except errors.PublicError as e:
                return _error_response(request, e)
            return _respond(request, route, body)

        return serve

    @wrappers.Request.application
    def _serve_static(self, request):
        path = request.path
        relative = path[len(_STATIC_ROUTE) :] if path.startswith(_STATIC_ROUTE) else ""
        full = resolve_static(STATIC_DIR, relative)
        if full is None:
            return _error_response(request, errors.NotFoundError("no static file %r" % (relative,)))
        with open(full, "rb") as f:
            content = f.read()
        content_type = CONTENT_TYPES.get(
            os.path.splitext(full)[1].lower(), "application/octet-stream"
        )
        return http_util.Respond(request, content, content_type)


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
