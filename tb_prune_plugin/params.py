"""The query parameters of the routes (http_api.md), parsed and checked.

Each function takes the request's query arguments (a werkzeug `MultiDict`, or anything with
`getlist(name)`) and returns plain values; bad input raises `InvalidArgumentError` quoting the
parameter and the value received, and saying what was expected.
"""

import re

from tensorboard import errors

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


def single(args, name, required=True):
    """The one value of query parameter `name` (None if absent and not required)."""
    values = args.getlist(name)
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


def max_points(args, default):
    """The series routes' `max_points` parameter (see `thinning`)."""
    return integer(args, "max_points", minimum=1, maximum=MAX_MAX_POINTS, default=default)


def runs(args):
    """The repeated `run` parameter: None when absent, else the list of names."""
    runs = args.getlist("run")
    for run in runs:
        if not run:
            raise errors.InvalidArgumentError("parameter 'run' must not be empty")
    return runs or None


def multi_runs(args):
    """The repeated `run` parameter of the multi-run routes: 1 to `MAX_MULTI_RUNS` names,
    duplicates dropped (first one kept)."""
    runs = args.getlist("run")
    if not 1 <= len(runs) <= MAX_MULTI_RUNS:
        raise errors.InvalidArgumentError(
            "parameter 'run' must be given 1 to %d times, got %d" % (MAX_MULTI_RUNS, len(runs))
        )
    for run in runs:
        if not run:
            raise errors.InvalidArgumentError("parameter 'run' must not be empty")
    return list(dict.fromkeys(runs))


def fields(args, known, kind):
    """The optional `fields` parameter: a comma-separated list of names from `known`
    (None when absent: every field)."""
    raw = single(args, "fields", required=False)
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


def integer(args, name, minimum, maximum=_MAX_INT, default=Ellipsis):
    """Integer parameter `name` in [minimum, maximum]; required unless a default is given."""
    raw = single(args, name, required=default is Ellipsis)
    if raw is None or (raw == "" and default is not Ellipsis):
        return default
    value = int(raw) if _INT_RE.fullmatch(raw) else None
    if value is None or not minimum <= value <= maximum:
        raise errors.InvalidArgumentError(
            "parameter %r must be an integer from %d to %d, got %r" % (name, minimum, maximum, raw)
        )
    return value


def flag(args, name):
    raw = single(args, name, required=False)
    if raw is None or raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise errors.InvalidArgumentError("parameter %r must be 0 or 1, got %r" % (name, raw))


def bounds(args):
    """The /mask region parameters: {"row0", "col0", "rows", "cols"} -> int or None."""
    return {
        "row0": integer(args, "row0", minimum=0, default=None),
        "col0": integer(args, "col0", minimum=0, default=None),
        "rows": integer(args, "rows", minimum=1, default=None),
        "cols": integer(args, "cols", minimum=1, default=None),
    }


def max_cells(args):
    """The /mask `max_cells` parameter."""
    return integer(args, "max_cells", minimum=1, maximum=MAX_MAX_CELLS, default=DEFAULT_MAX_CELLS)
