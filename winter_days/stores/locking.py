"""Advisory file locks shared with other processes on one machine: the warehouse publish
lock (ELT executor, ML predictions) and the model registry's alias lock."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, create_folder: bool = True) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path` (created if absent) for the block; without
    `create_folder`, a missing folder is FileNotFoundError rather than made again."""
    if create_folder:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def warehouse_lock_path(warehouse_path: Path) -> Path:
    """The lock the ELT executor holds while it builds and publishes the warehouse file
    (winter_days/elt/engines/duckdb/executor.py): a write to the published file under it
    cannot be overwritten by a publish that copied the file before the write."""
    return Path(warehouse_path).with_name(f".{Path(warehouse_path).name}.lock")
