"""Staging loads bronze incrementally by file: a daily run parses only the files no earlier
run loaded, the latest version of a sale or event still wins across files (a re-export, a
late file), a full refresh gives the same tables, and the row accounting stays exact."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from support.elt_models import LocalElt, click, sale, startup

pytestmark = pytest.mark.slow

CLICK_DAY1 = "bronze/clickstream/load_date=2024-05-01/clickstream-2024-05-01.jsonl"
CLICK_DAY2 = "bronze/clickstream/load_date=2024-05-02/clickstream-2024-05-02.jsonl"
CLICK_DAY3 = "bronze/clickstream/load_date=2024-05-03/clickstream-2024-05-03.jsonl"
SALES_DAY0 = "bronze/sales/export_date=2024-04-30/sales-20240430T230000Z-r0.parquet"
SALES_DAY1 = "bronze/sales/export_date=2024-05-01/sales-20240501T230000Z-r1.parquet"
SALES_DAY2 = "bronze/sales/export_date=2024-05-02/sales-20240502T230000Z-r2.parquet"
SALES_DAY3 = "bronze/sales/export_date=2024-05-03/sales-20240503T230000Z-r3.parquet"
STARTUPS_FULL = "bronze/startups/load_date=2024-05-01/startups-2024-05-01.jsonl"
STARTUPS_DELTA = "bronze/startups/load_date=2024-05-03/startups-2024-05-03.jsonl"

# Written by the run, so they differ between an incremental history and a full refresh.
RUN_TIME_COLUMNS = {"parsed_at", "quarantined_at", "loaded_at", "staged_at", "counted_at", "counted_through"}


def action(result, name: str):
    (found,) = [a for a in result.actions if a.target.name == name]
    return found


def staged_sales(elt: LocalElt) -> dict[str, dict[str, Any]]:
    return {r["sale_id"]: r for r in elt.rows("SELECT * FROM winter_days_staging.stg_sales")}


def test_a_second_run_parses_only_the_new_file(elt: LocalElt):
    elt.write_lines(
        CLICK_DAY1,
        [
            click("E1", "A", "C1", "page_view", "2024-05-01T10:00:00.000Z"),
            click("E2", "A", "C1", "product_view", "2024-05-01T10:01:00.000Z"),
        ],
    )
    first = elt.run_ok("clickstream")
    assert action(first, "stg_click_checked").rows == 2

    # If the second run read day 1 again it would stage E99; a lake file never changes
    # after it lands, so only a re-read could see this line.
    elt.write_lines(CLICK_DAY1, [click("E99", "Z", "C9", "page_view", "2024-05-01T10:00:00.000Z")])
    elt.write_lines(CLICK_DAY2, [click("E3", "B", "C1", "checkout", "2024-05-02T09:00:00.000Z")])
    second = elt.run_ok("clickstream")
    checked = action(second, "stg_click_checked")
    assert checked.rows_affected == 1 and checked.rows == 3
    # The executor ran the filter as the constant list of the lake's files not loaded yet,
    # so DuckDB reads only those.
    assert f"_FILE_NAME IN ('gs://winter-days-lake/{CLICK_DAY2}')" in checked.sql_script
    assert [r["event_id"] for r in elt.rows("SELECT event_id FROM winter_days_staging.stg_click ORDER BY 1")] == [
        "E1",
        "E2",
        "E3",
    ]
    files = elt.rows("SELECT DISTINCT source_file FROM winter_days_staging.stg_click_checked ORDER BY 1")
    assert [f["source_file"] for f in files] == [
        f"gs://winter-days-lake/{CLICK_DAY1}",
        f"gs://winter-days-lake/{CLICK_DAY2}",
    ]

    third = elt.run_ok("clickstream")
    assert action(third, "stg_click_checked").rows_affected == 0
    assert "WHERE FALSE" in action(third, "stg_click_checked").sql_script.replace("(", "").replace(")", "")
    assert action(third, "stg_click").rows_affected == 0


def test_a_sale_re_exported_in_a_later_file_updates_staging_and_a_late_older_file_does_not(elt: LocalElt):
    elt.write_sales(
        SALES_DAY1,
        [
            sale("S1", "C1", "2024-04-20 10:00", seq=1, exported="2024-05-01 23:00", status="pending"),
            sale("S2", "C2", "2024-04-21 10:00", seq=2, exported="2024-05-01 23:00"),
        ],
    )
    elt.run_ok("sales")
    assert staged_sales(elt)["S1"]["status"] == "pending"

    elt.write_sales(
        SALES_DAY2,
        [
            sale("S1", "C1", "2024-04-20 10:00", seq=5, exported="2024-05-02 23:00", status="completed"),
        ],
    )
    elt.run_ok("sales")
    staged = staged_sales(elt)
    assert (staged["S1"]["status"], staged["S1"]["document_update_seq"]) == ("completed", 5)
    assert staged["S1"]["source_file"] == f"gs://winter-days-lake/{SALES_DAY2}"
    assert staged["S2"]["source_file"] == f"gs://winter-days-lake/{SALES_DAY1}"
    fct = {r["sale_id"]: r for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_sales")}
    assert fct["S1"]["status"] == "completed"

    # A file that lands late with an older version of S1 (and a new sale) loses to the
    # version already staged, as it would in a rebuild from all of bronze.
    elt.write_sales(
        SALES_DAY0,
        [
            sale("S1", "C1", "2024-04-20 10:00", seq=3, exported="2024-04-30 23:00", status="cancelled"),
            sale("S3", "C3", "2024-04-22 10:00", seq=4, exported="2024-04-30 23:00"),
        ],
    )
    elt.run_ok("sales")
    staged = staged_sales(elt)
    assert sorted(staged) == ["S1", "S2", "S3"]
    assert (staged["S1"]["status"], staged["S1"]["document_update_seq"]) == ("completed", 5)
    fct = {
        r["sale_id"]: (r["status"], r["document_update_seq"])
        for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_sales")
    }
    assert fct == {"S1": ("completed", 5), "S2": ("completed", 2), "S3": ("completed", 4)}


def three_days_of_every_flow(elt: LocalElt) -> list:
    """Run after each of three loads; day 2 re-delivers, day 3 is partly late and bad."""
    runs = []
    elt.write_sales(
        SALES_DAY1,
        [
            sale("S1", "C1", "2024-04-20 10:00", seq=1, exported="2024-05-01 23:00", status="pending"),
            sale("S2", "C2", "2024-04-21 10:00", seq=2, exported="2024-05-01 23:00"),
            sale("S9", "C9", "2024-04-21 11:00", seq=3, exported="2024-05-01 23:00", status="lost"),
        ],
    )
    elt.write_lines(
        CLICK_DAY1,
        [
            click("E1", "A", "C1", "page_view", "2024-05-01T10:00:00.000Z"),
            click("E2", "A", "C1", "product_view", "2024-05-01T10:01:00.000Z"),
            "not json",
        ],
    )
    elt.write_lines(
        STARTUPS_FULL,
        [
            startup("ST1", "2024-05-01T00:00:00Z", "full"),
            startup("ST2", "2024-05-01T00:00:00Z", "full", founded_year="nineteen"),
        ],
    )
    runs.append(elt.run_ok())
    elt.write_sales(
        SALES_DAY2,
        [
            sale("S1", "C1", "2024-04-20 10:00", seq=5, exported="2024-05-02 23:00", status="completed"),
            sale("S2", "C2", "2024-04-21 10:00", seq=2, exported="2024-05-02 23:00"),
        ],
    )
    elt.write_lines(
        CLICK_DAY2,
        [
            click(
                "E2", "A", "C1", "product_view", "2024-05-01T10:01:00.000Z", load_timestamp="2024-05-02T23:59:59.999Z"
            ),
            click("E3", "B", None, "page_view", "2024-05-02T08:00:00.000Z", is_bounce=True),
        ],
    )
    runs.append(elt.run_ok())
    elt.write_sales(
        SALES_DAY3,
        [
            sale(
                "S3",
                "C3",
                "2024-05-03 10:00",
                seq=6,
                exported="2024-05-03 23:00",
                quantity=None,
                invalid_fields="quantity",
                raw_document='{"sale_id": "S3", "quantity": "two"}',
            ),
            sale("S4", "C1", "2024-05-03 11:00", seq=7, exported="2024-05-03 23:00"),
        ],
    )
    elt.write_lines(
        CLICK_DAY3,
        [
            # A late event of day 1 from a visitor already seen that day: day 1 is recomputed.
            click("E4", "A", "C1", "checkout", "2024-05-01T10:05:00.000Z", load_timestamp="2024-05-03T23:59:59.999Z"),
            click("E5", "C", "C1", "page_view", "2024-05-03T09:00:00.000Z", is_bounce="maybe"),
        ],
    )
    elt.write_lines(
        STARTUPS_DELTA,
        [
            startup("ST1", "2024-05-03T00:00:00Z", "delta", funding_stage="series_a", funding_stage_score=3),
            startup("ST1", "2024-05-01T00:00:00Z", "full"),
        ],
    )
    runs.append(elt.run_ok())
    return runs


def snapshot(elt: LocalElt) -> dict[str, list[tuple]]:
    tables = {
        "winter_days_staging": [
            "stg_sales",
            "stg_click",
            "stg_startup",
            "stg_sales_quarantine",
            "stg_click_quarantine",
            "stg_startup_quarantine",
            "flow_row_accounting",
        ],
        "winter_days_warehouse": ["fct_sales", "dim_customer", "agg_cust_metrics", "fct_click_features", "dim_startup"],
    }
    out = {}
    for schema, names in tables.items():
        for name in names:
            rows = elt.rows(f'SELECT * FROM "{schema}"."{name}"')
            out[name] = sorted(
                (tuple((k, v) for k, v in row.items() if k not in RUN_TIME_COLUMNS) for row in rows), key=repr
            )
    return out


def test_full_refresh_gives_the_tables_the_daily_runs_built(elt: LocalElt):
    three_days_of_every_flow(elt)
    incremental = snapshot(elt)
    assert len(incremental["stg_click"]) == 4 and len(incremental["stg_sales"]) == 3
    day1_c1 = [
        r
        for r in incremental["fct_click_features"]
        if ("visitor_id", "C1") in r and ("event_date", date(2024, 5, 1)) in r
    ]
    assert len(day1_c1) == 1 and ("events", 3) in day1_c1[0] and ("funnel_depth", 4) in day1_c1[0]
    elt.run_ok(full_refresh=True)
    assert snapshot(elt) == incremental


def test_accounting_is_exact_after_every_daily_run(elt: LocalElt):
    runs = three_days_of_every_flow(elt)
    for run in runs:
        assert action(run, "assert_flow_rows_accounted").state.value == "SUCCEEDED"
    accounting = {
        r["flow"]: (
            r["files_loaded"],
            r["rows_in_bronze"],
            r["rows_staged"],
            r["rows_quarantined"],
            r["duplicates_removed"],
        )
        for r in elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting")
    }
    # sales: 7 rows = 3 staged (S1, S2, S4) + 2 quarantined (S9, S3) + 2 older versions (S1, S2)
    # clickstream: 7 lines = 4 staged + 2 quarantined + 1 re-delivery; startup: 4 = 2 + 1 + 1
    assert accounting == {"sales": (3, 7, 3, 2, 2), "clickstream": (3, 7, 4, 2, 1), "startup": (2, 4, 2, 1, 1)}
    quarantined = elt.rows("SELECT reason FROM winter_days_staging.stg_click_quarantine ORDER BY reason")
    assert [q["reason"] for q in quarantined] == [
        "unparseable JSON line",
        "wrong type: is_bounce = maybe is not a boolean",
    ]
    # A run with nothing new changes no count.
    elt.run_ok()
    again = {
        r["flow"]: (
            r["files_loaded"],
            r["rows_in_bronze"],
            r["rows_staged"],
            r["rows_quarantined"],
            r["duplicates_removed"],
        )
        for r in elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting")
    }
    assert again == accounting


def test_a_table_built_by_an_earlier_model_version_names_the_change_and_the_rebuild(elt: LocalElt):
    elt.write_lines(CLICK_DAY1, [click("E1", "A", "C1", "page_view", "2024-05-01T10:00:00.000Z")])
    elt.run_ok("clickstream", "accounting")
    # The accounting table as an earlier version of the model left it: no counted_through.
    from winter_days.elt.engines.duckdb.executor import open_session

    con = open_session(elt.warehouse)
    con.execute("ALTER TABLE winter_days_staging.flow_row_accounting DROP COLUMN counted_through")
    con.close()
    elt.write_lines(CLICK_DAY2, [click("E2", "B", "C1", "page_view", "2024-05-02T10:00:00.000Z")])
    failed = elt.run("clickstream", "accounting")
    assert not failed.published
    reason = action(failed, "flow_row_accounting").failure_reason
    assert "was built by an earlier version of its model (the model now adds counted_through)" in reason
    assert "winter-days elt run --full-refresh --actions flow_row_accounting" in reason
    elt.run_ok("clickstream", "accounting", full_refresh=True)
    counts = elt.rows(
        "SELECT rows_in_bronze, rows_staged FROM winter_days_staging.flow_row_accounting WHERE flow = 'clickstream'"
    )
    assert counts == [{"rows_in_bronze": 2, "rows_staged": 2}]
