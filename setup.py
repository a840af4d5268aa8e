"""Packaging for tb_prune_plugin: the TensorBoard plugin and the Keras callbacks.

`pip install .` (and `pip install -e .`) builds the frontend bundle from
frontend/ with npm into tb_prune_plugin/static/ when it is missing or older than
its sources, so the wheel always carries it.
"""

import os
import subprocess

import setuptools
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTEND = os.path.join(HERE, "frontend")
BUNDLE = os.path.join(HERE, "tb_prune_plugin", "static", "index.js")


def read_version():
    scope = {}
    with open(os.path.join(HERE, "tb_prune_plugin", "version.py")) as f:
        exec(f.read(), scope)
    return scope["VERSION"]


def _newest_source_mtime():
    newest = 0.0
    for root, _dirs, files in os.walk(os.path.join(FRONTEND, "src")):
        for name in files:
            newest = max(newest, os.path.getmtime(os.path.join(root, name)))
    return newest


class BuildPyWithFrontend(build_py):
    """Builds the frontend bundle before collecting package data."""

    def run(self):
        skip = os.environ.get("TB_PRUNE_PLUGIN_SKIP_FRONTEND") == "1"  # Python-only development
        if os.path.isdir(os.path.join(FRONTEND, "src")) and not skip:
            stale = not os.path.exists(BUNDLE) or os.path.getmtime(BUNDLE) < _newest_source_mtime()
            if stale:
                try:
                    if not os.path.isdir(os.path.join(FRONTEND, "node_modules")):
                        subprocess.check_call(
                            ["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND
                        )
                    subprocess.check_call(["npm", "run", "build"], cwd=FRONTEND)
                except (OSError, subprocess.CalledProcessError) as e:
                    raise SystemExit(
                        "tb_prune_plugin: building the frontend failed (%s). Install Node.js 18+ "
                        "and npm, then run `npm ci && npm run build` in frontend/." % e
                    ) from None
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
    packages=["tb_prune_plugin", "tb_prune_plugin.callbacks", "tb_prune_plugin.cli"],
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
