"""Reads pruning records back through a TensorBoard data provider.

`PruningReader` wraps any `tensorboard.data.provider.DataProvider` (the Python
`MultiplexerDataProvider` or the gRPC client of the Rust data server) and returns
plain Python and NumPy objects: the plugin's routes and notebooks build on it.
What a time series holds is decided by its parsed plugin metadata
(`metadata.parse_plugin_metadata`), never by its tag.

Data that cannot be read is skipped, never fatal: a series of a newer format
version is skipped with one warning naming run, tag and version; a corrupt series
or record (metadata that does not parse, a vector of the wrong length, a mask that
does not decode, ...) is skipped with one warning naming it.

`load(logdir)` reads a whole log directory into dataclasses for notebooks.

The modules, by job: `run_index` (runs, their series, configs and restarts), `series`
(tensor series), `masks` (masks and their caches), `convergence` (each mask's distance from
the last one, the early-bird step), `overlap` (the IoU of runs' kept sets), `overview`,
`alerts`, `notebook` (`load`), `sensitivity` (sensitivity scans), `records` (the classes
returned), `caches` (the one LRU class), `pruning_reader` (the reader put together). This
package never imports TensorFlow
(TensorBoard's event loading may).
"""

from tb_prune_plugin.reader.caches import IndexCache, LruCache
from tb_prune_plugin.reader.masks import (
    BLOB_READ_THREADS,
    MASK_CACHE_BYTES,
    MASK_HEADER_CACHE_ENTRIES,
    MASK_LISTING_CACHE_ENTRIES,
    MASK_VIEW_CACHE_BYTES,
)
from tb_prune_plugin.reader.notebook import Experiment, Run, Weight, load
from tb_prune_plugin.reader.pruning_reader import (
    INDEX_CACHE_ENTRIES,
    INDEX_MAX_AGE_SECONDS,
    PruningReader,
)
from tb_prune_plugin.reader.records import (
    DOWNSAMPLE_ALL,
    PLUGIN_NAME,
    HistogramSeries,
    MaskAtStep,
    MaskRecord,
    MetricSeries,
    RunContents,
    RunSummary,
    Series,
    SkippedSeries,
    WeightSummary,
)
from tb_prune_plugin.reader.sensitivity import WeightSensitivity

__all__ = [
    "BLOB_READ_THREADS",
    "DOWNSAMPLE_ALL",
    "INDEX_CACHE_ENTRIES",
    "INDEX_MAX_AGE_SECONDS",
    "MASK_CACHE_BYTES",
    "MASK_HEADER_CACHE_ENTRIES",
    "MASK_LISTING_CACHE_ENTRIES",
    "MASK_VIEW_CACHE_BYTES",
    "PLUGIN_NAME",
    "Experiment",
    "HistogramSeries",
    "IndexCache",
    "LruCache",
    "MaskAtStep",
    "MaskRecord",
    "MetricSeries",
    "PruningReader",
    "Run",
    "RunContents",
    "RunSummary",
    "Series",
    "SkippedSeries",
    "Weight",
    "WeightSensitivity",
    "WeightSummary",
    "load",
]
