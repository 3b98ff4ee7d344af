"""Constants and small builders shared by the orchestrator's unit tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from support.sales_documents import sale_document
from winter_days.orchestrator.pipeline import RunContext
from winter_days.records import SALES_COLLECTION
from winter_days.stores import SqliteDocumentStore

TOKEN = "s3cret-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sale(i: int, day: int = 1) -> dict:
    """A valid 2.0.0 sales document sold on 2026-03-<day>."""
    return sale_document(i, (datetime(2026, 3, day, tzinfo=UTC) + timedelta(minutes=i)).isoformat())


def put_sales(settings, ids) -> None:
    store = SqliteDocumentStore(settings.document_store_path)
    store.put_many(SALES_COLLECTION, ((f"d{i}", sale(i)) for i in ids))
    store.close()


class Gate:
    """A step that holds the run open until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, context: RunContext) -> dict:
        self.entered.set()
        if not self.release.wait(30):
            raise RuntimeError("gate never released")
        return {"held": True}
