"""The reader's caches: one least-recently-used class for all of them (decoded masks, mask
headers, mask listings, /mask views, run indexes)."""

import collections
import threading
import time


class LruCache:
    """Values by key, least recently used out first, at most `limit` in all, each value
    counting `size(value)` (1 by default: at most `limit` values). A value larger than the
    limit is not kept. Thread-safe."""

    def __init__(self, limit, size=None):
        self._limit = limit
        self._size = size or (lambda value: 1)
        self._values = collections.OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key):
        """The value of `key` (now the most recently used), or None."""
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key, value):
        """Keeps `value` under `key`, evicting the least recently used beyond the limit."""
        size = self._size(value)
        if size > self._limit:
            return
        with self._lock:
            old = self._values.pop(key, None)
            if old is not None:
                self._total -= self._size(old)
            self._values[key] = value
            self._total += size
            while self._total > self._limit:
                _, evicted = self._values.popitem(last=False)
                self._total -= self._size(evicted)


class IndexCache:
    """Run indexes (`PruningReader.runs` results) by experiment and run filter, each reused for
    at most `max_age` seconds; at most `max_entries` of them (an `LruCache`).

    An index of all runs also answers for any subset of them.
    """

    def __init__(self, max_age, max_entries):
        self._max_age = max_age
        self._entries = LruCache(max_entries)  # key -> (monotonic time, index)

    @staticmethod
    def _key(experiment_id, runs):
        return (experiment_id, None if runs is None else tuple(sorted(set(runs))))

    def put(self, experiment_id, runs, index):
        """Keeps `index`, the listing of `runs` (None: all) in `experiment_id`."""
        if self._max_age > 0:
            self._entries.put(self._key(experiment_id, runs), (time.monotonic(), index))

    def get(self, experiment_id, runs):
        """The index for `runs` (None: all) if one at most `max_age` old is kept, else None."""
        if self._max_age <= 0:
            return None
        now = time.monotonic()
        for key in (self._key(experiment_id, runs), self._key(experiment_id, None)):
            entry = self._entries.get(key)
            if entry is None or now - entry[0] > self._max_age:
                continue
            index = entry[1]
            if key[1] is None and runs is not None:
                wanted = set(runs)
                index = {name: c for name, c in index.items() if name in wanted}
            return index
        return None
