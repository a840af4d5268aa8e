"""The /sensitivity route, served by TensorBoard's real WSGI app over scans written with the
format's writer (`summary.sensitivity`) beside the demo's training runs."""

import json
import math

import pytest

from tb_prune_plugin import summary
from tb_prune_plugin.cli import report
from tests import logdir_builder as lb
from tests import route_bodies

URL = "/data/plugin/pruning/sensitivity"

HIDDEN = dict(
    shape=(64, 12),
    structure="magnitude",
    mode="evaluate",
    sparsities=[0.0, 0.5, 0.9],
    pruned_fractions=[0.0, 0.5, 0.8997395833333334],
    metrics={"loss": [0.25, 0.3, math.inf], "accuracy": [0.9, 0.875, 0.125]},
)
CONV = dict(
    shape=(3, 3, 1, 4),
    structure="filters",
    mode="data_free",
    sparsities=[0.0, 0.5],
    pruned_fractions=[0.0, 0.5],
    metrics={"mean_abs_removed": [math.nan, 0.0625]},
)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("sensitivity_route")
    lb.write_demo_logdir(str(logdir))
    with lb.RunWriter(logdir / "scan_a") as w:
        w.add(0, [summary.sensitivity("hidden/kernel", **HIDDEN)])
    with lb.RunWriter(logdir / "scan_b") as w:
        # Scanned twice: the later record at the same step is the one read.
        w.add(0, [summary.sensitivity("conv/kernel", **dict(CONV, sparsities=[0.0, 0.25]))])
        w.add(0, [summary.sensitivity("conv/kernel", **CONV)])
    return logdir


@pytest.fixture(scope="module")
def client(logdir):
    return route_bodies.tensorboard_client(logdir)[0]


def _get(client, query="", status=200):
    response = client.get(URL + query)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.get_data(as_text=True))


def _entry(weight, args, metrics):
    return {
        "weight": weight,
        "shape": list(args["shape"]),
        "size": math.prod(args["shape"]),
        "structure": args["structure"],
        "mode": args["mode"],
        "sparsities": args["sparsities"],
        "pruned_fractions": args["pruned_fractions"],
        "metrics": metrics,
    }


def test_sensitivity_route_every_scan_exact_values(client):
    hidden = _entry(
        "hidden/kernel", HIDDEN, {"accuracy": [0.9, 0.875, 0.125], "loss": [0.25, 0.3, None]}
    )
    conv = _entry("conv/kernel", CONV, {"mean_abs_removed": [None, 0.0625]})
    assert _get(client) == {
        "scans": [
            {"run": "scan_a", "weights": [hidden]},
            {"run": "scan_b", "weights": [conv]},
        ]
    }
    assert _get(client, "?run=scan_b") == {"scans": [{"run": "scan_b", "weights": [conv]}]}


def test_sensitivity_route_run_without_scan_is_404_naming_runs_with_one(client):
    body = _get(client, "?run=alpha", status=404)
    assert body == {
        "error": "Not found: no sensitivity scan in run 'alpha' (runs with one: scan_a, scan_b)"
    }
    body = _get(client, "?run=nope", status=404)
    assert "'nope'" in body["error"]
    assert _get(client, "?run=", status=400)["error"] == (
        "Invalid argument: parameter 'run' must not be empty"
    )


def test_report_holds_the_sensitivity_body(client, logdir):
    """`tb-prune report` embeds /sensitivity, so the offline Sensitivity view has its data."""
    data, _ = report.collect(str(logdir))
    assert data["sensitivity"] == _get(client)
