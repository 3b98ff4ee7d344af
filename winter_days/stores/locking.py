"""Advisory file locks shared with other processes on one machine (the local warehouse's
publish lock, the model registry's alias lock in a local lake)."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path


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
