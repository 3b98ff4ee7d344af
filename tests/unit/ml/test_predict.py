from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from support.churn_rows import sale, write_warehouse

from winter_days.ml.predict import PREDICTIONS_TABLE, PredictionError, predictions_table, risk_tiers, write_predictions
from winter_days.warehouse.duckdb import DuckDBWarehouse
from winter_days.warehouse.duckdb.files import warehouse_lock_path

AS_OF = date(2026, 5, 31)


def read(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            f"SELECT customer_id, churn_probability, risk_tier, model_version, as_of_date FROM {PREDICTIONS_TABLE} "
            "ORDER BY as_of_date, customer_id"
        ).fetchall()


def test_risk_tier_cut_offs():
    assert risk_tiers(np.array([0.0, 0.2499, 0.25, 0.4999, 0.5, 1.0])).tolist() == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]


def test_rerun_for_the_same_date_replaces_and_keeps_other_dates(tmp_path):
    path = write_warehouse(tmp_path / "w.duckdb", [sale("A", "2026-01-01T00:00:00")])
    earlier = predictions_table(["A", "B"], np.array([0.1, 0.9]), "v1", date(2026, 4, 30))
    write_predictions(DuckDBWarehouse(path), earlier, date(2026, 4, 30))
    write_predictions(
        DuckDBWarehouse(path), predictions_table(["A", "B", "C"], np.array([0.2, 0.3, 0.6]), "v1", AS_OF), AS_OF
    )
    write_predictions(DuckDBWarehouse(path), predictions_table(["A", "C"], np.array([0.7, 0.4]), "v2", AS_OF), AS_OF)
    assert read(path) == [
        ("A", 0.1, "low", "v1", date(2026, 4, 30)),
        ("B", 0.9, "high", "v1", date(2026, 4, 30)),
        ("A", 0.7, "high", "v2", AS_OF),
        ("C", 0.4, "medium", "v2", AS_OF),
    ]
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM winter_days_warehouse.fct_sales_status_history").fetchone() == (1,)


def test_a_failed_write_leaves_the_previous_predictions(tmp_path):
    path = write_warehouse(tmp_path / "w.duckdb", [sale("A", "2026-01-01T00:00:00")])
    write_predictions(DuckDBWarehouse(path), predictions_table(["A"], np.array([0.3]), "v1", AS_OF), AS_OF)
    with pytest.raises(PredictionError, match="a customer appears twice"):
        predictions_table(["B", "B"], np.array([0.1, 0.2]), "v2", AS_OF)
    # A batch the warehouse refuses half way (a missing customer id) is rolled back whole.
    rows = predictions_table(["B", "C"], np.array([0.1, 0.2]), "v2", AS_OF)
    broken = rows.set_column(0, "customer_id", pa.array(["B", None], pa.string()))
    with pytest.raises(PredictionError, match="fact_predictions_churn"):
        write_predictions(DuckDBWarehouse(path), broken, AS_OF)
    assert read(path) == [("A", 0.3, "medium", "v1", AS_OF)]


def test_non_finite_probabilities_are_refused():
    with pytest.raises(PredictionError, match="non-finite or out-of-range"):
        predictions_table(["A", "B"], np.array([0.2, np.nan]), "v1", AS_OF)


def test_missing_warehouse_is_a_clear_error(tmp_path):
    rows = predictions_table(["A"], np.array([0.3]), "v1", AS_OF, datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(PredictionError, match="does not exist; run the ELT first"):
        write_predictions(DuckDBWarehouse(tmp_path / "absent.duckdb"), rows, AS_OF)


def test_writes_wait_for_the_elt_publish_lock(tmp_path):
    """While the ELT holds its lock (building a copy to publish), predictions wait for it."""
    import fcntl
    import threading

    path = write_warehouse(tmp_path / "w.duckdb", [sale("A", "2026-01-01T00:00:00")])
    lock = warehouse_lock_path(path)
    assert lock == tmp_path / ".w.duckdb.lock"
    rows = predictions_table(["A"], np.array([0.3]), "v1", AS_OF)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        writer = threading.Thread(target=write_predictions, args=(DuckDBWarehouse(path), rows, AS_OF))
        writer.start()
        writer.join(timeout=0.5)
        assert writer.is_alive()
        with duckdb.connect(str(path), read_only=True) as con:
            assert con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'fact_predictions_churn'"
            ).fetchone() == (0,)
        fcntl.flock(handle, fcntl.LOCK_UN)
    writer.join(timeout=30)
    assert read(path) == [("A", 0.3, "medium", "v1", AS_OF)]


def test_a_later_elt_publish_keeps_the_predictions(tmp_path):
    """The ELT builds a copy of the published file and renames it over: predictions written
    before the run are in the copy, so the published warehouse still has them."""
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

    path = write_warehouse(tmp_path / "w.duckdb", [sale("A", "2026-01-01T00:00:00")])
    write_predictions(DuckDBWarehouse(path), predictions_table(["A"], np.array([0.7]), "v1", AS_OF), AS_OF)
    target = {"database": "p", "schema": "winter_days_warehouse", "name": "dim_probe"}
    compiled = {
        "tables": [
            {
                "target": target,
                "canonicalTarget": target,
                "type": "table",
                "enumType": "TABLE",
                "query": "SELECT 1 AS x",
                "dependencyTargets": [],
            }
        ]
    }
    result = DuckDBExecutor(path, tmp_path / "lake").run(compiled)
    assert result.published
    assert read(path) == [("A", 0.7, "high", "v1", AS_OF)]
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT x FROM winter_days_warehouse.dim_probe").fetchall() == [(1,)]


def test_writing_predictions_refreshes_the_elt_standby_copy(tmp_path):
    """A write makes the ELT's standby copy of the warehouse stale; the next run finds a
    fresh one, with the predictions, rather than copying the file itself."""
    from winter_days.warehouse.duckdb.files import prepare_standby, wait_for_after_write

    path = write_warehouse(tmp_path / "w.duckdb", [sale("A", "2026-01-01T00:00:00")])
    warehouse_lock_path(path).touch()
    stale = prepare_standby(path)
    write_predictions(DuckDBWarehouse(path), predictions_table(["A"], np.array([0.7]), "v1", AS_OF), AS_OF)
    wait_for_after_write()
    [standby] = tmp_path.glob(".w.duckdb.standby-*")
    assert standby != stale and not stale.exists()
    assert read(standby) == [("A", 0.7, "high", "v1", AS_OF)]
