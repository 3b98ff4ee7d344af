"""The local profile with a real warehouse (its DuckDB file, or another adapter a test
gives) recording the SQL of every query sent through it: how tests see which tables a page
or a report reads, and that a cached view reads none."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from winter_days.profiles.local import LocalProfile


class RecordingReader:
    def __init__(self, inner: Any, queries: list[str]):
        self.inner = inner
        self.queries = queries

    def tables(self) -> Any:
        return self.inner.tables()

    def query(self, sql: str, params: Any = None) -> Any:
        self.queries.append(sql)
        return self.inner.query(sql, params)


class RecordingWarehouse:
    """Every call goes to the real warehouse; the queries of its readers are kept in order."""

    def __init__(self, inner: Any, queries: list[str]):
        self.inner = inner
        self.queries = queries

    @contextmanager
    def reader(self) -> Iterator[RecordingReader]:
        with self.inner.reader() as reader:
            yield RecordingReader(reader, self.queries)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordingProfile(LocalProfile):
    """The local profile, its warehouse `warehouse` (default: the local one); `queries` holds
    the SQL the warehouse's readers ran."""

    def __init__(self, warehouse: Callable[[], Any] | None = None) -> None:
        self.queries: list[str] = []
        self._warehouse = warehouse

    def warehouse(self, settings: Any) -> RecordingWarehouse:
        inner = self._warehouse() if self._warehouse else super().warehouse(settings)
        return RecordingWarehouse(inner, self.queries)
