"""A valid 2.0.0 sales document, for the tests of everything that reads the sales collection."""

from __future__ import annotations


def sale_document(i: int, ts, **extra) -> dict:
    """Sale number `i` with `sale_timestamp` = ts (any stored form); `extra` overrides any field."""
    doc = {
        "sale_id": f"s{i:05}",
        "customer_id": f"c{i % 7}",
        "customer_name": "Ada Lovelace",
        "region": "North",
        "product_id": "p1",
        "product_category": "Books",
        "quantity": 2,
        "unit_price": 5,
        "total_amount": 10.0,
        "currency": "USD",
        "status": "completed",
        "payment_method": "paypal",
        "contact_email_hashed": "0" * 64,
        "credit_card_last4": None,
        "sale_timestamp": ts,
        "schema_version": "2.0.0",
    }
    doc.update(extra)
    return doc
