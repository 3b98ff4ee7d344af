"""gs:// files for the BigQuery fake from a Cloud Storage emulator.

The fake reads external tables and gs:// loads from its `lake_root` folder, where
gs://<bucket>/<path> is <lake_root>/<path>. BigQuery reads the bucket itself; here the
objects of the named buckets are copied into the folder before each job that reads gs://
files runs (only those added or rewritten since the last copy, by generation), and files
whose objects were deleted are removed, so such a job sees the bucket as it is when the
job starts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


class GcsMirror:
    """Keeps `lake_root` equal to the objects of `buckets` on the emulator at `endpoint`."""

    def __init__(self, endpoint: str, lake_root: Path, buckets: tuple[str, ...]) -> None:
        self.endpoint, self.lake_root, self.buckets = endpoint, Path(lake_root), tuple(buckets)
        self._copied: dict[str, Any] = {}
        self._client: Any = None
        self._lock = threading.Lock()

    def _storage(self) -> Any:
        if self._client is None:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            self._client = storage.Client(
                project="bigquery-fake",
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint},
            )
        return self._client

    def __call__(self) -> None:
        with self._lock:
            seen = set()
            for bucket in self.buckets:
                for blob in self._storage().list_blobs(bucket):
                    if blob.name.endswith("/"):
                        continue
                    seen.add(blob.name)
                    if self._copied.get(blob.name) == blob.generation:
                        continue
                    path = self.lake_root / blob.name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    partial = path.with_name(f".tmp-{path.name}")
                    blob.download_to_filename(str(partial))
                    partial.replace(path)
                    self._copied[blob.name] = blob.generation
            for name in set(self._copied) - seen:
                (self.lake_root / name).unlink(missing_ok=True)
                del self._copied[name]
