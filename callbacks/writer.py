"""The monitor's event writer: event files written directly, guarded so that training goes on.

Each recorded step becomes one `Event` holding one `Summary` proto, serialized here and
appended with TensorFlow's TFRecord writer (`tf.io.TFRecordWriter`: length, data and their
masked CRC32Cs, in C++), on any `tf.io.gfile` file system. The file is named and started
(its `file_version` header event) by TensorFlow's own summary writer, which is closed at
once: the names keep TensorFlow's per-process numbering. The events are the same bytes the
summary writer's ops (`WriteRawProtoSummary`, `FlushSummaryWriter`: eager ops, with two
tensor conversions per record) wrote, at less cost (docs/design_figures.md).

Flushing: on a local file system every write is flushed at once (a flush is a
cheap write into the OS's cache), so a process killed with SIGKILL loses no
recorded step. On other file systems (a URL such as gs://, s3://, hdfs://,
ram://) a flush is a round trip to the storage, and GCS re-uploads the whole
object at each one (unless GCS_APPEND_MODE=compose), so written events wait in
memory until `max_queue` (50) of them wait, or until the first write
`flush_millis` (10 s) after the last flush, or an explicit `flush()` (the
monitor flushes at every epoch end) or `close()` (end of training); a SIGKILL
there loses the events written since the last flush, at most 49 recorded steps.
The first write of a training is always flushed at once.

Failures (disk full, directory removed, remote storage down) are logged once
and swallowed; a removed event file is noticed at the next flush. The steps
that failed, including those written but lost in a failed flush or a removed
file, are kept (up to `MAX_BACKLOG_STEPS`, the oldest dropped first) and written
again, in order, once the storage takes writes again; reopening is retried after
1, 2, 4, ... (at most 64) further writes, so a full disk does not get a new event
file at every step.

Each training starts with a `SessionLog.START` event at the first step it will
write (`start_session`). TensorBoard reads a later START in a run as a restart
and drops the records at and after its step that an earlier, killed training
wrote after the checkpoint the new one resumed from; without it, TensorBoard's
Python loader would keep those orphaned records (masks the resumed training
never had) among the new ones.
"""

import collections
import struct
import time

import tensorflow as tf
from tensorboard.compat.proto import event_pb2, summary_pb2

from tb_prune_plugin.callbacks.warn_once import WarnOnce

MAX_BACKLOG_STEPS = 256
_MAX_BACKOFF = 64
FILENAME_SUFFIX = ".pruning.v2"
# The C++ summary writer only names and starts a file; it must not flush by itself.
_NEVER_QUEUE = 1 << 30
_NEVER_MILLIS = 1 << 30


class GuardedWriter:
    """Writes `Summary.Value`s for a step; never raises during training.

    Values come with their metadata; the writer keeps it on the first value of
    each tag in the current event file and strips it from the others.

    Args:
      log_dir: directory (any tf.io.gfile path) the event file goes into.
      max_queue: written events kept in memory before a flush; by default 1 (flush
        every write) for a local path, 50 for a URL (remote storage).
      flush_millis: a write this long after the last flush flushes.
    """

    def __init__(self, log_dir, max_queue=None, flush_millis=10_000):
        self.log_dir = log_dir
        if max_queue is None:
            max_queue = 50 if "://" in str(log_dir) else 1
        self._max_queue = max_queue
        self._flush_millis = flush_millis
        self._writer = None
        self._path = None  # the current event file, when known
        self._tags_with_metadata = set()
        self._warn = WarnOnce()
        # (step, values) to write, oldest first; values None: a SessionLog START event.
        self._backlog = collections.deque(maxlen=MAX_BACKLOG_STEPS)
        self._unflushed = []  # entries written since the last flush, kept until it succeeds
        self._events = []  # their serialized events, appended to the file at the flush
        self._last_flush = time.monotonic()
        self._backoff = 0  # writes to skip before the next reopening attempt
        self._next_backoff = 1
        self.failures = 0
        self.dropped_steps = 0  # failed steps evicted from the backlog (lost)
        self.sessions = 0  # trainings started (`start_session` calls)
        self.session_start = None  # the start step of the latest one

    def open(self):
        """Opens the event file now (it is otherwise opened by the first write)."""
        self._open()

    def _open(self):
        if self._writer is None:
            tf.io.gfile.makedirs(self.log_dir)
            self._writer = self._create_last_file()
            self._tags_with_metadata = set()
            self._last_flush = time.monotonic()
        return self._writer

    def _create_last_file(self):
        """A new event file whose name sorts after the monitor's earlier ones in `log_dir`.

        TensorBoard reads a run's event files in name order, and the names start with the
        creation time in seconds: a file created in the same second as an earlier one can
        sort before it (`...pid.10.pruning.v2` < `...pid.9.pruning.v2`), and its records would
        then be read first and replaced by the older ones. Such a file is made again in the
        next second. Returns a `tf.io.TFRecordWriter` positioned after the header event.
        """
        pattern = "%s/*%s" % (self.log_dir.rstrip("/"), FILENAME_SUFFIX)
        for attempt in range(3):
            before = set(tf.io.gfile.glob(pattern))
            with tf.init_scope():
                summary_writer = tf.summary.create_file_writer(
                    self.log_dir,
                    max_queue=_NEVER_QUEUE,
                    flush_millis=_NEVER_MILLIS,
                    filename_suffix=FILENAME_SUFFIX,
                )
            summary_writer.close()  # the file holds its header event now
            after = set(tf.io.gfile.glob(pattern))
            new = after - before
            self._path = new.pop() if len(new) == 1 else None
            if self._path is None:
                raise FileNotFoundError(
                    "the new event file in %s could not be told apart from others" % self.log_dir
                )
            if max(after) == self._path or attempt == 2:
                break
            tf.io.gfile.remove(self._path)  # holds nothing but the file header
            time.sleep(1.01 - time.time() % 1.0)
        header = _first_record(self._path)
        # Written again from its start, the header first (some file systems, ram:// among
        # them, append to a file opened for writing: it is removed first).
        tf.io.gfile.remove(self._path)
        writer = tf.io.TFRecordWriter(self._path)
        writer.write(header)
        writer.flush()
        return writer

    @property
    def backlog_steps(self):
        """Steps that failed to write and wait to be written again."""
        return [step for step, values in self._backlog if values is not None]

    def start_session(self, step):
        """Marks the start of a training whose first record is at `step` (or later).

        A `SessionLog.START` event at `step` goes out with the next write, before its
        records: TensorBoard then drops the records of an earlier, killed training at
        `step` and after.
        """
        self._backlog.append((int(step), None))
        self.sessions += 1
        self.session_start = int(step)

    def write(self, step, values):
        """Writes the `Summary.Value`s of one step. Returns False (and warns once) on failure.

        A failed step is kept and written again, before newer steps, once writing works.
        """
        if not values:
            return True
        if len(self._backlog) == self._backlog.maxlen and self._backlog[0][1] is not None:
            self.dropped_steps += 1
        self._backlog.append((int(step), list(values)))
        if self._backoff > 0:
            self._backoff -= 1
            return False
        try:
            writer = self._open()
            # Recovering from a failure, or a training's first record: flush now, so that it is
            # known to have landed (and the dashboard shows a new run at once).
            flush_now = len(self._backlog) > 1
            while self._backlog:
                entry = self._backlog[0]
                self._write_entry(*entry)
                self._unflushed.append(self._backlog.popleft())
            due = time.monotonic() - self._last_flush >= self._flush_millis / 1000.0
            if flush_now or due or len(self._unflushed) >= self._max_queue:
                self._flush(writer)
            self._next_backoff = 1
            return True
        except Exception as e:  # noqa: BLE001 - monitoring must never stop training
            self._fail("write step %d" % step, e)
            self._backoff = self._next_backoff
            self._next_backoff = min(self._next_backoff * 2, _MAX_BACKOFF)
            return False

    def _write_entry(self, step, values):
        if values is None:
            event = event_pb2.Event(
                step=step,
                wall_time=time.time(),
                session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
            )
        else:
            event = event_pb2.Event(
                step=step, wall_time=time.time(), summary=summary_pb2.Summary(value=values)
            )
            # Metadata goes with the first value of each tag in an event file only.
            for v in event.summary.value:
                if v.tag in self._tags_with_metadata:
                    v.ClearField("metadata")
                else:
                    self._tags_with_metadata.add(v.tag)
        self._events.append(event.SerializeToString())

    def _flush(self, writer):
        # Events wait here, not in the file, until the flush: some file systems (ram://) show
        # appended bytes at once, and the flush decides what the storage holds.
        for event in self._events:
            writer.write(event)
        self._events = []
        writer.flush()
        # Writing into a file whose directory was removed fails nowhere (the open file lives
        # on, unlinked), so look: then what this flush wrote is written again, to a new file.
        if self._path is not None and not tf.io.gfile.exists(self._path):
            raise FileNotFoundError("the event file %s was removed" % self._path)
        self._unflushed = []
        self._last_flush = time.monotonic()

    def flush(self):
        """Flushes written events to storage; warns once on failure."""
        if self._writer is None:
            return
        try:
            self._flush(self._writer)
        except Exception as e:  # noqa: BLE001
            self._fail("flush", e)

    def close(self):
        """Flushes and closes the event file."""
        if self._writer is None:
            return
        try:
            self._flush(self._writer)
            self._writer.close()
        except Exception as e:  # noqa: BLE001
            self._fail("close", e)
        self._writer = None

    def _fail(self, what, error):
        self.failures += 1
        self._warn(
            "PruningMonitor could not %s to %r (%s: %s); training goes on, and recording "
            "resumes when the directory is writable again. Further failures are not reported.",
            what,
            self.log_dir,
            type(error).__name__,
            error,
        )
        # What the failed file may not hold is written again, before anything newer.
        pending = self._unflushed + list(self._backlog)
        overflow = max(0, len(pending) - MAX_BACKLOG_STEPS)
        self.dropped_steps += sum(1 for _, values in pending[:overflow] if values is not None)
        self._backlog = collections.deque(pending[overflow:], maxlen=MAX_BACKLOG_STEPS)
        self._unflushed = []
        self._events = []
        try:
            if self._writer is not None:
                self._writer.close()
        except Exception:  # noqa: BLE001
            pass
        self._writer = None


def _first_record(path):
    """The data of the first TFRecord of `path` (an event file's header event)."""
    with tf.io.gfile.GFile(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12:
            raise IOError("the event file %s has no header event" % path)
        (length,) = struct.unpack("<Q", head[:8])
        data = f.read(length)
    if len(data) != length:
        raise IOError("the header event of %s is cut short" % path)
    return data


def write_once(log_dir, step, values):
    """Writes the `Summary.Value`s of one step into a new event file of `log_dir` and closes it.

    For records written outside training (`sensitivity_scan`): unlike a monitor's writes,
    a failure here is the caller's to see, so it raises `OSError` naming `log_dir` and the
    cause (the logged warning of `GuardedWriter` is written too).
    """
    writer = GuardedWriter(log_dir)
    writer.write(step, values)
    writer.close()
    if writer.failures:
        raise OSError(
            "could not write %d records to %r (see the warning logged above); check that the "
            "directory is writable and pass another log_dir if it is not" % (len(values), log_dir)
        )
