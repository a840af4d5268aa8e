"""`tb-prune summary`: the last recorded state of every pruned weight, and per run the model.

One row per run and weight, from the weight's last weight_stats record (a weight without one has
no row), and one model-wide row per run (weight `MODEL_ROW`) from its last model_stats record.
The numbers are the reader's (`reader.load`), unrounded in CSV and JSON. The table rounds them and
fits `TABLE_WIDTH` columns, and ends with the runs' alerts where there are any (`alerts_text`:
those of `reader/alerts.py`, as the /alerts route and the Overview show them).
"""

import csv
import io
import json
import math
import textwrap

from tb_prune_plugin.reader import alerts as alerts_module

COLUMNS = (
    "run",
    "weight",
    "step",
    "shape",
    "parameters",
    "nonzeros",
    "sparsity",
    "target_sparsity",
    "threshold",
    "dense_bytes",
    "sparse_bytes",
    "stripped_gzip_bytes",
)
# The weight of a run's model-wide row: parameters and nonzeros are the prunable weights',
# sparsity the global sparsity; the byte columns are filled only in this row: the dense and sparse
# estimates of the last model_stats record, and the stripped model saved and gzipped at the end
# of training (its last stripped_size record; empty if none was recorded).
MODEL_ROW = "(model)"
TABLE_WIDTH = 100
ELLIPSIS = "..."
# A name is never abbreviated below this many characters.
MIN_ABBREVIATED = 12


def _number(value):
    """A recorded float64 as JSON-able Python: None for NaN/inf, int for a whole count."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _count(value):
    value = _number(value)
    return None if value is None else int(value)


def _shape(run, weight):
    """The weight's shape as the overview gives it: from the run config's weight entries,
    else from the weight's latest recorded mask (None: neither)."""
    entries = (run.config or {}).get("weights")
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, dict) and entry.get("path") == weight.name:
            shape = entry.get("shape")
            if isinstance(shape, list) and all(isinstance(d, int) for d in shape):
                return tuple(shape)
    if weight.masks:
        return tuple(weight.masks[max(weight.masks)].shape)
    return None


def weight_row(run, weight):
    """The summary row of `weight` (a `reader.Weight` of `run`) at its last weight_stats record,
    or None if it has none."""
    if len(weight.steps) == 0:
        return None
    last = {name: values[-1] for name, values in weight.fields.items()}
    return {
        "run": run.name,
        "weight": weight.name,
        "step": int(weight.steps[-1]),
        "shape": _shape(run, weight),
        "parameters": _count(last.get("size")),
        "nonzeros": _count(last.get("nonzeros")),
        "sparsity": _number(last.get("sparsity")),
        "target_sparsity": _number(last.get("target_sparsity")),
        "threshold": _number(last.get("threshold")),
        "dense_bytes": None,
        "sparse_bytes": None,
        "stripped_gzip_bytes": None,
    }


def _last(series, field):
    if series is None or len(series.steps) == 0 or field not in series.fields:
        return None
    return _count(series.fields[field][-1])


def model_row(run):
    """The model-wide row of `run` at its last model_stats record, or None if it has none."""
    model = run.model
    if len(model.steps) == 0:
        return None
    last = {name: values[-1] for name, values in model.fields.items()}
    return {
        "run": run.name,
        "weight": MODEL_ROW,
        "step": int(model.steps[-1]),
        "shape": None,
        "parameters": _count(last.get("prunable_size")),
        "nonzeros": _count(last.get("prunable_nonzeros")),
        "sparsity": _number(last.get("global_sparsity")),
        "target_sparsity": None,
        "threshold": None,
        "dense_bytes": _count(last.get("dense_bytes")),
        "sparse_bytes": _count(last.get("sparse_bytes")),
        "stripped_gzip_bytes": _last(run.stripped_size, "gzip_bytes"),
    }


def rows(runs):
    """The summary rows of `runs` (`reader.Run`s): per run its weights sorted by path, then
    its model row."""
    result = []
    for run in runs:
        for name in sorted(run.weights):
            row = weight_row(run, run.weights[name])
            if row is not None:
                result.append(row)
        row = model_row(run)
        if row is not None:
            result.append(row)
    return result


def to_json(summary_rows):
    """The rows as a JSON list of objects with every column (shape a list, n/a as null)."""
    out = [
        dict(row, shape=None if row["shape"] is None else list(row["shape"]))
        for row in summary_rows
    ]
    return json.dumps(out, indent=1) + "\n"


def _csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "x".join(str(d) for d in value)
    return repr(value) if isinstance(value, float) else str(value)


def to_csv(summary_rows):
    """The rows as CSV with a header of `COLUMNS` (shape as 64x32, n/a as an empty cell,
    floats in full precision)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in summary_rows:
        writer.writerow([_csv_cell(row[c]) for c in COLUMNS])
    return buffer.getvalue()


def abbreviate(text, width):
    """`text` cut to `width` characters by replacing its middle with `ELLIPSIS`."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    keep = width - len(ELLIPSIS)
    head = keep // 2
    return text[:head] + ELLIPSIS + text[len(text) - (keep - head) :]


def _fraction(value):
    return "-" if value is None else "%.4f" % value


def _bytes(value):
    if value is None:
        return "-"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return "%.1f %s" % (value / size, unit)
    return "%d B" % value


def _int(value):
    return "-" if value is None else str(value)


def _table(header, body, flexible, width):
    """Aligned columns of `body` (lists of strings) under `header`, the columns named in
    `flexible` (indices) abbreviated so that a line fits `width`. Returns (lines, abbreviated)."""
    widths = [max([len(header[i])] + [len(r[i]) for r in body]) for i in range(len(header))]
    spare = width - (sum(widths) + 2 * (len(widths) - 1))
    abbreviated = False
    least = {i: max(len(header[i]), MIN_ABBREVIATED) for i in flexible}
    while spare < 0:
        shrinkable = [i for i in flexible if widths[i] > least[i]]
        if not shrinkable:
            break
        i = max(shrinkable, key=lambda j: widths[j])
        cut = min(-spare, widths[i] - least[i])
        widths[i] -= cut
        spare += cut
    lines = []
    for cells in [header] + body:
        parts = []
        for i, cell in enumerate(cells):
            if i in flexible and len(cell) > widths[i]:
                cell = abbreviate(cell, widths[i])
                abbreviated = True
            parts.append(cell.rjust(widths[i]) if i not in flexible else cell.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
    return lines, abbreviated


def to_table(summary_rows, width=TABLE_WIDTH):
    """The rows as two aligned tables for a terminal: the weights under a line naming their
    run, then one model line per run. Each line is at most `width` characters: long weight
    paths and run names are abbreviated in the middle, with a note saying so."""
    weights = [r for r in summary_rows if r["weight"] != MODEL_ROW]
    models = [r for r in summary_rows if r["weight"] == MODEL_ROW]
    header = ["weight", "step", "shape", "params", "nonzeros", "sparsity", "target", "threshold"]
    body = [
        [
            "  " + r["weight"],
            _int(r["step"]),
            "-" if r["shape"] is None else "x".join(str(d) for d in r["shape"]),
            _int(r["parameters"]),
            _int(r["nonzeros"]),
            _fraction(r["sparsity"]),
            _fraction(r["target_sparsity"]),
            "-" if r["threshold"] is None else "%.4g" % r["threshold"],
        ]
        for r in weights
    ]
    table, abbreviated = _table(header, body, (0,), width)
    lines, run = table[:1], None
    for row, line in zip(weights, table[1:]):
        if row["run"] != run:
            run = row["run"]
            lines.append(abbreviate(run, width))
            abbreviated = abbreviated or len(run) > width
        lines.append(line)
    if models:
        model_header = [
            "run", "step", "global sparsity", "params", "nonzeros", "dense", "sparse", "stripped gz"
        ]  # fmt: skip
        model_body = [
            [
                r["run"],
                _int(r["step"]),
                _fraction(r["sparsity"]),
                _int(r["parameters"]),
                _int(r["nonzeros"]),
                _bytes(r["dense_bytes"]),
                _bytes(r["sparse_bytes"]),
                _bytes(r["stripped_gzip_bytes"]),
            ]
            for r in models
        ]
        model_lines, cut = _table(model_header, model_body, (0,), width)
        title = "Model (prunable weights; sizes of all weights; stripped: saved, gzipped at end):"
        lines += ["", title] + model_lines
        abbreviated = abbreviated or cut
    if abbreviated:
        lines += [
            "",
            "Long names are abbreviated in the middle (%s); --format csv gives them whole."
            % ELLIPSIS,
        ]
    return "\n".join(lines) + "\n"


def run_alerts(run):
    """The alerts of `run` (a `reader.Run`), as the reader's /alerts computes them."""
    shapes = {name: _shape(run, w) for name, w in run.weights.items()}
    epoch = run.metrics.get("epoch", {})
    return alerts_module.run_alerts(run.name, run.config, run.weights, epoch, shapes)


def alerts_text(runs, width=TABLE_WIDTH):
    """The alerts of `runs` for the table: a title and one entry per alert ("run, step N:" and
    its message, wrapped to `width`); "" when there is none."""
    found = [a for run in runs for a in run_alerts(run)]
    if not found:
        return ""
    lines = ["", "Alerts (%d):" % len(found)]
    for a in found:
        text = "%s, step %d: %s" % (a.run, a.step, a.message)
        lines += textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines) + "\n"
