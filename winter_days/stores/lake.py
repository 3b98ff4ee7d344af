"""The lake: an object store of immutable bronze files and mutable working areas.

Keys are relative paths such as `bronze/clickstream/load_date=2026-03-01/part.jsonl`. A key
is validated before any I/O: no `..`, no absolute path, no empty segment. Writes are atomic
(a reader never sees half a file). Keys under the immutable areas (bronze/, ground_truth/)
are create-only: writing the same bytes again is a no-op, different bytes are an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

import fsspec

IMMUTABLE_AREAS = ("bronze/", "ground_truth/")


class LakeError(Exception):
    """A lake operation that cannot be done as asked."""


class LakeKeyError(LakeError, ValueError):
    """A key that is not a valid lake path."""


class LakeImmutableError(LakeError):
    """A write that would change an immutable (bronze) file."""


class LakeNotFound(LakeError, FileNotFoundError):
    """A key with no file behind it."""


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative lake path, else raise LakeKeyError saying why."""
    if not isinstance(key, str) or not key:
        raise LakeKeyError(f"lake key {key!r}: must be a non-empty string")
    if key.startswith("/") or key.startswith("\\") or (len(key) > 1 and key[1] == ":"):
        raise LakeKeyError(f"lake key {key!r}: must be relative, not absolute")
    if "\\" in key or "\x00" in key:
        raise LakeKeyError(f"lake key {key!r}: backslashes and NUL are not allowed")
    for segment in key.split("/"):
        if segment == "":
            raise LakeKeyError(f"lake key {key!r}: empty path segment")
        if segment in (".", ".."):
            raise LakeKeyError(f"lake key {key!r}: '{segment}' segments are not allowed")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: '' (everything) or a key, optionally ending in '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix.rstrip("/") if prefix.endswith("/") else prefix)
    return prefix


def is_immutable(key: str) -> bool:
    return key.startswith(IMMUTABLE_AREAS)


@runtime_checkable
class Lake(Protocol):
    """Object store port; the local and GCS adapters keep the same contract."""

    root_uri: str

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None: ...

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def uri(self, key: str) -> str: ...

    def local_path(self, key: str) -> Path | None: ...


def _file_digest(path: str | os.PathLike[str]) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


class LocalLake:
    """A lake in a local folder, through fsspec's local filesystem."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root_uri = self.root.as_uri()
        self._fs = fsspec.filesystem("file")

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise LakeNotFound(f"lake key {key!r}: no such file under {self.root_uri}") from None

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise LakeNotFound(f"lake key {key!r}: no such file under {self.root_uri}")
        return path.open("rb")

    def list(self, prefix: str = "") -> list[str]:
        validate_prefix(prefix)
        # List the deepest folder the prefix names, then filter: a prefix may end mid-name.
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        keys = []
        for found in self._fs.find(str(base)):
            key = Path(found).relative_to(self.root).as_posix()
            if key.startswith(prefix) and not Path(key).name.startswith(".tmp-"):
                keys.append(key)
        return sorted(keys)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        self._publish(key, Path(tmp.name))

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{uuid.uuid4().hex}"
        self._fs.copy(str(local_path), str(tmp))
        self._publish(key, tmp)

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Stream a large file into `key`; it appears whole when the block ends, or not at all."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            with tmp.open("wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._publish(key, tmp)

    def _publish(self, key: str, tmp: Path) -> None:
        """Move a finished temp file into place: create-only for immutable keys."""
        path = self._path(key)
        try:
            if not is_immutable(key):
                os.replace(tmp, path)
                return
            try:
                # link() fails when the target exists: create-only without a race.
                os.link(tmp, path)
            except FileExistsError:
                if _file_digest(tmp) != _file_digest(path):
                    raise LakeImmutableError(
                        f"lake key {key!r} already exists with different content; bronze files are immutable: "
                        "write the new data under a new key"
                    ) from None
        finally:
            tmp.unlink(missing_ok=True)
