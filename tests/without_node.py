"""A process environment in which neither `node` nor `npm` can be found: a machine with Python only.

Dropping folders from PATH is not enough: Debian installs node in /usr/bin, beside python3. So the
PATH is one folder holding only `python` and `python3`, scripts that run this interpreter (a
symlink would not do: a virtual environment's python, started through a symlink elsewhere, no
longer finds its pyvenv.cfg and runs without the environment's packages).
"""

import os
import shutil
import sys


def env_without_node(folder):
    """os.environ (without PYTHONPATH) with PATH = `folder`, where only this python is found."""
    os.makedirs(folder, exist_ok=True)
    for name in ("python", "python3"):
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable)
        os.chmod(path, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = str(folder)
    for tool in ("node", "npm"):
        assert shutil.which(tool, path=env["PATH"]) is None, tool
    return env
