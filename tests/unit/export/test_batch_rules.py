"""export_sales works a batch at a time, column by column; every row it writes must be the
row the per-document rules (bronze_row) give, whatever mix of good and bad values a page holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pseudonym_keys import TEST_PSEUDONYMS
from support.sales_documents import sale_document as sale

from winter_days.export import bronze_row, export_sales
from winter_days.records import SALES_BRONZE_SCHEMA, SALES_COLLECTION
from winter_days.stores import LocalLake, SqliteDocumentStore

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
INSTANT = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
CANONICAL = "2026-03-01T10:30:00+00:00"

# Every kind of sale_timestamp the store has held or that a broken writer could leave.
TIMESTAMPS = [
    "2026-03-01T10:30:00+00:00",  # canonical
    "2026-03-01T10:30:00Z",
    "2026-03-01T10:30:00z",
    "2026-03-01T12:30:00+02:00",
    "2026-03-01T10:30:00-00:00",
    "2026-03-01T10:30:00",  # naive
    "2026-03-01T10:30:00.250+00:00",
    "2026-03-01 10:30:00+00:00",
    " 2026-03-01T10:30:00+00:00 ",
    "2026-03-01T10:30:00Z\n",
    "2026-03-01",
    "20260301",
    "Sun, 01 Mar 2026 10:30:00 +0000",
    "1772361000",
    "1772361000000",
    int(INSTANT.timestamp()),
    int(INSTANT.timestamp() * 1000),
    int(INSTANT.timestamp() * 1_000_000),
    INSTANT.timestamp() + 0.5,
    -1,
    INSTANT,
    INSTANT.astimezone(timezone(timedelta(hours=-5))),
    "2026-02-30T00:00:00Z",  # canonical shape, no such day
    "2026-03-01T24:00:00+00:00",
    "1969-12-31T23:59:59Z",  # out of range
    "2200-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59Z",
    10**20,  # epoch beyond datetime's years
    -(10**20),
    "100000000000000000000",
    10**400,
    1e300,
    "²",  # digit-like text float() refuses
    "2026-03-01T10:30:00\udc00",  # a lone surrogate, which UTF-8 cannot encode
    "not a time",
    "",
    True,
    None,
    {"seconds": 1},
    [2026, 3, 1],
]

# Values for the typed fields: fitting ones, and each way a value can fail to fit.
STRINGS = [
    "North",
    "Zoë ünïcode",
    "",
    None,
    7,
    7.5,
    True,
    ["a"],
    {"k": "v"},
    INSTANT,
    "lone \ud800 surrogate",
    "\udfff",
]
INTEGERS = [2, 0, -3, None, 2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2.0, "3", True, [1]]
FLOATS = [5, 5.25, 0.0, -1.5, None, 2**53 + 1, 10**400, "5.0", False, {"v": 1}, 1e308]


def corpus() -> list[dict]:
    """Good documents with one bad value each, of every kind, among good ones."""
    docs = [sale(0, CANONICAL)]
    for ts in TIMESTAMPS:
        docs.append(sale(len(docs), ts))
    for value in STRINGS:
        docs.append(sale(len(docs), CANONICAL, region=value))
        docs.append(sale(len(docs), CANONICAL, credit_card_last4=value))
        docs.append(sale(len(docs), CANONICAL, customer_name=value))
    for value in INTEGERS:
        docs.append(sale(len(docs), CANONICAL, quantity=value))
    for value in FLOATS:
        docs.append(sale(len(docs), CANONICAL, unit_price=value, total_amount=value))
    missing = sale(len(docs), CANONICAL)
    del missing["quantity"], missing["sale_timestamp"], missing["currency"]
    docs.append(missing)
    docs.append(
        sale(len(docs), CANONICAL, quantity="many", status=3, sale_timestamp="never", extra_field={"nested": [1, 2]})
    )
    docs.append({"sale_id": f"s{len(docs):05}"})
    docs.append(sale(len(docs), None))
    return docs


def export_and_expect(tmp_path, docs: list[dict], batch_size: int):
    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    lake = LocalLake(tmp_path / "lake")
    store.put_many(SALES_COLLECTION, [(doc["sale_id"], doc) for doc in docs])
    result = export_sales(store, lake, None, "r", batch_size=batch_size, now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    table = pq.read_table(lake.local_path(result.key))
    expected = [
        bronze_row(ch.doc_id, ch.document, ch.seq, NOW, TEST_PSEUDONYMS)
        for ch in store.changed_since(SALES_COLLECTION, None)
    ]
    store.close()
    return result, table, expected


@pytest.mark.parametrize("batch_size", [1000, 7])
def test_every_kind_of_bad_value_gives_the_per_document_rows(tmp_path, batch_size):
    docs = corpus()
    result, table, expected = export_and_expect(tmp_path, docs, batch_size)
    assert table.schema.equals(SALES_BRONZE_SCHEMA, check_metadata=False)
    assert table.to_pylist() == expected
    assert result.rows == len(docs)
    assert result.invalid_rows == sum(row["invalid_fields"] is not None for row in expected)
    assert result.unparseable_timestamps == sum(row["sale_timestamp"] is None for row in expected)
    forms: dict[str, int] = {}
    for row in expected:
        forms[row["sale_timestamp_form"]] = forms.get(row["sale_timestamp_form"], 0) + 1
    assert result.timestamp_forms == forms


def test_the_corpus_covers_every_form_and_failure(tmp_path):
    """The corpus above is only a proof if it really holds each kind of value."""
    _, _, expected = export_and_expect(tmp_path, corpus(), 1000)
    forms = {row["sale_timestamp_form"] for row in expected}
    assert forms >= {
        "iso_utc",
        "iso_z",
        "iso_offset",
        "iso_naive",
        "date_only",
        "rfc2822",
        "epoch_s",
        "epoch_ms",
        "epoch_us",
        "datetime",
        "out_of_range",
        "unparseable",
        "missing",
    }
    invalid = {name for row in expected if row["invalid_fields"] for name in row["invalid_fields"].split(",")}
    assert invalid >= {"region", "credit_card_last4", "quantity", "unit_price", "total_amount", "status"}
    by_id = {row["document_id"]: row for row in expected}
    assert by_id["s00001"]["sale_timestamp"] == INSTANT and by_id["s00001"]["raw_document"] is None


def test_timestamps_beyond_datetime_are_out_of_range_not_a_crash(tmp_path):
    docs = [sale(0, 10**20), sale(1, "100000000000000000000"), sale(2, 1e300), sale(3, "²")]
    result, table, _ = export_and_expect(tmp_path, docs, 10)
    rows = table.to_pylist()
    assert [r["sale_timestamp_form"] for r in rows] == ["out_of_range", "out_of_range", "out_of_range", "unparseable"]
    assert [r["sale_timestamp_raw"] for r in rows] == ["100000000000000000000", "100000000000000000000", "1e+300", "²"]
    assert result.unparseable_timestamps == 4 and all(r["raw_document"] for r in rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(TIMESTAMPS),
            st.sampled_from(STRINGS),
            st.sampled_from(INTEGERS),
            st.sampled_from(FLOATS),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    batch_size=st.integers(1, 12),
)
def test_any_mix_of_values_in_any_page_size_gives_the_per_document_rows(tmp_path_factory, picks, batch_size):
    docs = []
    for i, (ts, text, integer, number, good) in enumerate(picks):
        # Mostly-good pages take the columnar path, mixed ones the value-by-value one.
        docs.append(sale(i, CANONICAL) if good else sale(i, ts, region=text, quantity=integer, unit_price=number))
    _, table, expected = export_and_expect(tmp_path_factory.mktemp("mix"), docs, batch_size)
    assert table.to_pylist() == expected


def test_a_date_value_in_a_document_is_kept_as_text_in_raw_document(tmp_path):
    """Values the store turns back into datetimes are shown in raw_document as ISO text."""
    docs = [sale(0, INSTANT, region=INSTANT)]
    _, table, expected = export_and_expect(tmp_path, docs, 10)
    row = table.to_pylist()[0]
    assert row == expected[0]
    assert row["invalid_fields"] == "region" and INSTANT.isoformat() in row["raw_document"]
    assert date(2026, 3, 1).isoformat() in row["raw_document"]


class PortOnlyStore:
    """The SQLite store seen only through the DocumentStore port, as a Firestore store is:
    the export then reads decoded documents instead of stored JSON text."""

    def __init__(self, store: SqliteDocumentStore):
        self._store = store

    def changed_since(self, collection, watermark, batch_size=1000):
        return self._store.changed_since(collection, watermark, batch_size)


def test_a_store_without_stored_text_gives_the_same_file(tmp_path):
    docs = corpus()
    _, table, expected = export_and_expect(tmp_path, docs, 9)
    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    lake = LocalLake(tmp_path / "lake2")
    result = export_sales(
        PortOnlyStore(store), lake, None, "r", batch_size=9, now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS
    )
    assert pq.read_table(lake.local_path(result.key)).to_pylist() == expected == table.to_pylist()
