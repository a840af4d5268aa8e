"""What the dashboard benchmark (`dashboard.py`) and the frontend benchmark (`browser.py`)
share: TensorBoard's flags, the full and quick sizes, and waiting until TensorBoard has loaded
the generated runs. A module of its own so that neither benchmark imports the other."""

import json
import time
import urllib.parse
import urllib.request

PREFIX = "/data/plugin/pruning"
FLAGS = ["--load_fast=true", "--reload_interval", "0"]

FULL = {
    "runs": 20,
    "weights": 50,
    "steps": 1000,
    "mask_every": 10,
    "big_side": 4096,
    "rounds": 10,
    "overview_one_run_repeats": 3,
    "overview_all_runs_timeout": 600,
    "browser_trials": 3,
    "memory_without_plugin_keeping_samples": True,
    "load_timeout": 600,
    "parallel_servers": False,
}
QUICK = {
    "runs": 2,
    "weights": 3,
    "steps": 20,
    "mask_every": 2,
    "big_side": 256,
    "rounds": 2,
    "overview_one_run_repeats": 1,
    "overview_all_runs_timeout": 60,
    "browser_trials": 1,
    "memory_without_plugin_keeping_samples": False,
    "load_timeout": 120,
    "parallel_servers": True,
}


def query(**params):
    """A URL query string of `params`, with its "?"."""
    return "?" + urllib.parse.urlencode(params)


def wait_loaded(base, runs, last_tag, points, timeout):
    """Seconds until every run serves `points` points of `last_tag` (the last one written)."""
    start = time.monotonic()
    pending = list(runs)
    while pending:
        if time.monotonic() - start > timeout:
            raise RuntimeError("TensorBoard did not load %s in %d s" % (pending, timeout))
        still = []
        for run in pending:
            url = base + "/data/plugin/scalars/scalars" + query(run=run, tag=last_tag)
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    done = len(json.loads(response.read())) >= points
            except OSError:
                done = False
            if not done:
                still.append(run)
        pending = still
        if pending:
            time.sleep(1.0)
    return time.monotonic() - start
