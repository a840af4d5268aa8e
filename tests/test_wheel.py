"""The release artefacts on a machine with Python only: `python -m build` makes an sdist and a
wheel without Node.js, and the wheel, installed in a virtual environment, serves the Pruning tab."""

import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile

import pytest

from tests import browser, logdir_builder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATIC_FILES = ("index.js", "index.css", "SOURCE_HASH")


def _no_node_env():
    """The environment with a PATH on which neither node nor npm is found."""
    path = os.path.dirname(sys.executable)
    assert shutil.which("npm", path=path) is None and shutil.which("node", path=path) is None
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = path
    return env


def _committed(name):
    with open(os.path.join(ROOT, "tb_prune_plugin", "static", name), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """The sdist and the wheel built from this checkout with no Node.js on the PATH."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), ROOT],
        env=_no_node_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "using the committed frontend bundle" in result.stdout
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


def test_wheel_and_sdist_carry_the_committed_bundle(artefacts):
    sdist, wheel = artefacts
    with zipfile.ZipFile(wheel) as z:
        for name in STATIC_FILES:
            assert z.read("tb_prune_plugin/static/" + name) == _committed(name)
        assert "tb_prune_plugin/callbacks/monitor.py" in z.namelist()
    with tarfile.open(sdist) as t:
        top = t.getnames()[0].split("/")[0]
        for name in STATIC_FILES:
            member = t.extractfile("%s/tb_prune_plugin/static/%s" % (top, name))
            assert member.read() == _committed(name)


def test_installed_wheel_serves_the_pruning_tab_without_node(artefacts, tmp_path):
    _sdist, wheel = artefacts
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = _no_node_env()
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
    url = "http://127.0.0.1:%d/data/plugin/pruning" % port
    server = subprocess.Popen(
        [python, "-m", "tensorboard.main", "--logdir", str(logdir)]
        + ["--host", "127.0.0.1", "--port", str(port)],
        env=dict(env, TF_CPP_MIN_LOG_LEVEL="3"),
        cwd=str(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        runs = _wait_for_runs(url, server)
        assert sorted(r["run"] for r in runs["runs"]) == ["alpha", "beta/manual"]
        with urllib.request.urlopen(url + "/static/index.js", timeout=10) as response:
            assert response.read() == _committed("index.js")
    finally:
        server.terminate()
        server.wait(timeout=20)


def _wait_for_runs(url, server, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        assert server.poll() is None, "TensorBoard exited with %s" % server.returncode
        try:
            body = browser.fetch_json(url + "/runs", timeout=5)
            if len(body["runs"]) == 2:
                return body
        except OSError:
            pass
        assert time.monotonic() < deadline, "TensorBoard did not list the runs in %d s" % timeout
        time.sleep(0.3)
