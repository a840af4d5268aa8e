"""No behaviour change across issue 14's restructuring: every route serves the same body as the
package at `BASE` (the commit before the reader became a package and routes a table).

The package and `tests/logdir_builder.py` at `BASE` are taken from git history into a temporary
directory (the builder put where tests/route_bodies.py imports it now, benchmarks/fixtures/); the
log directory is written by that old writer (so it is data a released version wrote), then served
once by the old package and once by this tree, each in a process of its own
(tests/route_bodies.py), and the bodies are compared url by url.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

BASE = "9cab01a66ac649d27b189238f581acf09b0a84b6"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "tests", "route_bodies.py")


def _base_tree(dest):
    """Extracts tb_prune_plugin/ and tests/ at BASE into `dest`, or skips saying why."""
    if shutil.which("git") is None:
        pytest.skip("git is not on the PATH: cannot take the package at %s from history" % BASE)
    present = subprocess.run(
        ["git", "-C", REPO_ROOT, "cat-file", "-e", BASE + "^{commit}"], capture_output=True
    )
    if present.returncode != 0:
        pytest.skip("commit %s is not in this clone (shallow?): nothing to compare with" % BASE)
    archive = subprocess.run(
        ["git", "-C", REPO_ROOT, "archive", BASE, "tb_prune_plugin", "tests/__init__.py"]
        + ["tests/logdir_builder.py"],
        capture_output=True,
        check=True,
    )
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    # The builder has moved since BASE (benchmarks/fixtures/, shared with the benchmarks).
    fixtures = os.path.join(str(dest), "benchmarks", "fixtures")
    os.makedirs(fixtures)
    open(os.path.join(fixtures, "__init__.py"), "w").close()
    os.replace(
        os.path.join(str(dest), "tests", "logdir_builder.py"),
        os.path.join(fixtures, "logdir_builder.py"),
    )


def _run(pythonpath, *args):
    env = dict(os.environ, PYTHONPATH=str(pythonpath), TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, SCRIPT, *map(str, args)], env=env, check=True, timeout=300)


def test_every_route_serves_the_same_body_as_before_the_restructuring(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    _base_tree(old)
    logdir = tmp_path / "logs"
    _run(old, "write", logdir)
    _run(old, "serve", logdir, tmp_path / "old.json")
    _run(REPO_ROOT, "serve", logdir, tmp_path / "new.json")
    with open(tmp_path / "old.json") as f:
        before = json.load(f)
    with open(tmp_path / "new.json") as f:
        after = json.load(f)
    # Each process served its own package: the comparison is between two versions.
    assert before.pop("__package__") == str(old / "tb_prune_plugin")
    assert after.pop("__package__") == os.path.join(REPO_ROOT, "tb_prune_plugin")
    assert sorted(after) == sorted(before)
    assert len(before) > 300
    # The frontend bundle changes with the frontend, not with the routes: each version serves
    # its own tree's file.
    bundle = "/static/index.js"
    with open(os.path.join(REPO_ROOT, "tb_prune_plugin", "static", "index.js")) as f:
        assert after.pop(bundle)[2] == f.read()
    with open(old / "tb_prune_plugin" / "static" / "index.js") as f:
        assert before.pop(bundle)[2] == f.read()
    changed = [url for url in before if before[url] != after[url]]
    assert changed == [], "bodies differ for %d urls, first %s:\nbefore %.300r\nafter  %.300r" % (
        len(changed),
        changed[0],
        before[changed[0]],
        after[changed[0]],
    )
