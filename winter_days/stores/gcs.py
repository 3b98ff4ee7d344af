"""The lake in a Cloud Storage bucket (gcp profile): the same contract as the local lake.

Keys map to object names under an optional prefix (`gs://BUCKET/PREFIX/KEY`). An object
appears whole when its upload finishes, so writes are atomic. Keys under the immutable
areas are written create-only, with the generation precondition `ifGenerationMatch=0`:
when the object exists already (412), its content is compared: the same bytes are a no-op,
different bytes a LakeImmutableError. Content is compared by size and MD5 (CRC32C for
composite objects, which have no MD5), as Cloud Storage reports them.

A streamed write (`writer`) goes straight to the bucket in a resumable upload, never through
a local file (on Cloud Run the local disk is memory); the object appears when the upload is
finalised at the end of the block, and a block that raises cancels the upload. A streamed
write to an immutable key that exists already only fingerprints what it is given.

The SDK is imported lazily: it lives behind the `[gcp]` extra.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlparse

from winter_days.stores.lake import (
    LakeError,
    LakeImmutableError,
    LakeNotFound,
    is_immutable,
    validate_key,
    validate_prefix,
)

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Bucket, Client

    from winter_days.config import Settings

_READ_BLOCK = 1 << 20
_WRITE_CHUNK = 16 << 20  # bytes held in memory between the resumable upload's requests


def _storage_module():
    try:
        from google.cloud import storage
    except ImportError as err:
        raise LakeError("the gcp profile's lake needs google-cloud-storage: install winter-days[gcp]") from err
    return storage


class _Fingerprint:
    """Size, MD5 and CRC32C of content, in Cloud Storage's base64 form."""

    def __init__(self, handle: IO[bytes] | None = None):
        import google_crc32c

        self._md5 = hashlib.md5(usedforsecurity=False)
        self._crc = google_crc32c.Checksum()
        self.size = 0
        if handle is not None:
            for block in iter(lambda: handle.read(_READ_BLOCK), b""):
                self.update(block)

    def update(self, block: bytes) -> None:
        self._md5.update(block)
        self._crc.update(block)
        self.size += len(block)

    def matches(self, blob: Blob) -> bool:
        if blob.size is None or int(blob.size) != self.size:
            return False
        if blob.md5_hash:
            return bool(blob.md5_hash == base64.b64encode(self._md5.digest()).decode())
        return bool(blob.crc32c == base64.b64encode(self._crc.digest()).decode())


class _UploadStream(io.BufferedIOBase):
    """What `GcsLake.writer` yields: each write goes to the resumable upload (none when the
    immutable object exists already) and into the content's fingerprint."""

    def __init__(self, upload: BinaryIO | None):
        super().__init__()
        self._upload = upload
        self.fingerprint = _Fingerprint()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        block = bytes(data)
        if self._upload is not None:
            self._upload.write(block)
        self.fingerprint.update(block)
        return len(block)

    def tell(self) -> int:
        return self.fingerprint.size

    def flush(self) -> None:
        """Nothing to do: the upload sends whole chunks, and the rest when the block ends."""


class GcsLake:
    """A lake in a Cloud Storage bucket, under an optional prefix."""

    def __init__(self, client: Client, bucket: str, prefix: str = ""):
        self._client = client
        self._bucket: Bucket = client.bucket(bucket)
        self.bucket_name = bucket
        prefix = prefix.strip("/")
        if prefix:
            validate_key(prefix)
        self._prefix = f"{prefix}/" if prefix else ""
        self.root_uri = f"gs://{bucket}" + (f"/{prefix}" if prefix else "")

    @classmethod
    def from_settings(cls, settings: Settings) -> GcsLake:
        """The lake `lake_uri` (gs://BUCKET[/PREFIX]) names; STORAGE_EMULATOR_HOST, when set, points it at an emulator."""
        parsed = urlparse(settings.lake_uri)
        if parsed.scheme != "gs" or not parsed.netloc:
            raise LakeError(f"setting lake_uri: {settings.lake_uri!r} is not a gs://BUCKET[/PREFIX] URI")
        from winter_days.gcp_credentials import client_credentials

        credentials = client_credentials("the lake bucket (Cloud Storage)", emulator_variable="STORAGE_EMULATOR_HOST")
        client = _storage_module().Client(project=settings.gcp.project_id or None, credentials=credentials)
        return cls(client, parsed.netloc, parsed.path)

    def _name(self, key: str) -> str:
        return self._prefix + validate_key(key)

    def uri(self, key: str) -> str:
        return f"gs://{self.bucket_name}/{self._name(key)}"

    def local_path(self, key: str) -> Path | None:
        validate_key(key)
        return None

    def exists(self, key: str) -> bool:
        return self._bucket.blob(self._name(key)).exists()

    def get(self, key: str) -> bytes:
        from google.api_core.exceptions import NotFound

        try:
            return self._bucket.blob(self._name(key)).download_as_bytes()
        except NotFound:
            raise LakeNotFound(f"lake key {key!r}: no such object under {self.root_uri}") from None

    def open(self, key: str) -> BinaryIO:
        """A seekable reader pinned to the object's current generation."""
        blob = self._bucket.get_blob(self._name(key))
        if blob is None:
            raise LakeNotFound(f"lake key {key!r}: no such object under {self.root_uri}")
        return blob.open("rb")

    def list(self, prefix: str = "") -> list[str]:
        validate_prefix(prefix)
        start = len(self._prefix)
        names = (blob.name for blob in self._client.list_blobs(self._bucket, prefix=self._prefix + prefix))
        return sorted(name[start:] for name in names if not name.endswith("/"))

    def put(self, key: str, data: bytes) -> None:
        self._upload(key, io.BytesIO(data))

    def put_file(self, key: str, local_path: str | os.PathLike[str]) -> None:
        name = self._name(key)
        with open(local_path, "rb") as handle:
            self._upload(key, handle, name)

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Stream a large file into `key` in a resumable upload; published when the block ends, or not at all."""
        from google.api_core.exceptions import PreconditionFailed
        from google.cloud.storage.retry import DEFAULT_RETRY

        name = self._name(key)
        immutable = is_immutable(key)
        existing = self._bucket.get_blob(name) if immutable else None
        upload = None
        if existing is None:
            # Create-only for immutable keys; a conditional upload is safe to retry either way.
            condition = {"if_generation_match": 0} if immutable else {}
            upload = self._bucket.blob(name).open(
                "wb", chunk_size=_WRITE_CHUNK, ignore_flush=True, retry=DEFAULT_RETRY, **condition
            )
        stream = _UploadStream(upload)
        try:
            yield cast(BinaryIO, stream)
            if upload is not None:
                upload.close()
        except BaseException as err:
            if upload is not None and not upload.closed:
                upload.terminate()
            if isinstance(err, PreconditionFailed):
                raise LakeError(
                    f"lake key {key!r}: another writer created it while this one was writing; retry "
                    "(the same content is then a no-op)"
                ) from None
            raise
        if existing is not None and not stream.fingerprint.matches(existing):
            raise LakeImmutableError(
                f"lake key {key!r} already exists with different content; bronze files are immutable: "
                "write the new data under a new key"
            )

    def _upload(self, key: str, handle: IO[bytes], name: str | None = None) -> None:
        from google.api_core.exceptions import PreconditionFailed
        from google.cloud.storage.retry import DEFAULT_RETRY

        name = name or self._name(key)
        size = handle.seek(0, os.SEEK_END)
        handle.seek(0)
        blob = self._bucket.blob(name)
        if not is_immutable(key):
            # Rewriting the same bytes is harmless, so an unconditional upload may be retried.
            blob.upload_from_file(handle, size=size, retry=DEFAULT_RETRY)
            return
        existing = self._bucket.get_blob(name)
        if existing is None:
            try:
                # Retried by the client's default policy: a create-only write is idempotent.
                blob.upload_from_file(handle, size=size, if_generation_match=0)
                return
            except PreconditionFailed:
                existing = self._bucket.get_blob(name)
            if existing is None:
                raise LakeError(f"lake key {key!r}: the object was deleted while this write was being refused; retry")
        handle.seek(0)
        if not _Fingerprint(handle).matches(existing):
            raise LakeImmutableError(
                f"lake key {key!r} already exists with different content; bronze files are immutable: "
                "write the new data under a new key"
            )
