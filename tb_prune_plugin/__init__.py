"""tb_prune_plugin: see what pruning does to a Keras model, in TensorBoard.

The package holds the TensorBoard side (the on-disk format, the reader and the
plugin); it never imports TensorFlow. The Keras callbacks live in the
subpackage `tb_prune_plugin.callbacks`.
"""

from tb_prune_plugin.version import VERSION as __version__

__all__ = ["__version__"]
