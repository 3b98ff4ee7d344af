"""The demo's closing report counts silver rows from the run's accounting and gold rows from
the gold tables: it reads no staging table of records (on BigQuery each scan is billed)."""

from __future__ import annotations

import duckdb
from support.recording_warehouse import RecordingProfile

from winter_days.demo.report import collect_summary
from winter_days.platform import Platform
from winter_days.warehouse import tables


def test_silver_rows_come_from_the_accounting_and_no_staging_table_is_scanned(settings):
    settings.home.mkdir(parents=True)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("CREATE SCHEMA winter_days_staging; CREATE SCHEMA winter_days_warehouse")
    con.execute(
        """CREATE TABLE winter_days_staging.flow_row_accounting AS SELECT * FROM (VALUES
        ('sales', 10, 7, 2, 1), ('clickstream', 9, 9, 0, 0), ('startup', 5, 4, 1, 0))
        AS t(flow, rows_in_bronze, rows_staged, rows_quarantined, duplicates_removed)"""
    )
    # A staging table the report must not read: its own row count differs from the accounting's.
    con.execute("CREATE TABLE winter_days_staging.stg_click AS SELECT 'E1' AS event_id")
    con.execute("CREATE TABLE winter_days_warehouse.fct_web_sessions AS SELECT * FROM range(3) AS t(session_id)")
    con.close()
    profile = RecordingProfile()
    platform = Platform(settings, profile)
    try:
        summary = collect_summary(platform, runs=[])
    finally:
        platform.close()

    assert summary.layers["silver"] == {"sales": 7, "clickstream": 9, "startups": 4}
    assert summary.layers["gold"]["web sessions"] == 3 and summary.layers["gold"]["sales"] is None
    assert [row["flow"] for row in summary.accounting] == ["clickstream", "sales", "startup"]
    read = " ".join(profile.queries)
    assert str(tables.FLOW_ROW_ACCOUNTING) in read
    assert not any(
        str(t) in read for t in tables.MODEL_TABLES if t.dataset == tables.STAGING and t != tables.FLOW_ROW_ACCOUNTING
    )
