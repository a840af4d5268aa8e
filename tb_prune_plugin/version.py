"""The one version string of tb_prune_plugin (read by setup.py and the package)."""

VERSION = "0.1.0"
