"""Keras callbacks of tb_prune_plugin: `from tb_prune_plugin.callbacks import PruningMonitor`.

Importing this package never imports tensorflow_model_optimization (that
import would switch `tf.keras` to tf_keras for the whole program); TF-MOT
wrappers are recognised by class name.

`PruningMonitor` and `sensitivity_scan` are imported on first use, so that importing a
module of this package that needs no TensorFlow (the demo's command line, which checks its
dependencies and answers `--help` first) does not import TensorFlow.
"""

__all__ = ["PruningMonitor", "sensitivity_scan"]


def __getattr__(name):
    if name == "PruningMonitor":
        from tb_prune_plugin.callbacks.monitor import PruningMonitor

        return PruningMonitor
    if name == "sensitivity_scan":
        from tb_prune_plugin.callbacks.sensitivity import sensitivity_scan

        return sensitivity_scan
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
