"""Tensor reads from TensorBoard's data provider, decoded a series at a time.

TensorBoard's gRPC data provider client (`GrpcDataProvider.read_tensors`, used with the Rust
data server, TensorBoard's default loader) turns each tensor it receives into an array on its
own (`tensor_util.make_ndarray`), which dominated the reads of long vector series
(docs/performance.md, section 3, "Decoding a series at once"). The records of one pruning
series share a dtype and a shape, so `read_tensors` here sends the same request through the
client's own gRPC stub and decodes each series at once: the packed bytes of its tensors joined
and read by one `np.frombuffer`.

The answer is the provider's own: {run: {tag: [provider.TensorDatum]}}, in the same order, with
arrays of the same dtype, shape and values (each a row of one writable array per series). A
series whose tensors are not all packed, of one numeric dtype and one shape is decoded tensor
by tensor with `tensor_util.make_ndarray`, as the client does. Any other provider, a client
without the stub, and any failed call go through `provider.read_tensors` itself, so errors
are TensorBoard's own.
"""

import numpy as np
from tensorboard.compat.proto import types_pb2
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


def read_tensors(data_provider, ctx, *, experiment_id, plugin_name, downsample, run_tag_filter):
    """`data_provider.read_tensors(...)`'s answer, decoded a series at a time when it can be."""
    stub = _stub_of(data_provider)
    if stub is not None:
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
            response = stub.ReadTensors(request)
        except grpc.RpcError:
            response = None  # asked again below: the client turns it into TensorBoard's error
        if response is not None:
            return {
                run_entry.run_name: {
                    tag_entry.tag_name: series_data(tag_entry.data) for tag_entry in run_entry.tags
                }
                for run_entry in response.runs
            }
    return data_provider.read_tensors(
        ctx,
        experiment_id=experiment_id,
        plugin_name=plugin_name,
        downsample=downsample,
        run_tag_filter=run_tag_filter,
    )


def _stub_of(data_provider):
    if grpc_provider is None or not isinstance(data_provider, grpc_provider.GrpcDataProvider):
        return None
    stub = getattr(data_provider, "_stub", None)
    return stub if hasattr(stub, "ReadTensors") else None


def series_data(data):
    """[provider.TensorDatum] of a `TensorData` proto (steps, wall times, TensorProtos)."""
    tensors = data.value
    steps, wall_times = list(data.step), list(data.wall_time)
    arrays = _decode_together(tensors)
    if arrays is None:
        arrays = [tensor_util.make_ndarray(t) for t in tensors]
    return [
        provider.TensorDatum(step=step, wall_time=wall_time, numpy=array)
        for step, wall_time, array in zip(steps, wall_times, arrays)
    ]


def _decode_together(tensors):
    """The arrays of `tensors` as rows of one array, or None unless all of them are packed
    (`tensor_content`) with one dtype of `_NUMPY_DTYPES` and one shape."""
    if not tensors:
        return []
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
    rows = np.frombuffer(b"".join(contents), dtype=dtype).reshape([len(tensors), 1] + shape).copy()
    return [row.reshape(shape) for row in rows]  # views; a scalar's is a 0-d array
