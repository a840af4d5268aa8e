"""Import boundaries and installation: what each side may import, and the plugin entry point."""

import subprocess
import sys

import pytest


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
