"""Packaging for tb_prune_plugin: the TensorBoard plugin and the Keras callbacks.

The frontend bundle (tb_prune_plugin/static/) is built from frontend/ and committed,
so `pip install .` needs Python only. Beside the bundle, SOURCE_HASH names the
sources it was built from (frontend/build.mjs computes the same digest). When the
sources in this tree give another digest (someone edited frontend/src), the build
runs npm to rebuild the bundle if npm is on the PATH, and otherwise installs the
committed bundle and says that it may not match the sources.
"""

import hashlib
import os
import shutil
import subprocess

import setuptools
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTEND = os.path.join(HERE, "frontend")
STATIC = os.path.join(HERE, "tb_prune_plugin", "static")
BUNDLE = os.path.join(STATIC, "index.js")
SOURCE_HASH = os.path.join(STATIC, "SOURCE_HASH")
# Must match INPUTS in frontend/build.mjs.
FRONTEND_INPUTS = ("build.mjs", "package.json", "package-lock.json", "tsconfig.json", "src")
REBUILD = "cd frontend && npm ci && npm run build"


def read_version():
    scope = {}
    with open(os.path.join(HERE, "tb_prune_plugin", "version.py")) as f:
        exec(f.read(), scope)
    return scope["VERSION"]


def frontend_source_hash():
    """SHA-256 of the frontend's sources, as frontend/build.mjs computes it; None without them."""
    paths = []
    for name in FRONTEND_INPUTS:
        path = os.path.join(FRONTEND, name)
        if os.path.isfile(path):
            paths.append(name)
        elif os.path.isdir(path):
            for root, _dirs, files in os.walk(path):
                for f in files:
                    paths.append(os.path.relpath(os.path.join(root, f), FRONTEND))
        else:
            return None
    digest = hashlib.sha256()
    for rel in sorted(p.replace(os.sep, "/") for p in paths):
        digest.update(rel.encode() + b"\0")
        with open(os.path.join(FRONTEND, rel), "rb") as f:
            digest.update(f.read())
        digest.update(b"\0")
    return digest.hexdigest()


def _shipped_hash():
    if not (os.path.exists(BUNDLE) and os.path.exists(SOURCE_HASH)):
        return None
    with open(SOURCE_HASH) as f:
        return f.read().strip()


def _say(message):
    print("tb_prune_plugin: " + message, flush=True)


def _build_frontend():
    if not os.path.isdir(os.path.join(FRONTEND, "node_modules")):
        subprocess.check_call(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND)
    subprocess.check_call(["npm", "run", "build"], cwd=FRONTEND)


def ensure_frontend_bundle():
    """Keeps the committed bundle, or rebuilds it when its sources changed and npm is there."""
    sources = frontend_source_hash()
    shipped = _shipped_hash()
    if sources is None or sources == shipped:
        if shipped is None and not os.path.exists(BUNDLE):
            raise SystemExit(
                "tb_prune_plugin: the frontend bundle tb_prune_plugin/static/index.js is missing "
                "and there are no frontend sources to build it from. Install from a complete "
                "clone or source distribution."
            )
        _say("using the committed frontend bundle (tb_prune_plugin/static/).")
        return
    if os.environ.get("TB_PRUNE_PLUGIN_SKIP_FRONTEND") == "1" or shutil.which("npm") is None:
        if not os.path.exists(BUNDLE):
            raise SystemExit(
                "tb_prune_plugin: the frontend bundle is missing and npm is not on the PATH. "
                "Install Node.js 20+ and run `%s`." % REBUILD
            )
        _say(
            "frontend/ differs from the sources the committed bundle was built from, and npm "
            "is not on the PATH (or TB_PRUNE_PLUGIN_SKIP_FRONTEND=1): installing the committed "
            "bundle, which may not show your frontend changes. To rebuild: `%s`." % REBUILD
        )
        return
    if shipped is None:
        _say("the frontend bundle (or its SOURCE_HASH) is missing: building it with npm.")
    else:
        _say("frontend/ changed since the committed bundle was built: rebuilding it with npm.")
    try:
        _build_frontend()
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(
            "tb_prune_plugin: building the frontend failed (%s). Run `%s` to see why."
            % (e, REBUILD)
        ) from None


class BuildPyWithFrontend(build_py):
    """Checks (and, if its sources changed and npm is there, rebuilds) the bundle first."""

    def run(self):
        ensure_frontend_bundle()
        super().run()


setuptools.setup(
    name="tb_prune_plugin",
    version=read_version(),
    description="See what pruning does to Keras models: callbacks and a TensorBoard plugin",
    long_description=open(os.path.join(HERE, "README.md")).read()
    if os.path.exists(os.path.join(HERE, "README.md"))
    else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[
        "tb_prune_plugin",
        "tb_prune_plugin.reader",
        "tb_prune_plugin.cli",
        "tb_prune_plugin.callbacks",
    ],
    package_dir={"tb_prune_plugin.callbacks": "callbacks"},
    package_data={"tb_prune_plugin": ["static/*", "static/**/*", "http_api.md"]},
    include_package_data=False,
    # Tested ranges: tensorflow/tf-keras 2.21, TF-MOT 0.8.1, tensorboard 2.21.
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "tf-keras>=2.21,<2.22",
        "tensorflow-model-optimization>=0.8.1,<0.9",
        "tensorboard>=2.21,<2.22",
        "numpy>=1.26,<3",
        "protobuf>=5.28,<8",
    ],
    extras_require={
        # The demo's data sets (digits, make_friedman1) ship inside scikit-learn.
        "demo": ["scikit-learn>=1.4,<2"],
    },
    entry_points={
        "tensorboard_plugins": [
            "pruning = tb_prune_plugin.plugin:PruningLoader",
        ],
        "console_scripts": [
            "tb-prune-demo = tb_prune_plugin.callbacks.demo:main",
            "tb-prune = tb_prune_plugin.cli:console_main",
        ],
    },
    cmdclass={"build_py": BuildPyWithFrontend},
)
