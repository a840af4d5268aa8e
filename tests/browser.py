"""A real TensorBoard process and Debian's headless Chromium, for the browser tests.

`TensorBoardProcess` runs `python -m tensorboard.main --logdir ...` on 127.0.0.1 and a
free port; `launch_chromium` starts Debian's chromium through Playwright (which cannot
download its own browsers here); `ConsoleErrors` collects what the page reports as
errors; `plugin_frame` finds the Pruning plugin's iframe inside TensorBoard's page.
"""

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLUGIN_PREFIX = "/data/plugin/pruning"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_json(url, timeout=10):
    """The JSON body of a GET that answers 200."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class TensorBoardProcess:
    """`tensorboard --logdir <logdir>` in a subprocess, on 127.0.0.1:<free port>.

    Use as a context manager; leaving it always terminates the process (killed if it
    does not stop within 20 s). `wait_for_runs(names)` returns once the plugin's /runs
    lists exactly those runs (TensorBoard loads the log directory in the background).
    """

    def __init__(self, logdir, extra_args=()):
        self.logdir = str(logdir)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self._extra_args = list(extra_args)
        self._process = None
        self._log = None

    def __enter__(self):
        # TensorBoard finds the plugin through the installed entry point; PYTHONPATH makes the
        # entry point import this checkout's tb_prune_plugin, whatever checkout was installed.
        pythonpath = os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=pythonpath)
        # A file, not a pipe: nobody reads the output while the test runs, and a full pipe
        # would block TensorBoard.
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", self.logdir]
            + ["--host", "127.0.0.1", "--port", str(self.port)]
            + self._extra_args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Terminates the process (kills it if it does not stop) and closes its log."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def output(self):
        """What TensorBoard printed so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def wait_for_runs(self, names, timeout=60):
        """Waits until the plugin's /runs lists exactly `names`; returns that response."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            if self._process.poll() is not None:
                raise AssertionError("TensorBoard exited:\n" + self.output())
            try:
                last = fetch_json(self.url + PLUGIN_PREFIX + "/runs", timeout=5)
                if sorted(r["run"] for r in last["runs"]) == sorted(names):
                    return last
            except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
                last = e
            if time.monotonic() > deadline:
                raise AssertionError(
                    "TensorBoard did not list the runs %s; last answer %r; output:\n%s"
                    % (sorted(names), last, self.output())
                )
            time.sleep(0.2)


def browser_test_module():
    """(expect, pytestmark) for a browser test module, at its top level.

    Skips the module when Playwright is not installed (pytest.importorskip) and marks its tests
    to skip without Debian's chromium. `expect` is the module's own Playwright `expect` (the
    default one is shared by the whole process), its assertions retrying for up to 15 s, as
    the machine may be busy with other tests.
    """
    import pytest

    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.Expect()
    expect.set_options(timeout=15_000)
    mark = pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="needs Debian's chromium at %s" % CHROMIUM
    )
    return expect, mark


def launch_chromium(playwright):
    """Debian's headless chromium, driven by Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class ConsoleErrors:
    """Collects the page's console errors and uncaught exceptions (frames included)."""

    def __init__(self, page):
        self.messages = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.messages.append("pageerror: %s" % error))

    def _on_console(self, message):
        if message.type == "error":
            location = message.location or {}
            self.messages.append(
                "console.error at %s: %s" % (location.get("url", "?"), message.text)
            )


def plugin_frame(page, timeout=30, poll_ms=100):
    """The Pruning plugin's iframe: TensorBoard loads `.../plugin_entry.html?name=pruning`.

    Looks every `poll_ms` milliseconds for up to `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        for frame in page.frames:
            if "plugin_entry.html" in frame.url and "name=pruning" in frame.url:
                return frame
        if time.monotonic() > deadline:
            raise AssertionError("no pruning iframe among %s" % [f.url for f in page.frames])
        page.wait_for_timeout(poll_ms)


def open_view(frame, expect, view, **state):
    """Shows `view` in the plugin's `frame` with the given URL state (everything else at its
    default; a list value repeats its key) and waits until that view is the one shown."""
    query = [("tab", view)] if view != "overview" else []
    for key, value in state.items():
        for v in value if isinstance(value, (list, tuple)) else [value]:
            query.append((key, str(v)))
    frame.evaluate("hash => { location.hash = hash; }", urllib.parse.urlencode(query))
    expect(frame.locator("main[data-testid=view-%s]" % view)).to_be_visible()
    expect(frame.locator("#tab-%s" % view)).to_have_attribute("aria-selected", "true")


@contextlib.contextmanager
def pruning_tab(url):
    """TensorBoard at `url` opened on #pruning in headless chromium: yields (page, frame, errors).

    `frame` is the plugin's iframe; `errors` collects console errors for the whole session.
    """
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            page = chromium.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(20_000)
            errors = ConsoleErrors(page)
            page.goto(url + "/#pruning")
            yield page, plugin_frame(page), errors
        finally:
            chromium.close()


def canvas_rgba(frame, selector):
    """The pixels of the canvas `selector` in `frame` as a [height, width, 4] uint8 array (its
    backing store, unscaled)."""
    import numpy as np

    data = frame.evaluate(
        """selector => {
            const canvas = document.querySelector(selector);
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            let text = "";
            for (let i = 0; i < pixels.data.length; i += 0x8000) {
              text += String.fromCharCode.apply(null, pixels.data.subarray(i, i + 0x8000));
            }
            return {width: canvas.width, height: canvas.height, b64: btoa(text)};
        }""",
        selector,
    )
    rgba = np.frombuffer(base64.b64decode(data["b64"]), np.uint8)
    return rgba.reshape(data["height"], data["width"], 4)
