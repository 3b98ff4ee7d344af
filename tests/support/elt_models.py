"""A tmp lake with hand-made bronze files, and the dataform/ repo run on it locally.

The models run exactly as in production: compiled by our SQLX compiler from the repo's
definitions and executed by the DuckDB executor over the lake. Tests read the published
warehouse read-only, as dashboards and the ML pipeline do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from support.pseudonym_keys import TEST_PSEUDONYMS
from winter_days.config import Settings
from winter_days.elt.backend import InvocationConfig, InvocationState, Target
from winter_days.elt.compilation_config import code_compilation_config
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, RunResult, open_session
from winter_days.elt.sqlx import compile_project
from winter_days.records import SALES_BRONZE_SCHEMA, SCHEMA_VERSION

DATAFORM_DIR = Path(__file__).resolve().parents[2] / "dataform"
# The vars the local profile compiles the repository with (the lake bucket and datasets).
LOCAL_VARS = code_compilation_config(Settings())["vars"]


def utc(text: str) -> datetime:
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def sale(sale_id: str, customer_id: str, when: str, *, seq: int, exported: str, **fields: Any) -> dict[str, Any]:
    """One bronze sales row (SALES_BRONZE_SCHEMA) with plausible defaults, the customer's
    name as the export writes it: its pseudonym only."""
    row: dict[str, Any] = {
        "sale_id": sale_id,
        "customer_id": customer_id,
        "customer_name": None,
        "customer_name_pseudonym": TEST_PSEUDONYMS.name(f"Name of {customer_id}"),
        "region": "North",
        "product_id": "P-1",
        "product_category": "Books",
        "quantity": 1,
        "unit_price": 10.0,
        "total_amount": 10.0,
        "currency": "USD",
        "status": "completed",
        "payment_method": "paypal",
        "contact_email_hashed": sha(f"{customer_id}@example.com"),
        "credit_card_last4": None,
        "schema_version": SCHEMA_VERSION,
        "sale_timestamp": utc(when) if when else None,
        "sale_timestamp_raw": None,
        "sale_timestamp_form": "iso8601",
        "invalid_fields": None,
        "raw_document": None,
        "document_id": f"doc-{sale_id}",
        "document_update_seq": seq,
        "exported_at": utc(exported),
    }
    row.update(fields)
    return row


def click(
    event_id: str, session_id: str, user_id: str | None, event_type: str, when: str, **fields: Any
) -> dict[str, Any]:
    """One clickstream record (CLICKSTREAM_SCHEMA) as the generator writes it."""
    row: dict[str, Any] = {
        "event_id": event_id,
        "session_id": session_id,
        "user_id": user_id,
        "event_type": event_type,
        "page_url": f"https://shop.example/{event_type}",
        "referrer_url": None,
        "referrer_domain": None,
        "device_type": "Chrome on Windows",
        "device_type_category": "desktop",
        "event_timestamp": when,
        "is_bounce": False,
        "load_timestamp": when[:10] + "T23:59:59.999Z",
        "schema_version": SCHEMA_VERSION,
    }
    row.update(fields)
    return row


def startup(startup_id: str, updated_at: str, load_type: str, **fields: Any) -> dict[str, Any]:
    """One startups record (STARTUP_SCHEMA) with plausible defaults."""
    row: dict[str, Any] = {
        "startup_id": startup_id,
        "name": f"Startup {startup_id}",
        "sector": "fintech",
        "country": "DE",
        "founded_year": 2019,
        "funding_stage": "seed",
        "funding_stage_score": 2,
        "total_funding_usd": 2_000_000.0,
        "valuation_usd": 8_000_000.0,
        "valuation_bucket": "under_10m",
        "employee_count": 12,
        "contact_email_cleaned": sha(f"founder@{startup_id}.example"),
        "is_active": True,
        "updated_at": updated_at,
        "load_type": load_type,
        "schema_version": SCHEMA_VERSION,
    }
    row.update(fields)
    return row


@dataclass
class LocalElt:
    """The lake, the published warehouse and the run loop of one test."""

    lake: Path
    warehouse: Path
    vars: dict[str, str] = field(default_factory=dict)

    def write_sales(self, key: str, rows: Iterable[dict[str, Any]]) -> None:
        path = self.lake / key
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(list(rows), schema=SALES_BRONZE_SCHEMA), path)

    def write_lines(self, key: str, records: Iterable[dict[str, Any] | str | bytes]) -> None:
        """A JSONL file; a str is written as the raw line, bytes as the raw bytes of one (to
        make bad lines)."""
        path = self.lake / key
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [r if isinstance(r, bytes) else (r if isinstance(r, str) else json.dumps(r)).encode() for r in records]
        path.write_bytes(b"".join(line + b"\n" for line in lines))

    def compile(self, **extra_vars: str) -> dict[str, Any]:
        return compile_project(DATAFORM_DIR, {**LOCAL_VARS, **self.vars, **extra_vars})

    def run(
        self, *tags: str, full_refresh: bool = False, compiled: dict[str, Any] | None = None, **extra_vars: str
    ) -> RunResult:
        """Compile the repo and run the actions with `tags` (all when none) on the lake."""
        config = InvocationConfig(
            included_tags=tuple(tags),
            transitive_dependencies_included=True,
            fully_refresh_incremental_tables_enabled=full_refresh,
        )
        graph = compiled if compiled is not None else self.compile(**extra_vars)
        return DuckDBExecutor(self.warehouse, self.lake).run(graph, config)

    def run_ok(self, *tags: str, **kwargs: Any) -> RunResult:
        result = self.run(*tags, **kwargs)
        failed = [
            (str(a.target), a.state.value, a.failure_reason, a.failing_rows_sample)
            for a in result.actions
            if a.state.value not in ("SUCCEEDED", "DISABLED")
        ]
        assert result.state is InvocationState.SUCCEEDED and result.published, failed
        return result

    def run_check(self, assertion: str) -> RunResult:
        """Run one assertion of the repo alone on the published warehouse."""
        target = Target("", "winter_days_assertions", assertion)
        return DuckDBExecutor(self.warehouse, self.lake).run(
            self.compile(), InvocationConfig(included_targets=(target,))
        )

    def tamper(self, sql: str) -> None:
        """Change the published warehouse behind the models' back (to make a check fail)."""
        con = open_session(self.warehouse)
        try:
            con.execute(sql)
        finally:
            con.close()

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query on the published warehouse, as dicts."""
        con = open_session(self.warehouse, read_only=True)
        try:
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, values, strict=False)) for values in cursor.fetchall()]
        finally:
            con.close()
