"""The event writer writes event bytes itself: they must equal what TensorFlow's writer writes.

`GuardedWriter` serializes each step's `Event` and appends it with TensorFlow's TFRecord
writer, instead of going through the C++ summary writer's ops. These tests write the same
records both ways and compare the files event by event (wall times aside), read them with
TensorBoard's own loader (which checks every CRC), and pin that the file keeps TensorFlow's
name and header.
"""

import os
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import event_pb2, summary_pb2

from tb_prune_plugin import metadata, reader, summary
from tb_prune_plugin.callbacks.writer import FILENAME_SUFFIX, GuardedWriter


def _step_values(step):
    stats = {name: float(step + i) / 7.0 for i, name in enumerate(metadata.WEIGHT_STATS_FIELDS)}
    return [
        summary.weight_stats("dense/kernel", stats),
        summary.weight_histogram("dense/kernel", 0.0, 0.5, np.arange(30) + step),
        summary.mask("dense/kernel", np.eye(8, dtype=bool)),
        summary.scalar("pruning/dense/kernel/sparsity", 0.25 * step),
        summary.model_stats(dict.fromkeys(metadata.MODEL_STATS_FIELDS, float(step))),
    ]


def _events(path):
    """Every event of the file, wall time zeroed, read by TensorBoard (CRCs checked)."""
    out = []
    for event in event_file_loader.LegacyEventFileLoader(path).Load():
        event.wall_time = 0.0
        out.append(event)
    return out


def _write_with_tensorflow(logdir, start, steps):
    """The same records through TensorFlow's C++ summary writer, metadata once per tag."""
    writer = tf.summary.create_file_writer(logdir, filename_suffix=FILENAME_SUFFIX)
    start_event = event_pb2.Event(
        step=start,
        wall_time=time.time(),
        session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START),
    )
    tf.raw_ops.ImportEvent(
        writer=writer._resource, event=tf.constant(start_event.SerializeToString())
    )
    seen = set()
    for step in steps:
        proto = summary_pb2.Summary(value=_step_values(step))
        for v in proto.value:
            if v.tag in seen:
                v.ClearField("metadata")
            seen.add(v.tag)
        tf.raw_ops.WriteRawProtoSummary(
            writer=writer._resource,
            step=np.int64(step),
            tensor=tf.constant(proto.SerializeToString()),
        )
    writer.close()


@pytest.mark.parametrize("root", ["local", "ram"])
def test_events_equal_those_of_tensorflows_summary_writer(tmp_path, root):
    base = str(tmp_path) if root == "local" else "ram://writer_events_%d" % os.getpid()
    ours, theirs = base + "/ours", base + "/theirs"
    writer = GuardedWriter(ours)
    writer.start_session(3)
    for step in (3, 4, 5):
        assert writer.write(step, _step_values(step))
    writer.close()
    _write_with_tensorflow(theirs, 3, (3, 4, 5))
    (our_file,) = tf.io.gfile.glob(ours + "/*")
    (their_file,) = tf.io.gfile.glob(theirs + "/*")
    # TensorFlow's name (with its per-process file number) and suffix.
    name = os.path.basename(our_file)
    assert name.startswith("events.out.tfevents.") and name.endswith(FILENAME_SUFFIX)
    assert int(name.rsplit(".", 3)[1]) + 1 == int(os.path.basename(their_file).rsplit(".", 3)[1])
    ours_events, their_events = _events(our_file), _events(their_file)
    assert len(ours_events) == 5  # header, START, three steps
    assert ours_events[0].file_version == "brain.Event:2"
    assert ours_events[1].session_log.status == event_pb2.SessionLog.START
    assert [e.step for e in ours_events] == [0, 3, 3, 4, 5]
    assert [e.SerializeToString() for e in ours_events] == [
        e.SerializeToString() for e in their_events
    ]
    assert tf.io.gfile.stat(our_file).length == tf.io.gfile.stat(their_file).length
    # Metadata on the first value of each tag only.
    with_metadata = [[v.HasField("metadata") for v in e.summary.value] for e in ours_events[2:]]
    assert with_metadata == [[True] * 5, [False] * 5, [False] * 5]
    if root == "local":
        run = reader.load(str(tmp_path)).runs["ours"]
        assert run.weights["dense/kernel"].steps.tolist() == [3, 4, 5]


def test_events_of_a_local_file_are_on_disk_after_each_write(tmp_path):
    """A SIGKILL loses nothing locally: every write reaches the file before write() returns."""
    logdir = str(tmp_path / "run")
    writer = GuardedWriter(logdir)
    for step in range(4):
        assert writer.write(step, _step_values(step))
        (path,) = tf.io.gfile.glob(logdir + "/*")
        assert [e.step for e in _events(path)][1:] == list(range(step + 1))
    writer.close()
