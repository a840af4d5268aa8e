"""The mask records' blobs read through the data provider: one at a time, several at once, or
started ahead (while the records read before are decoded). A mixin of `Masks`.
"""

from tensorboard import errors

from tb_prune_plugin import mask_codec


class MaskBlobs:
    """Blob reads of the `PruningReader` (which has `_blob_reader`, a `server_nudge.BlobReader`,
    and `_pool()`, its thread pool of `BLOB_READ_THREADS`)."""

    def _read_blob(self, ctx, blob_key):
        """The bytes of one blob (read through `server_nudge.BlobReader`, which spares a read
        from TensorBoard's data server its delayed-acknowledgement stall); MaskDecodeError if
        the provider cannot give them.

        The Python provider indexes the record's tensor, which fails on a record of an
        unexpected shape; such a record is corrupt, not a reason to fail the request.
        TensorBoard's Rust data server (0.7) cannot parse the blob keys it made itself
        for a run or tag holding `"`, `\\` or a control character, and says
        InvalidArgumentError: those masks cannot be read, and the request goes on.
        """
        try:
            blob = self._blob_reader.read(ctx, blob_key)
        except (IndexError, ValueError, TypeError) as e:
            raise mask_codec.MaskDecodeError("blob cannot be read: %r" % (e,)) from None
        except errors.InvalidArgumentError as e:
            raise mask_codec.MaskDecodeError(
                "TensorBoard's data provider cannot read the blob: %s" % (e,)
            ) from None
        if not isinstance(blob, (bytes, bytearray)):
            raise mask_codec.MaskDecodeError(
                "blob is not a byte string but %s" % type(blob).__name__
            )
        return bytes(blob)

    def _read_blobs(self, ctx, blob_keys, started=None):
        """{blob key: bytes, or the MaskDecodeError or NotFoundError reading it raised} for
        `blob_keys`, read at once: up to `BLOB_READ_THREADS` provider calls in flight. The
        keys in `started` (`_start_reads`' answer) are collected from their reads."""
        keys = list(dict.fromkeys(blob_keys))
        started = started or {}
        rest = [key for key in keys if key not in started]
        if len(rest) < 2:
            blobs = {key: self._read_or_error(ctx, key) for key in rest}
        else:
            blobs = dict(zip(rest, self._pool().map(lambda k: self._read_or_error(ctx, k), rest)))
        blobs.update((key, started[key].result()) for key in keys if key in started)
        return blobs

    def _read_or_error(self, ctx, key):
        """`_read_blob`'s bytes, or the MaskDecodeError or NotFoundError it raised."""
        try:
            return self._read_blob(ctx, key)
        except (mask_codec.MaskDecodeError, errors.NotFoundError) as e:
            return e

    def _start_reads(self, ctx, blob_keys):
        """{blob key: future of `_read_or_error`} of `blob_keys`, submitted to the pool now and
        collected later by `_read_blobs(..., started=...)`."""
        pool = self._pool()
        return {key: pool.submit(self._read_or_error, ctx, key) for key in dict.fromkeys(blob_keys)}
