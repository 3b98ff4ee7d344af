"""Record schemas, version 2.0.0, of the three flows.

This module is the contract between the generators, the sales export and the SQL models:
extend it, never rename a field. Each flow has an Arrow schema (the shape written to the
lake) and a validator that names the record and the field that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

import pyarrow as pa

SCHEMA_VERSION = "2.0.0"

SALES_COLLECTION = "winter_sales"

REGIONS = ("North", "South", "East", "West")
PRODUCT_CATEGORIES = ("Electronics", "Home", "Fashion", "Sports", "Books", "Beauty", "Toys", "Grocery")
SALE_STATUSES = ("completed", "pending", "refunded", "cancelled")
PAYMENT_METHODS = ("credit_card", "debit_card", "paypal", "bank_transfer", "gift_card")
CARD_PAYMENT_METHODS = ("credit_card", "debit_card")
CURRENCIES = ("USD",)

EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "purchase")
DEVICE_TYPE_CATEGORIES = ("desktop", "mobile", "tablet")

SECTORS = ("fintech", "healthtech", "edtech", "climate", "ai", "ecommerce", "logistics", "biotech")
FUNDING_STAGES = ("pre_seed", "seed", "series_a", "series_b", "series_c", "growth")
# funding_stage_score is the stage's position, 1 (pre_seed) .. 6 (growth).
FUNDING_STAGE_SCORES = {stage: i + 1 for i, stage in enumerate(FUNDING_STAGES)}
VALUATION_BUCKETS = ("under_10m", "10m_100m", "100m_1b", "over_1b")
LOAD_TYPES = ("full", "delta")

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
LAST4 = re.compile(r"^[0-9]{4}$")


def valuation_bucket(valuation_usd: float) -> str:
    """The bucket a valuation falls in; the SQL models and generators agree on these edges."""
    if valuation_usd < 10e6:
        return "under_10m"
    if valuation_usd < 100e6:
        return "10m_100m"
    if valuation_usd < 1e9:
        return "100m_1b"
    return "over_1b"


# -- Arrow schemas: the shapes written to the lake ------------------------------------

SALES_DOCUMENT_SCHEMA = pa.schema(
    [
        ("sale_id", pa.string()),
        ("customer_id", pa.string()),
        ("customer_name", pa.string()),
        ("region", pa.string()),
        ("product_id", pa.string()),
        ("product_category", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", pa.float64()),
        ("total_amount", pa.float64()),
        ("currency", pa.string()),
        ("status", pa.string()),
        ("payment_method", pa.string()),
        ("contact_email_hashed", pa.string()),
        ("credit_card_last4", pa.string()),
        ("sale_timestamp", pa.string()),
        ("schema_version", pa.string()),
    ]
)

# The bronze Parquet the export writes: the document fields, with sale_timestamp parsed to
# UTC. Nothing is dropped: a timestamp the parser cannot read leaves sale_timestamp null and
# keeps its text in sale_timestamp_raw; a field whose value does not fit its type is null,
# named in invalid_fields (comma-separated), and the whole document is kept as JSON in
# raw_document, so staging can quarantine the row with its reason and payload.
SALES_BRONZE_SCHEMA = pa.schema(
    [f for f in SALES_DOCUMENT_SCHEMA if f.name != "sale_timestamp"]
    + [
        pa.field("sale_timestamp", pa.timestamp("us", tz="UTC")),
        pa.field("sale_timestamp_raw", pa.string()),
        pa.field("sale_timestamp_form", pa.string()),
        pa.field("invalid_fields", pa.string()),
        pa.field("raw_document", pa.string()),
        pa.field("document_id", pa.string()),
        pa.field("document_update_seq", pa.int64()),
        pa.field("exported_at", pa.timestamp("us", tz="UTC")),
    ]
)

CLICKSTREAM_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("session_id", pa.string()),
        ("user_id", pa.string()),
        ("event_type", pa.string()),
        ("page_url", pa.string()),
        ("referrer_url", pa.string()),
        ("referrer_domain", pa.string()),
        ("device_type", pa.string()),
        ("device_type_category", pa.string()),
        ("event_timestamp", pa.string()),
        ("is_bounce", pa.bool_()),
        ("load_timestamp", pa.string()),
        ("schema_version", pa.string()),
    ]
)

STARTUP_SCHEMA = pa.schema(
    [
        ("startup_id", pa.string()),
        ("name", pa.string()),
        ("sector", pa.string()),
        ("country", pa.string()),
        ("founded_year", pa.int64()),
        ("funding_stage", pa.string()),
        ("funding_stage_score", pa.int64()),
        ("total_funding_usd", pa.float64()),
        ("valuation_usd", pa.float64()),
        ("valuation_bucket", pa.string()),
        ("employee_count", pa.int64()),
        ("contact_email_cleaned", pa.string()),
        ("is_active", pa.bool_()),
        ("updated_at", pa.string()),
        ("load_type", pa.string()),
        ("schema_version", pa.string()),
    ]
)

# Fields that may be null; every other field is required.
NULLABLE = {
    "sales": {"credit_card_last4"},
    "clickstream": {"user_id", "referrer_url", "referrer_domain"},
    "startups": set(),
}

SCHEMAS = {"sales": SALES_DOCUMENT_SCHEMA, "clickstream": CLICKSTREAM_SCHEMA, "startups": STARTUP_SCHEMA}
FLOWS = tuple(SCHEMAS)

# -- validation -------------------------------------------------------------------------


class RecordError(ValueError):
    """A record that breaks the 2.0.0 contract; the message names the record and field."""


@dataclass(frozen=True)
class _Rule:
    field: str
    check: Callable[[Any], bool]
    expected: str


def _is_iso_timestamp(value: Any) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _rules(flow: str) -> list[_Rule]:
    def choice(field: str, options: tuple[str, ...]) -> _Rule:
        return _Rule(field, lambda v: v in options, f"one of {', '.join(options)}")

    if flow == "sales":
        return [
            choice("region", REGIONS),
            choice("product_category", PRODUCT_CATEGORIES),
            choice("status", SALE_STATUSES),
            choice("payment_method", PAYMENT_METHODS),
            choice("currency", CURRENCIES),
            _Rule("quantity", lambda v: v >= 1, "a positive integer"),
            _Rule("unit_price", lambda v: v > 0, "a positive price"),
            _Rule("total_amount", lambda v: v > 0, "a positive amount"),
            _Rule("contact_email_hashed", lambda v: bool(SHA256_HEX.match(v)), "a SHA-256 hex digest"),
            _Rule("credit_card_last4", lambda v: v is None or bool(LAST4.match(v)), "null or 4 digits"),
            _Rule("sale_timestamp", _is_iso_timestamp, "an ISO-8601 timestamp string"),
        ]
    if flow == "clickstream":
        return [
            choice("event_type", EVENT_TYPES),
            choice("device_type_category", DEVICE_TYPE_CATEGORIES),
            _Rule("event_timestamp", _is_iso_timestamp, "an ISO-8601 timestamp string"),
            _Rule("load_timestamp", _is_iso_timestamp, "an ISO-8601 timestamp string"),
        ]
    return [
        choice("sector", SECTORS),
        choice("funding_stage", FUNDING_STAGES),
        choice("valuation_bucket", VALUATION_BUCKETS),
        choice("load_type", LOAD_TYPES),
        _Rule("funding_stage_score", lambda v: 1 <= v <= len(FUNDING_STAGES), "1..6"),
        _Rule("contact_email_cleaned", lambda v: bool(SHA256_HEX.match(v)), "a SHA-256 hex digest"),
        _Rule("updated_at", _is_iso_timestamp, "an ISO-8601 timestamp string"),
        _Rule("employee_count", lambda v: v >= 0, "a non-negative integer"),
    ]


_PY_TYPES = {
    pa.string(): (str,),
    pa.int64(): (int,),
    pa.float64(): (int, float),
    pa.bool_(): (bool,),
}


def record_errors(flow: str, record: Mapping[str, Any]) -> list[str]:
    """Every way `record` breaks the 2.0.0 contract of `flow` (empty when it is valid)."""
    if flow not in SCHEMAS:
        raise ValueError(f"unknown flow {flow!r}: expected one of {', '.join(FLOWS)}")
    schema = SCHEMAS[flow]
    errors: list[str] = []
    unknown = sorted(set(record) - set(schema.names))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}")
    typed_ok: set[str] = set()
    for field in schema:
        value = record.get(field.name)
        if value is None:
            if field.name not in NULLABLE[flow]:
                errors.append(f"{field.name}: required, missing or null")
            continue
        allowed = _PY_TYPES[field.type]
        # bool is an int in Python; a flag is never a number and a number never a flag.
        if isinstance(value, bool) != (field.type == pa.bool_()) or not isinstance(value, allowed):
            errors.append(f"{field.name}: expected {field.type}, got {type(value).__name__} {value!r}")
            continue
        typed_ok.add(field.name)
    if record.get("schema_version") not in (None, SCHEMA_VERSION):
        errors.append(f"schema_version: expected {SCHEMA_VERSION}, got {record.get('schema_version')!r}")
    for rule in _rules(flow):
        if rule.field in typed_ok and not rule.check(record[rule.field]):
            errors.append(f"{rule.field}: expected {rule.expected}, got {record[rule.field]!r}")
    if flow == "sales" and "payment_method" in typed_ok:
        card = record["payment_method"] in CARD_PAYMENT_METHODS
        if card != (record.get("credit_card_last4") is not None):
            errors.append("credit_card_last4: set exactly when payment_method is a card")
    return errors


def validate_record(flow: str, record: Mapping[str, Any], where: str = "") -> None:
    """Raise RecordError naming the record (by its id and `where`) when it is invalid."""
    errors = record_errors(flow, record)
    if errors:
        key = {"sales": "sale_id", "clickstream": "event_id", "startups": "startup_id"}[flow]
        label = f"{flow} record {record.get(key)!r}" + (f" ({where})" if where else "")
        raise RecordError(f"{label}: " + "; ".join(errors))
