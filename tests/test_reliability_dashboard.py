"""Hostile and broken input to the dashboard: event files, log directories, requests.

Everything is served for real: TensorBoard's WSGI app in this process (Python loader)
and a `tensorboard --load_fast=true` subprocess on 127.0.0.1 (the Rust data server).
One log directory holds good runs next to broken ones:

- `alpha`, `beta/manual`: the demo runs of `benchmarks/fixtures/logdir_builder.py`, untouched;
- copies of `alpha` whose event file is truncated, has flipped bytes, a bad length
  CRC, a bad data CRC, is empty or is random bytes; and a copy of `alpha` with an
  empty and a garbage event file beside its good one;
- `future` (only records of format version 99) and `mixed` (version 1 and 99),
  written with the real record writers after patching the metadata's JSON;
- `big`, two 512x512 masks, for concurrent heavy requests;
- `quote"and\\backslash`, a copy of `alpha` whose name TensorBoard's Rust data server
  cannot put in a blob key.

docs/reliability.md ("Dashboard") lists every input tried here with its result.
"""

import concurrent.futures
import http.client
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import tracemalloc
import urllib.parse

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorboard.compat.proto import summary_pb2

from benchmarks.fixtures import browser
from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import bodies, mask_codec, metadata, summary
from tb_prune_plugin import params as route_params
from tests.test_plugin_routes import (
    _tensorboard_app,
    assert_long_series_are_exact_samples,
    write_long_runs,
)

PREFIX = "/data/plugin/pruning"
READER_LOGGER = "tb_prune_plugin.reader"
NEWER_VERSION = 99
GOOD_RUNS = ("alpha", "beta/manual")
QUOTE_RUN = 'quote"and\\backslash'
# Copies of `alpha` with a broken event file, by how it is broken.
BROKEN_RUNS = (
    "truncated",
    "truncated_in_header",
    "flipped_bytes",
    "bad_length_crc",
    "bad_data_crc",
    "empty_file",
    "garbage_file",
    "good_beside_broken",
)
# Routes of one run (alpha's weight names), to ask of every run.
RUN_URLS = (
    "/config?run={run}",
    "/overview?run={run}",
    "/overview.csv?run={run}",
    "/weight_series?run={run}&weight=dense/kernel",
    "/model_series?run={run}",
    "/metrics?run={run}",
    "/histograms?run={run}&weight=dense/kernel",
    "/mask_steps?run={run}&weight=dense/kernel",
    "/mask?run={run}&weight=dense/kernel&step=30&diff=1",
    "/mask?run={run}&weight=dense/kernel&step=10&max_cells=2",
)
# What `future` and `mixed` hold in format version 99 (tags).
NEWER_TAGS = {
    "future": (
        "pruning/metrics/epoch/loss",
        "pruning/model_stats",
        "pruning/run_config",
        "pruning/w/mask",
        "pruning/w/weight_stats",
    ),
    "mixed": ("pruning/metrics/epoch/loss", "pruning/next/mask", "pruning/next/weight_stats"),
}


# The log directory ---------------------------------------------------------------------------


def _newer(value, version=NEWER_VERSION):
    """A copy of the record `value` whose metadata says format version `version`."""
    value = summary_pb2.Summary.Value.FromString(value.SerializeToString())
    content = json.loads(value.metadata.plugin_data.content)
    content["version"] = version
    value.metadata.plugin_data.content = json.dumps(content).encode("utf-8")
    return value


def _event_file(run_dir):
    (name,) = [n for n in os.listdir(run_dir) if n.startswith("events.out.tfevents")]
    return os.path.join(run_dir, name)


def _broken_copy(source_dir, run_dir, damage):
    """Copies the run `source_dir` to `run_dir` and applies `damage(bytearray)` to its file."""
    shutil.copytree(source_dir, run_dir)
    path = _event_file(run_dir)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data = damage(data)
    with open(path, "wb") as f:
        f.write(bytes(data))


def _flip_every_97th(data):
    for i in range(200, len(data), 97):
        data[i] ^= 0xFF
    return data


def _flip_bit(position):
    def damage(data):
        data[position(data)] ^= 0x10
        return data

    return damage


def _random_bytes(n):
    return np.random.default_rng(5).integers(0, 256, n, dtype=np.uint8).tobytes()


def write_hostile_logdir(logdir):
    """Writes the log directory described in the module docstring."""
    logdir = str(logdir)
    lb.write_demo_logdir(logdir)
    alpha = os.path.join(logdir, "alpha")
    _broken_copy(alpha, os.path.join(logdir, "truncated"), lambda d: d[: len(d) // 2 + 3])
    _broken_copy(alpha, os.path.join(logdir, "truncated_in_header"), lambda d: d[:5])
    _broken_copy(alpha, os.path.join(logdir, "flipped_bytes"), _flip_every_97th)
    # Bytes 8..11 are the CRC of the first record's length; the middle byte is in a record.
    _broken_copy(alpha, os.path.join(logdir, "bad_length_crc"), _flip_bit(lambda d: 8))
    _broken_copy(alpha, os.path.join(logdir, "bad_data_crc"), _flip_bit(lambda d: len(d) // 2))
    _broken_copy(alpha, os.path.join(logdir, "empty_file"), lambda d: b"")
    _broken_copy(alpha, os.path.join(logdir, "garbage_file"), lambda d: _random_bytes(4096))
    shutil.copytree(alpha, os.path.join(logdir, QUOTE_RUN))
    beside = os.path.join(logdir, "good_beside_broken")
    shutil.copytree(alpha, beside)
    good_name = os.path.basename(_event_file(beside))
    # One sorts before the good file, one after it.
    with open(os.path.join(beside, "events.out.tfevents.0.garbage"), "wb") as f:
        f.write(_random_bytes(1000))
    with open(os.path.join(beside, good_name + ".zz_empty"), "wb") as f:
        pass
    with lb.RunWriter(os.path.join(logdir, "future")) as w:
        w.add(
            0,
            [
                _newer(summary.weight_stats("w", lb.stats(size=2, nonzeros=1))),
                _newer(summary.mask("w", np.array([True, False]))),
                _newer(summary.model_stats(lb.model_stats(global_sparsity=0.5))),
                _newer(summary.run_config({"method": "manual"})),
                _newer(summary.metric("epoch", "loss", 0.5)),
            ],
        )
    with lb.RunWriter(os.path.join(logdir, "mixed")) as w:
        w.add(
            0,
            [
                summary.weight_stats("kept", lb.stats(size=2, nonzeros=2)),
                _newer(summary.weight_stats("next", lb.stats(size=2, nonzeros=1))),
                _newer(summary.mask("next", np.array([True, False]))),
                _newer(summary.metric("epoch", "loss", 0.5)),
            ],
        )
    rng = np.random.default_rng(0)
    with lb.RunWriter(os.path.join(logdir, "big")) as w:
        for step, sparsity in ((0, 0.5), (10, 0.8)):
            mask = rng.random((512, 512)) >= sparsity
            w.add(
                step,
                [
                    summary.mask("k", mask),
                    summary.weight_stats("k", lb.stats(size=mask.size, nonzeros=int(mask.sum()))),
                ],
            )


@pytest.fixture(scope="module")
def hostile_logdir(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("hostile")
    write_hostile_logdir(logdir)
    return logdir


@pytest.fixture(scope="module")
def client(hostile_logdir):
    """TensorBoard's WSGI app over the hostile log directory (Python loader)."""
    return _tensorboard_app(hostile_logdir)[0]


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The same app over the demo runs alone: what alpha and beta/manual must answer."""
    logdir = tmp_path_factory.mktemp("clean")
    lb.write_demo_logdir(str(logdir))
    return _tensorboard_app(logdir)[0]


@pytest.fixture(scope="module")
def served(hostile_logdir):
    """`tensorboard --load_fast=true` on 127.0.0.1 over the hostile log directory."""
    with browser.TensorBoardProcess(hostile_logdir, ["--load_fast=true"]) as tensorboard:
        _wait_until_loaded(tensorboard.url, ("alpha", "beta/manual", "big", "mixed", "truncated"))
        yield tensorboard


def _wait_until_loaded(url, runs, timeout=60):
    """Waits until /runs lists `runs` and its answer stays the same for a second."""
    deadline = time.monotonic() + timeout
    previous = None
    while time.monotonic() < deadline:
        try:
            status, body = _http_get(url + PREFIX + "/runs", timeout=5)
        except OSError:  # not listening yet
            status, body = None, None
        if status == 200:
            listed = {r["run"] for r in json.loads(body)["runs"]}
            if set(runs) <= listed and body == previous:
                return
            previous = body
        time.sleep(1.0)
    raise AssertionError("TensorBoard did not list %s; last answer %r" % (runs, previous))


# Helpers -------------------------------------------------------------------------------------


def _http_get(url, timeout=30):
    """(status, body bytes) of a GET over a fresh connection, without any URL rewriting."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _wsgi_get(client):
    def get(url):
        response = client.get(url)
        return response.status_code, response.get_data()

    return get


def _process_get(tensorboard):
    return lambda url: _http_get(tensorboard.url + url)


def _assert_json_error(status, body, statuses=(400, 404)):
    """An error answer: one of `statuses`, a JSON `{"error": ...}` of bounded size, no trace."""
    assert status in statuses, (status, body[:300])
    assert len(body) <= bodies.MAX_ERROR_CHARS + 200, len(body)
    parsed = json.loads(body)
    assert list(parsed) == ["error"] and isinstance(parsed["error"], str), parsed
    assert "Traceback" not in parsed["error"] and 'File "' not in parsed["error"]
    return parsed["error"]


def _json(status, body):
    assert status == 200, (status, body[:300])
    return json.loads(body)


def _clean_answers(clean, runs=GOOD_RUNS):
    """{url: (status, body)} of every run route for `runs` in the clean log directory."""
    get = _wsgi_get(clean)
    urls = [PREFIX + u.format(run=run) for run in runs for u in RUN_URLS]
    return {url: get(url) for url in urls}


def _alpha_at(clean_get, route, **params):
    query = urllib.parse.urlencode(dict(params, run="alpha"))
    return _json(*clean_get(PREFIX + "/" + route + "?" + query))


def _assert_broken_run_is_part_of_alpha(get, clean_get, run):
    """A damaged copy of alpha answers 200 with a part of alpha's data (never other values),
    or 404 when nothing of it could be read; never a 500."""
    for template in RUN_URLS:
        url = PREFIX + template.format(run=run)
        status, body = get(url)
        if status != 200:
            message = _assert_json_error(status, body, statuses=(404,))
            assert repr(run) in message, message
            continue
        if "/overview.csv" in url:
            expected = clean_get(url.replace(run, "alpha"))[1].decode().splitlines()
            lines = body.decode().splitlines()
            assert lines[0] == expected[0]
            for line in lines[1:]:
                weight = line.split(",")[1]
                assert line.startswith("%s,%s," % (run, weight)), line
            continue
        data = json.loads(body)
        if "/config" in url:
            assert data == lb.ALPHA_CONFIG
        elif "/overview" in url:
            for row in data["rows"]:
                series = _alpha_at(clean_get, "weight_series", weight=row["weight"])
                i = series["steps"].index(row["step"])
                assert row["nonzeros"] == series["fields"]["nonzeros"][i], row
        elif "/weight_series" in url or "/model_series" in url:
            route = "weight_series" if "/weight_series" in url else "model_series"
            params = {"weight": "dense/kernel"} if route == "weight_series" else {}
            full = _alpha_at(clean_get, route, **params)
            for i, step in enumerate(data["steps"]):
                j = full["steps"].index(step)
                assert {k: v[i] for k, v in data["fields"].items()} == {
                    k: v[j] for k, v in full["fields"].items()
                }, (url, step)
        elif "/metrics" in url:
            full = _alpha_at(clean_get, "metrics")
            for scope in metadata.METRIC_SCOPES:
                for name, series in data[scope].items():
                    pairs = dict(zip(full[scope][name]["steps"], full[scope][name]["values"]))
                    assert all(pairs[s] == v for s, v in zip(series["steps"], series["values"]))
        elif "/histograms" in url:
            full = _alpha_at(clean_get, "histograms", weight="dense/kernel")
            for i, step in enumerate(data["steps"]):
                j = full["steps"].index(step)
                assert data["counts"][i] == full["counts"][j]
        elif "/mask_steps" in url:
            full = _alpha_at(clean_get, "mask_steps", weight="dense/kernel")
            assert set(data["steps"]) <= set(full["steps"])
        else:  # /mask: the mask of a step alpha recorded, exactly alpha's
            query = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]), step=str(data["step"]))
            del query["run"]
            full = _alpha_at(clean_get, "mask", **query)
            assert data["kept"] == full["kept"] and data["shape"] == full["shape"]


# Broken event files --------------------------------------------------------------------------


def test_broken_event_files_leave_good_runs_exact_python_loader(client, clean):
    expected = _clean_answers(clean)
    get = _wsgi_get(client)
    for url, answer in expected.items():
        assert get(url) == answer, url
    runs = _json(*get(PREFIX + "/runs"))["runs"]
    by_name = {r["run"]: r for r in runs}
    clean_runs = {r["run"]: r for r in _json(*_wsgi_get(clean)(PREFIX + "/runs"))["runs"]}
    for run in GOOD_RUNS:
        assert by_name[run] == clean_runs[run]
    # The good file beside an empty and a garbage one is read whole.
    assert by_name["good_beside_broken"] == dict(clean_runs["alpha"], run="good_beside_broken")
    for run in ("flipped_bytes", "bad_length_crc", "empty_file", "garbage_file"):
        assert run not in by_name


@pytest.mark.parametrize("run", BROKEN_RUNS)
def test_broken_event_file_answers_part_of_its_data_python_loader(client, clean, run):
    _assert_broken_run_is_part_of_alpha(_wsgi_get(client), _wsgi_get(clean), run)


def _numbers_differing(a, b):
    """How many numbers differ between two /weight_series or /model_series bodies."""
    assert a["steps"] == b["steps"] and list(a["fields"]) == list(b["fields"])
    return sum(x != y for name in a["fields"] for x, y in zip(a["fields"][name], b["fields"][name]))


def test_broken_event_files_leave_good_runs_exact_rust_data_server(served, clean):
    get = _process_get(served)
    for url, answer in _clean_answers(clean).items():
        assert get(url) == answer, url
    for run in BROKEN_RUNS:
        if run != "bad_data_crc":
            _assert_broken_run_is_part_of_alpha(get, _wsgi_get(clean), run)
    # The Rust data server checks a record's data CRC only when the record does not parse
    # (its default `--no-checksum`): a flipped bit inside a number is served as it is. The
    # routes still answer; the damage stays in the one value.
    for template in RUN_URLS:
        status, body = get(PREFIX + template.format(run="bad_data_crc"))
        if status != 200:
            _assert_json_error(status, body, statuses=(404,))
    damaged = _json(*get(PREFIX + "/weight_series?run=bad_data_crc&weight=dense/kernel"))
    alpha = _alpha_at(_wsgi_get(clean), "weight_series", weight="dense/kernel")
    assert _numbers_differing(damaged, alpha) == 1
    runs = {r["run"] for r in _json(*get(PREFIX + "/runs"))["runs"]}
    assert {"alpha", "beta/manual", "good_beside_broken", "truncated"} <= runs
    assert not runs & {"flipped_bytes", "bad_length_crc", "empty_file", "garbage_file"}


def test_long_series_are_exact_samples_rust_data_server(tmp_path):
    """Issue 5 with the Rust data server, whose sampling differs from the Python loader's:
    what is sent is exactly the full series at the steps sent, the last step included, and
    every mask change is listed."""
    write_long_runs(tmp_path)
    with browser.TensorBoardProcess(tmp_path, ["--load_fast=true"]) as tensorboard:
        _wait_until_loaded(tensorboard.url, ("long", "sparse_hist"))
        get = _process_get(tensorboard)
        assert_long_series_are_exact_samples(lambda url: _json(*get(PREFIX + url)))


def _quote_run_url(route, **params):
    return PREFIX + "/" + route + "?" + urllib.parse.urlencode(dict(run=QUOTE_RUN, **params))


def test_run_name_with_quote_and_backslash_reads_whole_python_loader(client, clean):
    for route, params in (
        ("mask_steps", {"weight": "dense/kernel"}),
        ("mask", {"weight": "dense/kernel", "step": "25", "diff": "1"}),
        ("overview", {}),
    ):
        body = _json(*_wsgi_get(client)(_quote_run_url(route, **params)))
        alpha = _alpha_at(_wsgi_get(clean), route, **params)
        assert json.dumps(body).replace(json.dumps(QUOTE_RUN)[1:-1], "alpha") == json.dumps(alpha)


def test_run_name_with_quote_masks_unreadable_is_said_rust_data_server(served, clean):
    """Regression: the Rust data server cannot parse the blob keys it makes for a run named
    with '"' or '\\' (InvalidArgumentError), which made /overview answer 400 for every
    run. Now its masks are left out with a reason; everything else of the run is served."""
    get = _process_get(served)
    steps = _json(*get(_quote_run_url("mask_steps", weight="dense/kernel")))
    assert (steps["steps"], steps["shapes"], steps["unreadable"]) == ([], [], 3)
    error = _assert_json_error(
        *get(_quote_run_url("mask", weight="dense/kernel", step="25")), statuses=(404,)
    )
    assert error.startswith(
        "Not found: no readable mask of weight 'dense/kernel' in run %r at or before step 25: "
        "3 recorded masks could not be read (TensorBoard's data provider cannot read the blob: "
        "Invalid argument: failed to parse blob key" % QUOTE_RUN
    ), error
    overview = _json(*get(PREFIX + "/overview"))
    rows = {(r["run"], r["weight"]): r for r in overview["rows"]}
    assert rows[(QUOTE_RUN, "dense/kernel")] == dict(
        rows[("alpha", "dense/kernel")], run=QUOTE_RUN, shape=None
    )
    series = _json(*get(_quote_run_url("weight_series", weight="dense/kernel")))
    assert (
        series["fields"]
        == _alpha_at(_wsgi_get(clean), "weight_series", weight="dense/kernel")["fields"]
    )


# Newer format version ------------------------------------------------------------------------


def _expected_notices():
    return [
        "Run %r, tag %r: skipped, written in format version 99, newer than this "
        "tb_prune_plugin reads (2); upgrade tb_prune_plugin to see it." % (run, tag)
        for run in sorted(NEWER_TAGS)
        for tag in sorted(NEWER_TAGS[run])
    ]


def _newer_warnings(lines):
    return [
        line
        for line in lines
        if "skipping pruning series" in line and "format version 99 is newer" in line
    ]


def test_newer_format_skipped_with_notice_and_one_warning_python_loader(hostile_logdir, caplog):
    client, _ = _tensorboard_app(hostile_logdir)  # a fresh reader: no warning given yet
    with caplog.at_level(logging.WARNING, logger=READER_LOGGER):
        for _ in range(3):
            body = _json(*_wsgi_get(client)(PREFIX + "/runs"))
            _json(*_wsgi_get(client)(PREFIX + "/weight_series?run=mixed&weight=kept"))
    assert body["notices"] == _expected_notices()
    by_name = {r["run"]: r for r in body["runs"]}
    assert "future" not in by_name
    assert by_name["mixed"] == {
        "run": "mixed",
        "weights": ["kept"],
        "metrics": {"epoch": [], "batch": []},
        "last_step": 0,
        "method": None,
    }
    warnings = _newer_warnings([r.getMessage() for r in caplog.records])
    assert sorted(warnings) == sorted(
        "skipping pruning series run %r, tag %r: format version 99 is newer than this "
        "tb_prune_plugin reads (2); upgrade tb_prune_plugin to see it" % (run, tag)
        for run, tags in NEWER_TAGS.items()
        for tag in tags
    )
    _assert_json_error(*_wsgi_get(client)(PREFIX + "/config?run=future"), statuses=(404,))
    _assert_json_error(
        *_wsgi_get(client)(PREFIX + "/weight_series?run=mixed&weight=next"), statuses=(404,)
    )


def test_newer_format_skipped_with_notice_and_one_warning_rust_data_server(served):
    get = _process_get(served)
    for _ in range(3):
        body = _json(*get(PREFIX + "/runs"))
    assert body["notices"] == _expected_notices()
    assert "future" not in {r["run"] for r in body["runs"]}
    warnings = _newer_warnings(served.output().splitlines())
    for run, tags in NEWER_TAGS.items():
        for tag in tags:
            named = [w for w in warnings if "run %r, tag %r:" % (run, tag) in w]
            assert len(named) == 1, (run, tag, warnings)


def test_notices_are_capped_with_a_count_of_the_rest():
    from tb_prune_plugin import reader

    skipped = [reader.SkippedSeries("r%02d" % i, "pruning/x", 5) for i in range(25)]
    result = bodies.notices(skipped + skipped[:3])  # duplicates counted once
    assert len(result) == bodies.MAX_NOTICES + 1
    assert result[0].startswith("Run 'r00', tag 'pruning/x': skipped, written in format version 5")
    assert result[-1] == (
        "5 more series skipped for a newer format version (each is named in TensorBoard's log)."
    )


# Thousands of runs ---------------------------------------------------------------------------


def test_two_thousand_runs_are_listed_and_summarized(tmp_path):
    """2,000 runs (one tiny event file copied 2,000 times): /runs and /overview answer.

    Times are printed (run pytest with -s) and noted in docs/reliability.md; none is asserted.
    """
    template = tmp_path / "template"
    with lb.RunWriter(template) as w:
        w.add(
            3,
            [
                summary.weight_stats("w", lb.stats(size=2, nonzeros=1, sparsity=0.5)),
                summary.mask("w", np.array([True, False])),
                summary.run_config({"method": "manual"}),
            ],
        )
    source = _event_file(template)
    logdir = tmp_path / "logdir"
    names = ["run_%04d" % i for i in range(2000)]
    for name in names:
        os.makedirs(logdir / name)
        shutil.copyfile(source, logdir / name / os.path.basename(source))
    started = time.monotonic()
    client, _ = _tensorboard_app(logdir)
    loaded = time.monotonic()
    body = _json(*_wsgi_get(client)(PREFIX + "/runs"))
    listed = time.monotonic()
    overview = _json(*_wsgi_get(client)(PREFIX + "/overview"))
    summarized = time.monotonic()
    mask = _json(*_wsgi_get(client)(PREFIX + "/mask?run=run_1999&weight=w&step=3"))
    done = time.monotonic()
    print(
        "2000 runs: load %.2f s, /runs %.2f s, /overview %.2f s, /mask %.3f s"
        % (loaded - started, listed - loaded, summarized - listed, done - summarized)
    )
    assert [r["run"] for r in body["runs"]] == names
    assert body["runs"][0] == {
        "run": "run_0000",
        "weights": ["w"],
        "metrics": {"epoch": [], "batch": []},
        "last_step": 3,
        "method": "manual",
    }
    assert [(r["run"], r["shape"], r["sparsity"]) for r in overview["rows"]] == [
        (name, [2], 0.5) for name in names
    ]
    assert mask["kept"] == "/wA="


# Parameters ----------------------------------------------------------------------------------

HUGE = "9" * 10_000_000  # a 10 MB query value
LARGE = "9" * 100_000
MASK = "/mask?run=alpha&weight=dense/kernel"

# (url, status, start of the message after TensorBoard's prefix, or None to only check form)
BAD_REQUESTS = [
    # missing
    ("/config", 400, "missing parameter 'run'"),
    ("/weight_series?run=alpha", 400, "missing parameter 'weight'"),
    ("/model_series", 400, "missing parameter 'run'"),
    ("/metrics", 400, "missing parameter 'run'"),
    ("/histograms?weight=dense/kernel", 400, "missing parameter 'run'"),
    ("/mask_steps?run=alpha", 400, "missing parameter 'weight'"),
    (MASK, 400, "missing parameter 'step'"),
    ("/mask?weight=dense/kernel&step=1", 400, "missing parameter 'run'"),
    # empty
    ("/config?run=", 400, "parameter 'run' must not be empty"),
    ("/overview?run=alpha&run=", 400, "parameter 'run' must not be empty"),
    ("/overview.csv?run=", 400, "parameter 'run' must not be empty"),
    (MASK + "&step=", 400, "parameter 'step' must not be empty"),
    # repeated
    ("/config?run=alpha&run=alpha", 400, "parameter 'run' must be given once, got 2 values"),
    (
        "/histograms?run=alpha&weight=dense/kernel&weight=dense/bias",
        400,
        "parameter 'weight' must be given once",
    ),
    (MASK + "&step=1&step=2", 400, "parameter 'step' must be given once"),
    (MASK + "&step=20&diff=1&diff=1", 400, "parameter 'diff' must be given once"),
    ("/model_series?" + "&".join(["run=alpha"] * 10_000), 400, "parameter 'run' must be given"),
    # unknown names
    ("/config?run=gamma", 404, "no pruning data for run 'gamma'"),
    ("/config?run=..", 404, "no pruning data for run '..'"),
    ("/config?run=%00", 404, "no pruning data for run '\\x00'"),
    ("/config?run=%ff%fe", 404, "no pruning data for run '%FF%FE'"),  # not UTF-8: kept quoted
    ("/config?run=../../etc/passwd", 404, "no pruning data for run '../../etc/passwd'"),
    ("/overview?run=alpha&run=gamma", 404, "no pruning data for run 'gamma'"),
    ("/metrics?run=%3Cscript%3E", 404, "no pruning data for run '<script>'"),
    ("/mask_steps?run=alpha&weight=dense", 404, "run 'alpha' has no pruning data for weight"),
    ("/config?run=beta/manual", 404, "run 'beta/manual' has no run_config record"),
    # malformed numbers
    (MASK + "&step=abc", 400, "parameter 'step' must be an integer from 0 to"),
    (MASK + "&step=-1", 400, "parameter 'step' must be an integer from 0 to"),
    (MASK + "&step=1.5", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=1e309", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=nan", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=inf", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=-inf", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=0x10", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=1_000", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=%2B3", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=3%20", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=20%0A", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=%D9%A2%D9%A0", 400, "parameter 'step' must be an integer"),  # Arabic "20"
    (MASK + "&step=%EF%BC%92", 400, "parameter 'step' must be an integer"),  # fullwidth "2"
    (MASK + "&step=true", 400, "parameter 'step' must be an integer"),
    # out of range
    (MASK + "&step=9223372036854775808", 400, "parameter 'step' must be an integer"),
    (MASK + "&step=" + "9" * 400, 400, "parameter 'step' must be an integer"),
    ("/mask?run=mixed&weight=kept&step=0", 404, "no mask of weight 'kept' in run 'mixed'"),
    (MASK + "&step=20&row0=2", 400, "row0=2 is outside the layout"),
    (MASK + "&step=20&col0=3", 400, "col0=3 is outside the layout"),
    (MASK + "&step=20&rows=3", 400, "rows=3 from 0 reaches beyond the layout's 2 rows"),
    (MASK + "&step=20&cols=9223372036854775807", 400, "cols=9223372036854775807 from 0"),
    (MASK + "&step=20&row0=-1", 400, "parameter 'row0' must be an integer from 0"),
    (MASK + "&step=20&rows=0", 400, "parameter 'rows' must be an integer from 1"),
    (MASK + "&step=20&cols=-5", 400, "parameter 'cols' must be an integer from 1"),
    (MASK + "&step=20&max_cells=0", 400, "parameter 'max_cells' must be an integer from 1 to"),
    (MASK + "&step=20&max_cells=-1", 400, "parameter 'max_cells' must be an integer from 1"),
    (MASK + "&step=20&max_cells=1048577", 400, "parameter 'max_cells' must be an integer"),
    (MASK + "&step=20&max_cells=" + "9" * 19, 400, "parameter 'max_cells' must be an integer"),
    (MASK + "&step=20&diff=2", 400, "parameter 'diff' must be 0 or 1, got '2'"),
    (MASK + "&step=20&diff=yes", 400, "parameter 'diff' must be 0 or 1, got 'yes'"),
    # huge (10 MB values, and 100 kB ones for the other parameters): refused, the message
    # cut to a bounded size (the 10 MB run is in test_huge_parameter_is_quoted_cut_...)
    ("/weight_series?run=alpha&weight=" + HUGE, 404, "run 'alpha' has no pruning data"),
    (MASK + "&step=" + HUGE, 400, "parameter 'step' must be an integer"),
    ("/overview?run=" + LARGE, 404, "no pruning data for run '999"),
    ("/histograms?run=" + LARGE + "&weight=w", 404, "no pruning data for run '999"),
    (MASK + "&step=20&max_cells=" + LARGE, 400, "parameter 'max_cells' must be an integer"),
    (MASK + "&step=20&row0=" + LARGE, 400, "parameter 'row0' must be an integer"),
    (MASK + "&step=20&diff=" + LARGE, 400, "parameter 'diff' must be 0 or 1"),
    ("/overview?" + "&".join(["run=" + "9" * 1000] * 1000), 404, "no pruning data for run"),
    # the multi-run routes and the series routes' max_points and fields
    ("/weight_series_multi?weight=dense/kernel", 400, "parameter 'run' must be given 1 to 100"),
    ("/weight_series_multi?run=alpha", 400, "missing parameter 'weight'"),
    ("/weight_series_multi?run=alpha&run=&weight=w", 400, "parameter 'run' must not be empty"),
    (
        "/model_series_multi?" + "&".join(["run=alpha"] * 101),
        400,
        "parameter 'run' must be given 1 to 100 times, got 101",
    ),
    (
        "/model_series_multi?run=alpha&fields=" + LARGE,
        400,
        "parameter 'fields': unknown model_stats field '999",
    ),
    (
        "/weight_series_multi?run=alpha&weight=dense/kernel&fields=sparsity,",
        400,
        "parameter 'fields': unknown weight_stats field ''",
    ),
    (
        "/weight_series_multi?run=alpha&weight=dense/kernel&fields=sparsity&fields=mean",
        400,
        "parameter 'fields' must be given once",
    ),
    (
        "/weight_series_multi?run=alpha&weight=dense/kernel&max_points=0",
        400,
        "parameter 'max_points' must be an integer from 1 to",
    ),
    ("/metrics?run=alpha&max_points=" + LARGE, 400, "parameter 'max_points' must be an integer"),
    ("/histograms?run=alpha&weight=dense/kernel&max_points=-1", 400, "parameter 'max_points'"),
]


def _short(url):
    return url if len(url) < 90 else url[:60] + "...(%d chars)" % len(url)


@pytest.mark.parametrize(
    "url,status,message", BAD_REQUESTS, ids=[_short(u) for u, _, _ in BAD_REQUESTS]
)
def test_bad_parameters_get_400_or_404_json(client, url, status, message):
    error = _assert_json_error(*_wsgi_get(client)(PREFIX + url), statuses=(status,))
    prefix = "Invalid argument: " if status == 400 else "Not found: "
    assert error.startswith(prefix + message), error


def test_huge_parameter_is_quoted_cut_in_the_message(client):
    """Regression: a 10 MB parameter came back whole in the 404 message."""
    error = _assert_json_error(*_wsgi_get(client)(PREFIX + "/config?run=" + HUGE))
    full = "Not found: no pruning data for run '%s'" % HUGE
    assert error == "%s... (%d more characters)" % (
        full[: bodies.MAX_ERROR_CHARS],
        len(full) - bodies.MAX_ERROR_CHARS,
    )


@pytest.mark.parametrize(
    "url",
    [
        MASK + "&step=9223372036854775807",  # the largest step: the last mask
        MASK + "&step=20&max_cells=1048576",
        MASK + "&step=20&row0=0&col0=0&rows=2&cols=3",
        "/runs?run=nope&step=x",  # /runs takes no parameters: others are ignored
        "/overview?" + "&".join(["run=alpha"] * 10_000),  # a repeatable one, repeated
        "/weight_series_multi?run=alpha&weight=" + LARGE,  # no such weight: alpha is missing
        "/model_series_multi?" + "&".join(["run=alpha"] * 100) + "&max_points=10000000",
    ],
)
def test_edge_parameters_are_answered(client, url):
    _json(*_wsgi_get(client)(PREFIX + url))


def test_unknown_route_is_tensorboards_404(client):
    status, _ = _wsgi_get(client)(PREFIX + "/nope?run=alpha")
    assert status == 404


# Property-based: no query string gives a 500 ----------------------------------------------------

ROUTES = (
    "runs",
    "config",
    "overview",
    "overview.csv",
    "weight_series",
    "model_series",
    "metrics",
    "histograms",
    "mask_steps",
    "mask",
    "weight_series_multi",
    "model_series_multi",
)
NAMES = ("run", "weight", "step", "diff", "row0", "col0", "rows", "cols", "max_cells") + (
    "max_points",
    "fields",
    "other",
)
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
VALUES = st.one_of(
    st.sampled_from(
        ["alpha", "beta/manual", "big", "dense/kernel", "conv/kernel", "k", "0", "1", "2"]
        + ["20", "511", "-1", "1e309", "nan", "", "9" * 25, "1048576", "true", "%", "\x00"]
    ),
    st.integers(-(2**70), 2**70).map(str),
    TEXT,
)


def _assert_answered(status, body, route):
    if status == 200:
        if route != "overview.csv":
            json.loads(body)
        return
    _assert_json_error(status, body)


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(ROUTES),
    params=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8),
)
def test_any_parameters_get_200_400_or_404_never_500(client, route, params):
    url = PREFIX + "/" + route + "?" + urllib.parse.urlencode(params)
    _assert_answered(*_wsgi_get(client)(url), route)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), query=st.binary(max_size=60))
def test_any_raw_query_bytes_get_200_400_or_404_never_500(client, route, query):
    # As a real server passes them: QUERY_STRING holds the raw bytes as latin-1 text.
    response = client.get(PREFIX + "/" + route, query_string=query.decode("latin-1"))
    _assert_answered(response.status_code, response.get_data(), route)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(TEXT, st.integers(-(2**64), 2**64).map(str)))
def test_step_is_accepted_exactly_when_it_is_a_plain_integer_in_range(client, text):
    status, body = _wsgi_get(client)(PREFIX + MASK + "&" + urllib.parse.urlencode({"step": text}))
    plain = re.fullmatch(r"-?[0-9]{1,19}", text) is not None and 0 <= int(text) < 2**63
    if plain:  # alpha has a mask from step 0 on, so every valid step has one
        assert status == 200, (text, body)
        assert json.loads(body)["requested_step"] == int(text)
    else:
        _assert_json_error(status, body, statuses=(400,))


# Response size and memory --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_mask_client(tmp_path_factory):
    """A 2048x2048 kernel (4 Mi weights) with two masks."""
    logdir = tmp_path_factory.mktemp("big_mask")
    rng = np.random.default_rng(1)
    with lb.RunWriter(logdir / "r") as w:
        w.add(0, [summary.mask("k", rng.random((2048, 2048)) >= 0.5)])
        w.add(1, [summary.mask("k", rng.random((2048, 2048)) >= 0.8)])
    return _tensorboard_app(logdir)[0]


# The largest answer any /mask request can get: three grids of at most MAX_MAX_CELLS bytes,
# base64 encoded, plus one unit sparsity per row (2048 rows here) and small fields.
MAX_MASK_RESPONSE = 3 * 4 * math.ceil(route_params.MAX_MAX_CELLS / 3) + 2048 * 25 + 2000


@pytest.mark.parametrize(
    "query,cells",
    [
        ("step=1", route_params.DEFAULT_MAX_CELLS),
        ("step=1&diff=1&max_cells=1048576", route_params.MAX_MAX_CELLS),
        ("step=1&diff=1&max_cells=1048576&row0=0&rows=2048&col0=0&cols=2048", 1048576),
        ("step=9223372036854775807&diff=1&max_cells=1", 1),
        ("step=1&diff=1&max_cells=1048576&cols=1", 2048),
    ],
)
def test_mask_response_size_and_memory_are_bounded(big_mask_client, query, cells):
    tracemalloc.start()
    try:
        response = big_mask_client.get(PREFIX + "/mask?run=r&weight=k&" + query)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    body = _json(response.status_code, response.get_data())
    assert body["grid"]["rows"] * body["grid"]["cols"] <= cells
    assert len(body["kept"]) <= 4 * math.ceil(cells / 3)
    assert len(response.get_data()) <= MAX_MASK_RESPONSE
    # Measured: at most about 75 MB for the largest grid of a 4 Mi-weight mask.
    assert peak < 128 * 2**20, (query, peak)


def test_mask_cells_above_the_cap_are_refused_not_served(big_mask_client):
    for cells in ("1048577", "4194304", "9223372036854775807"):
        error = _assert_json_error(
            *_wsgi_get(big_mask_client)(PREFIX + "/mask?run=r&weight=k&step=1&max_cells=" + cells)
        )
        assert "from 1 to 1048576" in error


# Static paths --------------------------------------------------------------------------------

TRAVERSALS = (
    "../plugin.py",
    "..%2fplugin.py",
    "..%2Fplugin.py",
    "%2e%2e/plugin.py",
    "%2E%2E%2Fplugin.py",
    ".%2e/plugin.py",
    "%252e%252e/plugin.py",
    "%252e%252e%252fplugin.py",
    "..%5cplugin.py",
    "..\\plugin.py",
    "%5c..%5cplugin.py",
    "%c0%ae%c0%ae/plugin.py",
    "....//plugin.py",
    "./index.js",
    "index.js/.",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "C:\\Windows\\win.ini",
    "index.js%00.png",
    "../../../../../../etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "a" * 5000,
)


def _assert_refused(status, body):
    assert status in (400, 404), (status, body[:200])
    assert b"PruningPlugin" not in body and b"root:" not in body


@pytest.mark.parametrize("path", TRAVERSALS, ids=[_short(p) for p in TRAVERSALS])
def test_static_traversal_is_refused_in_process(client, path):
    status, body = _wsgi_get(client)(PREFIX + "/static/" + path)
    _assert_refused(status, body)
    if body.startswith(b"{"):
        _assert_json_error(status, body, statuses=(404,))


def test_static_traversal_is_refused_by_the_tensorboard_process(served):
    for path in TRAVERSALS:
        status, body = _http_get(served.url + PREFIX + "/static/" + path)
        _assert_refused(status, body)
    status, body = _http_get(served.url + PREFIX + "/static/index.js")
    assert status in (200, 404)  # 404 when the frontend is not built in this checkout


def test_huge_request_is_refused_and_the_server_keeps_serving(served):
    """TensorBoard's HTTP server refuses a request line over 64 KiB (414, or it closes the
    connection while a 10 MB one is still being sent); the plugin never sees it."""
    for value in ("9" * 70_000, HUGE):
        try:
            status, _ = _http_get(served.url + PREFIX + "/config?run=" + value)
            assert status == 414
        except (ConnectionError, http.client.HTTPException):
            pass
    assert _json(*_http_get(served.url + PREFIX + "/config?run=alpha")) == lb.ALPHA_CONFIG


# Concurrency ---------------------------------------------------------------------------------

CONCURRENT_URLS = (
    "/runs",
    "/config?run=alpha",
    "/overview",
    "/overview.csv",
    "/overview?run=alpha&run=big",
    "/weight_series?run=alpha&weight=dense/kernel",
    "/weight_series?run=big&weight=k",
    "/model_series?run=alpha",
    "/metrics?run=alpha",
    "/histograms?run=alpha&weight=dense/kernel",
    "/mask_steps?run=big&weight=k",
    "/mask?run=alpha&weight=dense/kernel&step=25&diff=1",
    "/mask?run=beta/manual&weight=conv/kernel&step=5&max_cells=2",
    "/mask?run=big&weight=k&step=10&diff=1",
    "/mask?run=big&weight=k&step=10&diff=1&max_cells=1048576",
    "/mask?run=big&weight=k&step=5&max_cells=7",
    "/mask?run=big&weight=k&step=10&row0=100&rows=50&col0=3&cols=400&diff=1",
    "/mask?run=big&weight=k&step=abc",
    "/config?run=future",
    "/static/../plugin.py",
    "/static/index.js",
)


def test_fifty_concurrent_requests_answer_as_sequential_ones(served):
    """50 requests at once (threads released together by a barrier) to a real tensorboard:
    each answer equals the answer of the same request made alone."""
    sequential = {url: _http_get(served.url + PREFIX + url) for url in CONCURRENT_URLS}
    assert sequential["/mask?run=big&weight=k&step=10&diff=1&max_cells=1048576"][0] == 200
    urls = [CONCURRENT_URLS[i % len(CONCURRENT_URLS)] for i in range(50)]
    barrier = threading.Barrier(len(urls), timeout=30)

    def request(url):
        barrier.wait()
        return _http_get(served.url + PREFIX + url, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
        futures = [pool.submit(request, url) for url in urls]
        answers = [f.result(timeout=120) for f in futures]
    for url, answer in zip(urls, answers):
        assert answer == sequential[url], (url, answer[0], answer[1][:200])


# Mask codec on hostile input -----------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        dtype=hnp.scalar_dtypes().filter(lambda d: d != np.bool_),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    )
)
def test_mask_codec_refuses_every_non_bool_dtype(array):
    with pytest.raises(TypeError, match="a mask must be a boolean array"):
        mask_codec.encode_mask(array)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.one_of(
        hnp.array_shapes(min_dims=5, max_dims=6, min_side=1, max_side=4),
        st.tuples(st.integers(1, 3), st.integers(1, 70_000)),
        st.tuples(st.integers(1, 70_000)),
    ),
    sparsity=st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_mask_codec_round_trips_high_ranks_and_long_axes(shape, sparsity, seed):
    mask = np.random.default_rng(seed).random(shape) >= sparsity
    header, payload = mask_codec.encode_mask(mask)
    decoded = mask_codec.decode_mask(header, payload)
    assert decoded.shape == mask.shape
    np.testing.assert_array_equal(decoded, mask)
    assert len(payload) <= (mask.size + 7) // 8


@settings(max_examples=150, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, max_side=12)),
    where=st.sampled_from(["header", "payload"]),
    position=st.integers(0, 10**6),
    flip=st.integers(1, 255),
)
def test_mask_codec_corrupt_byte_is_an_error_or_a_mask_of_the_header_shape(
    mask, where, position, flip
):
    header, payload = mask_codec.encode_mask(mask)
    data = bytearray(header if where == "header" else payload)
    if not data:
        return
    data[position % len(data)] ^= flip
    header, payload = (bytes(data), payload) if where == "header" else (header, bytes(data))
    try:
        decoded = mask_codec.decode_mask(header, payload)
    except mask_codec.MaskDecodeError:
        return
    shape, _, kept = mask_codec.parse_header(header)
    assert decoded.dtype == np.bool_ and decoded.shape == shape
    assert int(decoded.sum()) == kept


@settings(max_examples=100, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12)),
    cut=st.integers(0, 10**6),
    where=st.sampled_from(["header", "payload"]),
)
def test_mask_codec_truncated_record_is_an_error(mask, cut, where):
    header, payload = mask_codec.encode_mask(mask)
    if where == "header":
        header = header[: cut % len(header)]
    else:
        payload = payload[: cut % len(payload)]
    with pytest.raises(mask_codec.MaskDecodeError):
        mask_codec.decode_mask(header, payload)
