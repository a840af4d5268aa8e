"""Worker threads for decoding the records of a mask chain side by side.

zlib and NumPy release the GIL while they work on large buffers, so the records of a long
chain (a keyframe inflated, each delta's positions decoded) are prepared on these threads at
once while the chain is applied in order on the caller's thread. Small chains are prepared
on the caller's thread, when asked: a thread's hand-off would cost more than it saves.
"""

import concurrent.futures
import os
import threading

_WORKERS = []
_WORKERS_LOCK = threading.Lock()


def _workers():
    with _WORKERS_LOCK:
        if not _WORKERS:
            _WORKERS.append(
                concurrent.futures.ThreadPoolExecutor(
                    max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="mask-decode"
                )
            )
        return _WORKERS[0]


class _WhenAsked:
    """A call made when its result is asked for: the part of a `Future` callers use."""

    def __init__(self, fn, args):
        self._fn, self._args = fn, args

    def result(self):
        return self._fn(*self._args)


def each(fn, calls, in_parallel):
    """One holder per argument tuple of `calls` whose `result()` is `fn(*args)` (an exception
    of `fn` is raised by `result()`): computed on the workers at once when `in_parallel`,
    else on the caller's thread when asked."""
    if not in_parallel:
        return [_WhenAsked(fn, args) for args in calls]
    workers = _workers()
    return [workers.submit(fn, *args) for args in calls]
