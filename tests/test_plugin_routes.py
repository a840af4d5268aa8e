"""The plugin's routes, served by TensorBoard's real WSGI app over real data providers."""

import base64
import json
import math
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import bodies, metadata, plugin, reader, summary
from tb_prune_plugin.reader import masks
from tests import route_bodies

PREFIX = "/data/plugin/pruning"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


_tensorboard_app = route_bodies.tensorboard_client


@pytest.fixture(scope="module")
def demo_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("demo")
    lb.write_demo_logdir(str(logdir))
    with lb.RunWriter(logdir / "scalars_only") as w:
        w.add(0, [summary.scalar("loss", 1.0)])
    with lb.RunWriter(logdir / "reshaped") as w:
        w.add(3, [summary.mask("w", np.array([True, False]))])
        w.add(4, [summary.mask("w", np.array([True, False, True]))])
        w.add(4, [summary.weight_stats("w", lb.stats(size=3, threshold=math.inf, l2=-math.inf))])
    return logdir


@pytest.fixture(scope="module")
def client(demo_logdir):
    return _tensorboard_app(demo_logdir)[0]


def _get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return json.loads(response.get_data(as_text=True))


def _error(client, url, status):
    body = _get_json(client, url, status)
    assert list(body) == ["error"]
    return body["error"]


def _bytes(b64):
    return list(base64.b64decode(b64))


# Loader and plugin listing -------------------------------------------------------------------


def test_fix_flags_keeps_every_pruning_sample(demo_logdir):
    _, flags = _tensorboard_app(demo_logdir)
    assert flags.samples_per_plugin == {"pruning": 0}


def test_fix_flags_explicit_samples_per_plugin_wins(demo_logdir):
    _, flags = _tensorboard_app(demo_logdir, ["--samples_per_plugin", "pruning=7,images=3"])
    assert flags.samples_per_plugin == {"pruning": 7, "images": 3}


def test_fix_flags_without_dict_leaves_flags_alone():
    class Flags:
        samples_per_plugin = None

    flags = Flags()
    plugin.PruningLoader().fix_flags(flags)
    assert flags.samples_per_plugin is None


def test_plugins_listing_with_pruning_data_is_enabled_iframe(client):
    listing = _get_json(client, "/data/plugins_listing")["pruning"]
    assert listing == {
        "disable_reload": False,
        "enabled": True,
        "remove_dom": False,
        "tab_name": "Pruning",
        "loading_mechanism": {
            "type": "IFRAME",
            "module_path": "/data/plugin/pruning/static/index.js",
        },
    }


def test_plugins_listing_without_pruning_data_is_disabled(tmp_path):
    with lb.RunWriter(tmp_path / "run") as w:
        w.add(0, [summary.scalar("loss", 1.0)])
    client, _ = _tensorboard_app(tmp_path)
    assert _get_json(client, "/data/plugins_listing")["pruning"]["enabled"] is False
    assert _get_json(client, PREFIX + "/runs") == {"runs": [], "notices": []}


def test_plugin_entry_imports_static_index(client):
    response = client.get("/data/plugin_entry.html?name=pruning")
    assert response.status_code == 200
    assert 'import("./static/index.js")' in response.get_data(as_text=True)


# /runs and /config ---------------------------------------------------------------------------


def test_runs_lists_runs_with_pruning_data(client):
    assert _get_json(client, PREFIX + "/runs") == {
        "runs": [
            {
                "run": "alpha",
                "weights": ["dense/bias", "dense/kernel"],
                "metrics": {"epoch": ["loss", "val_accuracy"], "batch": ["loss"]},
                "last_step": 30,
                "method": "tfmot",
            },
            {
                "run": "beta/manual",
                "weights": ["conv/kernel"],
                "metrics": {"epoch": [], "batch": []},
                "last_step": 5,
                "method": None,
            },
            {
                "run": "reshaped",
                "weights": ["w"],
                "metrics": {"epoch": [], "batch": []},
                "last_step": 4,
                "method": None,
            },
        ],
        "notices": [],
    }


def test_runs_method_from_config_known_values_only(tmp_path):
    for run, method in (("a", "manual"), ("b", "magic"), ("c", 3)):
        with lb.RunWriter(tmp_path / run) as w:
            w.add(0, [summary.run_config({"method": method})])
    client, _ = _tensorboard_app(tmp_path)
    runs = _get_json(client, PREFIX + "/runs")["runs"]
    assert [(r["run"], r["method"]) for r in runs] == [("a", "manual"), ("b", None), ("c", None)]


def test_runs_under_experiment_prefix(client):
    body = _get_json(client, "/experiment/123" + PREFIX + "/runs")
    assert [r["run"] for r in body["runs"]] == ["alpha", "beta/manual", "reshaped"]


def test_config_is_the_run_config_record(client):
    assert _get_json(client, PREFIX + "/config?run=alpha") == lb.ALPHA_CONFIG


def test_config_nan_becomes_null(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.run_config({"method": "manual", "lr": math.nan, "x": [math.inf]})])
    client, _ = _tensorboard_app(tmp_path)
    assert _get_json(client, PREFIX + "/config?run=r") == {
        "lr": None,
        "method": "manual",
        "x": [None],
    }


def test_config_run_without_config_is_404(client):
    assert (
        _error(client, PREFIX + "/config?run=beta/manual", 404)
        == "Not found: run 'beta/manual' has no run_config record"
    )


def test_config_unknown_run_is_404(client):
    assert (
        _error(client, PREFIX + "/config?run=gamma", 404)
        == "Not found: no pruning data for run 'gamma'"
    )


def test_config_missing_run_is_400(client):
    assert _error(client, PREFIX + "/config", 400) == "Invalid argument: missing parameter 'run'"


def test_config_empty_run_is_400(client):
    assert (
        _error(client, PREFIX + "/config?run=", 400)
        == "Invalid argument: parameter 'run' must not be empty"
    )


def test_config_repeated_run_is_400(client):
    assert _error(client, PREFIX + "/config?run=alpha&run=beta", 400) == (
        "Invalid argument: parameter 'run' must be given once, got 2 values: ['alpha', 'beta']"
    )


# /overview -----------------------------------------------------------------------------------

OVERVIEW_ROWS = [
    {
        "run": "alpha",
        "weight": "dense/bias",
        "shape": [2],
        "size": 2.0,
        "nonzeros": 2.0,
        "sparsity": 0.0,
        "target_sparsity": None,
        "threshold": None,
        "step": 30,
    },
    {
        "run": "alpha",
        "weight": "dense/kernel",
        "shape": [3, 2],
        "size": 6.0,
        "nonzeros": 3.0,
        "sparsity": 0.5,
        "target_sparsity": 0.5,
        "threshold": 0.2,
        "step": 30,
    },
    {
        "run": "beta/manual",
        "weight": "conv/kernel",
        "shape": [1, 2, 2, 3],
        "size": 12.0,
        "nonzeros": 8.0,
        "sparsity": 1 - 8 / 12,
        "target_sparsity": None,
        "threshold": None,
        "step": 5,
    },
    {
        "run": "reshaped",
        "weight": "w",
        "shape": [3],
        "size": 3.0,
        "nonzeros": None,
        "sparsity": None,
        "target_sparsity": None,
        "threshold": None,
        "step": 4,
    },
]
OVERVIEW_RUNS = [
    {
        "run": "alpha",
        "step": 30,
        "global_sparsity": 0.375,
        "prunable_size": 8.0,
        "prunable_nonzeros": 5.0,
        "model_size": 10.0,
        "model_nonzeros": 7.0,
        "dense_bytes": 40.0,
        "sparse_bytes": 30.0,
    },
]


def test_overview_of_all_runs(client):
    assert _get_json(client, PREFIX + "/overview") == {"rows": OVERVIEW_ROWS, "runs": OVERVIEW_RUNS}


def test_overview_of_chosen_runs(client):
    assert _get_json(client, PREFIX + "/overview?run=reshaped&run=alpha") == {
        "rows": OVERVIEW_ROWS[:2] + OVERVIEW_ROWS[3:],
        "runs": OVERVIEW_RUNS,
    }
    assert _get_json(client, PREFIX + "/overview?run=beta/manual") == {
        "rows": OVERVIEW_ROWS[2:3],
        "runs": [],
    }


def test_overview_leaves_out_weights_without_stats_and_runs_without_model_stats(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("masked_only", np.ones([2], dtype=bool))])
        w.add(0, [summary.weight_stats("stats_only", lb.stats(size=2, nonzeros=1))])
    client, _ = _tensorboard_app(tmp_path)
    body = _get_json(client, PREFIX + "/overview")
    assert body["runs"] == []
    assert [(r["weight"], r["shape"], r["nonzeros"]) for r in body["rows"]] == [
        ("stats_only", None, 1.0)
    ]
    text = client.get(PREFIX + "/overview.csv").get_data(as_text=True)
    assert text.splitlines()[1:] == ["r,stats_only,,2,1,,,,0"]


def test_overview_unknown_run_is_404(client):
    assert (
        _error(client, PREFIX + "/overview?run=alpha&run=gamma", 404)
        == "Not found: no pruning data for run 'gamma'"
    )


def test_overview_empty_run_is_400(client):
    assert (
        _error(client, PREFIX + "/overview?run=", 400)
        == "Invalid argument: parameter 'run' must not be empty"
    )


def test_overview_csv_rows_and_headers(client):
    response = client.get(PREFIX + "/overview.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="pruning_overview.csv"'
    assert response.get_data(as_text=True) == (
        "run,weight,shape,size,nonzeros,sparsity,target_sparsity,threshold,step\n"
        "alpha,dense/bias,2,2,2,0,,,30\n"
        "alpha,dense/kernel,3x2,6,3,0.5,0.5,0.2,30\n"
        "beta/manual,conv/kernel,1x2x2x3,12,8,0.33333333333333337,,,5\n"
        "reshaped,w,3,3,,,,,4\n"
    )


def test_overview_csv_of_chosen_run(client):
    text = client.get(PREFIX + "/overview.csv?run=alpha").get_data(as_text=True)
    assert text.splitlines()[1:] == [
        "alpha,dense/bias,2,2,2,0,,,30",
        "alpha,dense/kernel,3x2,6,3,0.5,0.5,0.2,30",
    ]


def test_overview_csv_names_that_look_like_formulas_stay_text():
    """Regression: a run named `=HYPERLINK(...)` became a live formula in a spreadsheet."""
    row = {
        "run": '=HYPERLINK("http://x")',
        "weight": "@w/kernel",
        "shape": [2],
        "size": 2.0,
        "nonzeros": 1.0,
        "sparsity": -0.5,
        "target_sparsity": None,
        "threshold": None,
        "step": 3,
    }
    text = bodies.overview_csv({"rows": [row], "runs": []})
    assert text.splitlines()[1] == '"\'=HYPERLINK(""http://x"")",\'@w/kernel,2,2,1,-0.5,,,3'


def test_overview_csv_unknown_run_is_404_json(client):
    assert _error(client, PREFIX + "/overview.csv?run=x", 404) == (
        "Not found: no pruning data for run 'x'"
    )


# Series routes -------------------------------------------------------------------------------


def _fields(**given):
    return {f: given.get(f, [None] * 4) for f in metadata.WEIGHT_STATS_FIELDS}


def test_weight_series_every_field_nan_as_null(client):
    assert _get_json(client, PREFIX + "/weight_series?run=alpha&weight=dense/kernel") == {
        "run": "alpha",
        "weight": "dense/kernel",
        "total_steps": 4,
        "steps": [0, 10, 20, 30],
        "fields": _fields(
            size=[6.0] * 4,
            nonzeros=[6.0, 4.0, 3.0, 3.0],
            sparsity=[0.0, 1 / 3, 0.5, 0.5],
            target_sparsity=[0.0, 0.3, 0.5, 0.5],
            should_prune=[0.0, 1.0, 1.0, 0.0],
            threshold=[None, 0.1, 0.2, 0.2],
            mask_changed=[1.0, 1.0, 1.0, 0.0],
        ),
        "mask_change_steps": [0, 10, 20],
    }


def test_weight_series_infinity_as_null(client):
    fields = _get_json(client, PREFIX + "/weight_series?run=reshaped&weight=w")["fields"]
    assert (fields["size"], fields["threshold"], fields["l2"]) == ([3.0], [None], [None])


def test_weight_series_unknown_weight_is_404(client):
    assert _error(client, PREFIX + "/weight_series?run=alpha&weight=dense/kernel:0", 404) == (
        "Not found: run 'alpha' has no pruning data for weight 'dense/kernel:0' "
        "(weights: dense/bias, dense/kernel)"
    )


def test_weight_series_unknown_run_is_404(client):
    assert _error(client, PREFIX + "/weight_series?run=..&weight=w", 404) == (
        "Not found: no pruning data for run '..'"
    )


def test_weight_series_missing_weight_is_400(client):
    assert _error(client, PREFIX + "/weight_series?run=alpha", 400) == (
        "Invalid argument: missing parameter 'weight'"
    )


def test_model_series_every_field(client):
    assert _get_json(client, PREFIX + "/model_series?run=alpha") == {
        "run": "alpha",
        "total_steps": 4,
        "steps": [0, 10, 20, 30],
        "fields": {
            "global_sparsity": [0.0, 0.25, 0.375, 0.375],
            "prunable_size": [8.0] * 4,
            "prunable_nonzeros": [8.0, 6.0, 5.0, 5.0],
            "model_size": [10.0] * 4,
            "model_nonzeros": [10.0, 8.0, 7.0, 7.0],
            "dense_bytes": [40.0] * 4,
            "sparse_bytes": [30.0] * 4,
        },
    }


def test_weight_series_max_points_below_steps_is_a_sample_with_every_mask_change(client):
    url = PREFIX + "/weight_series?run=alpha&weight=dense/kernel"
    full = _get_json(client, url)
    body = _get_json(client, url + "&max_points=2")
    assert body["total_steps"] is None and len(body["steps"]) == 2 and body["steps"][-1] == 30
    assert body["mask_change_steps"] == [0, 10, 20]
    for name, values in body["fields"].items():
        assert values == [full["fields"][name][full["steps"].index(s)] for s in body["steps"]]


def test_histograms_max_points_one_is_the_last_step(client):
    body = _get_json(client, PREFIX + "/histograms?run=alpha&weight=dense/kernel&max_points=1")
    assert body["total_steps"] is None and body["steps"] == [20]
    assert (body["counts"], body["threshold"]) == ([[1, 2]], [0.2])


def test_series_max_points_at_least_the_steps_sends_all(client):
    url = PREFIX + "/weight_series?run=alpha&weight=dense/kernel"
    assert _get_json(client, url + "&max_points=4") == _get_json(client, url)
    body = _get_json(client, PREFIX + "/histograms?run=alpha&weight=dense/kernel&max_points=2")
    assert (body["total_steps"], body["steps"]) == (2, [0, 20])


def test_series_max_points_zero_is_400(client):
    assert _error(client, PREFIX + "/metrics?run=alpha&max_points=0", 400).startswith(
        "Invalid argument: parameter 'max_points' must be an integer from 1 to"
    )


# Multi-run series ----------------------------------------------------------------------------


def test_weight_series_multi_runs_in_request_order_with_missing(client):
    url = "/weight_series_multi?weight=w&run=reshaped&run=alpha&run=nope&fields=threshold,size"
    assert _get_json(client, PREFIX + url) == {
        "weight": "w",
        "series": [
            {
                "run": "reshaped",
                "total_steps": 1,
                "steps": [4],
                "fields": {"threshold": [None], "size": [3.0]},
                "mask_change_steps": [],
            }
        ],
        "missing": ["alpha", "nope"],
    }


def test_weight_series_multi_equals_single_routes(client):
    multi = _get_json(
        client, PREFIX + "/weight_series_multi?weight=dense/kernel&run=beta/manual&run=alpha"
    )
    single = _get_json(client, PREFIX + "/weight_series?run=alpha&weight=dense/kernel")
    assert multi["missing"] == ["beta/manual"]
    assert multi["series"] == [{k: v for k, v in single.items() if k != "weight"}]
    assert list(multi["series"][0]["fields"]) == list(metadata.WEIGHT_STATS_FIELDS)


def test_weight_series_multi_sampled_like_the_single_route(client):
    url = "weight_series_multi?weight=dense/kernel&run=alpha&fields=sparsity&max_points=3"
    single = _get_json(client, PREFIX + "/weight_series?run=alpha&weight=dense/kernel&max_points=3")
    assert _get_json(client, PREFIX + "/" + url)["series"] == [
        {
            "run": "alpha",
            "total_steps": None,
            "steps": single["steps"],
            "fields": {"sparsity": single["fields"]["sparsity"]},
            "mask_change_steps": [0, 10, 20],
        }
    ]


def test_model_series_multi_run_without_model_stats_is_empty_unknown_is_missing(client):
    url = (
        "/model_series_multi?run=beta/manual&run=gamma&run=alpha"
        "&fields=model_nonzeros,global_sparsity"
    )
    assert _get_json(client, PREFIX + url) == {
        "series": [
            {
                "run": "beta/manual",
                "total_steps": 0,
                "steps": [],
                "fields": {"model_nonzeros": [], "global_sparsity": []},
            },
            {
                "run": "alpha",
                "total_steps": 4,
                "steps": [0, 10, 20, 30],
                "fields": {
                    "model_nonzeros": [10.0, 8.0, 7.0, 7.0],
                    "global_sparsity": [0.0, 0.25, 0.375, 0.375],
                },
            },
        ],
        "missing": ["gamma"],
    }


def test_model_series_multi_equals_single_route(client):
    multi = _get_json(client, PREFIX + "/model_series_multi?run=alpha&run=alpha&max_points=2")
    single = _get_json(client, PREFIX + "/model_series?run=alpha&max_points=2")
    assert multi == {"series": [single], "missing": []}


def test_series_multi_run_count_outside_1_to_100_is_400(client):
    assert _error(client, PREFIX + "/model_series_multi", 400) == (
        "Invalid argument: parameter 'run' must be given 1 to 100 times, got 0"
    )
    runs = "&".join("run=r%d" % i for i in range(101))
    assert _error(client, PREFIX + "/weight_series_multi?weight=w&" + runs, 400) == (
        "Invalid argument: parameter 'run' must be given 1 to 100 times, got 101"
    )


def test_series_multi_unknown_field_is_400_quoting_it(client):
    assert _error(
        client, PREFIX + "/model_series_multi?run=alpha&fields=global_sparsity,sparsity", 400
    ) == (
        "Invalid argument: parameter 'fields': unknown model_stats field 'sparsity' in "
        "'global_sparsity,sparsity' (known: global_sparsity, prunable_size, prunable_nonzeros, "
        "model_size, model_nonzeros, dense_bytes, sparse_bytes)"
    )
    assert _error(
        client, PREFIX + "/weight_series_multi?run=alpha&weight=w&fields=", 400
    ).startswith("Invalid argument: parameter 'fields': unknown weight_stats field '' in ''")


def test_weight_series_multi_missing_weight_or_empty_run_is_400(client):
    assert _error(client, PREFIX + "/weight_series_multi?run=alpha", 400) == (
        "Invalid argument: missing parameter 'weight'"
    )
    assert _error(client, PREFIX + "/weight_series_multi?run=alpha&run=&weight=w", 400) == (
        "Invalid argument: parameter 'run' must not be empty"
    )


def write_long_runs(logdir, steps=300, mask_every=50):
    """Run `long`: every step a weight_stats, histogram and model_stats record of weight k
    and a batch loss (values that differ at every step), a mask every `mask_every` steps;
    run `sparse_hist`:
    the same with a histogram every third step only."""
    for run, hist_every in (("long", 1), ("sparse_hist", 3)):
        with lb.RunWriter(os.path.join(str(logdir), run)) as w:
            for step in range(steps):
                changed = step % mask_every == 0
                values = [
                    summary.weight_stats(
                        "k",
                        lb.stats(
                            size=100,
                            sparsity=step / 1000,
                            threshold=step / 7,
                            mask_changed=1 if changed else 0,
                        ),
                    ),
                    summary.model_stats(lb.model_stats(global_sparsity=step / 3)),
                    summary.metric("batch", "loss", 1.0 / (step + 1)),
                ]
                if step % hist_every == 0:
                    values.append(summary.weight_histogram("k", 0.0, step + 1.0, [step, 1]))
                if changed:
                    values.append(summary.mask("k", np.arange(100) >= step // mask_every))
                w.add(step, values)


def assert_long_series_are_exact_samples(get_json, max_points=20):
    """The routes' answers with `max_points` below the number of steps hold exactly the
    values of the full series at the steps they send, the last step, and every mask change."""
    for run in ("long", "sparse_hist"):
        url = "/weight_series?run=%s&weight=k" % run
        full, body = get_json(url), get_json(url + "&max_points=%d" % max_points)
        assert full["total_steps"] == 300 and full["mask_change_steps"] == list(range(0, 300, 50))
        assert (
            body["total_steps"] is None and body["mask_change_steps"] == full["mask_change_steps"]
        )
        _assert_exact_sample(body, full, max_points, "fields")
        url = "/model_series?run=%s" % run
        body = get_json(url + "&max_points=%d" % max_points)
        assert body["total_steps"] is None
        _assert_exact_sample(body, get_json(url), max_points, "fields")
        url = "/histograms?run=%s&weight=k" % run
        full, body = get_json(url + "&max_points=1000"), get_json(url + "&max_points=10")
        assert full["total_steps"] == (300 if run == "long" else 100)
        assert full["threshold"][:2] == ([0.0, 1 / 7] if run == "long" else [0.0, 3 / 7])
        assert body["total_steps"] is None
        _assert_exact_sample(body, full, 10, None)
        url = "/metrics?run=%s" % run
        full, body = get_json(url), get_json(url + "&max_points=%d" % max_points)
        assert full["batch"]["loss"]["total_steps"] == 300
        assert body["batch"]["loss"]["total_steps"] is None
        _assert_exact_sample(
            {
                "steps": body["batch"]["loss"]["steps"],
                "v": {"loss": body["batch"]["loss"]["values"]},
            },
            {
                "steps": full["batch"]["loss"]["steps"],
                "v": {"loss": full["batch"]["loss"]["values"]},
            },
            max_points,
            "v",
        )
        multi = get_json("/weight_series_multi?weight=k&run=%s&max_points=%d" % (run, max_points))
        single = get_json("/weight_series?run=%s&weight=k&max_points=%d" % (run, max_points))
        assert multi["series"] == [{k: v for k, v in single.items() if k != "weight"}]


def _assert_exact_sample(body, full, max_points, fields):
    steps = body["steps"]
    assert len(steps) == max_points and steps == sorted(set(steps))
    assert steps[-1] == full["steps"][-1] and set(steps) <= set(full["steps"])
    at = [full["steps"].index(s) for s in steps]
    arrays = (lambda b: b[fields]) if fields else (lambda b: {k: b[k] for k in _HIST_KEYS})
    for name, values in arrays(body).items():
        assert values == [arrays(full)[name][i] for i in at], name


_HIST_KEYS = ("lo", "hi", "counts", "threshold")


@pytest.fixture(scope="module")
def long_client(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("long")
    write_long_runs(logdir)
    return _tensorboard_app(logdir)[0]


def test_long_series_are_exact_samples_of_the_full_series(long_client):
    """Issue 5: a series longer than max_points is read as the provider's sample (not
    whole); what is sent is exactly the full series at those steps."""
    assert_long_series_are_exact_samples(lambda url: _get_json(long_client, PREFIX + url))


def test_model_series_of_run_without_model_stats_is_empty(client):
    assert _get_json(client, PREFIX + "/model_series?run=beta/manual") == {
        "run": "beta/manual",
        "total_steps": 0,
        "steps": [],
        "fields": {f: [] for f in metadata.MODEL_STATS_FIELDS},
    }


def test_model_series_unknown_run_is_404(client):
    assert _error(client, PREFIX + "/model_series?run=gamma", 404) == (
        "Not found: no pruning data for run 'gamma'"
    )


def test_model_series_missing_run_is_400(client):
    assert _error(client, PREFIX + "/model_series", 400) == (
        "Invalid argument: missing parameter 'run'"
    )


def test_metrics_by_scope(client):
    assert _get_json(client, PREFIX + "/metrics?run=alpha") == {
        "run": "alpha",
        "epoch": {
            "loss": {"total_steps": 2, "steps": [10, 30], "values": [1.5, 0.5]},
            "val_accuracy": {"total_steps": 1, "steps": [30], "values": [0.75]},
        },
        "batch": {"loss": {"total_steps": 3, "steps": [5, 15, 25], "values": [2.0, 1.0, 0.25]}},
    }


def test_metrics_of_run_without_metrics(client):
    assert _get_json(client, PREFIX + "/metrics?run=reshaped") == {
        "run": "reshaped",
        "epoch": {},
        "batch": {},
    }


def test_metrics_unknown_run_is_404(client):
    assert _error(client, PREFIX + "/metrics?run=gamma", 404) == (
        "Not found: no pruning data for run 'gamma'"
    )


def test_metrics_missing_run_is_400(client):
    assert _error(client, PREFIX + "/metrics?weight=x", 400) == (
        "Invalid argument: missing parameter 'run'"
    )


def test_histograms_with_thresholds(client):
    assert _get_json(client, PREFIX + "/histograms?run=alpha&weight=dense/kernel") == {
        "run": "alpha",
        "weight": "dense/kernel",
        "total_steps": 2,
        "steps": [0, 20],
        "lo": [0.0, 0.0],
        "hi": [0.5, 0.6],
        "counts": [[4, 2], [1, 2]],
        "threshold": [None, 0.2],
    }


def test_histograms_of_weight_without_histograms_is_empty(client):
    body = _get_json(client, PREFIX + "/histograms?run=beta/manual&weight=conv/kernel")
    assert (body["steps"], body["counts"], body["threshold"]) == ([], [], [])


def test_histograms_unknown_weight_is_404(client):
    assert _error(client, PREFIX + "/histograms?run=alpha&weight=nope", 404).startswith(
        "Not found: run 'alpha' has no pruning data for weight 'nope'"
    )


def test_histograms_missing_weight_is_400(client):
    assert _error(client, PREFIX + "/histograms?run=alpha&weight=", 400) == (
        "Invalid argument: parameter 'weight' must not be empty"
    )


def test_mask_steps_with_shapes(client):
    assert _get_json(client, PREFIX + "/mask_steps?run=alpha&weight=dense/kernel") == {
        "run": "alpha",
        "weight": "dense/kernel",
        "steps": [0, 10, 20],
        "shapes": [[3, 2], [3, 2], [3, 2]],
        "unreadable": 0,
    }


def test_mask_steps_shape_change(client):
    body = _get_json(client, PREFIX + "/mask_steps?run=reshaped&weight=w")
    assert (body["steps"], body["shapes"]) == ([3, 4], [[2], [3]])


def test_mask_steps_unknown_weight_is_404(client):
    assert _error(client, PREFIX + "/mask_steps?run=beta/manual&weight=dense/kernel", 404) == (
        "Not found: run 'beta/manual' has no pruning data for weight 'dense/kernel' "
        "(weights: conv/kernel)"
    )


def test_mask_steps_missing_run_is_400(client):
    assert _error(client, PREFIX + "/mask_steps?weight=w", 400) == (
        "Invalid argument: missing parameter 'run'"
    )


# /mask ---------------------------------------------------------------------------------------

MASK_URL = PREFIX + "/mask?run=alpha&weight=dense/kernel"

WHOLE = {"row0": None, "col0": None, "rows": None, "cols": None}


def test_mask_body_cache_reuses_the_body_without_reading_blobs(tmp_path):
    from tests.test_reader import CountingProvider, _reloadable_provider

    with lb.RunWriter(tmp_path / "a") as w:
        w.add(0, [summary.mask("k", np.array([[True, True], [True, False]]))])
        w.add(10, [summary.mask("k", np.array([[True, False], [False, False]]))])
    multiplexer, provider = _reloadable_provider(tmp_path)
    counting = CountingProvider(provider)
    pruning = reader.PruningReader(counting, index_max_age=3600)
    ctx = lb.request_context()

    def body(step, max_cells=16):
        counting.calls.clear()
        return bodies.mask_body(pruning, ctx, "", "a", "k", step, WHOLE, max_cells, True)

    first = body(12)
    assert (first["step"], first["previous_step"], _bytes(first["newly_pruned"])) == (
        10,
        0,
        [0, 255, 255, 0],
    )
    assert counting.calls.count("read_blob") == 4
    again = body(15)
    assert counting.calls == ["read_blob_sequences"]
    assert again == dict(first, requested_step=15)
    assert body(12, max_cells=1)["grid"]["cell_rows"] == 2 and "read_blob" not in counting.calls
    # A new record at or before the requested step is another body.
    with lb.RunWriter(tmp_path / "a") as w:
        w.add(14, [summary.mask("k", np.array([[False, False], [False, False]]))])
    multiplexer.Reload()
    newer = body(15)
    assert (newer["step"], newer["previous_step"], _bytes(newer["kept"])) == (14, 10, [0] * 4)
    assert body(12) == first


def test_mask_body_cache_evicts_least_recently_used_within_bytes():
    cache = reader.LruCache(100, size=masks.view_bytes)
    for key in "abc":
        cache.put(key, {"kept": "x" * 40, "unit_sparsity": []})
    assert (cache.get("a"), cache.get("b") is not None, cache.get("c") is not None) == (
        None,
        True,
        True,
    )
    cache.put("huge", {"kept": "x" * 101, "unit_sparsity": []})
    assert cache.get("huge") is None and cache.get("b") is not None


def test_mask_between_records_with_diff_exact(client):
    assert _get_json(client, MASK_URL + "&step=25&diff=1") == {
        "run": "alpha",
        "weight": "dense/kernel",
        "requested_step": 25,
        "step": 20,
        "shape": [3, 2],
        "size": 6,
        "kept_total": 3,
        "layout": {
            "rows": 2,
            "cols": 3,
            "row_axis": "output unit",
            "col_axes": ["input"],
            "col_shape": [3],
        },
        "region": {"row0": 0, "col0": 0, "rows": 2, "cols": 3},
        "grid": {"rows": 2, "cols": 3, "cell_rows": 1, "cell_cols": 1},
        "exact": True,
        "kept": "AP//AP8A",  # layout 011 / 010
        "unit_sparsity": [0.33333333333333337, 0.6666666666666667],
        "previous_step": 10,
        "shape_changed": False,
        "newly_pruned": "/wAAAAD/",  # 100 / 001
        "regrown": "AAD/AAAA",  # 001 / 000
    }


def test_mask_without_diff_has_no_diff_keys(client):
    body = _get_json(client, MASK_URL + "&step=10")
    assert body["step"] == 10
    assert _bytes(body["kept"]) == [255, 255, 0, 0, 255, 255]  # layout 110 / 011
    assert not {"previous_step", "shape_changed", "newly_pruned", "regrown"} & set(body)


def test_mask_first_record_diff_has_no_previous(client):
    body = _get_json(client, MASK_URL + "&step=0&diff=1")
    assert (body["step"], body["previous_step"], body["shape_changed"]) == (0, None, False)
    assert "newly_pruned" not in body and "regrown" not in body
    assert _bytes(body["kept"]) == [255] * 6


def test_mask_diff_after_shape_change_sends_no_grids(client):
    body = _get_json(client, PREFIX + "/mask?run=reshaped&weight=w&step=4&diff=true")
    assert (body["step"], body["shape"], body["previous_step"], body["shape_changed"]) == (
        4,
        [3],
        3,
        True,
    )
    assert "newly_pruned" not in body and "regrown" not in body
    assert body["layout"] == {
        "rows": 1,
        "cols": 3,
        "row_axis": None,
        "col_axes": ["output unit"],
        "col_shape": [3],
    }
    assert _bytes(body["kept"]) == [255, 0, 255]
    assert body["unit_sparsity"] == [1 - 2 / 3]


def test_mask_conv_kernel_layout_and_diff(client):
    body = _get_json(client, PREFIX + "/mask?run=beta/manual&weight=conv/kernel&step=7&diff=1")
    assert body["layout"] == {
        "rows": 3,
        "cols": 4,
        "row_axis": "output unit",
        "col_axes": ["input", "kernel_h", "kernel_w"],
        "col_shape": [2, 1, 2],
    }
    # Output unit 0 is pruned entirely at step 5.
    assert _bytes(body["kept"]) == [0] * 4 + [255] * 8
    assert _bytes(body["newly_pruned"]) == [255] * 4 + [0] * 8
    assert _bytes(body["regrown"]) == [0] * 12
    assert body["unit_sparsity"] == [1.0, 0.0, 0.0]
    assert (body["kept_total"], body["size"]) == (8, 12)


def test_mask_reduced_to_max_cells(client):
    body = _get_json(client, PREFIX + "/mask?run=beta/manual&weight=conv/kernel&step=5&max_cells=2")
    assert body["grid"] == {"rows": 1, "cols": 2, "cell_rows": 3, "cell_cols": 2}
    assert body["exact"] is False
    assert _bytes(body["kept"]) == [170, 170]  # 4 of 6 kept in each cell


def test_mask_region(client):
    body = _get_json(
        client,
        PREFIX + "/mask?run=beta/manual&weight=conv/kernel&step=5&diff=1"
        "&row0=0&rows=2&col0=1&cols=3",
    )
    assert body["region"] == {"row0": 0, "col0": 1, "rows": 2, "cols": 3}
    assert body["grid"] == {"rows": 2, "cols": 3, "cell_rows": 1, "cell_cols": 1}
    assert _bytes(body["kept"]) == [0, 0, 0, 255, 255, 255]
    assert _bytes(body["newly_pruned"]) == [255, 255, 255, 0, 0, 0]
    assert body["unit_sparsity"] == [1.0, 0.0]


def test_mask_region_start_only_runs_to_the_end(client):
    body = _get_json(client, MASK_URL + "&step=20&row0=1&col0=2")
    assert body["region"] == {"row0": 1, "col0": 2, "rows": 1, "cols": 1}
    assert _bytes(body["kept"]) == [0]


def test_mask_of_empty_weight(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("w", np.zeros([0, 4], dtype=bool))])
        w.add(1, [summary.mask("w", np.zeros([0, 4], dtype=bool))])
    client, _ = _tensorboard_app(tmp_path)
    body = _get_json(client, PREFIX + "/mask?run=r&weight=w&step=1&diff=1")
    assert (body["size"], body["kept_total"], body["layout"]["rows"], body["layout"]["cols"]) == (
        0,
        0,
        4,
        0,
    )
    assert body["region"] == {"row0": 0, "col0": 0, "rows": 4, "cols": 0}
    assert body["grid"] == {"rows": 4, "cols": 0, "cell_rows": 1, "cell_cols": 1}
    assert (body["kept"], body["newly_pruned"], body["regrown"]) == ("", "", "")
    assert body["unit_sparsity"] == [None] * 4


def test_mask_before_first_record_is_404(client):
    assert _error(client, PREFIX + "/mask?run=reshaped&weight=w&step=2", 404) == (
        "Not found: no mask of weight 'w' in run 'reshaped' at or before step 2, first at step 3"
    )


def test_mask_weight_without_masks_is_404(tmp_path):
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.weight_stats("w", lb.stats(size=1))])
    client, _ = _tensorboard_app(tmp_path)
    assert _error(client, PREFIX + "/mask?run=r&weight=w&step=0", 404) == (
        "Not found: no mask of weight 'w' in run 'r' at or before step 0"
    )


def test_mask_unknown_weight_is_404(client):
    assert _error(client, PREFIX + "/mask?run=alpha&weight=x&step=1", 404).startswith(
        "Not found: run 'alpha' has no pruning data for weight 'x'"
    )


def test_mask_unknown_run_is_404(client):
    assert _error(client, PREFIX + "/mask?run=x&weight=x&step=1", 404) == (
        "Not found: no pruning data for run 'x'"
    )


def test_mask_missing_step_is_400(client):
    assert _error(client, MASK_URL, 400) == "Invalid argument: missing parameter 'step'"


@pytest.mark.parametrize(
    "query,step",
    [
        ("abc", "abc"),
        ("-1", "-1"),
        ("1.5", "1.5"),
        ("1e3", "1e3"),
        ("%2B3", "+3"),
        ("%203", " 3"),
        ("99999999999999999999", "99999999999999999999"),
    ],
)
def test_mask_invalid_step_is_400(client, query, step):
    assert _error(client, MASK_URL + "&step=" + query, 400) == (
        "Invalid argument: parameter 'step' must be an integer from 0 to 9223372036854775807, "
        "got %r" % step
    )


@pytest.mark.parametrize(
    "params,message",
    [
        ("row0=-1", "parameter 'row0' must be an integer from 0 to 9223372036854775807, got '-1'"),
        ("rows=0", "parameter 'rows' must be an integer from 1 to 9223372036854775807, got '0'"),
        ("cols=x", "parameter 'cols' must be an integer from 1 to 9223372036854775807, got 'x'"),
        ("max_cells=0", "parameter 'max_cells' must be an integer from 1 to 1048576, got '0'"),
        (
            "max_cells=1048577",
            "parameter 'max_cells' must be an integer from 1 to 1048576, got '1048577'",
        ),
        ("diff=yes", "parameter 'diff' must be 0 or 1, got 'yes'"),
        ("diff=1&diff=0", "parameter 'diff' must be given once, got 2 values: ['1', '0']"),
        (
            "row0=2",
            "row0=2 is outside the layout, which has 2 rows "
            "(weight 'dense/kernel' at step 20 has shape [3, 2])",
        ),
        (
            "col0=1&cols=3",
            "cols=3 from 1 reaches beyond the layout's 3 columns "
            "(weight 'dense/kernel' at step 20 has shape [3, 2])",
        ),
    ],
)
def test_mask_invalid_region_or_option_is_400(client, params, message):
    assert _error(client, MASK_URL + "&step=20&" + params, 400) == "Invalid argument: " + message


# /static -------------------------------------------------------------------------------------


@pytest.fixture()
def static_dir(tmp_path, monkeypatch):
    static = tmp_path / "static"
    (static / "chunks").mkdir(parents=True)
    files = {
        "index.js": b"export function render() {}\n",
        "chunks/app.js": b"export const x = 1;\n",
        "style.css": b"body { margin: 0 }\n",
        "index.js.map": b'{"version":3}',
        "logo.png": b"\x89PNG\r\n\x1a\n",
        "icon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        "data.bin": b"\x00\x01",
    }
    for name, content in files.items():
        (static / name).write_bytes(content)
    (tmp_path / "secret.txt").write_bytes(b"TOP-SECRET-CONTENT")
    os.symlink(tmp_path / "secret.txt", static / "link.txt")
    monkeypatch.setattr(plugin, "STATIC_DIR", str(static))
    return files


@pytest.mark.parametrize(
    "name,content_type",
    [
        ("index.js", "application/javascript; charset=utf-8"),
        ("chunks/app.js", "application/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("index.js.map", "application/json"),
        ("logo.png", "image/png"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
        ("data.bin", "application/octet-stream"),
    ],
)
def test_static_serves_file_with_content_type(client, static_dir, name, content_type):
    response = client.get(PREFIX + "/static/" + name)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data() == static_dir[name]


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "%2e%2e/secret.txt",
        "..%2fsecret.txt",
        "chunks/../../secret.txt",
        "%252e%252e/secret.txt",
        "..%5csecret.txt",
        "/etc/passwd",
        "%2fetc/passwd",
        "./index.js",
        "chunks//app.js",
        "link.txt",
        "chunks",
        "missing.js",
    ],
)
def test_static_refuses_paths_outside_or_missing(client, static_dir, path):
    response = client.get(PREFIX + "/static/" + path)
    assert response.status_code == 404
    body = json.loads(response.get_data(as_text=True))
    assert body["error"].startswith("Not found: no static file")
    assert b"TOP-SECRET" not in response.get_data()


def test_static_index_missing_bundle_is_404(client, tmp_path, monkeypatch):
    monkeypatch.setattr(plugin, "STATIC_DIR", str(tmp_path / "no_static_yet"))
    assert _error(client, PREFIX + "/static/index.js", 404) == (
        "Not found: no static file 'index.js'"
    )


def test_static_dir_is_the_package_static_folder():
    assert plugin.STATIC_DIR == os.path.join(os.path.dirname(plugin.__file__), "static")


# A real TensorBoard process ------------------------------------------------------------------


def _start_tensorboard(logdir, load_fast):
    binary = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if not os.path.exists(binary):
        binary = shutil.which("tensorboard")
    # TensorBoard finds the plugin through the installed entry point; PYTHONPATH makes the
    # entry point import this checkout's tb_prune_plugin, whatever checkout was installed.
    pythonpath = os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=pythonpath)
    process = subprocess.Popen(
        [
            binary,
            "--logdir",
            str(logdir),
            "--port",
            "0",
            "--host",
            "127.0.0.1",
            "--load_fast=%s" % load_fast,
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return process, lines


def _wait_for_url(process, lines, deadline):
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if match:
            return match.group(1)
    raise AssertionError("TensorBoard did not start:\n" + "".join(seen))


def _fetch(url):
    """(status, body bytes) of a GET, also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _fetch_json(url):
    status, body = _fetch(url)
    assert status == 200, (url, status, body)
    return json.loads(body)


PROCESS_URLS = (
    "/runs",
    "/config?run=alpha",
    "/overview",
    "/overview?run=beta/manual&run=long",
    "/weight_series?run=alpha&weight=dense/kernel",
    "/weight_series?run=long&weight=w",
    "/model_series?run=alpha",
    "/metrics?run=alpha",
    "/histograms?run=alpha&weight=dense/kernel",
    "/mask_steps?run=alpha&weight=dense/kernel",
    "/mask_steps?run=long&weight=w",
    "/mask?run=alpha&weight=dense/kernel&step=25&diff=1",
    "/mask?run=beta/manual&weight=conv/kernel&step=5&max_cells=2&diff=1",
    "/mask?run=long&weight=w&step=299&diff=1",
)


def test_tensorboard_process_serves_every_step_with_both_loaders(tmp_path):
    """A real `tensorboard` keeps all 300 steps (not 10 or 100) with --load_fast true and false.

    Every route answers as TensorBoard's WSGI app does in this process.
    """
    lb.write_demo_logdir(str(tmp_path))
    with lb.RunWriter(tmp_path / "long") as w:
        for step in range(300):
            values = [summary.weight_stats("w", lb.stats(size=2, nonzeros=2 - step % 2))]
            if step % 2 == 0:
                values.append(summary.mask("w", np.array([True, step % 4 == 0])))
            w.add(step, values)
    started = {mode: _start_tensorboard(tmp_path, mode) for mode in ("true", "false")}
    try:
        in_process, _ = _tensorboard_app(tmp_path)
        expected = {url: _get_json(in_process, PREFIX + url) for url in PROCESS_URLS}
        long_series = expected["/weight_series?run=long&weight=w"]
        assert long_series["steps"] == list(range(300))
        assert long_series["fields"]["nonzeros"] == [2.0 - s % 2 for s in range(300)]
        assert expected["/mask_steps?run=long&weight=w"]["steps"] == list(range(0, 300, 2))
        mask = expected["/mask?run=long&weight=w&step=299&diff=1"]
        assert (mask["step"], _bytes(mask["kept"]), _bytes(mask["newly_pruned"])) == (
            298,
            [255, 0],
            [0, 255],
        )
        deadline = time.monotonic() + 90
        for mode, (process, lines) in started.items():
            base = _wait_for_url(process, lines, deadline) + PREFIX
            while _fetch_json(base + "/runs") != expected["/runs"]:
                assert time.monotonic() < deadline, (mode, _fetch_json(base + "/runs"))
                time.sleep(0.5)
            for url in PROCESS_URLS:
                assert _fetch_json(base + url) == expected[url], (mode, url)
            status, body = _fetch(base + "/mask?run=long&weight=w&step=x")
            assert (status, json.loads(body)) == (
                400,
                {
                    "error": "Invalid argument: parameter 'step' must be an integer from 0 to "
                    "9223372036854775807, got 'x'"
                },
            ), mode
            status, body = _fetch(base + "/config?run=long")
            assert (status, json.loads(body)) == (
                404,
                {"error": "Not found: run 'long' has no run_config record"},
            ), mode
            status, body = _fetch(base + "/overview.csv?run=long")
            assert (status, body) == (
                200,
                b"run,weight,shape,size,nonzeros,sparsity,"
                b"target_sparsity,threshold,step\nlong,w,2,2,1,,,,299\n",
            )
    finally:
        for process, _ in started.values():
            process.terminate()
        for process, _ in started.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
