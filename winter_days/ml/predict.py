"""Batch scoring with the champion into gold `winter_days_warehouse.fact_predictions_churn`.

Risk tiers, by calibrated churn probability p (the champion's calibrator has turned its
score into a probability that matches observed churn rates): high when p >= 0.5, medium
when 0.25 <= p < 0.5, low below 0.25. Being calibrated, the cut-offs mean what they say
(a high-risk customer is more likely to churn than not) whatever the model. One as-of date's predictions are replaced as a whole in one transaction, so a
re-run never duplicates and a reader never sees half a batch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from winter_days.warehouse import Warehouse, WarehouseError
from winter_days.warehouse.tables import PREDICTIONS

PREDICTIONS_TABLE = str(PREDICTIONS.name)
HIGH_RISK_FROM = 0.5
MEDIUM_RISK_FROM = 0.25


class PredictionError(RuntimeError):
    """Predictions that cannot be made or written; the message says which and why."""


def risk_tiers(probabilities: np.ndarray) -> np.ndarray:
    """'high' / 'medium' / 'low' per probability (cut-offs in the module docstring)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return np.where(p >= HIGH_RISK_FROM, "high", np.where(p >= MEDIUM_RISK_FROM, "medium", "low"))


def predictions_table(
    customer_ids: list[str],
    probabilities: np.ndarray,
    model_version: str,
    as_of: date,
    scored_at: datetime | None = None,
) -> pa.Table:
    """The rows for fact_predictions_churn; PredictionError on non-finite probabilities."""
    p = np.asarray(probabilities, dtype=np.float64)
    if len(p) != len(customer_ids):
        raise PredictionError(f"{len(customer_ids)} customers but {len(p)} probabilities")
    if not np.isfinite(p).all() or ((p < 0) | (p > 1)).any():
        raise PredictionError(
            f"model {model_version} gave {int((~np.isfinite(p)).sum())} non-finite or out-of-range probabilities"
        )
    scored_at = scored_at or datetime.now(UTC)
    n = len(p)
    if len(set(customer_ids)) != n:
        raise PredictionError(f"model {model_version}: a customer appears twice among the {n} scored at {as_of}")
    return pa.table(
        {
            "customer_id": pa.array(customer_ids, pa.string()),
            "churn_probability": pa.array(p, pa.float64()),
            "risk_tier": pa.array(risk_tiers(p).tolist(), pa.string()),
            "model_version": pa.array([model_version] * n, pa.string()),
            "as_of_date": pa.array([as_of] * n, pa.date32()),
            "scored_at": pa.array([scored_at] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=PREDICTIONS.schema,
    )


def write_predictions(warehouse: Warehouse, rows: pa.Table, as_of: date) -> int:
    """Replace the as-of date's predictions in the warehouse, atomically (rows for other
    as-of dates stay); PredictionError naming the warehouse when it refuses."""
    try:
        return warehouse.replace_partition(PREDICTIONS, rows, as_of)
    except WarehouseError as err:
        raise PredictionError(f"predictions for {as_of} not written to {warehouse.describe()}: {err}") from None
