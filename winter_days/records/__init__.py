"""Record schemas, version 2.0.0, of the three flows.

This module is the contract between the generators, the sales export and the SQL models:
extend it, never rename a field. Each flow has an Arrow schema (the shape written to the
lake) and a validator that names the record and the field that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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

# -- plausibility bounds: what a valid record can hold -----------------------------------
# Money: at most what BigQuery's NUMERIC(18, 2) holds (16 integer digits, the ML step's
# cast) and, well inside that, what a real record holds. One sale of a shop is at most
# a million dollars; a startup's funding or valuation at most ten trillion (no company has
# been worth half of that).
NUMERIC_18_2_MAX = 9_999_999_999_999_999.99
MAX_SALE_USD = 1_000_000.0
MAX_QUANTITY = 10_000
MAX_STARTUP_USD = 10_000_000_000_000.0
MAX_EMPLOYEES = 10_000_000
FOUNDED_YEARS = (1800, 2100)
# Timestamps: BigQuery's TIMESTAMP holds years 0001-9999, and nothing this platform records
# happened before 2000 (the web shop, its click events and the startup registry are all
# younger): an earlier instant is a misread value, such as a small number taken for epoch
# seconds (3.5 -> 1970-01-01T00:00:03.5). Nor can a record describe a moment after it was
# loaded; a day of tolerance covers clocks that are off and local times stored as UTC
# (UTC+14 is the furthest zone). The load time is the clickstream record's own
# load_timestamp, the sales export's exported_at, and the load date of a startup file.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
LOAD_TIME_TOLERANCE = timedelta(days=1)
# A record is at most this many characters of JSON (the generators write about 400); a
# longer line is quarantined unparsed, with only its first QUARANTINED_LINE_CHARS kept.
MAX_LINE_CHARS = 65_536
QUARANTINED_LINE_CHARS = 4_096


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
# raw_document, so staging can quarantine the row with its reason and payload. Text that
# is not valid Unicode (a lone surrogate) is written with U+FFFD in its place, which the
# contract's text rule then rejects. The customer's name leaves the document store only as
# its keyed pseudonym (customer_name_pseudonym, also in raw_document): customer_name is
# null in every file written since (older files hold the name, which staging never reads
# past bronze).
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
        pa.field("customer_name_pseudonym", pa.string()),
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

# -- the rules ---------------------------------------------------------------------------
# One list per flow, in the order staging applies them: the first rule a record breaks is
# its quarantine reason. They are written once, here. records/checks.py applies them in
# Python; records/sql.py renders them as the staging models' SQL
# (dataform/includes/contract.js, generated); the sales export types documents by the same
# lists. The reasons read: "missing required field: X", "wrong type: X = v is not an
# integer", "invalid text: X holds ...", "invalid value: X = v", "out of range: X = v
# (...)", "unparseable timestamp: X = v", "implausible timestamp: X = v (...)".

TEXT, INTEGER, NUMBER, BOOLEAN, TIMESTAMP = "text", "integer", "number", "boolean", "timestamp"
# Text is valid when it holds no control character and no U+FFFD, the character both
# engines put where bytes were not UTF-8 (and the export where a string held a lone
# surrogate): such text was damaged on its way and is quarantined, never stored.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f]"
REPLACEMENT_CHARACTER = "\ufffd"
# ISO-8601 as the writers of 2.0.0 records write it: date, T, time to the second with an
# optional fraction of up to 6 digits, Z or an offset. Both engines and Python read exactly
# these texts the same way.
ISO_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
INTEGER_TEXT = r"^-?[0-9]+$"
NUMBER_TEXT = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
INT64_RANGE = (-(2**63), 2**63 - 1)
# What BigQuery's TRIM removes (Unicode's White_Space): an id of these alone is missing.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)


@dataclass(frozen=True)
class FieldRule:
    """What one field of a record must hold."""

    name: str
    kind: str  # TEXT, INTEGER, NUMBER, BOOLEAN or TIMESTAMP
    required: bool = True
    non_blank: bool = False  # white space alone counts as missing (ids)
    choices: tuple[str, ...] = ()
    low: float | None = None
    low_open: bool = False  # low < value rather than low <= value
    high: float | None = None
    pattern: str = ""  # a regular expression the whole text matches (Python's and RE2 alike)
    pattern_means: str = ""  # what the pattern stands for; the value itself is never shown
    until_load: bool = False  # a timestamp no later than the record's load time + tolerance
    pseudonymised: bool = False  # stored only as its keyed pseudonym: no text rule applies

    def range_text(self) -> str:
        """The allowed range, for a reason: '0 < value <= 1000000'."""
        low = "" if self.low is None else f"{_number(self.low)} {'<' if self.low_open else '<='} "
        high = "" if self.high is None else f" <= {_number(self.high)}"
        return f"{low}value{high}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class FlowContract:
    """The rules of one flow. `reading` is how a field's value is read: 'json_text' for the
    JSON Lines flows (as BigQuery's JSON_VALUE reads it: a scalar's text, then converted to
    the field's kind), 'native' for sales documents (typed by the store; the export keeps a
    value only when it has the field's type)."""

    flow: str
    key: str
    reading: str
    rules: tuple[FieldRule, ...]
    load_time: str  # what the record's load time is, for until_load timestamps

    def rule(self, name: str) -> FieldRule:
        return next(r for r in self.rules if r.name == name)


_SHA256: dict[str, Any] = dict(pattern=SHA256_HEX.pattern[1:-1], pattern_means="a SHA-256 hex digest")

SALES_CONTRACT = FlowContract(
    flow="sales",
    key="sale_id",
    reading="native",
    load_time="exported_at, when the export wrote the row",
    rules=(
        FieldRule("sale_id", TEXT, non_blank=True),
        FieldRule("customer_id", TEXT, non_blank=True),
        FieldRule("customer_name", TEXT, pseudonymised=True),
        FieldRule("region", TEXT, choices=REGIONS),
        FieldRule("product_id", TEXT),
        FieldRule("product_category", TEXT, choices=PRODUCT_CATEGORIES),
        FieldRule("quantity", INTEGER, low=1, high=MAX_QUANTITY),
        FieldRule("unit_price", NUMBER, low=0, low_open=True, high=MAX_SALE_USD),
        FieldRule("total_amount", NUMBER, low=0, low_open=True, high=MAX_SALE_USD),
        FieldRule("currency", TEXT, choices=CURRENCIES),
        FieldRule("status", TEXT, choices=SALE_STATUSES),
        FieldRule("payment_method", TEXT, choices=PAYMENT_METHODS),
        FieldRule("contact_email_hashed", TEXT, **_SHA256),
        FieldRule("credit_card_last4", TEXT, required=False, pattern="[0-9]{4}", pattern_means="4 digits"),
        FieldRule("sale_timestamp", TIMESTAMP, until_load=True),
        FieldRule("schema_version", TEXT),
    ),
)

CLICKSTREAM_CONTRACT = FlowContract(
    flow="clickstream",
    key="event_id",
    reading="json_text",
    load_time="the record's load_timestamp",
    rules=(
        FieldRule("event_id", TEXT, non_blank=True),
        FieldRule("session_id", TEXT),
        FieldRule("user_id", TEXT, required=False),
        FieldRule("event_type", TEXT, choices=EVENT_TYPES),
        FieldRule("page_url", TEXT),
        FieldRule("referrer_url", TEXT, required=False),
        FieldRule("referrer_domain", TEXT, required=False),
        FieldRule("device_type", TEXT),
        FieldRule("device_type_category", TEXT, choices=DEVICE_TYPE_CATEGORIES),
        FieldRule("event_timestamp", TIMESTAMP, until_load=True),
        FieldRule("is_bounce", BOOLEAN),
        FieldRule("load_timestamp", TIMESTAMP),
        FieldRule("schema_version", TEXT),
    ),
)

STARTUPS_CONTRACT = FlowContract(
    flow="startups",
    key="startup_id",
    reading="json_text",
    load_time="the end of the load date of the record's file (load_date=YYYY-MM-DD), else when staging read it",
    rules=(
        FieldRule("startup_id", TEXT, non_blank=True),
        FieldRule("name", TEXT),
        FieldRule("sector", TEXT, choices=SECTORS),
        FieldRule("country", TEXT),
        FieldRule("founded_year", INTEGER, low=FOUNDED_YEARS[0], high=FOUNDED_YEARS[1]),
        FieldRule("funding_stage", TEXT, choices=FUNDING_STAGES),
        FieldRule("funding_stage_score", INTEGER, low=1, high=len(FUNDING_STAGES)),
        FieldRule("total_funding_usd", NUMBER, low=0, high=MAX_STARTUP_USD),
        FieldRule("valuation_usd", NUMBER, low=0, high=MAX_STARTUP_USD),
        FieldRule("valuation_bucket", TEXT, choices=VALUATION_BUCKETS),
        FieldRule("employee_count", INTEGER, low=0, high=MAX_EMPLOYEES),
        FieldRule("contact_email_cleaned", TEXT, **_SHA256),
        FieldRule("is_active", BOOLEAN),
        FieldRule("updated_at", TIMESTAMP, until_load=True),
        FieldRule("load_type", TEXT, choices=LOAD_TYPES),
        FieldRule("schema_version", TEXT),
    ),
)

CONTRACTS = {c.flow: c for c in (SALES_CONTRACT, CLICKSTREAM_CONTRACT, STARTUPS_CONTRACT)}
# The card rule of sales, the one rule across fields.
CARD_RULE_REASON = "invalid value: credit_card_last4 must be set exactly when payment_method is a card"

# Fields that may be null; every other field is required.
NULLABLE = {flow: {r.name for r in c.rules if not r.required} for flow, c in CONTRACTS.items()}

SCHEMAS = {"sales": SALES_DOCUMENT_SCHEMA, "clickstream": CLICKSTREAM_SCHEMA, "startups": STARTUP_SCHEMA}
FLOWS = tuple(SCHEMAS)
assert all(tuple(r.name for r in CONTRACTS[f].rules) == tuple(SCHEMAS[f].names) for f in FLOWS)
