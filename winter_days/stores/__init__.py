"""Storage ports: the Lake (bronze files, run artefacts, the model registry) and the sales
DocumentStore; local adapters here, Cloud Storage and Firestore in `gcs.py` and `firestore.py`
(the platform module picks them per profile)."""

from __future__ import annotations

from winter_days.stores.documents import Change, DocumentStore, DocumentStoreError, SqliteDocumentStore
from winter_days.stores.lake import (
    Lake,
    LakeError,
    LakeImmutableError,
    LakeKeyError,
    LakeNotFound,
    LocalLake,
    validate_key,
)

__all__ = [
    "Change",
    "DocumentStore",
    "DocumentStoreError",
    "Lake",
    "LakeError",
    "LakeImmutableError",
    "LakeKeyError",
    "LakeNotFound",
    "LocalLake",
    "SqliteDocumentStore",
    "validate_key",
]
