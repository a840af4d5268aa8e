"""The tests of tb_prune_plugin.

`tests.browser` and `tests.logdir_builder` moved to `benchmarks.fixtures`, which the benchmarks
import too (issue 14). `from tests import browser` (or `logdir_builder`) still gives the moved
module, the same module object, for tests written before the move; new tests import
`benchmarks.fixtures`.
"""

import importlib

_MOVED = {
    "browser": "benchmarks.fixtures.browser",
    "logdir_builder": "benchmarks.fixtures.logdir_builder",
}


def __getattr__(name):
    if name in _MOVED:
        return importlib.import_module(_MOVED[name])
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
