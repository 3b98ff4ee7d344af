"""Consistent numbers while a run publishes: a reader keeps the snapshot it opened."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import numpy as np
import pytest

from winter_days.warehouse import WarehouseMissing, WarehouseUnreadable
from winter_days.warehouse.duckdb import DuckDBWarehouse

from dashboard_rows import build_small_warehouse

REVENUE = "SELECT SUM(total_amount) AS revenue FROM winter_days_warehouse.fct_sales WHERE is_completed"


def revenue(reader) -> float:
    return reader.query(REVENUE).column("revenue")[0].as_py()


def test_a_page_in_progress_keeps_the_snapshot_it_opened(tmp_path):
    published = build_small_warehouse(tmp_path / "warehouse.duckdb")
    candidate = build_small_warehouse(tmp_path / "candidate.duckdb")
    con = duckdb.connect(str(candidate))
    con.execute("UPDATE winter_days_warehouse.fct_sales SET total_amount = total_amount * 2")
    con.close()
    with DuckDBWarehouse(published).reader() as reader:
        before = revenue(reader)
        os.replace(candidate, published)  # the run publishes while the page is being read
        assert revenue(reader) == before == 420.0
    with DuckDBWarehouse(published).reader() as reader:
        assert revenue(reader) == 840.0


def test_readers_do_not_write(small_warehouse):
    with DuckDBWarehouse(small_warehouse).reader() as reader:
        with pytest.raises(duckdb.Error):
            reader.query("DELETE FROM winter_days_warehouse.fct_sales")


def test_no_warehouse_says_to_run_the_pipeline(tmp_path):
    with pytest.raises(WarehouseMissing, match="run the pipeline"):
        with DuckDBWarehouse(tmp_path / "absent.duckdb").reader():
            pass


@pytest.mark.parametrize("content", [b"", b"sales,exported,by,hand\n" * 100], ids=["empty", "not a database"])
def test_an_unreadable_warehouse_is_named_with_the_rebuild_command_not_taken_for_busy(tmp_path, content):
    from winter_days.ml.predict import predictions_table
    from winter_days.warehouse.tables import PREDICTIONS

    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(content)
    warehouse = DuckDBWarehouse(path)
    with pytest.raises(WarehouseUnreadable, match=f"the warehouse {path} cannot be read: .*`winter-days elt rebuild`"):
        with warehouse.reader():
            pass
    rows = predictions_table(["C1"], np.array([0.4]), "v1", date(2026, 5, 1))
    with pytest.raises(WarehouseUnreadable, match="`winter-days elt rebuild`"):
        warehouse.replace_partition(PREDICTIONS, rows, date(2026, 5, 1))
    assert path.read_bytes() == content
