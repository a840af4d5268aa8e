"""A real TensorBoard process with or without the pruning plugin, and its memory.

As a program, this is TensorBoard's own `main` (`tensorboard/main.py`) with one change: with
`--without-pruning`, the pruning plugin is left out of the plugin list (the first-party
plugins and every other installed plugin stay):

    python benchmarks/tb_server.py [--without-pruning] -- --logdir DIR --port 0 ...

With the plugin, the list is exactly what the `tensorboard` command loads
(`default.get_plugins()`), with this checkout's plugin. As a module, `TensorBoardProcess`
starts such a process on 127.0.0.1 and reads the resident memory of it and its children
(the Rust data server) from /proc.
"""

import os
import queue
import re
import subprocess
import sys
import threading
import time

import checkout

from benchmarks.fixtures import browser

PLUGIN_MODULE_PREFIX = "tb_prune_plugin"


def plugins(with_pruning):
    """The plugin list of the `tensorboard` command, without the pruning plugin if asked."""
    from tensorboard import default

    loaded = default.get_plugins()
    if with_pruning:
        return loaded
    return [p for p in loaded if not _module_of(p).startswith(PLUGIN_MODULE_PREFIX)]


def _module_of(plugin):
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return cls.__module__


def _serve(argv):
    from absl import app
    from tensorboard import main_lib, program

    with_pruning = "--without-pruning" not in argv
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    main_lib.global_init()
    tensorboard = program.TensorBoard(plugins=plugins(with_pruning))
    app.run(tensorboard.main, argv=[argv[0]] + flags, flags_parser=tensorboard.configure)


# The parent's side --------------------------------------------------------------------------


def _children(pid):
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def _status(pid):
    fields = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Name", "VmRSS", "VmHWM"):
                    fields[key] = value.strip()
    except OSError:
        return None
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        command = f.read().split(b"\0")[0].decode(errors="replace")
    return {
        "pid": pid,
        "name": os.path.basename(command) or fields.get("Name"),
        "rss_mib": int(fields.get("VmRSS", "0 kB").split()[0]) / 1024,
        "peak_rss_mib": int(fields.get("VmHWM", "0 kB").split()[0]) / 1024,
    }


def process_tree_memory(pid):
    """RSS and peak RSS (MiB) of `pid` and all its descendants, per process and in total."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(_children(p))
    processes = [s for s in (_status(p) for p in pids) if s is not None]
    return {
        "processes": processes,
        "rss_mib": sum(p["rss_mib"] for p in processes),
        "peak_rss_mib": sum(p["peak_rss_mib"] for p in processes),
    }


class TensorBoardProcess:
    """TensorBoard on 127.0.0.1 (a free port) over `logdir`; use as a context manager.

    Args:
      with_pruning: load the pruning plugin (else every plugin but it).
      flags: further TensorBoard flags, e.g. ["--load_fast=true"].
    """

    def __init__(self, logdir, *, with_pruning=True, flags=(), start_timeout=120):
        self.logdir = logdir
        self.with_pruning = with_pruning
        self.flags = list(flags)
        self.start_timeout = start_timeout
        self.url = None
        self.process = None
        self.output = []
        self.started_at = None

    def start(self):
        """Launches the process (returns at once; `wait` for its URL)."""
        argv = [sys.executable, os.path.abspath(__file__)]
        if not self.with_pruning:
            argv.append("--without-pruning")
        argv += ["--", "--logdir", self.logdir, "--host", "127.0.0.1", "--port", "0"]
        argv += self.flags
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=checkout.subprocess_env(),
        )
        self._lines = queue.Queue()

        def pump():
            for line in self.process.stdout:
                self.output.append(line)
                self._lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        return self

    def wait(self):
        """Waits until TensorBoard prints its URL; returns self."""
        if self.url is not None:
            return self
        # Started in the background long ago, the URL may already be waiting in the queue:
        # what was printed is read even once the deadline has passed.
        deadline = self.started_at + self.start_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    line = self._lines.get(timeout=min(0.5, remaining))
                else:
                    line = self._lines.get_nowait()
            except queue.Empty:
                if self.process.poll() is not None or remaining <= 0:
                    break
                continue
            match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
            if match:
                self.url = match.group(1)
                return self
        self.stop()
        raise RuntimeError("TensorBoard did not start:\n" + "".join(self.output))

    def __enter__(self):
        if self.process is None:
            self.start()
        return self.wait()

    def memory(self):
        """RSS of the TensorBoard process and its children (the Rust data server)."""
        return process_tree_memory(self.process.pid)

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """Ends the process (TensorBoard's data server exits with it)."""
        browser.end_process(self.process, timeout=30)


if __name__ == "__main__":
    _serve(sys.argv)
