"""No single record, line or byte blocks a run: each bad one is quarantined with its reason
and file, counted, and the rest of its file loads (bronze files are immutable, so a file
that failed every run would fail them for good)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest
from support.elt_models import LocalElt, click, sale, startup
from support.pseudonym_keys import TEST_PSEUDONYMS
from support.sales_documents import sale_document

from winter_days.export import export_sales
from winter_days.records import SALES_COLLECTION
from winter_days.stores import LocalLake, SqliteDocumentStore

pytestmark = pytest.mark.slow

CLICKS = "bronze/clickstream/load_date=2024-05-01/clickstream-2024-05-01.jsonl"
STARTUPS = "bronze/startups/load_date=2024-05-01/startups-2024-05-01.jsonl"
SALES = "bronze/sales/export_date=2024-05-02/sales-20240502T010000Z-r1.parquet"
WHEN = "2024-05-01T10:00:00.000Z"


def accounting(elt: LocalElt, flow: str) -> tuple[int, int, int, int]:
    row = elt.rows(f"SELECT * FROM winter_days_staging.flow_row_accounting WHERE flow = '{flow}'")[0]
    return row["rows_in_bronze"], row["rows_staged"], row["rows_quarantined"], row["duplicates_removed"]


def quarantine(elt: LocalElt, table: str) -> list[dict]:
    return elt.rows(f"SELECT * FROM winter_days_staging.{table} ORDER BY row_identity")


def test_a_byte_that_is_not_utf8_is_quarantined_and_the_rest_of_its_file_loads(elt: LocalElt):
    good = json.dumps(click("E2", "S", None, "page_view", WHEN)).encode()
    elt.write_lines(
        CLICKS,
        [
            click("E1", "S", None, "page_view", WHEN),
            good.replace(b'"E2"', b'"E\xff2"'),
            click("E3", "S", None, "page_view", WHEN),
        ],
    )
    elt.write_lines(
        STARTUPS,
        [
            startup("ST1", "2024-05-01T00:00:00Z", "full"),
            json.dumps(startup("ST2", "2024-05-01T00:00:00Z", "full")).encode().replace(b"Startup ST2", b"Caf\xe9 ST2"),
        ],
    )

    elt.run_ok("clickstream", "startup", "accounting")

    assert [r["event_id"] for r in elt.rows("SELECT event_id FROM winter_days_staging.stg_click ORDER BY 1")] == [
        "E1",
        "E3",
    ]
    [bad_click] = quarantine(elt, "stg_click_quarantine")
    assert bad_click["reason"] == "invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8"
    assert bad_click["source_file"] == f"gs://winter-days-lake/{CLICKS}"
    assert '"E\ufffd2"' in bad_click["raw_payload"]
    [bad_startup] = quarantine(elt, "stg_startup_quarantine")
    assert bad_startup["reason"].startswith("invalid text: the line holds U+FFFD")
    assert "Caf\ufffd ST2" in bad_startup["raw_payload"]
    assert accounting(elt, "clickstream") == (3, 2, 1, 0)
    assert accounting(elt, "startup") == (2, 1, 1, 0)


def test_a_line_over_two_megabytes_is_quarantined_cut_and_the_rest_loads(elt: LocalElt):
    """DuckDB's CSV reader refuses lines over 2,000,000 bytes; a line that long is no record."""
    long, longer = (
        click(f"E{i}", "S", None, "page_view", WHEN, page_url="https://shop.example/" + "x" * size)
        for i, size in ((2, 2_500_000), (3, 1_900_000))
    )
    elt.write_lines(
        CLICKS,
        [
            click("E1", "S", None, "page_view", WHEN),
            long,
            longer,
            click("E4", "S", None, "page_view", WHEN, page_url="https://shop.example/" + "z" * 60_000),
        ],
    )

    elt.run_ok("clickstream", "accounting")

    assert [r["event_id"] for r in elt.rows("SELECT event_id FROM winter_days_staging.stg_click ORDER BY 1")] == [
        "E1",
        "E4",
    ]
    cut = quarantine(elt, "stg_click_quarantine")
    assert [q["reason"] for q in cut] == [
        f"oversized line: {len(json.dumps(record))} characters (the limit is 65536)" for record in (long, longer)
    ]
    assert all(q["raw_payload"].startswith('{"event_id": "E') and len(q["raw_payload"]) < 5000 for q in cut)
    assert accounting(elt, "clickstream") == (4, 2, 2, 0)


def test_a_raw_control_character_and_a_non_object_line_are_quarantined(elt: LocalElt):
    elt.write_lines(
        CLICKS,
        [
            json.dumps(click("E1", "S", None, "page_view", WHEN)) + "\x1f" + "junk",
            click("E2", "S", None, "page_view", WHEN, page_url="https://shop.example/\u0000nul"),
            "[1, 2, 3]",
            click("E3", "S", None, "page_view", WHEN),
        ],
    )

    elt.run_ok("clickstream", "accounting")

    reasons = {q["row_identity"][:9]: q["reason"] for q in quarantine(elt, "stg_click_quarantine")}
    assert reasons == {
        "E1": "unparseable JSON line",  # cut at the raw U+001F, the rest is beyond_delimiter
        "E2": "invalid text: page_url holds a control character",
        "[1, 2, 3]": "not a JSON object",
    }
    assert accounting(elt, "clickstream") == (4, 1, 3, 0)


def test_money_beyond_what_numeric_18_2_holds_is_quarantined_and_never_reaches_gold(elt: LocalElt):
    """1e30 and 2^63 passed the old rule (> 0), reached fct_sales and failed the ML step's
    cast to DECIMAL(18, 2) on every later run."""
    e = "2024-05-02 01:00"
    elt.write_sales(
        SALES,
        [
            sale("S1", "C1", "2024-05-01 10:00", seq=1, exported=e),
            sale("S2", "C1", "2024-05-01 11:00", seq=2, exported=e, total_amount=1e30, unit_price=1e30),
            sale("S3", "C2", "2024-05-01 12:00", seq=3, exported=e, total_amount=float(2**63)),
            sale("S4", "C2", "2024-05-01 13:00", seq=4, exported=e, total_amount=float("nan")),
            sale("S5", "C2", "2024-05-01 14:00", seq=5, exported=e, unit_price=float("inf")),
            sale("S6", "C2", "2024-05-01 15:00", seq=6, exported=e, total_amount=-5.0),
            sale("S7", "C2", "2024-05-01 16:00", seq=7, exported=e, total_amount=1_000_000.01),
        ],
    )

    elt.run_ok("sales", "accounting")

    assert [r["sale_id"] for r in elt.rows("SELECT sale_id FROM winter_days_warehouse.fct_sales")] == ["S1"]
    reasons = {q["row_identity"]: q["reason"] for q in quarantine(elt, "stg_sales_quarantine")}
    # The numbers as BigQuery's CAST(FLOAT64 AS STRING) writes them (15, else 17, digits).
    assert reasons == {
        "doc-S2": "out of range: unit_price = 1e+30 (allowed: 0 < value <= 1000000)",
        "doc-S3": "out of range: total_amount = 9.2233720368547758e+18 (allowed: 0 < value <= 1000000)",
        "doc-S4": "out of range: total_amount = nan (allowed: 0 < value <= 1000000)",
        "doc-S5": "out of range: unit_price = inf (allowed: 0 < value <= 1000000)",
        "doc-S6": "out of range: total_amount = -5 (allowed: 0 < value <= 1000000)",
        "doc-S7": "out of range: total_amount = 1000000.01 (allowed: 0 < value <= 1000000)",
    }
    # What the ML step reads casts without overflow.
    assert elt.rows("SELECT CAST(total_amount AS DECIMAL(18, 2)) AS amount FROM winter_days_warehouse.fct_sales")
    assert accounting(elt, "sales") == (7, 1, 6, 0)


def test_implausible_startups_and_click_times_are_quarantined(elt: LocalElt):
    elt.write_lines(
        STARTUPS,
        [
            startup("ST1", "2024-05-01T00:00:00Z", "full"),
            json.dumps(startup("ST2", "2024-05-01T00:00:00Z", "full", valuation_usd=float("nan"))),
            json.dumps(startup("ST3", "2024-05-01T00:00:00Z", "full", valuation_usd=float("inf"))),
            startup("ST4", "2024-05-01T00:00:00Z", "full", total_funding_usd=-1.0),
            startup("ST5", "2024-05-01T00:00:00Z", "full", valuation_usd=-8e6),
            startup("ST6", "2024-05-03T00:00:01Z", "full"),  # later than a day after its load date
            startup("ST7", "1999-12-31T23:59:59Z", "full"),
        ],
    )
    elt.write_lines(
        CLICKS,
        [
            click("E1", "S", None, "page_view", WHEN),
            click("E2", "S", None, "page_view", "-0001-05-01T10:00:00Z"),
            click("E3", "S", None, "page_view", "10000-05-01T10:00:00Z"),
            click("E4", "S", None, "page_view", "2024-05-03T10:00:00Z", load_timestamp="2024-05-01T23:59:59.999Z"),
            click("E5", "S", None, "page_view", "1970-01-01T00:00:03Z"),
        ],
    )

    elt.run_ok("startup", "clickstream", "accounting")

    assert [r["startup_id"] for r in elt.rows("SELECT startup_id FROM winter_days_staging.stg_startup")] == ["ST1"]
    startups = {q["row_identity"]: q["reason"] for q in quarantine(elt, "stg_startup_quarantine")}
    assert startups["ST2"] == "wrong type: valuation_usd = NaN is not a number"
    assert startups["ST3"] == "wrong type: valuation_usd = Infinity is not a number"
    assert startups["ST4"] == "out of range: total_funding_usd = -1.0 (allowed: 0 <= value <= 10000000000000)"
    assert startups["ST5"].startswith("out of range: valuation_usd = -8000000.0")
    assert startups["ST6"].startswith("implausible timestamp: updated_at = 2024-05-03T00:00:01Z")
    assert startups["ST7"].startswith("implausible timestamp: updated_at = 1999-12-31T23:59:59Z")
    assert [r["event_id"] for r in elt.rows("SELECT event_id FROM winter_days_staging.stg_click")] == ["E1"]
    clicks = {q["row_identity"]: q["reason"] for q in quarantine(elt, "stg_click_quarantine")}
    assert clicks["E2"] == "unparseable timestamp: event_timestamp = -0001-05-01T10:00:00Z"
    assert clicks["E3"] == "unparseable timestamp: event_timestamp = 10000-05-01T10:00:00Z"
    assert clicks["E4"].startswith("implausible timestamp: event_timestamp = 2024-05-03T10:00:00Z")
    assert clicks["E5"].startswith("implausible timestamp: event_timestamp = 1970-01-01T00:00:03Z")
    assert accounting(elt, "startup") == (7, 1, 6, 0) and accounting(elt, "clickstream") == (5, 1, 4, 0)


def export_documents(elt: LocalElt, tmp_path, documents: list[dict]) -> str:
    """The documents exported to the test's lake, as the orchestrator's first step does."""
    store = SqliteDocumentStore(tmp_path / "documents.sqlite3")
    store.put_many(SALES_COLLECTION, [(d["sale_id"], d) for d in documents])
    result = export_sales(
        store,
        LocalLake(elt.lake),
        None,
        "r1",
        pseudonyms=TEST_PSEUDONYMS,
        now=lambda: datetime(2026, 3, 2, 1, 0, tzinfo=UTC),
    )
    store.close()
    return result.key


def test_a_sale_with_a_lone_surrogate_is_exported_and_quarantined_not_a_blocked_run(elt: LocalElt, tmp_path):
    """The SQLite store accepts a lone surrogate; writing it to Parquet (UTF-8) failed the
    export of every run. It is written as U+FFFD and the sale quarantined, saying so."""
    key = export_documents(
        elt,
        tmp_path,
        [
            sale_document(1, "2026-03-01T10:00:00+00:00"),
            sale_document(2, "2026-03-01T11:00:00+00:00", product_id="p\ud800"),
            sale_document(3, "2026-03-01T12:00:00+00:00", customer_name="Ada \udfff Lovelace"),
            sale_document(4, "2026-03-01T\udc00"),
        ],
    )
    assert pq.read_table(elt.lake / key).num_rows == 4

    elt.run_ok("sales", "accounting")

    staged = [r["sale_id"] for r in elt.rows("SELECT sale_id FROM winter_days_staging.stg_sales ORDER BY 1")]
    # A name is kept only as its pseudonym: no text rule applies to it.
    assert staged == ["s00001", "s00003"]
    reasons = {q["row_identity"]: q for q in quarantine(elt, "stg_sales_quarantine")}
    assert reasons["s00002"]["reason"] == (
        "invalid text: product_id holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)"
    )
    assert "\\ud800" in reasons["s00002"]["raw_payload"]  # the source document, as it was
    assert reasons["s00004"]["reason"] == "unparseable timestamp: sale_timestamp = 2026-03-01T\ufffd"
    assert accounting(elt, "sales") == (4, 2, 2, 0)


def test_legacy_sale_timestamps_that_are_no_epoch_are_quarantined_not_1970(elt: LocalElt, tmp_path):
    export_documents(
        elt,
        tmp_path,
        [
            sale_document(1, 1772359200),  # 2026-03-01T10:00:00Z in epoch seconds
            sale_document(2, 3.5),
            sale_document(3, 12345),
            sale_document(4, "12345"),
            sale_document(5, "9999-01-01T00:00:00Z"),
        ],
    )

    elt.run_ok("sales", "accounting")

    assert [r["sale_timestamp"] for r in elt.rows("SELECT sale_timestamp FROM winter_days_staging.stg_sales")] == [
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    ]
    reasons = {q["row_identity"]: q["reason"] for q in quarantine(elt, "stg_sales_quarantine")}
    assert reasons == {
        "s00002": "unparseable timestamp: sale_timestamp = 3.5",
        "s00003": "unparseable timestamp: sale_timestamp = 12345",
        "s00004": "unparseable timestamp: sale_timestamp = 12345",
        "s00005": "implausible timestamp: sale_timestamp = 9999-01-01T00:00:00Z "
        "(allowed: from 2000-01-01 to a day after the load time)",
    }
