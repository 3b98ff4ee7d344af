"""fct_sales_status_history: every version of a sale with when the warehouse knew it, and the
churn features it gives as of past dates, which late sales and late refunds never change."""

from __future__ import annotations

from datetime import date

import pytest
from support.elt_models import LocalElt, click, sale, utc

from winter_days.ml.features import FEATURE_COLUMNS, build_feature_table
from winter_days.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.slow


def export(elt: LocalElt, day: str, rows: list[dict]) -> None:
    """One export at 23:00 of `day` (the nightly run), as the export step names its file."""
    stamp = day.replace("-", "")
    elt.write_sales(f"bronze/sales/export_date={day}/sales-{stamp}T230000Z-r{stamp}.parquet", rows)


def day_sales(day: str, *rows: tuple) -> list[dict]:
    """Sales of one export: (sale_id, customer, time, seq, extra fields)."""
    return [
        sale(sale_id, customer, when, seq=seq, exported=f"{day} 23:00", **extra)
        for sale_id, customer, when, seq, extra in rows
    ]


def history(elt: LocalElt) -> dict[tuple[str, int], dict]:
    return {
        (r["sale_id"], r["document_update_seq"]): r
        for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_sales_status_history")
    }


def first_exports(elt: LocalElt) -> None:
    # The installation's first export is its history: March 1 to 3 in one file.
    export(
        elt,
        "2024-03-03",
        day_sales(
            "2024-03-03",
            ("S1", "A", "2024-03-01 10:00", 1, {}),
            ("S2", "A", "2024-03-02 10:00", 2, {"status": "pending"}),
            ("S3", "B", "2024-03-03 09:00", 3, {}),
        ),
    )
    export(
        elt,
        "2024-03-04",
        day_sales(
            "2024-03-04",
            ("S4", "B", "2024-03-04 12:00", 4, {}),
            ("S2", "A", "2024-03-02 10:00", 5, {}),  # paid two days late: pending -> completed
            ("S3", "B", "2024-03-03 09:00", 3, {}),  # re-exported unchanged
        ),
    )


def test_each_version_is_kept_with_when_it_became_known(elt: LocalElt):
    first_exports(elt)
    elt.run_ok("sales")
    rows = history(elt)
    assert {k: (r["status"], r["known_from"]) for k, r in rows.items()} == {
        ("S1", 1): ("completed", utc("2024-03-01 10:00")),  # the first export: known from the sale itself
        ("S2", 2): ("pending", utc("2024-03-02 10:00")),
        ("S3", 3): ("completed", utc("2024-03-03 09:00")),
        ("S4", 4): ("completed", utc("2024-03-04 12:00")),  # after the clock (March 3): on time
        ("S2", 5): ("completed", utc("2024-03-04 00:00")),  # a change: from the day after the clock
    }

    # A late sale, a late refund, and an old version sent again after a newer one.
    export(
        elt,
        "2024-03-05",
        day_sales(
            "2024-03-05",
            ("S5", "C", "2024-03-01 08:00", 6, {}),
            ("S1", "A", "2024-03-01 10:00", 7, {"status": "refunded"}),
            ("S2", "A", "2024-03-02 10:00", 2, {"status": "pending"}),
        ),
    )
    elt.run_ok("sales")
    later = history(elt)
    assert {k: r for k, r in later.items() if k in rows} == rows  # appended, never changed
    assert {k: (r["status"], r["known_from"]) for k, r in later.items() if k not in rows} == {
        ("S5", 6): ("completed", utc("2024-03-05 00:00")),
        ("S1", 7): ("refunded", utc("2024-03-05 00:00")),
    }
    # fct_sales keeps the current state only.
    current = {r["sale_id"]: r["status"] for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_sales")}
    assert current["S1"] == "refunded" and current["S2"] == "completed"

    elt.run_ok("sales", full_refresh=True)
    assert without_parse_time(history(elt)) == without_parse_time(later)


def without_parse_time(rows: dict) -> dict:
    return {k: {c: v for c, v in r.items() if c != "parsed_at"} for k, r in rows.items()}


def features(elt: LocalElt, *days: date) -> dict[tuple[date, str], dict]:
    with DuckDBWarehouse(elt.warehouse).reader() as reader:
        table = build_feature_table(reader, list(days), horizon_days=7, label_until=date(2024, 3, 31))
    return {(r["as_of_date"], r["customer_id"]): {f: r[f] for f in FEATURE_COLUMNS} for r in table.to_pylist()}


def test_a_late_refund_and_a_late_sale_never_change_past_feature_rows(elt: LocalElt):
    first_exports(elt)
    elt.write_lines(
        "bronze/clickstream/load_date=2024-03-02/clickstream-2024-03-02.jsonl",
        [
            click("E1", "W1", "A", "page_view", "2024-03-02T09:00:00.000Z"),
            click("E2", "W2", "C", "page_view", "2024-03-02T11:00:00.000Z"),
        ],
    )
    elt.run_ok("sales", "clickstream")
    past = (date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 4))
    before = features(elt, *past)
    assert before[(date(2024, 3, 2), "A")]["frequency"] == 1.0  # S2 still pending on March 2 ...
    assert before[(date(2024, 3, 4), "A")]["frequency"] == 2.0  # ... and paid by March 4
    assert (date(2024, 3, 4), "C") not in before

    # March 5: S1 (March 1) is refunded, and C's sale of March 1 arrives four days late.
    export(
        elt,
        "2024-03-05",
        day_sales(
            "2024-03-05",
            ("S1", "A", "2024-03-01 10:00", 7, {"status": "refunded"}),
            ("S5", "C", "2024-03-01 08:00", 6, {}),
            ("S6", "B", "2024-03-05 10:00", 8, {}),
        ),
    )
    elt.write_lines(
        "bronze/clickstream/load_date=2024-03-05/clickstream-2024-03-05.jsonl",
        [
            # A click of March 2 loaded on March 5: late too.
            click("E3", "W3", "A", "checkout", "2024-03-02T10:00:00.000Z", load_timestamp="2024-03-05T23:59:59.999Z"),
        ],
    )
    elt.run_ok("sales", "clickstream")

    after = features(elt, *past, date(2024, 3, 5))
    assert {k: v for k, v in after.items() if k[0] in past} == before
    now = {k[1]: v for k, v in after.items() if k[0] == date(2024, 3, 5)}
    assert now["A"]["refund_rate"] == 0.5 and now["A"]["frequency"] == 1.0
    assert now["A"]["cart_events_30d"] == 1.0
    assert now["C"]["frequency"] == 1.0
