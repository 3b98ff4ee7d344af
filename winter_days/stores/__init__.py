"""Storage ports (Lake, DocumentStore) and the one place a profile picks their adapters."""

from __future__ import annotations

from winter_days.config import ConfigError, Settings
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
    "open_document_store",
    "open_lake",
    "validate_key",
]


def open_lake(settings: Settings) -> Lake:
    """The lake the settings name (a local folder for file:// URIs)."""
    if settings.lake_uri.startswith("file://"):
        return LocalLake(settings.lake_root)
    raise ConfigError(
        f"setting lake_uri: {settings.lake_uri!r} needs the GCS lake adapter, which this installation does not have"
    )


def open_document_store(settings: Settings) -> DocumentStore:
    """The sales document store of the settings' profile."""
    if settings.profile == "local":
        return SqliteDocumentStore(settings.document_store_path)
    raise ConfigError(
        f"setting profile: the {settings.profile} profile's document store (Firestore) is not available in this installation"
    )
