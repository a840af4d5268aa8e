"""What the monitor reads from a Keras model while it trains, in Keras 3 and tf_keras alike.

The optimizer step (the step every record is filed under), the optimizer steps between two
batch-end calls, and whether this worker is the one that writes.
"""

import numpy as np


def read(variable):
    """A scalar variable's (or plain number's) value as a Python number."""
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.asarray(value).item()


def steps_per_execution(model):
    """Optimizer steps between two batch-end calls (Keras's steps_per_execution, default 1)."""
    value = getattr(model, "_steps_per_execution", None)  # tf_keras: a tf.Variable
    if value is None:
        value = getattr(model, "steps_per_execution", None)  # Keras 3: an int
    try:
        return max(1, int(read(value))) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def is_multi_worker(model):
    """True if `model` trains under a multi-worker strategy (one with a cluster's task)."""
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and getattr(resolver, "task_type", None) is not None


def is_chief(model):
    """True unless `model` trains under a multi-worker strategy on a worker that is not chief."""
    strategy = getattr(model, "distribute_strategy", None)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None:
        return True
    if task_type == "chief":
        return True
    if task_type == "worker" and getattr(resolver, "task_id", 0) == 0:
        jobs = resolver.cluster_spec().as_dict() if hasattr(resolver, "cluster_spec") else {}
        return "chief" not in jobs
    return False
