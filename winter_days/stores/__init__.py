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
    """The lake the settings name: a local folder for file://, a GCS bucket for gs://."""
    if settings.lake_uri.startswith("file://"):
        return LocalLake(settings.lake_root)
    if settings.lake_uri.startswith("gs://"):
        from winter_days.stores.gcs import GcsLake

        return GcsLake.from_settings(settings)
    raise ConfigError(f"setting lake_uri: {settings.lake_uri!r} has no lake adapter (file:// or gs://)")


def open_document_store(settings: Settings) -> DocumentStore:
    """The sales document store of the settings' profile: SQLite locally, Firestore on gcp."""
    if settings.profile == "local":
        return SqliteDocumentStore(settings.document_store_path)
    from winter_days.stores.firestore import FirestoreDocumentStore

    return FirestoreDocumentStore.from_settings(
        settings, database=settings.gcp_firestore_database, settle_seconds=settings.gcp_firestore_settle_seconds
    )
