"""Makes `tb_prune_plugin` (and `tb_prune_plugin.callbacks`) import from this checkout.

The benchmarks measure the code next to them, whatever copy of the package is
installed (an editable install may point at another clone). Import this module
before anything from `tb_prune_plugin`:

    import checkout  # noqa: F401  (first: this checkout's tb_prune_plugin)

Subprocesses (TensorBoard servers) get the same effect from `subprocess_env()`,
which puts the checkout first on PYTHONPATH; TensorBoard's entry point then
imports this checkout's plugin.
"""

import importlib.util
import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS_DIR = os.path.join(REPO_ROOT, "benchmarks")


def _use_checkout():
    if sys.path[:1] != [REPO_ROOT]:
        sys.path.insert(0, REPO_ROOT)
    if BENCHMARKS_DIR not in sys.path:
        sys.path.insert(1, BENCHMARKS_DIR)
    loaded = sys.modules.get("tb_prune_plugin")
    if loaded is not None and not os.path.abspath(loaded.__file__).startswith(REPO_ROOT + os.sep):
        raise RuntimeError(
            "tb_prune_plugin was imported from %s before benchmarks/checkout.py; import "
            "checkout first" % loaded.__file__
        )
    import tb_prune_plugin

    if "tb_prune_plugin.callbacks" not in sys.modules:
        # The package maps tb_prune_plugin.callbacks to callbacks/ (setup.py package_dir);
        # an installed finder would map it to the installed copy.
        init = os.path.join(REPO_ROOT, "callbacks", "__init__.py")
        spec = importlib.util.spec_from_file_location(
            "tb_prune_plugin.callbacks",
            init,
            submodule_search_locations=[os.path.dirname(init)],
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules["tb_prune_plugin.callbacks"] = module
        tb_prune_plugin.callbacks = module
        spec.loader.exec_module(module)


def subprocess_env(**extra):
    """The environment for a child process that should import this checkout's package."""
    pythonpath = os.pathsep.join(p for p in (REPO_ROOT, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, PYTHONPATH=pythonpath, TF_CPP_MIN_LOG_LEVEL="3")
    env.update(extra)
    return env


def git_description():
    """`<short commit>` of the checkout, with `+ uncommitted changes` when the work tree
    differs (docs/performance.md, which the benchmarks write, aside)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # The document the run writes is no change to the code measured.
            ["git", "status", "--porcelain", "--untracked-files=no"]
            + ["--", ".", ":!docs/performance.md"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")


_use_checkout()
