"""Keras callbacks of tb_prune_plugin: `from tb_prune_plugin.callbacks import PruningMonitor`.

Importing this package never imports tensorflow_model_optimization (that
import would switch `tf.keras` to tf_keras for the whole program); TF-MOT
wrappers are recognised by class name.
"""

from tb_prune_plugin.callbacks.monitor import PruningMonitor

__all__ = ["PruningMonitor"]
