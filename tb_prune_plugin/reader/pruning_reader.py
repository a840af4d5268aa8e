"""`PruningReader`: the run index, tensor series, masks, overview, alerts and sensitivity scans
put together over one data provider, with their caches and the threads that read from it."""

import concurrent.futures
import logging
import threading

from tb_prune_plugin.reader.alerts import Alerts
from tb_prune_plugin.reader.caches import IndexCache, LruCache
from tb_prune_plugin.reader.convergence import MaskConvergence
from tb_prune_plugin.reader.masks import (
    BLOB_READ_THREADS,
    MASK_CACHE_BYTES,
    MASK_HEADER_CACHE_ENTRIES,
    MASK_LISTING_CACHE_ENTRIES,
    MASK_VIEW_CACHE_BYTES,
    Masks,
    mask_nbytes,
    view_bytes,
)
from tb_prune_plugin.reader.overlap import MaskOverlap
from tb_prune_plugin.reader.overview import Overview
from tb_prune_plugin.reader.records import DOWNSAMPLE_ALL
from tb_prune_plugin.reader.run_index import RunIndex
from tb_prune_plugin.reader.sensitivity import Sensitivity
from tb_prune_plugin.reader.series import TensorSeries
from tb_prune_plugin.server_nudge import BlobReader, Nudger

logger = logging.getLogger("tb_prune_plugin.reader")

# The index of runs and tags (which pruning series each run holds: two listing calls to the
# data provider, each a round trip to TensorBoard's data server) is reused by the routes that
# read data for at most this many seconds (the frontend polls /runs every 30 s). Data is always
# read fresh; a run, weight or series kind missing from a reused index is looked up again at
# once. `runs()` (the /runs route) always lists afresh and renews the index.
INDEX_MAX_AGE_SECONDS = 30.0
INDEX_CACHE_ENTRIES = 32
# Mask analyses kept (convergence and overlap results: a few numbers per recorded step), each
# keyed by the mask records it was computed from.
ANALYSIS_CACHE_ENTRIES = 256


class PruningReader(
    RunIndex, TensorSeries, Masks, Overview, Alerts, Sensitivity, MaskConvergence, MaskOverlap
):
    """Reads pruning data of the `pruning` plugin through a TensorBoard data provider.

    Every method takes a `tensorboard.context.RequestContext` and an experiment id, as
    TensorBoard's data providers do, and returns plain Python and NumPy objects.
    Unknown runs and weights raise `tensorboard.errors.NotFoundError` whose message
    quotes the name that was asked for.

    Example:

        reader = PruningReader(context.data_provider)
        series = reader.weight_series(ctx, experiment_id, "run_a", "dense/kernel")
        series.fields["sparsity"][series.steps == 100]
    """

    def __init__(
        self, data_provider, *, downsample=DOWNSAMPLE_ALL, index_max_age=INDEX_MAX_AGE_SECONDS
    ):
        self._provider = data_provider
        self._nudger = Nudger(data_provider)  # every call to the data server goes through it
        self._blob_reader = BlobReader(data_provider, self._nudger)
        self._downsample = downsample
        self._warned = set()
        self._mask_cache = LruCache(MASK_CACHE_BYTES, size=mask_nbytes)
        self._view_cache = LruCache(MASK_VIEW_CACHE_BYTES, size=view_bytes)
        self._index_cache = IndexCache(index_max_age, INDEX_CACHE_ENTRIES)
        self._header_cache = LruCache(MASK_HEADER_CACHE_ENTRIES)
        self._listing_cache = LruCache(MASK_LISTING_CACHE_ENTRIES)
        self._analysis_cache = LruCache(ANALYSIS_CACHE_ENTRIES)
        self._blob_pool = None
        self._blob_pool_lock = threading.Lock()

    def _warn_once(self, key, message, *args):
        if key in self._warned:
            return
        self._warned.add(key)
        logger.warning(message, *args)

    def _pool(self):
        """The threads that read from the data provider. Their tasks make provider calls and
        submit no tasks themselves, so they never wait for each other."""
        with self._blob_pool_lock:
            if self._blob_pool is None:
                self._blob_pool = concurrent.futures.ThreadPoolExecutor(
                    BLOB_READ_THREADS, thread_name_prefix="pruning_blobs"
                )
            return self._blob_pool
