"""The run configuration record: what was pruned, how, and with which software.

Written once per training (and again for another model or a resumed training, with its
`start_step`); the Pruning tab shows it and readers use its `start_step` to mark restarts.
The fields are described in docs/format.md.
"""

import json

import numpy as np
import tensorflow as tf
import tf_keras

from tb_prune_plugin import metadata
from tb_prune_plugin.version import VERSION

# The monitor's arguments that say which steps (and which records' histograms) are recorded.
RECORDING_FIELDS = ("every_n_steps", "overhead_budget", "histogram_every_n_steps")


def run_config(model, weights, model_constants, **recording):
    """The run config's contents (a JSON-able dict) for `model` and its recorded `weights`.

    `recording`: the monitor's recording policy, `RECORDING_FIELDS` (`every_n_steps` or
    `overhead_budget` is None; a missing one is None).
    """
    entries = [_weight_entry(w) for w in weights]
    methods = sorted({w.method for w in weights})
    optimizer = getattr(model, "optimizer", None)
    return {
        "format_version": metadata.FORMAT_VERSION,
        "tb_prune_plugin_version": VERSION,
        "tensorflow_version": tf.__version__,
        "keras": keras_flavour(model),
        "model_name": model.name,
        "method": methods[0] if len(methods) == 1 else ("mixed" if methods else None),
        **{name: recording.get(name) for name in RECORDING_FIELDS},
        "weights": entries,
        "optimizer": None
        if optimizer is None
        else {"class": type(optimizer).__name__, "config": _jsonable(_safe_config(optimizer))},
        "parameters": {
            "model_size": model_constants["model_size"],
            "prunable_size": model_constants["prunable_size"],
        },
        "model_summary": _model_summary(model),
    }


def _weight_entry(w):
    entry = {
        "path": w.path,
        "layer": w.layer_path,
        "shape": list(w.shape),
        "size": w.size,
        "method": w.method,
        "block_size": list(w.block_size) if w.block_size else None,
        "block_pooling_type": w.block_pooling_type,
        "sparsity_m_by_n": list(w.sparsity_m_by_n) if w.sparsity_m_by_n else None,
        "schedule": None,
    }
    if w.wrapper is not None:
        schedule = w.wrapper.pruning_schedule
        entry["schedule"] = {
            "class": type(schedule).__name__,
            "config": _jsonable(_safe_config(schedule)),
        }
    return entry


def keras_flavour(model):
    """`tf_keras 2.x` or `keras 3.x`: which Keras built `model`."""
    module = type(model).__module__
    if module.startswith("tf_keras") or "_tf_keras" in module:
        return "tf_keras %s" % tf_keras.__version__
    import keras

    return "keras %s" % keras.__version__


def _safe_config(obj):
    try:
        return obj.get_config()
    except Exception:  # noqa: BLE001 - a config is informative only
        return None


def _jsonable(value):
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _model_summary(model):
    lines = []
    try:
        model.summary(print_fn=lambda *args, **kwargs: lines.append(str(args[0]) if args else ""))
    except Exception as e:  # noqa: BLE001 - a summary is informative only
        return "(model summary unavailable: %s)" % e
    return "\n".join(lines)
