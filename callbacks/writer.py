"""The monitor's event writer: TensorFlow's C++ summary writer, guarded so that training goes on.

Each recorded step becomes one `Summary` proto written with
`tf.summary.experimental.write_raw_pb`, so the file is written (with its
CRCs) by TensorFlow's own writer, on any `tf.io.gfile` file system.

Failures (disk full, directory removed, remote storage down) are logged once
and swallowed. The steps that failed are kept (up to `MAX_BACKLOG_STEPS`, the
oldest dropped first) and written again, in order, once the storage takes
writes again; reopening is retried after 1, 2, 4, ... (at most 64) further
writes, so a full disk does not get a new event file at every step.

Each training starts with a `SessionLog.START` event at the first step it will
write (`start_session`). TensorBoard reads a later START in a run as a restart
and drops the records at and after its step that an earlier, killed training
wrote after the checkpoint the new one resumed from; without it, TensorBoard's
Python loader would keep those orphaned records (masks the resumed training
never had) among the new ones.
"""

import collections
import logging
import time

import numpy as np
import tensorflow as tf
from tensorboard.compat.proto import event_pb2, summary_pb2

logger = logging.getLogger("tb_prune_plugin")

MAX_BACKLOG_STEPS = 256
_MAX_BACKOFF = 64


class GuardedWriter:
    """Writes `Summary.Value`s for a step; never raises during training.

    Values come with their metadata; the writer keeps it on the first value of
    each tag in the current event file and strips it from the others.

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
        self._backlog = collections.deque(maxlen=MAX_BACKLOG_STEPS)
        self._backoff = 0  # writes to skip before the next reopening attempt
        self._next_backoff = 1
        self._session_start = None  # step of a START event still to be written
        self.failures = 0
        self.dropped_steps = 0  # failed steps evicted from the backlog (lost)

    def open(self):
        """Opens the event file now (it is otherwise opened by the first write)."""
        self._open()

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

    @property
    def backlog_steps(self):
        """Steps that failed to write and wait to be written again."""
        return [step for step, _ in self._backlog]

    def start_session(self, step):
        """Marks the start of a training whose first record is at `step` (or later).

        A `SessionLog.START` event at `step` goes out with the next write, before its
        records: TensorBoard then drops the records of an earlier, killed training at
        `step` and after.
        """
        self._session_start = int(step)

    def write(self, step, values):
        """Writes the `Summary.Value`s of one step. Returns False (and warns once) on failure.

        A failed step is kept and written again, before newer steps, once writing works.
        """
        if not values:
            return True
        if len(self._backlog) == self._backlog.maxlen:
            self.dropped_steps += 1
        self._backlog.append((int(step), list(values)))
        if self._backoff > 0:
            self._backoff -= 1
            return False
        try:
            writer = self._open()
            if self._session_start is not None:
                self._write_session_start(writer, self._session_start)
                self._session_start = None
            with writer.as_default():
                for pending_step, pending in self._backlog:
                    summary = summary_pb2.Summary(value=pending)
                    # Metadata goes with the first value of each tag in an event file only.
                    for v in summary.value:
                        if v.tag in self._tags_with_metadata:
                            v.ClearField("metadata")
                        else:
                            self._tags_with_metadata.add(v.tag)
                    # The step goes in as a NumPy integer: TensorFlow caches the tensor of every
                    # Python int it converts, for the life of the process (a leak per step).
                    tf.summary.experimental.write_raw_pb(
                        tf.constant(summary.SerializeToString()), step=np.int64(pending_step)
                    )
                if len(self._backlog) > 1:
                    writer.flush()  # recovering: make sure it landed before dropping the backlog
            self._backlog.clear()
            self._next_backoff = 1
            return True
        except Exception as e:  # noqa: BLE001 - monitoring must never stop training
            self._fail("write step %d" % step, e)
            self._backoff = self._next_backoff
            self._next_backoff = min(self._next_backoff * 2, _MAX_BACKOFF)
            return False

    @staticmethod
    def _write_session_start(writer, step):
        event = event_pb2.Event(
            step=step,
            wall_time=time.time(),
            session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
        )
        # tf.summary has no public call for a whole Event; ImportEvent writes one as it is.
        tf.raw_ops.ImportEvent(
            writer=writer._resource,  # the C++ writer's handle
            event=tf.constant(event.SerializeToString()),
        )

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
