"""Valid records of each flow and the ways a broken producer (or an attacker) mangles them,
for the fuzz tests: wrong types, missing and extra fields, nulls, huge strings, control
characters, bytes that are not UTF-8, deep nesting, NaN and infinities, extreme numbers and
dates, SQL-looking text, duplicate ids. Everything is drawn from a random.Random, so a
failing case is reproduced from its seed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from winter_days.records import (
    CONTRACTS,
    DEVICE_TYPE_CATEGORIES,
    EVENT_TYPES,
    FUNDING_STAGES,
    LOAD_TYPES,
    PAYMENT_METHODS,
    PRODUCT_CATEGORIES,
    REGIONS,
    SALE_STATUSES,
    SCHEMA_VERSION,
    SECTORS,
    VALUATION_BUCKETS,
)

HEX = "0123456789abcdef"
# Values any field may be given instead of its own.
ODD_VALUES: tuple[Any, ...] = (
    None,
    "",
    "   ",
    "\t",
    0,
    -1,
    1,
    1.5,
    -0.0,
    2**63,
    -(2**63) - 1,
    10**30,
    1e308,
    -1e308,
    1e-300,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    "true",
    "false",
    "yes",
    "1",
    "2.5",
    "NaN",
    "1e400",
    [],
    [1, 2],
    {},
    {"nested": {"deeper": [1, {"x": None}]}},
    "'; DROP TABLE winter_days_staging.stg_click; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM fct_sales;--",
    "a\x00b",
    "bell\x07",
    "line\nbreak",
    "tab\there",
    "del\x7f",
    "unit\x1fsep",
    "Zoë 😀 ünïcödé",
    "\ufffd",
    "\u200b",
    "x" * 5000,
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "1970-01-01T00:00:00Z",
    "-0001-05-01T10:00:00Z",
    "10000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T10:00:00+14:00",
    "2024-05-01 10:00:00",
    "2024-05-01T10:00:00.1234567Z",
)
DOMAIN = {
    "region": REGIONS,
    "product_category": PRODUCT_CATEGORIES,
    "status": SALE_STATUSES,
    "payment_method": PAYMENT_METHODS,
    "event_type": EVENT_TYPES,
    "device_type_category": DEVICE_TYPE_CATEGORIES,
    "sector": SECTORS,
    "funding_stage": FUNDING_STAGES,
    "valuation_bucket": VALUATION_BUCKETS,
    "load_type": LOAD_TYPES,
}


def _hex(rng: random.Random) -> str:
    return "".join(rng.choice(HEX) for _ in range(64))


def valid_click(rng: random.Random, i: int, day: str) -> dict[str, Any]:
    signed_in = rng.random() < 0.5
    return {
        "event_id": f"FZ-E{i:06d}",
        "session_id": f"FZ-S{i // 4:06d}",
        "user_id": f"CUST-{rng.randint(1, 300):06d}" if signed_in else None,
        "event_type": rng.choice(EVENT_TYPES),
        "page_url": f"https://shop.example/p/{rng.randint(1, 999)}",
        "referrer_url": None,
        "referrer_domain": rng.choice([None, "google.com", "bing.com"]),
        "device_type": "Firefox on Linux",
        "device_type_category": rng.choice(DEVICE_TYPE_CATEGORIES),
        "event_timestamp": f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.000Z",
        "is_bounce": rng.random() < 0.3,
        "load_timestamp": f"{day}T23:59:59.999Z",
        "schema_version": SCHEMA_VERSION,
    }


def valid_startup(rng: random.Random, i: int, day: str) -> dict[str, Any]:
    stage = rng.randrange(len(FUNDING_STAGES))
    valuation = float(rng.choice([5e6, 5e7, 5e8, 5e9]))
    return {
        "startup_id": f"FZ-ST{i:05d}",
        "name": f"Fuzz Startup {i}",
        "sector": rng.choice(SECTORS),
        "country": "DE",
        "founded_year": rng.randint(1990, 2025),
        "funding_stage": FUNDING_STAGES[stage],
        "funding_stage_score": stage + 1,
        "total_funding_usd": float(rng.randint(0, 10**8)),
        "valuation_usd": valuation,
        "valuation_bucket": VALUATION_BUCKETS[[5e6, 5e7, 5e8, 5e9].index(valuation)],
        "employee_count": rng.randint(0, 5000),
        "contact_email_cleaned": _hex(rng),
        "is_active": rng.random() < 0.9,
        "updated_at": f"{day}T{rng.randint(0, 23):02d}:00:00Z",
        "load_type": "delta",
        "schema_version": SCHEMA_VERSION,
    }


def valid_sale(rng: random.Random, i: int, day: str) -> dict[str, Any]:
    quantity = rng.randint(1, 4)
    price = round(rng.uniform(1, 500), 2)
    method = rng.choice(PAYMENT_METHODS)
    return {
        "sale_id": f"FZ-SALE-{i:06d}",
        "customer_id": f"FZ-CUST-{rng.randint(1, 300):06d}",  # apart from the world's customers
        "customer_name": "Fuzzy Customer",
        "region": rng.choice(REGIONS),
        "product_id": f"P-{rng.randint(1, 99):04d}",
        "product_category": rng.choice(PRODUCT_CATEGORIES),
        "quantity": quantity,
        "unit_price": price,
        "total_amount": round(price * quantity, 2),
        "currency": "USD",
        "status": rng.choice(SALE_STATUSES),
        "payment_method": method,
        "contact_email_hashed": _hex(rng),
        "credit_card_last4": f"{rng.randint(0, 9999):04d}" if method in ("credit_card", "debit_card") else None,
        "sale_timestamp": f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00+00:00",
        "schema_version": SCHEMA_VERSION,
    }


# Legacy and broken sale_timestamp values a document store may hold.
SALE_TIMESTAMPS: tuple[Any, ...] = (
    3.5,
    12345,
    "12345",
    0,
    -1,
    1772359200,
    1772359200000,
    1772359200000000,
    1772359200.5,
    10**20,
    1e300,
    "1e400",
    datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, tzinfo=UTC),
    "2026-03-01",
    "20260301",
    "Sun, 01 Mar 2026 10:30:00 +0000",
    "yesterday",
    "2026-03-01T10:00:00\ud800",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
)


def mutate_record(rng: random.Random, record: dict[str, Any], flow: str, ids: list[str]) -> dict[str, Any]:
    """One to three field mutations of a record (a copy); `ids` are earlier keys to repeat."""
    record = dict(record)
    names = [r.name for r in CONTRACTS[flow].rules]
    key = CONTRACTS[flow].key
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        name = rng.choice(names)
        if kind < 0.15:
            record.pop(name, None)
        elif kind < 0.22:
            record[f"extra_{rng.randint(0, 9)}"] = rng.choice(ODD_VALUES)
        elif kind < 0.30 and ids:
            record[key] = rng.choice(ids)
        elif kind < 0.40 and name in DOMAIN:
            record[name] = rng.choice(DOMAIN[name]) if rng.random() < 0.5 else rng.choice(DOMAIN[name]).upper()
        elif kind < 0.50 and flow == "sales" and rng.random() < 0.6:
            record["sale_timestamp"] = rng.choice(SALE_TIMESTAMPS)
        elif kind < 0.55:
            record[name] = "\ud800 lone" if flow == "sales" else "x" * rng.choice([10_000, 10_000, 10_000, 70_000])
        else:
            record[name] = rng.choice(ODD_VALUES)
    return record


def json_line(record: dict[str, Any]) -> bytes:
    """The record as one JSON line, as a writer that allows NaN and escapes non-ASCII writes it."""
    return json.dumps(record).encode()


def mangle_line(rng: random.Random, line: bytes) -> bytes:
    """Byte-level damage no JSON writer makes: a cut line, bytes that are not UTF-8, a raw
    control character, a line that is no object, deep nesting."""
    kind = rng.randrange(7)
    middle = rng.randrange(1, max(2, len(line)))
    if kind == 0:
        return line[:middle]
    if kind == 1:
        return line[:middle] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"]) + line[middle:]
    if kind == 2:
        return line[:middle] + rng.choice([b"\x1f", b"\x01", b"\x00", b"\x7f"]) + line[middle:]
    if kind == 3:
        return rng.choice([b"[1, 2, 3]", b'"just a string"', b"42", b"null", b"   ", b"{}"])
    if kind == 4:
        depth = rng.choice([5, 60, 200])
        return line[:-1] + b', "deep": ' + b"[" * depth + b"1" + b"]" * depth + b"}"
    if kind == 5:
        return line.replace(b"null", b"NaN", 1).replace(b"false", b"Infinity", 1)
    return line + b" trailing garbage"
