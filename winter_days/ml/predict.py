"""Batch scoring with the champion into gold `winter_days_warehouse.fact_predictions_churn`.

Risk tiers, by churn probability p: high when p >= 0.5, medium when 0.25 <= p < 0.5, low
below 0.25. One as-of date's predictions are replaced as a whole in one transaction, so a
re-run never duplicates and a reader never sees half a batch.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from winter_days.elt.engines.duckdb.publish import start_after_write
from winter_days.locking import exclusive_lock, warehouse_lock_path

PREDICTIONS_TABLE = "winter_days_warehouse.fact_predictions_churn"
HIGH_RISK_FROM = 0.5
MEDIUM_RISK_FROM = 0.25

PREDICTIONS_DDL = f"""
CREATE TABLE IF NOT EXISTS {PREDICTIONS_TABLE} (
  customer_id VARCHAR NOT NULL,
  churn_probability DOUBLE NOT NULL,
  risk_tier VARCHAR NOT NULL,
  model_version VARCHAR NOT NULL,
  as_of_date DATE NOT NULL,
  scored_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (as_of_date, customer_id)
)
"""


class PredictionError(RuntimeError):
    """Predictions that cannot be made or written; the message says which and why."""


def risk_tiers(probabilities: np.ndarray) -> np.ndarray:
    """'high' / 'medium' / 'low' per probability (cut-offs in the module docstring)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return np.where(p >= HIGH_RISK_FROM, "high", np.where(p >= MEDIUM_RISK_FROM, "medium", "low"))


def predictions_table(
    customer_ids: list[str], probabilities: np.ndarray, model_version: str, as_of: date, scored_at: datetime | None = None
) -> pa.Table:
    """The rows for fact_predictions_churn; PredictionError on non-finite probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    if len(p) != len(customer_ids):
        raise PredictionError(f"{len(customer_ids)} customers but {len(p)} probabilities")
    if not np.isfinite(p).all() or ((p < 0) | (p > 1)).any():
        raise PredictionError(f"model {model_version} gave {int((~np.isfinite(p)).sum())} non-finite or out-of-range probabilities")
    scored_at = scored_at or datetime.now(timezone.utc)
    n = len(p)
    return pa.table(
        {
            "customer_id": pa.array(customer_ids, pa.string()),
            "churn_probability": pa.array(p, pa.float64()),
            "risk_tier": pa.array(risk_tiers(p).tolist(), pa.string()),
            "model_version": pa.array([model_version] * n, pa.string()),
            "as_of_date": pa.array([as_of] * n, pa.date32()),
            "scored_at": pa.array([scored_at] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def write_predictions(warehouse_path: Path, rows: pa.Table, as_of: date) -> int:
    """Replace the as-of date's predictions in the published warehouse, in one transaction.

    The warehouse is opened read-write only for this write, under the ELT's publish lock, so
    a concurrent ELT run either copies the file with these rows or publishes before them
    (and the next ELT build copy carries them over). Rows for other as-of dates stay.
    """
    if not Path(warehouse_path).is_file():
        raise PredictionError(f"warehouse {warehouse_path} does not exist; run the ELT first")
    with exclusive_lock(warehouse_lock_path(warehouse_path)):
        written = _replace_as_of(Path(warehouse_path), rows, as_of)
    # The write made the ELT's standby copy stale: the next run builds on a fresh one.
    start_after_write(Path(warehouse_path))
    return written


def _replace_as_of(warehouse_path: Path, rows: pa.Table, as_of: date) -> int:
    try:
        con = duckdb.connect(str(warehouse_path))
    except duckdb.IOException as err:
        raise PredictionError(
            f"cannot open warehouse {warehouse_path} for writing predictions: another process holds it ({err}); "
            "retry when the running ELT or service step has finished"
        ) from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE SCHEMA IF NOT EXISTS winter_days_warehouse")
            con.execute(PREDICTIONS_DDL)
            con.execute(f"DELETE FROM {PREDICTIONS_TABLE} WHERE as_of_date = ?", [as_of])
            con.register("new_predictions", rows)
            con.execute(
                f"INSERT INTO {PREDICTIONS_TABLE} SELECT customer_id, churn_probability, risk_tier, model_version, "
                "as_of_date, scored_at FROM new_predictions"
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return rows.num_rows
    finally:
        con.close()
