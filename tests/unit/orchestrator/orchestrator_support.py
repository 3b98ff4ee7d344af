"""Constants and small builders shared by the orchestrator's unit tests."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from winter_days.orchestrator.pipeline import RunContext
from winter_days.records import SALES_COLLECTION
from winter_days.stores import SqliteDocumentStore

TOKEN = "s3cret-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sale(i: int, day: int = 1) -> dict:
    """A valid 2.0.0 sales document."""
    return {
        "sale_id": f"s{i:05}",
        "customer_id": f"c{i % 7}",
        "customer_name": "Grace Hopper",
        "region": "North",
        "product_id": "p1",
        "product_category": "Books",
        "quantity": 2,
        "unit_price": 5.0,
        "total_amount": 10.0,
        "currency": "USD",
        "status": "completed",
        "payment_method": "paypal",
        "contact_email_hashed": "0" * 64,
        "credit_card_last4": None,
        "sale_timestamp": (datetime(2026, 3, day, tzinfo=timezone.utc) + timedelta(minutes=i)).isoformat(),
        "schema_version": "2.0.0",
    }


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
