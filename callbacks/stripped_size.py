"""The size of the model as it ships: pruning wrappers stripped, saved, gzipped.

TF-MOT's pruning guides compare models this way: `strip_pruning` (which leaves the zeros in
the weights), save as HDF5 without the optimizer, compress. Zeros compress, so the gzipped
file shows what pruning saves on disk, where the monitor's `sparse_bytes` is an estimate.

A model with TF-MOT wrappers is stripped with `tfmot.sparsity.keras.strip_pruning`
(TF-MOT is imported only then: the import switches `tf.keras` to tf_keras, which such a
model already uses); a manually pruned model is saved as it is. The file is gzipped at
deflate level 6 (the `gzip` command's and zipfile's default) and measured; both sizes are
recorded as a `stripped_size` record (`summary.stripped_size`).

Saving and gzipping a model of real size takes seconds at every fit's end. With
`stripped_size="auto"` (the monitor's default) it is measured only when it fits in what the
overhead budget leaves of the fit (`RecordingPolicy.allowance`), or is expected to take less
than `ALWAYS_SECONDS`: a long fit of a large model gets it, a short one says in the log that it
was skipped and how to ask for it. The time is expected from the bytes of the model's variables
(`ESTIMATED_BYTES_PER_SECOND` until a first measurement, then the measured rate).
"""

import contextlib
import logging
import os
import tempfile
import time
import warnings
import zlib

import numpy as np

from tb_prune_plugin import summary
from tb_prune_plugin.callbacks import discovery
from tb_prune_plugin.callbacks.warn_once import WarnOnce

GZIP_LEVEL = 6
_CHUNK = 1 << 22

# Before a first measurement, saving and gzipping is expected to go through the model's
# variables (a wrapped model's masks included) at this many bytes a second: a rate lower than
# a 2-core CPU's, so that a model is measured by default only when that is clearly cheap.
ESTIMATED_BYTES_PER_SECOND = 25e6

# A measurement expected to take less than this is made whatever the budget leaves.
ALWAYS_SECONDS = 1.0


def variable_bytes(model):
    """Bytes of `model`'s variables (4 a value for a dtype whose size is not known)."""
    total = 0
    for variable in model.weights:
        dtype = getattr(variable.dtype, "as_numpy_dtype", variable.dtype)
        try:
            itemsize = np.dtype(dtype).itemsize
        except TypeError:
            itemsize = 4
        total += int(np.prod(variable.shape)) * itemsize
    return total


def has_tfmot_wrappers(model):
    """True if any layer of `model` (nested models included) is a TF-MOT pruning wrapper."""
    return any(discovery.is_tfmot_wrapper(layer) for _, layer in discovery.iter_layers(model))


def stripped_model(model):
    """`model` without TF-MOT's pruning wrappers (`strip_pruning`), or `model` itself."""
    if not has_tfmot_wrappers(model):
        return model
    import tensorflow_model_optimization as tfmot  # only for models that already use it

    return tfmot.sparsity.keras.strip_pruning(model)


@contextlib.contextmanager
def _quiet_saving():
    """Silences what saving to `.h5` and `strip_pruning` log at every call: the legacy-format
    notes of tf_keras (a Python warning) and Keras 3 (absl), and TensorFlow's note that the
    stripped clone's metrics are not built."""
    tf_logger = logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    try:
        from absl import logging as absl_logging

        absl_level = absl_logging.get_verbosity()
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        absl_logging = None
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HDF5 file.*", category=UserWarning)
            yield
    finally:
        tf_logger.setLevel(tf_level)
        if absl_logging is not None:
            absl_logging.set_verbosity(absl_level)


def gzip_size(path, level=GZIP_LEVEL):
    """Bytes of the file at `path` gzipped at `level` (as `gzip.compress(data, level)` gives),
    compressed in chunks so that a large model is not held twice in memory."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    size = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            size += len(compressor.compress(chunk))
    return size + len(compressor.flush())


def measure(model):
    """`{"saved_bytes": n, "gzip_bytes": m}` of `model` stripped and saved as HDF5 without its
    optimizer (in a temporary directory, removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="tb_prune_stripped_") as directory:
        path = os.path.join(directory, "model.h5")
        with _quiet_saving():
            stripped_model(model).save(path, include_optimizer=False)
        return {"saved_bytes": os.path.getsize(path), "gzip_bytes": gzip_size(path)}


class StrippedSizeRecorder:
    """Measures the stripped size and writes it as a record; never raises.

    Every worker of a multi-worker training measures (stripping creates variables, which
    a multi-worker strategy initializes with collective ops that every worker must run);
    only the chief, the one with a writer, writes. A failure (a model that cannot be saved
    as HDF5, a full disk) is logged once per recorder and training goes on.
    """

    def __init__(self):
        self._warn = WarnOnce()
        self._warn_skipped = WarnOnce()
        self._seconds_per_byte = 1.0 / ESTIMATED_BYTES_PER_SECOND

    def expected_seconds(self, model):
        """The time measuring `model` is expected to take (see the module docstring)."""
        return variable_bytes(model) * self._seconds_per_byte

    def record(self, model, writer, step, allowance=None):
        """Writes the stripped size of `model` at `step` with `writer` (a `GuardedWriter`;
        None on a worker that does not write). Returns the sizes, or None if measuring failed
        or was skipped.

        `allowance`: the seconds the overhead budget leaves (None: measure whatever it
        costs); a measurement expected to take longer, and `ALWAYS_SECONDS` or more, is
        skipped (said once in the log).
        """
        if allowance is not None:
            expected = self.expected_seconds(model)
            if expected > max(allowance, ALWAYS_SECONDS):
                self._warn_skipped(
                    "PruningMonitor skipped the stripped model's saved size at the end of this "
                    "training (step %d): saving and gzipping the model is expected to take "
                    "%.1f s, more than the overhead budget leaves (%.1f s). A longer training "
                    "gets it; pass stripped_size=True to measure it at the end of every "
                    "training whatever it costs.",
                    step,
                    expected,
                    max(allowance, 0.0),
                )
                return None
        began = time.perf_counter()
        try:
            sizes = measure(model)
        except Exception as e:  # noqa: BLE001 - optional work never stops training
            self._warn(
                "PruningMonitor could not measure the stripped model's saved size at step %d "
                "(%s: %s); the run has no stripped_size record.",
                step,
                type(e).__name__,
                e,
            )
            return None
        self._seconds_per_byte = (time.perf_counter() - began) / max(1, variable_bytes(model))
        if writer is not None:
            writer.write(step, [summary.stripped_size(sizes)])
        return sizes
