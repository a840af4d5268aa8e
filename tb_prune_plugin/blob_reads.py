"""Blob reads from TensorBoard's data server without its delayed-acknowledgement stalls.

TensorBoard's Rust data server (`tensorboard-data-server` 0.7) answers over a TCP connection
that keeps Nagle's algorithm on: a ReadBlob answer's data frame, when it is smaller than a TCP
segment and follows the frame of response headers, waits until the client has acknowledged
those headers. The client, which has nothing to send meanwhile, delays its acknowledgement by
the kernel's delayed-ACK timer (tens of milliseconds on Linux), so a blob of a few kilobytes
(a mask delta) costs that timer whatever the work. Blob reads in flight together hide part of
it (each request carries an acknowledgement), one read alone none.

While a blob read is in flight, `BlobReader` sends the server a trivial request
(`GetExperiment`) every `NUDGE_SECONDS` on the same channel: its segment carries the
acknowledgement and the held frame goes out at once. The nudges stop as soon as no read is in
flight; a nudge that fails is ignored (it is only a hint). Providers without the data server's
gRPC stub (TensorBoard's Python loader, which reads in process) read as they are.
Measured in docs/performance.md (`benchmarks/scale_run.py`).
"""

import threading
import time

# The pause between two nudges while a blob read is in flight; the server answers a nudge at
# once, so this is about the delay it adds to a stalled read.
NUDGE_SECONDS = 0.001

# A nudge that the server does not answer within this long is abandoned.
NUDGE_TIMEOUT_SECONDS = 5.0


class BlobReader:
    """`read(ctx, blob_key)`: the provider's `read_blob`, nudged when it is the data server's
    gRPC client (see the module docstring). Thread-safe: one nudging thread serves every read
    in flight."""

    def __init__(self, data_provider):
        self._provider = data_provider
        stub = getattr(data_provider, "_stub", None)
        self._nudge_call = getattr(stub, "GetExperiment", None)
        self._lock = threading.Lock()
        self._in_flight = 0
        self._nudging = False
        self.nudges = 0  # nudges sent (for tests and benchmarks)

    @property
    def nudged(self):
        """True if this provider's reads are nudged."""
        return self._nudge_call is not None

    def read(self, ctx, blob_key):
        """The bytes of `blob_key`, as `provider.read_blob(ctx, blob_key=...)` gives them."""
        if self._nudge_call is None:
            return self._provider.read_blob(ctx, blob_key=blob_key)
        with self._lock:
            self._in_flight += 1
            start = not self._nudging
            self._nudging = True
        if start:
            threading.Thread(
                target=self._nudge_loop, name="tb_prune_plugin-blob-nudges", daemon=True
            ).start()
        try:
            return self._provider.read_blob(ctx, blob_key=blob_key)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _nudge_loop(self):
        from tensorboard.data.proto import data_provider_pb2

        request = data_provider_pb2.GetExperimentRequest()
        while True:
            time.sleep(NUDGE_SECONDS)
            with self._lock:
                if not self._in_flight:
                    self._nudging = False
                    return
            try:
                self._nudge_call(request, timeout=NUDGE_TIMEOUT_SECONDS)
                self.nudges += 1
            except Exception:  # noqa: BLE001 - a nudge is only a hint to the connection
                pass
