"""Consistent numbers while a run publishes: a reader keeps the snapshot it opened."""

from __future__ import annotations

import os

import duckdb
import pytest

from winter_days.dashboard.warehouse import WarehouseMissing, open_published_warehouse

from dashboard_rows import build_small_warehouse

REVENUE = "SELECT SUM(total_amount) FROM winter_days_warehouse.fct_sales WHERE is_completed"


def test_a_page_in_progress_keeps_the_snapshot_it_opened(tmp_path):
    published = build_small_warehouse(tmp_path / "warehouse.duckdb")
    candidate = build_small_warehouse(tmp_path / "candidate.duckdb")
    con = duckdb.connect(str(candidate))
    con.execute("UPDATE winter_days_warehouse.fct_sales SET total_amount = total_amount * 2")
    con.close()
    with open_published_warehouse(published) as reader:
        before = reader.query(REVENUE).rows[0][0]
        os.replace(candidate, published)  # the run publishes while the page is being read
        assert reader.query(REVENUE).rows[0][0] == before == 420.0
    with open_published_warehouse(published) as reader:
        assert reader.query(REVENUE).rows[0][0] == 840.0


def test_readers_do_not_write(small_warehouse):
    with open_published_warehouse(small_warehouse) as reader:
        with pytest.raises(duckdb.Error):
            reader.query("DELETE FROM winter_days_warehouse.fct_sales")


def test_no_warehouse_says_to_run_the_pipeline(tmp_path):
    with pytest.raises(WarehouseMissing, match="run the pipeline"):
        with open_published_warehouse(tmp_path / "absent.duckdb"):
            pass
