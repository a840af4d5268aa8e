"""Import boundaries and installation: what each side may import, the declared requirements, and
the plugin entry point."""

import ast
import pathlib
import re
import subprocess
import sys
from importlib import metadata

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Modules that may use an extra's requirements (and only those).
EXTRA_USERS = {"demo": {"callbacks/demo.py"}}


def _modules_after_import(statement):
    code = "import sys; %s; print(' '.join(sorted(sys.modules)))" % statement
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_callbacks_import_does_not_import_tfmot():
    modules = _modules_after_import("from tb_prune_plugin.callbacks import PruningMonitor")
    assert "tb_prune_plugin.callbacks.monitor" in modules
    assert not {m for m in modules if m.startswith("tensorflow_model_optimization")}


@pytest.mark.parametrize("module", ["tb_prune_plugin.plugin", "tb_prune_plugin.reader"])
def test_tensorboard_side_does_not_import_tensorflow(module):
    modules = _modules_after_import("import %s" % module)
    assert module in modules
    assert "tensorflow" not in modules
    assert "tb_prune_plugin.callbacks" not in modules


def test_plugin_entry_point_is_installed():
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="tensorboard_plugins") if ep.name == "pruning"]
    assert [ep.value for ep in found] == ["tb_prune_plugin.plugin:PruningLoader"]
    assert found[0].load().__name__ == "PruningLoader"


def _setup_keywords():
    """install_requires and extras_require as setup.py declares them (read without running it)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "setup"
    )
    wanted = ("install_requires", "extras_require")
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg in wanted}
    return keywords["install_requires"], keywords["extras_require"]


def _name(requirement):
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _with_dependencies(names):
    """The distributions `names` bring in, themselves included (from the installed metadata)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r)
    return seen


def _required_imports(path):
    """Top-level modules `path` imports outside `try: ... except ImportError` (optional imports)."""
    tree = ast.parse(path.read_text())
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            optional.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _shipped_modules():
    return sorted(
        p.relative_to(ROOT).as_posix()
        for folder in ("tb_prune_plugin", "callbacks")
        for p in (ROOT / folder).rglob("*.py")
    )


def test_every_shipped_import_is_declared():
    """Regression: `pip install . && tb-prune-demo` failed with "No module named 'sklearn'" in a
    clean environment (scikit-learn was only in tests/requirements.txt). Every module that a shipped
    file imports unconditionally must come with the package: the standard library, this package,
    install_requires (or what they bring in), or an extra declared for that very file."""
    install_requires, extras = _setup_keywords()
    base = _with_dependencies(_name(r) for r in install_requires)
    providers = metadata.packages_distributions()
    undeclared = []
    for rel in _shipped_modules():
        allowed = set(base)
        for extra, users in EXTRA_USERS.items():
            if rel in users:
                allowed |= _with_dependencies(_name(r) for r in extras[extra])
        for module in sorted(_required_imports(ROOT / rel)):
            if module in sys.stdlib_module_names or module in ("tb_prune_plugin", "__future__"):
                continue
            dists = {_name(d) for d in providers.get(module, [])}
            if not dists & allowed:
                undeclared.append("%s imports %s (from %s)" % (rel, module, sorted(dists)))
    assert undeclared == []


def test_demo_extra_is_what_the_quick_start_installs():
    _install_requires, extras = _setup_keywords()
    assert [_name(r) for r in extras["demo"]] == ["scikit-learn"]
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```bash\n", 1)[1].splitlines()[0]
    assert quick_start.startswith('pip install ".[demo]"')
