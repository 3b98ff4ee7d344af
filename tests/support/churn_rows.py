"""Warehouses for the churn tests: hand-written rows, and a world drawn from the generators."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

SALES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("sale_id", pa.string()),
        ("sale_timestamp", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("total_amount", pa.float64()),
        ("payment_method", pa.string()),
        ("region", pa.string()),
        ("document_update_seq", pa.int64()),
        ("known_from", pa.timestamp("us", tz="UTC")),
    ]
)
CLICK_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("event_timestamp", pa.timestamp("us", tz="UTC")),
        ("event_type", pa.string()),
        ("is_bounce", pa.bool_()),
        ("session_id", pa.string()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sale(
    customer: str,
    when: str,
    status: str = "completed",
    amount: float = 10.0,
    payment: str = "credit_card",
    region: str = "North",
    *,
    sale_id: str | None = None,
    seq: int = 1,
    known: str | None = None,
) -> dict:
    """A version of a sale; known from its own time unless `known` says when it arrived."""
    return {
        "customer_id": customer,
        "sale_id": sale_id or f"{customer}-{when}-{status}",
        "sale_timestamp": utc(when),
        "status": status,
        "total_amount": amount,
        "payment_method": payment,
        "region": region,
        "document_update_seq": seq,
        "known_from": utc(known or when),
    }


def click(
    user: str,
    when: str,
    event_type: str = "page_view",
    bounce: bool = False,
    session: str = "S1",
    loaded: str | None = None,
) -> dict:
    """A click event, loaded at the end of its day unless `loaded` says otherwise."""
    return {
        "user_id": user,
        "event_timestamp": utc(when),
        "event_type": event_type,
        "is_bounce": bounce,
        "session_id": session,
        "loaded_at": utc(loaded or when[:10] + "T23:59:59.999"),
    }


def write_warehouse(path: Path, sales: list[dict], clicks: list[dict] = ()) -> Path:
    """A DuckDB file holding the two input tables with exactly these rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS winter_days_warehouse")
        con.execute("CREATE SCHEMA IF NOT EXISTS winter_days_staging")
        con.register("s", pa.Table.from_pylist(list(sales), SALES_SCHEMA))
        con.register("c", pa.Table.from_pylist(list(clicks), CLICK_SCHEMA))
        con.execute("CREATE OR REPLACE TABLE winter_days_warehouse.fct_sales_status_history AS SELECT * FROM s")
        con.execute("CREATE OR REPLACE TABLE winter_days_staging.stg_click AS SELECT * FROM c")
    return path


SIM_FIRST_DAY = date(2026, 1, 1)
SIM_LAST_DAY = date(2026, 5, 31)
