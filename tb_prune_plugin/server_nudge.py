"""Reads from TensorBoard's data server without its delayed-acknowledgement stalls.

TensorBoard's Rust data server (`tensorboard-data-server` 0.7) answers over a TCP connection
that keeps Nagle's algorithm on: the last part of an answer, when it is smaller than a TCP
segment and follows a part not yet acknowledged, waits until the client acknowledges that part.
The client, which has nothing to send meanwhile, delays its acknowledgement by the kernel's
delayed-ACK timer (tens of milliseconds on Linux). So a blob of a few kilobytes (a mask delta),
or the end of a longer answer, costs that timer whatever the work. Calls in flight together
hide part of it (each request carries an acknowledgement), one call alone none.

While a call to the data server is in flight, `Nudger` sends it a trivial request
(`GetExperiment`) on the same channel, `NUDGE_SECONDS` after the call starts and then at
doubling intervals up to `MAX_NUDGE_SECONDS` (a long answer needs no nudge until its end): the
request's segment carries the acknowledgement, and the held part goes out at once. The nudges
stop as soon as no call is in flight; a nudge that fails is ignored (it is only a hint).
Providers without the data server's gRPC stub (TensorBoard's Python loader, which reads in
process) are called as they are. Measured in docs/performance.md (`benchmarks/scale_run.py`).
"""

import contextlib
import threading
import time

# The pause before the first nudge of a call (the server answers a nudge at once, so this is
# about the delay a stalled call keeps), doubled after each nudge up to MAX_NUDGE_SECONDS.
NUDGE_SECONDS = 0.001
MAX_NUDGE_SECONDS = 0.008

# A nudge that the server does not answer within this long is abandoned.
NUDGE_TIMEOUT_SECONDS = 5.0


class Nudger:
    """`call(fn, ...)` and `in_flight()`: calls to `data_provider`'s data server, nudged when
    the provider is the data server's gRPC client (see the module docstring). Thread-safe:
    one nudging thread serves every call in flight."""

    def __init__(self, data_provider):
        stub = getattr(data_provider, "_stub", None)
        self._nudge_call = getattr(stub, "GetExperiment", None)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._nudging = False
        self._fresh = False  # a call began since the last nudge: nudge soon again
        self.nudges = 0  # nudges sent (for tests and benchmarks)

    @property
    def nudged(self):
        """True if calls through this nudger are nudged."""
        return self._nudge_call is not None

    @contextlib.contextmanager
    def in_flight(self):
        """A call to the data server is made within this block."""
        if self._nudge_call is None:
            yield
            return
        with self._lock:
            self._in_flight += 1
            self._fresh = True
            start = not self._nudging
            self._nudging = True
        if start:
            threading.Thread(
                target=self._nudge_loop, name="tb_prune_plugin-server-nudges", daemon=True
            ).start()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def call(self, fn, *args, **kwargs):
        """`fn(*args, **kwargs)`, a call to the data server, nudged while in flight."""
        with self.in_flight():
            return fn(*args, **kwargs)

    def _nudge_loop(self):
        from tensorboard.data.proto import data_provider_pb2

        request = data_provider_pb2.GetExperimentRequest()
        pause = NUDGE_SECONDS
        while True:
            time.sleep(pause)
            with self._lock:
                if not self._in_flight:
                    self._nudging = False
                    return
                pause = NUDGE_SECONDS if self._fresh else min(2 * pause, MAX_NUDGE_SECONDS)
                self._fresh = False
            try:
                self._nudge_call(request, timeout=NUDGE_TIMEOUT_SECONDS)
                self.nudges += 1
            except Exception:  # noqa: BLE001 - a nudge is only a hint to the connection
                pass


class BlobReader:
    """`read(ctx, blob_key)`: the provider's `read_blob` through a `Nudger`."""

    def __init__(self, data_provider, nudger=None):
        self._provider = data_provider
        self.nudger = nudger or Nudger(data_provider)

    def read(self, ctx, blob_key):
        """The bytes of `blob_key`, as `provider.read_blob(ctx, blob_key=...)` gives them."""
        return self.nudger.call(self._provider.read_blob, ctx, blob_key=blob_key)
