"""Read ahead: the next items of a slow source, fetched (and prepared) by a background thread.

For a loop whose source (a store's pages) or per-item preparation (Arrow parsing) leaves
Python's lock while it works: the thread reads and prepares the next items while the
loop finishes the current one; stages chain (`prepare_ahead(read_ahead(pages), parse)`
reads, parses and finishes three pages at once). At most `depth` items wait per stage.
An error of the source or of the preparation is raised in the loop, at the item where it
happened; a loop that stops early (an error of its own, a break) stops the thread, which
has ended when it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

Item = TypeVar("Item")
Prepared = TypeVar("Prepared")


@dataclass
class _Failure:
    error: BaseException


_END = object()


def read_ahead(items: Iterable[Item], depth: int = 2) -> Iterator[Item]:
    """`items` in order, read by a background thread."""
    for item, _ in prepare_ahead(items, _nothing, depth):
        yield item


def _nothing(item: Any) -> None:
    return None


def prepare_ahead(
    items: Iterable[Item], prepare: Callable[[Item], Prepared], depth: int = 2
) -> Iterator[tuple[Item, Prepared]]:
    """Each of `items` with `prepare(item)`, both done by a background thread, in order."""
    if depth < 1:
        raise ValueError(f"read-ahead depth must be at least 1, got {depth}")
    handoff: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not offer((item, prepare(item))):
                    return
            offer(_END)
        except BaseException as err:
            offer(_Failure(err))
        finally:
            # A source that is itself a read-ahead stops its own thread now, not whenever
            # it is collected.
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            entry = handoff.get()
            if entry is _END:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry
    finally:
        stop.set()
        reader.join()
