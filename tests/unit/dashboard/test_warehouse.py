"""Consistent numbers while a run publishes: a reader keeps the snapshot it opened."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import numpy as np
import pytest
from support.dashboard_rows import build_small_warehouse

from winter_days.warehouse import WarehouseMissing, WarehouseUnreadable
from winter_days.warehouse.duckdb import DuckDBWarehouse

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


def test_predictions_are_written_while_another_process_reads_and_it_keeps_its_snapshot(tmp_path):
    """A dashboard of another service worker holds the file open for reading whenever a page
    is drawn; DuckDB lets no process write a file another one reads, so the write goes to a
    copy that replaces the file."""
    import subprocess
    import sys

    from winter_days.ml.predict import predictions_table
    from winter_days.warehouse.tables import PREDICTIONS

    published = build_small_warehouse(tmp_path / "warehouse.duckdb", with_predictions=False)
    count = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fact_predictions_churn'"
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "print(con.execute(sys.argv[2]).fetchone()[0], flush=True)\n"
            "sys.stdin.readline()\n"
            "print(con.execute(sys.argv[2]).fetchone()[0], flush=True)\n",
            str(published),
            count,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "0"  # the reader holds the file now
        rows = predictions_table(["C1"], np.array([0.4]), "v1", date(2026, 5, 1))
        assert DuckDBWarehouse(published).replace_partition(PREDICTIONS, rows, date(2026, 5, 1)) == 1
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "0"  # its snapshot, whole
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    with DuckDBWarehouse(published).reader() as fresh:
        assert fresh.query(f"SELECT customer_id FROM {PREDICTIONS.name}").to_pylist() == [{"customer_id": "C1"}]
