"""Page results kept per published warehouse state, so a repeated page view reads no table.

A page runs the same queries for the same filters until the next publish, and on BigQuery
each of them is billed. Results are kept under the warehouse's published version
(`Warehouse.published_version`: the DuckDB file's identity, or the BigQuery tables' last
change) with the page and its filters: a publish or a predictions write makes a new version,
which the next view misses, so nothing needs clearing. Entries are bounded in number and the
least recently used goes first; each service worker process keeps its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

# A page's results are a few hundred rows at most (the top-N lists are capped at 500).
DEFAULT_MAX_ENTRIES = 64


class PageResultCache(Generic[V]):
    """A bounded, thread-safe LRU mapping of (published version, page, filters) to results."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES):
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def read_through(self, version: Callable[[], str | None], key: Hashable, compute: Callable[[], V]) -> V:
        """The value kept for `key` in the current published version, else `compute()`'s.

        Nothing is kept while nothing is published (version None), nor when the version
        changed while computing: the rows may then belong to either state.
        """
        before = version()
        if before is not None:
            kept = self.get((before, key))
            if kept is not None:
                return kept
        value = compute()
        if before is not None and version() == before:
            self.put((before, key), value)
        return value
