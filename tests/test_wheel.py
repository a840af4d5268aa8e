"""The release artefacts on a machine with Python only: `python -m build` makes an sdist and a
wheel without Node.js (the wheel is built from the sdist, so the sdist builds too), and the wheel,
installed in a virtual environment, serves the Pruning tab."""

import os
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile

import pytest

from benchmarks.fixtures import browser, logdir_builder
from tests.without_node import env_without_node

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATIC = os.path.join(ROOT, "tb_prune_plugin", "static")


def _committed(name):
    with open(os.path.join(STATIC, name), "rb") as f:
        return f.read()


def _committed_bundle():
    """The tree's tb_prune_plugin/static/: file name -> bytes."""
    return {name: _committed(name) for name in sorted(os.listdir(STATIC))}


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """The sdist and the wheel built from this checkout with no Node.js on the PATH."""
    out = tmp_path_factory.mktemp("dist")
    env = env_without_node(str(tmp_path_factory.mktemp("path")))
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), ROOT],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "using the committed frontend bundle" in result.stdout
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel, env


def test_wheel_and_sdist_carry_exactly_the_committed_bundle(artefacts):
    sdist, wheel, _env = artefacts
    prefix = "tb_prune_plugin/static/"
    with zipfile.ZipFile(wheel) as z:
        shipped = {n[len(prefix) :]: z.read(n) for n in z.namelist() if n.startswith(prefix)}
        assert "tb_prune_plugin/callbacks/monitor.py" in z.namelist()
    assert shipped == _committed_bundle()
    with tarfile.open(sdist) as t:
        top = t.getnames()[0].split("/")[0] + "/"
        shipped = {
            m.name[len(top + prefix) :]: t.extractfile(m).read()
            for m in t.getmembers()
            if m.isfile() and m.name.startswith(top + prefix)
        }
    assert shipped == _committed_bundle()


def test_installed_wheel_serves_the_pruning_tab_without_node(artefacts, tmp_path):
    _sdist, wheel, env = artefacts
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        env=env,
        cwd=str(tmp_path),
        check=True,
    )
    where = subprocess.run(
        [python, "-c", "import tb_prune_plugin; print(tb_prune_plugin.__file__)"],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    logdir = tmp_path / "logs"
    logdir_builder.write_demo_logdir(str(logdir))
    port = browser.free_port()
    base = "http://127.0.0.1:%d" % port
    url = base + "/data/plugin/pruning"
    log = open(tmp_path / "tensorboard.log", "w+")
    server = subprocess.Popen(
        [python, "-m", "tensorboard.main", "--logdir", str(logdir)]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"),
        cwd=str(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        runs = _wait_for_runs(url, server, log)
        assert sorted(r["run"] for r in runs["runs"]) == ["alpha", "beta/manual"]
        # What TensorBoard's page loads to show the tab, as it finds it.
        listing = browser.fetch_json(base + "/data/plugins_listing")["pruning"]
        assert listing["enabled"] is True
        module_path = listing["loading_mechanism"]["module_path"]
        assert module_path == "/data/plugin/pruning/static/index.js"
        for name in ("index.js", "index.css"):
            with urllib.request.urlopen(url + "/static/" + name, timeout=10) as response:
                assert response.read() == _committed(name)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_for_runs(url, server, log, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        log.seek(0)
        assert server.poll() is None, "TensorBoard exited:\n" + log.read()
        try:
            body = browser.fetch_json(url + "/runs", timeout=5)
            if len(body["runs"]) == 2:
                return body
        except OSError:
            pass
        log.seek(0)
        assert time.monotonic() < deadline, "no 2 runs in %d s:\n%s" % (timeout, log.read())
        time.sleep(0.3)
