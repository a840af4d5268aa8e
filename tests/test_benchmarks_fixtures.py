"""The benchmarks never need tests/: what both use is in benchmarks/fixtures/ (issue 14)."""

import ast
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO_ROOT, "benchmarks")


def _imported_modules(path):
    """Every module name that the file at `path` imports, at any depth of its code."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_no_benchmark_imports_tests():
    files = []
    for root, _dirs, names in os.walk(BENCHMARKS):
        files += [os.path.join(root, n) for n in names if n.endswith(".py")]
    assert os.path.join(BENCHMARKS, "fixtures", "logdir_builder.py") in files
    importing_tests = sorted(
        os.path.relpath(path, REPO_ROOT)
        for path in files
        if any(m == "tests" or m.startswith("tests.") for m in _imported_modules(path))
    )
    assert importing_tests == []


def test_moved_fixtures_are_still_importable_from_tests():
    """Tests written before the move import `from tests import browser, logdir_builder`."""
    from benchmarks.fixtures import browser as shared_browser
    from benchmarks.fixtures import logdir_builder as shared_builder
    from tests import browser, logdir_builder

    assert browser is shared_browser and logdir_builder is shared_builder
