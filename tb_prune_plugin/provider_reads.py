"""Tensor reads from TensorBoard's data provider, decoded a series at a time.

TensorBoard's gRPC data provider client (`GrpcDataProvider.read_tensors`, used with the Rust
data server, TensorBoard's default loader) turns each tensor it receives into an array on its
own (`tensor_util.make_ndarray`), which dominated the reads of long vector series
(docs/performance.md, section 3, "Decoding a series at once"). The records of one pruning
series share a dtype and a shape, so `read_tensors` here sends the same request through the
client's own gRPC stub and decodes each series at once: when every tensor of the series is
the same wire bytes but for its packed content, the series' serialized values are cut into
one array by NumPy (`_packed_values`); else, when they are all packed with one dtype and
shape, their contents are joined and read by one `np.frombuffer`.

The answer is the provider's own: {run: {tag: [provider.TensorDatum]}}, in the same order, with
arrays of the same dtype, shape and values (each a row of one writable array per series). A
series whose tensors are not all packed, of one numeric dtype and one shape is decoded tensor
by tensor with `tensor_util.make_ndarray`, as the client does. Any other provider, a client
without the stub, and any failed call go through `provider.read_tensors` itself, so errors
are TensorBoard's own. `read_tensor_columns` gives the same answer as `TensorColumns` (steps,
wall times and the series' one array), for readers that need no object per record.
"""

import dataclasses
from typing import List, Optional

import numpy as np
from tensorboard.compat.proto import tensor_pb2, types_pb2
from tensorboard.data import provider
from tensorboard.util import tensor_util

try:  # TensorBoard's gRPC client and its request protos; absent in trimmed installs
    import grpc
    from tensorboard.data import grpc_provider
    from tensorboard.data.proto import data_provider_pb2
except ImportError:  # pragma: no cover - every supported TensorBoard has them
    grpc = grpc_provider = data_provider_pb2 = None

# Dtypes decoded in bulk (those the pruning records use, and other plain numbers).
_NUMPY_DTYPES = {
    types_pb2.DT_DOUBLE: np.dtype(np.float64),
    types_pb2.DT_FLOAT: np.dtype(np.float32),
    types_pb2.DT_INT64: np.dtype(np.int64),
    types_pb2.DT_INT32: np.dtype(np.int32),
}
# The key of `TensorData.value` (field 3, length-delimited) in the wire format.
_VALUE_KEY = b"\x1a"
# The key of `TensorProto.tensor_content` (field 4, length-delimited).
_TENSOR_CONTENT_KEY = b"\x22"


@dataclasses.dataclass
class TensorColumns:
    """One tensor series as columns: `steps[i]`, `wall_times[i]` and the i-th tensor.

    `values` holds every tensor as one array `[n, *shape]` when they share a dtype and shape
    and were decoded at once; otherwise it is None and `data` holds the series as
    [provider.TensorDatum] (decoded tensor by tensor).
    """

    steps: np.ndarray  # int64 [n]
    wall_times: np.ndarray  # float64 [n]
    values: Optional[np.ndarray] = None
    data: Optional[List[provider.TensorDatum]] = None

    def take(self, indices):
        """The columns of the records at `indices` (an int array), in that order."""
        return TensorColumns(
            steps=self.steps[indices],
            wall_times=self.wall_times[indices],
            values=None if self.values is None else self.values[indices],
            data=None if self.data is None else [self.data[i] for i in indices.tolist()],
        )

    def datums(self):
        """The series as [provider.TensorDatum], as `read_tensors` answers it."""
        if self.data is not None:
            return self.data
        shape = self.values.shape[1:]
        rows = self.values.reshape((len(self.values), 1) + shape)  # a row's view keeps 0-d
        return [
            provider.TensorDatum(step=step, wall_time=wall_time, numpy=row.reshape(shape))
            for step, wall_time, row in zip(self.steps.tolist(), self.wall_times.tolist(), rows)
        ]


def read_tensors(data_provider, ctx, **request):
    """`data_provider.read_tensors(ctx, **request)`'s answer, decoded a series at a time when it
    can be (`request`: its keyword arguments experiment_id, plugin_name, downsample and
    run_tag_filter)."""
    response = _read_response(data_provider, **request)
    if response is None:
        return data_provider.read_tensors(ctx, **request)
    return _by_run_and_tag(response, series_data)


def read_tensor_columns(data_provider, ctx, **request):
    """The answer of `read_tensors` as {run: {tag: `TensorColumns`}}: each series' steps and
    wall times as arrays, and its tensors as one array when they were decoded at once."""
    response = _read_response(data_provider, **request)
    if response is not None:
        return _by_run_and_tag(response, series_columns)
    answer = data_provider.read_tensors(ctx, **request)
    return {
        run: {tag: _columns_of_data(data) for tag, data in by_tag.items()}
        for run, by_tag in answer.items()
    }


def _read_response(data_provider, *, experiment_id, plugin_name, downsample, run_tag_filter):
    """The data server's ReadTensorsResponse, through the client's stub; None when the
    provider has no stub or the call failed (the caller then asks the provider itself)."""
    stub = _stub_of(data_provider)
    if stub is None:
        return None
    request = data_provider_pb2.ReadTensorsRequest()
    request.experiment_id = experiment_id
    request.plugin_filter.plugin_name = plugin_name
    if run_tag_filter is not None:
        if run_tag_filter.runs is not None:
            request.run_tag_filter.runs.names[:] = sorted(run_tag_filter.runs)
        if run_tag_filter.tags is not None:
            request.run_tag_filter.tags.names[:] = sorted(run_tag_filter.tags)
    request.downsample.num_points = downsample
    try:
        return stub.ReadTensors(request)
    except grpc.RpcError:
        return None  # asked again by the caller: the client turns it into TensorBoard's error


def _by_run_and_tag(response, decode):
    return {
        run_entry.run_name: {
            tag_entry.tag_name: decode(tag_entry.data) for tag_entry in run_entry.tags
        }
        for run_entry in response.runs
    }


def _stub_of(data_provider):
    if grpc_provider is None or not isinstance(data_provider, grpc_provider.GrpcDataProvider):
        return None
    stub = getattr(data_provider, "_stub", None)
    return stub if hasattr(stub, "ReadTensors") else None


def series_data(data):
    """[provider.TensorDatum] of a `TensorData` proto (steps, wall times, TensorProtos)."""
    return series_columns(data).datums()


def series_columns(data):
    """The `TensorColumns` of a `TensorData` proto: its tensors decoded at once when each is
    packed with the dtype (one of `_NUMPY_DTYPES`) and shape of the first, else one by one."""
    tensors = data.value
    if len(data.step) == len(tensors) == len(data.wall_time):
        values = _packed_values(data)
        if values is None:
            values = _decode_together(tensors)
        if values is not None:
            steps = np.array(data.step, dtype=np.int64).reshape(-1)
            wall_times = np.array(data.wall_time, dtype=np.float64).reshape(-1)
            return TensorColumns(steps=steps, wall_times=wall_times, values=values)
    arrays = [tensor_util.make_ndarray(t) for t in tensors]
    return _columns_of_data(
        [
            provider.TensorDatum(step=step, wall_time=wall_time, numpy=array)
            for step, wall_time, array in zip(list(data.step), list(data.wall_time), arrays)
        ]
    )


def _columns_of_data(data):
    return TensorColumns(
        steps=np.array([d.step for d in data], dtype=np.int64).reshape(-1),
        wall_times=np.array([d.wall_time for d in data], dtype=np.float64).reshape(-1),
        data=data,
    )


def _packed_values(data):
    """The tensors of `data` (a `TensorData`) as one array `[n, *shape]`, read from its wire
    bytes at once; None unless each tensor is exactly the first one's dtype and shape with its
    `tensor_content` of that size (no other field), serialized after the steps and wall times.

    Each such tensor is, on the wire, the same bytes (the value's key and length, the dtype,
    the shape, the content's key and length) followed by its content: the serialized values
    are then rows of one stride, checked all at once and cut into one array.
    """
    tensors = data.value
    if not tensors:
        return None
    first = tensors[0]
    dtype = _NUMPY_DTYPES.get(first.dtype)
    shape = [d.size for d in first.tensor_shape.dim]
    if dtype is None or any(size < 0 for size in shape):
        return None
    size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if size == 0:
        return None  # nothing packed to tell the tensors apart
    described = tensor_pb2.TensorProto(dtype=first.dtype, tensor_shape=first.tensor_shape)
    inner = described.SerializeToString() + _TENSOR_CONTENT_KEY + _varint(size)
    head = _VALUE_KEY + _varint(len(inner) + size) + inner
    stride = len(head) + size
    wire = data.SerializeToString()
    leading = data_provider_pb2.TensorData(step=data.step, wall_time=data.wall_time)
    leading = leading.SerializeToString()
    if len(wire) != len(leading) + len(tensors) * stride or not wire.startswith(leading):
        return None
    rows = np.frombuffer(wire, dtype=np.uint8, offset=len(leading)).reshape(len(tensors), stride)
    if not (rows[:, : len(head)] == np.frombuffer(head, dtype=np.uint8)).all():
        return None
    return rows[:, len(head) :].copy().view(dtype).reshape([len(tensors)] + shape)


def _varint(number):
    """`number` (>= 0) as a protocol buffer varint."""
    out = bytearray()
    while number > 0x7F:
        out.append(0x80 | (number & 0x7F))
        number >>= 7
    out.append(number)
    return bytes(out)


def _decode_together(tensors):
    """The arrays of `tensors` as one array `[n, *shape]`, or None unless all of them are packed
    (`tensor_content`) with one dtype of `_NUMPY_DTYPES` and one shape."""
    if not tensors:
        return None
    first = tensors[0]
    dtype = _NUMPY_DTYPES.get(first.dtype)
    if dtype is None:
        return None
    shape_proto = first.tensor_shape
    shape = [d.size for d in shape_proto.dim]
    if any(size < 0 for size in shape):
        return None
    size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    if size == 0:
        return None  # nothing packed to tell the tensors apart: decoded one by one
    contents = []
    for tensor in tensors:
        content = tensor.tensor_content
        if (
            len(content) != size
            or tensor.dtype != first.dtype
            or tensor.tensor_shape != shape_proto
        ):
            return None
        contents.append(content)
    joined = np.frombuffer(b"".join(contents), dtype=dtype)
    return joined.reshape([len(tensors)] + shape).copy()
