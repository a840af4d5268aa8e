"""The machine and software the benchmarks ran on, read without importing TensorFlow."""

import os
import platform
import re
import subprocess
from importlib import metadata

PACKAGES = (
    "tensorflow",
    "tf_keras",
    "keras",
    "tensorflow-model-optimization",
    "tensorboard",
    "tensorboard-data-server",
    "numpy",
    "protobuf",
    "werkzeug",
    "playwright",
)
CHROMIUM = "/usr/bin/chromium"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _chromium_version():
    try:
        out = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"[\d.]+", out)
    return match.group(0) if match else None


def describe():
    """A dict describing CPU, cores, memory, OS and the versions that matter here."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "memory_gib": _memory_gib(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "chromium": _chromium_version(),
    }
