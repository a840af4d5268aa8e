"""Finding the prunable weights of a Keras model (Keras 3 or tf_keras, TF-MOT or manual).

TF-MOT wrappers (`PruneLowMagnitude`) are recognised by class name and their
`pruning_vars` attribute, so this module never imports
tensorflow_model_optimization (whose import switches `tf.keras` to tf_keras for
the user's whole program).

A weight's path is the chain of layer names from the model down, plus the
weight's own name: `dense/kernel`, `encoder/conv2d/kernel`. A TF-MOT wrapper
contributes its inner layer's name, so pruned and unpruned runs of the same
architecture share paths.
"""

import dataclasses
from typing import Any, Optional, Tuple

TFMOT_WRAPPER_CLASS = "PruneLowMagnitude"


@dataclasses.dataclass
class PrunableWeight:
    """One weight the monitor records, with what pruning attaches to it."""

    path: str
    layer_path: str
    variable: Any
    shape: Tuple[int, ...]
    method: str  # "tfmot" or "manual"
    wrapper: Any = None  # the TF-MOT PruneLowMagnitude layer
    mask_variable: Any = None  # TF-MOT's mask, or a user-supplied mask variable
    threshold_variable: Any = None
    block_size: Optional[Tuple[int, int]] = None  # None unless larger than (1, 1)
    block_pooling_type: Optional[str] = None
    sparsity_m_by_n: Optional[Tuple[int, int]] = None  # (zeros, group size), TF-MOT's order

    @property
    def size(self):
        """The number of weights."""
        size = 1
        for d in self.shape:
            size *= d
        return size


def is_tfmot_wrapper(layer):
    """True if `layer` is TF-MOT's PruneLowMagnitude wrapper (detected without importing TF-MOT)."""
    return hasattr(layer, "pruning_vars") and any(
        cls.__name__ == TFMOT_WRAPPER_CLASS for cls in type(layer).__mro__
    )


def weight_short_name(variable):
    """`kernel` for a variable named `dense/kernel:0` (tf_keras) or `kernel` (Keras 3)."""
    name = getattr(variable, "name", "") or ""
    return name.split(":")[0].split("/")[-1] or "weight"


def _is_model(layer):
    return hasattr(layer, "layers") and isinstance(getattr(layer, "layers", None), (list, tuple))


def _shape_of(variable):
    return tuple(int(d) for d in variable.shape)


def iter_layers(model, prefix=()):
    """Yields `(layer_path_tuple, layer)` for every leaf layer, descending into nested models."""
    for layer in model.layers:
        path = prefix + (layer.name,)
        if is_tfmot_wrapper(layer):
            yield prefix + (layer.layer.name,), layer
        elif _is_model(layer):
            yield from iter_layers(layer, path)
        else:
            yield path, layer


def bookkeeping_variable_ids(model):
    """ids of TF-MOT's own variables (masks, thresholds, pruning steps): not model parameters."""
    ids = set()
    for _, layer in iter_layers(model):
        if is_tfmot_wrapper(layer):
            for _, mask, threshold in layer.pruning_vars:
                ids.add(id(mask))
                ids.add(id(threshold))
            step = getattr(layer, "pruning_step", None)
            if step is not None:
                ids.add(id(step))
    return ids


def find_prunable_weights(model):
    """Returns the list of `PrunableWeight` of `model`, in layer order.

    In a model with TF-MOT wrappers, the wrappers' `pruning_vars` are the
    prunable weights (layers left unwrapped are not pruned). In a model without
    any, every trainable weight of rank 2 or more (kernels, embeddings) is: the
    weights people prune by hand. Biases and normalisation parameters are never
    recorded.
    """
    found = []
    seen = set()
    for layer_path, layer in iter_layers(model):
        lpath = "/".join(layer_path)
        for weight, extra in _candidates(layer):
            if id(weight) in seen:
                continue
            seen.add(id(weight))
            found.append(
                PrunableWeight(
                    path="%s/%s" % (lpath, weight_short_name(weight)),
                    layer_path=lpath,
                    variable=weight,
                    shape=_shape_of(weight),
                    **extra,
                )
            )
    if any(w.method == "tfmot" for w in found):
        found = [w for w in found if w.method == "tfmot"]
    _make_paths_unique(found)
    return found


def _candidates(layer):
    """Yields `(weight, PrunableWeight fields)` for the prunable weights of one leaf layer."""
    if not is_tfmot_wrapper(layer):
        for weight in layer.trainable_weights:
            if len(weight.shape) >= 2:
                yield weight, {"method": "manual"}
        return
    block = tuple(int(b) for b in (getattr(layer, "block_size", None) or (1, 1)))
    blocked = block != (1, 1)
    m_by_n = getattr(layer, "sparsity_m_by_n", None)
    for weight, mask, threshold in layer.pruning_vars:
        yield (
            weight,
            {
                "method": "tfmot",
                "wrapper": layer,
                "mask_variable": mask,
                "threshold_variable": threshold,
                "block_size": block if blocked else None,
                "block_pooling_type": getattr(layer, "block_pooling_type", None)
                if blocked
                else None,
                "sparsity_m_by_n": tuple(int(x) for x in m_by_n) if m_by_n else None,
            },
        )


def _make_paths_unique(weights):
    counts = {}
    for w in weights:
        counts[w.path] = counts.get(w.path, 0) + 1
    index = {}
    for w in weights:
        if counts[w.path] > 1:
            index[w.path] = index.get(w.path, 0) + 1
            if index[w.path] > 1:
                w.path = "%s_%d" % (w.path, index[w.path] - 1)


def all_model_variables(model):
    """Every weight of the model that is a model parameter (TF-MOT bookkeeping excluded)."""
    skip = bookkeeping_variable_ids(model)
    out, seen = [], set()
    for v in model.weights:
        if id(v) in skip or id(v) in seen:
            continue
        seen.add(id(v))
        out.append(v)
    return out
