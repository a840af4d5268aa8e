"""The monitor's event writer: TensorFlow's C++ summary writer, guarded so that training goes on.

Each recorded step becomes one `Summary` proto written with
`tf.summary.experimental.write_raw_pb`, so the file is written (with its
CRCs) by TensorFlow's own writer, on any `tf.io.gfile` file system.

Failures (disk full, directory removed, remote storage down) are logged once
and swallowed; the writer is reopened at the next write, so recording resumes
when the storage is back. Values written while it was failing are lost, never
the training.
"""

import logging

import tensorflow as tf
from tensorboard.compat.proto import summary_pb2

logger = logging.getLogger("tb_prune_plugin")


class GuardedWriter:
    """Writes `Summary.Value`s for a step; never raises during training.

    Args:
      log_dir: directory (any tf.io.gfile path) the event file goes into.
      max_queue: events buffered before the C++ writer writes them out.
      flush_millis: the C++ writer's periodic flush interval.
    """

    def __init__(self, log_dir, max_queue=50, flush_millis=10_000):
        self.log_dir = log_dir
        self._max_queue = max_queue
        self._flush_millis = flush_millis
        self._writer = None
        self._tags_with_metadata = set()
        self._warned = False
        self.failures = 0

    def _open(self):
        if self._writer is None:
            tf.io.gfile.makedirs(self.log_dir)
            with tf.init_scope():
                self._writer = tf.summary.create_file_writer(
                    self.log_dir,
                    max_queue=self._max_queue,
                    flush_millis=self._flush_millis,
                    filename_suffix=".pruning.v2",
                )
            self._tags_with_metadata = set()
        return self._writer

    def needs_metadata(self, tag):
        """True the first time `tag` is written to the current event file."""
        return tag not in self._tags_with_metadata

    def write(self, step, values):
        """Writes the `Summary.Value`s of one step. Returns False (and warns once) on failure."""
        if not values:
            return True
        try:
            writer = self._open()
            summary = summary_pb2.Summary(value=values)
            with writer.as_default():
                tf.summary.experimental.write_raw_pb(
                    tf.constant(summary.SerializeToString()), step=int(step)
                )
            for v in values:
                if v.HasField("metadata"):
                    self._tags_with_metadata.add(v.tag)
            return True
        except Exception as e:  # noqa: BLE001 - monitoring must never stop training
            self._fail("write step %d" % step, e)
            return False

    def flush(self):
        """Flushes buffered events to storage; warns once on failure."""
        if self._writer is None:
            return
        try:
            self._writer.flush()
        except Exception as e:  # noqa: BLE001
            self._fail("flush", e)

    def close(self):
        """Flushes and closes the event file."""
        if self._writer is None:
            return
        try:
            self._writer.close()
        except Exception as e:  # noqa: BLE001
            self._fail("close", e)
        self._writer = None

    def _fail(self, what, error):
        self.failures += 1
        if not self._warned:
            self._warned = True
            logger.warning(
                "PruningMonitor could not %s to %r (%s: %s); training goes on, and recording "
                "resumes when the directory is writable again. Further failures are not reported.",
                what,
                self.log_dir,
                type(error).__name__,
                error,
            )
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:  # noqa: BLE001
            pass
        self._writer = None
