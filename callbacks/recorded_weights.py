"""Which weights of a model the monitor records, and the model-wide sizes its records carry."""

import warnings

import numpy as np

from tb_prune_plugin.callbacks import discovery, keras_state, measure


def choose(model, layers, masks):
    """The `PrunableWeight`s to record: every prunable weight, or those of `layers`.

    Raises ValueError when `layers` or `masks` name what `model` does not have; warns when
    the model has no prunable weights.
    """
    weights = discovery.find_prunable_weights(model)
    if layers is not None:
        weights = _filter_layers(model, weights, layers)
    unknown = sorted(set(masks) - {w.path for w in weights})
    if unknown:
        raise ValueError(
            "PruningMonitor: masks names weights %s that the model %r does not have; "
            "known weights: %s." % (unknown, model.name, [w.path for w in weights])
        )
    if not weights:
        warnings.warn(
            "PruningMonitor: model %r has no prunable weights (no TF-MOT wrappers and no "
            "trainable weights of rank 2 or more), so only its metrics are recorded. Wrap "
            "layers with tfmot.sparsity.keras.prune_low_magnitude or add Dense/Conv layers."
            % model.name,
            UserWarning,
            stacklevel=3,
        )
    return weights


def _filter_layers(model, weights, layers):
    by_layer = {}
    for w in weights:
        by_layer.setdefault(w.layer_path, []).append(w)
        by_layer.setdefault(w.layer_path.split("/")[-1], []).append(w)
    unknown = [name for name in layers if name not in by_layer]
    if unknown:
        raise ValueError(
            "PruningMonitor: layers=%s names layers that model %r has no prunable weights "
            "in: %s. Layers with prunable weights: %s."
            % (layers, model.name, unknown, sorted({w.layer_path for w in weights}))
        )
    chosen = {id(w) for name in layers for w in by_layer[name]}
    return [w for w in weights if id(w) in chosen]


def model_constants(all_vars, weights):
    """The sizes every model record carries: parameters, dense bytes, prunable weights."""
    ids = {id(w.variable) for w in weights}
    sizes = [int(np.prod(v.shape)) for v in all_vars]
    return {
        "model_size": sum(sizes),
        "dense_bytes": sum(s * measure.itemsize(v) for s, v in zip(sizes, all_vars)),
        "other_dense_bytes": sum(
            s * measure.itemsize(v) for s, v in zip(sizes, all_vars) if id(v) not in ids
        ),
        "prunable_size": sum(w.size for w in weights),
    }


def check_update_pruning_step(model, weights):
    """Raises ValueError if TF-MOT wrappers train without `UpdatePruningStep` (never pruning)."""
    for w in weights:
        if w.wrapper is not None and int(keras_state.read(w.wrapper.pruning_step)) < 0:
            raise ValueError(
                "PruningMonitor: model %r has TF-MOT pruning wrappers but is trained without "
                "the UpdatePruningStep callback (pruning_step of %r is still -1), so TF-MOT "
                "would never prune. Add tfmot.sparsity.keras.UpdatePruningStep() to the "
                "callbacks of model.fit." % (model.name, w.wrapper.name)
            )
