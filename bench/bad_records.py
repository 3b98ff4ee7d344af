"""Bad records for the reliability run: each class of input that must never block a run.

Valid records of the installation (its latest sales document, clickstream line and startup
line) are mutated into every class the platform promises to stage or quarantine without
stopping: wrong types, missing and extra fields, nulls, huge strings, control characters,
lone surrogates, invalid UTF-8 and lines over 2,000,000 bytes (bronze lines), deep
nesting, NaN and Infinity, extreme numbers (1e30, 2^63) and negative money, dates outside
0001-9999 or far from the load, non-string legacy timestamps that are no epoch (3.5,
12345), text that is no JSON object, SQL-looking strings, and ids sent twice.

Sales go into the document store as the JSON text a careless writer could store (NaN and
lone surrogates included); clickstream and startup lines go into one extra bronze file per
flow and class, beside the day's own.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from winter_days.platform import Platform
from winter_days.records import SALES_COLLECTION
from winter_days.stores.documents import EncodedDocumentWriter

# Classes whose records are large: a few of each are enough, and keep the lake small.
LARGE = {"huge_string": 5, "oversized_line": 3, "deep_nesting": 20}
HUGE_STRING_BYTES = 200_000
OVERSIZED_LINE_BYTES = 2_100_000
NESTING_DEPTH = 400
SQL_TEXTS = ("'; DROP TABLE winter_days_warehouse.fct_sales; --", "x' OR '1'='1", "${ref('fct_sales')}", "`proj.ds.t`; SELECT 1")


@dataclass(frozen=True)
class Flow:
    """What the mutations need to know of a flow's records."""

    name: str
    id_field: str
    money: tuple[str, ...]
    numbers: tuple[str, ...]
    timestamp: str
    texts: tuple[str, ...]
    in_lake: bool


FLOWS = (
    Flow("sales", "sale_id", ("total_amount", "unit_price"), ("quantity",), "sale_timestamp",
         ("customer_name", "region", "product_category", "status"), in_lake=False),
    Flow("clickstream", "event_id", (), (), "event_timestamp", ("page_url", "referrer_url", "event_type", "device_type"),
         in_lake=True),
    Flow("startups", "startup_id", ("total_funding_usd", "valuation_usd"), ("employee_count", "founded_year"), "updated_at",
         ("name", "sector", "country"), in_lake=True),
)

# A mutation turns a valid record into the JSON text (or bytes) of a bad one; `n` numbers it.
Mutation = Callable[[Flow, dict[str, Any], int, random.Random], str | bytes]


def _text(record: dict[str, Any]) -> str:
    return json.dumps(record, allow_nan=True)


def _renamed(flow: Flow, record: dict[str, Any], n: int, label: str) -> dict[str, Any]:
    """A copy of the record under a new id, so it is a new record, not a duplicate."""
    return {**record, flow.id_field: f"bad-{label}-{n}"}


def wrong_type(flow, record, n, rng):
    bad = _renamed(flow, record, n, "type")
    field = rng.choice(flow.money + flow.numbers + (flow.timestamp, flow.texts[0]))
    bad[field] = rng.choice([["a", "list"], {"an": "object"}, True, "twelve", 12.5 if field in flow.texts else "12,5"])
    return _text(bad)


def missing_field(flow, record, n, rng):
    bad = _renamed(flow, record, n, "missing")
    del bad[rng.choice((flow.id_field, flow.timestamp) + flow.money + flow.numbers)]
    return _text(bad)


def extra_field(flow, record, n, rng):
    return _text({**_renamed(flow, record, n, "extra"), f"unexpected_{n % 7}": {"nested": [n, "x"]}, "schema_note": "v9"})


def null_field(flow, record, n, rng):
    bad = _renamed(flow, record, n, "null")
    bad[rng.choice((flow.id_field, flow.timestamp) + flow.texts + flow.money)] = None
    return _text(bad)


def huge_string(flow, record, n, rng):
    return _text({**_renamed(flow, record, n, "huge"), rng.choice(flow.texts): "x" * HUGE_STRING_BYTES})


def control_characters(flow, record, n, rng):
    bad = _renamed(flow, record, n, "control")
    bad[rng.choice(flow.texts)] = "a\x00b\x1fc\x07d\r\ne\x1b[31m"
    text = _text(bad)
    # Half escaped as JSON asks, half raw, as a careless writer puts them in a line.
    return text if n % 2 or not flow.in_lake else text.replace("\\u0000", "\x00").replace("\\u001f", "\x1f")


def lone_surrogate(flow, record, n, rng):
    return _text({**_renamed(flow, record, n, "surrogate"), rng.choice(flow.texts): "caf\ud800e"})


def invalid_utf8(flow, record, n, rng):
    text = _text({**_renamed(flow, record, n, "utf8"), flow.texts[0]: "INVALID"}).encode()
    return text.replace(b"INVALID", rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))


def oversized_line(flow, record, n, rng):
    return _text({**_renamed(flow, record, n, "oversized"), flow.texts[0]: "y" * OVERSIZED_LINE_BYTES})


def deep_nesting(flow, record, n, rng):
    nested = "[" * NESTING_DEPTH + "1" + "]" * NESTING_DEPTH
    return _text({**_renamed(flow, record, n, "deep"), "payload": "NESTED"}).replace('"NESTED"', nested)


def nan_infinity(flow, record, n, rng):
    field = rng.choice(flow.money + flow.numbers) if flow.money + flow.numbers else "is_bounce"
    bad = _renamed(flow, record, n, "nan")
    bad[field] = rng.choice([float("nan"), float("inf"), float("-inf")])
    return _text(bad)


def extreme_numbers(flow, record, n, rng):
    field = rng.choice(flow.money + flow.numbers) if flow.money + flow.numbers else "is_bounce"
    bad = _renamed(flow, record, n, "extreme")
    bad[field] = rng.choice([1e30, 2**63, -(2**63) - 1, 10**40, 1.7e308, 5e-324])
    return _text(bad)


def negative_money(flow, record, n, rng):
    bad = _renamed(flow, record, n, "negative")
    for field in flow.money:
        bad[field] = -abs(float(bad.get(field) or 1.0)) - 0.01
    return _text(bad)


def extreme_dates(flow, record, n, rng):
    bad = _renamed(flow, record, n, "date")
    bad[flow.timestamp] = rng.choice([
        "-0001-06-01T00:00:00Z", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00Z", "1200-01-01T00:00:00Z", "2999-01-01T00:00:00Z",
    ])
    return _text(bad)


def odd_legacy_timestamps(flow, record, n, rng):
    bad = _renamed(flow, record, n, "epoch")
    bad[flow.timestamp] = rng.choice([3.5, 12345, 0, -1, True, 1e20, "12345", ""])
    return _text(bad)


def not_json(flow, record, n, rng):
    text = _text(_renamed(flow, record, n, "notjson"))
    return rng.choice([text[: len(text) // 2], text + "}", "{'single': 'quotes'}", "NaN", text.replace(":", "=", 1)])


def not_an_object(flow, record, n, rng):
    return rng.choice(["[1, 2, 3]", '"a string"', "null", "42", "[" + _text(record) + "]"])


def sql_strings(flow, record, n, rng):
    bad = _renamed(flow, record, n, "sql")
    bad[rng.choice(flow.texts)] = rng.choice(SQL_TEXTS)
    return _text(bad)


def duplicate_ids(flow, record, n, rng):
    return _text(record)  # the valid record again, under its own id: staged once


MUTATIONS: dict[str, tuple[Mutation, bool]] = {
    # name: (mutation, whether only a bronze line can hold it)
    "wrong_type": (wrong_type, False),
    "missing_field": (missing_field, False),
    "extra_field": (extra_field, False),
    "null_field": (null_field, False),
    "huge_string": (huge_string, False),
    "control_characters": (control_characters, False),
    "lone_surrogate": (lone_surrogate, False),
    "invalid_utf8": (invalid_utf8, True),
    "oversized_line": (oversized_line, True),
    "deep_nesting": (deep_nesting, False),
    "nan_infinity": (nan_infinity, False),
    "extreme_numbers": (extreme_numbers, False),
    "negative_money": (negative_money, False),
    "extreme_dates": (extreme_dates, False),
    "odd_legacy_timestamps": (odd_legacy_timestamps, False),
    "not_json": (not_json, True),
    "not_an_object": (not_an_object, True),
    "sql_strings": (sql_strings, False),
    "duplicate_ids": (duplicate_ids, False),
}


def applies(flow: Flow, name: str) -> bool:
    lake_only = MUTATIONS[name][1]
    if name == "negative_money":
        return bool(flow.money)
    return flow.in_lake or not lake_only


def land_bad_records(platform: Platform, day: date, per_class: int, seed: int,
                     classes: tuple[str, ...] = tuple(MUTATIONS)) -> dict[str, dict[str, int]]:
    """Write `per_class` bad records of each class (fewer of the large ones) into every flow
    that can hold it, dated `day`; the records written, by flow and class."""
    rng = random.Random(seed)
    landed: dict[str, dict[str, int]] = {}
    store = platform.document_store()
    try:
        for flow in FLOWS:
            template = _latest_sale(store) if flow.name == "sales" else _latest_line(platform, flow)
            for name in classes:
                if not applies(flow, name):
                    continue
                mutation = MUTATIONS[name][0]
                count = min(per_class, LARGE.get(name, per_class))
                records = [mutation(flow, template, n, rng) for n in range(count)]
                if flow.in_lake:
                    lines = b"".join((r if isinstance(r, bytes) else r.encode("utf-8", "surrogatepass")) + b"\n" for r in records)
                    platform.lake.put(f"bronze/{flow.name}/load_date={day.isoformat()}/{flow.name}-{day.isoformat()}-{name}.jsonl", lines)
                else:
                    _put_sales(store, [f"bad-{name}-{day.isoformat()}-{n}" for n in range(count)], records)
                landed.setdefault(flow.name, {})[name] = count
    finally:
        store.close()
    return landed


def _put_sales(store: Any, doc_ids: list[str], bodies: list[str | bytes]) -> None:
    if not isinstance(store, EncodedDocumentWriter):
        raise SystemExit(f"{store.describe()} cannot take documents as JSON text; the reliability run needs the local profile")
    store.put_encoded(SALES_COLLECTION, doc_ids, [b if isinstance(b, str) else b.decode() for b in bodies])


def _latest_sale(store: Any) -> dict[str, Any]:
    latest = None
    for _, document in store.stream(SALES_COLLECTION, batch_size=1000):
        latest = document
    if latest is None:
        raise SystemExit("no sales document to mutate: write a day of sales first")
    # Back to the JSON the generator stored (the store hands back datetimes for tagged instants).
    return json.loads(json.dumps(latest, default=lambda value: value.isoformat()))


def _latest_line(platform: Platform, flow: Flow) -> dict[str, Any]:
    keys = sorted(k for k in platform.lake.list(f"bronze/{flow.name}/") if k.endswith(".jsonl"))
    if not keys:
        raise SystemExit(f"no bronze {flow.name} file to mutate: write a day first")
    first_line = platform.lake.get(keys[-1]).split(b"\n", 1)[0]
    return json.loads(first_line)
