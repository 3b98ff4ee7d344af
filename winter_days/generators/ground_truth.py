"""The true churn probability per customer and day, from the sales model itself.

Churned at as-of day T means: no completed purchase in (T, T+H]. Under the model of
sales.draw_sales_day, day d draws N_d sales (N_d uniform on 5..20, or a fixed count), each
sale independently picks customer c with probability q_c(d) = w_c(d) / sum_k w_k(d) and is
completed with probability p; days are independent. Hence, exactly,

    P(churn_c | T) = prod_{d=T+1}^{T+H} E[(1 - p q_c(d))^N_d].

It is written under `ground_truth/churn/`, a lake area the pipeline never reads, so that the
churn model can be scored against the best achievable.
"""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from winter_days.generators.customers import CustomerPool
from winter_days.generators.sales import COMPLETION_PROBABILITY, DEFAULT_SALES_RANGE
from winter_days.stores.lake import Lake

DEFAULT_HORIZON_DAYS = 30

GROUND_TRUTH_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("horizon_days", pa.int32()),
        ("churn_probability", pa.float64()),
        ("is_active_before", pa.bool_()),
    ]
)


class GroundTruthConflict(RuntimeError):
    """The ground truth of a day was already written under a different sales model."""


def churn_probabilities(
    pool: CustomerPool, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS, count: int | None = None
) -> np.ndarray:
    """P(no completed purchase in (as_of, as_of + horizon]) per customer, exactly.

    `count` is the number of sales per future day (None: the default 5..20 draw), which
    must match how the days are (or will be) generated.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
    days = pool.day_offset(as_of) + np.arange(1, horizon_days + 1)
    weights = pool.buy_weights(days)
    totals = weights.sum(axis=1, keepdims=True)
    q = np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)
    miss = 1.0 - COMPLETION_PROBABILITY * q  # per sale: not a completed purchase by c
    if count is None:
        low, high = DEFAULT_SALES_RANGE
        per_day = np.mean([miss**n for n in range(low, high + 1)], axis=0)
    else:
        per_day = miss ** int(count)
    return np.prod(per_day, axis=0)


def ground_truth_table(
    pool: CustomerPool, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS, count: int | None = None
) -> pa.Table:
    """customer_id, as_of_date, horizon_days, churn_probability, is_active_before per customer."""
    n = pool.size
    return pa.table(
        {
            "customer_id": pa.array(pool.customer_id, type=pa.string()),
            "as_of_date": pa.array([as_of] * n, type=pa.date32()),
            "horizon_days": pa.array(np.full(n, horizon_days, dtype=np.int32)),
            "churn_probability": pa.array(churn_probabilities(pool, as_of, horizon_days, count)),
            "is_active_before": pa.array(pool.signed_up_by(as_of)),
        },
        schema=GROUND_TRUTH_SCHEMA,
    )


def ground_truth_key(as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS) -> str:
    return f"ground_truth/churn/as_of={as_of.isoformat()}/churn-h{horizon_days}-{as_of.isoformat()}.parquet"


def ground_truth_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def prepare_ground_truth(
    lake: Lake, pool: CustomerPool, as_of: date, horizon_days: int = DEFAULT_HORIZON_DAYS, count: int | None = None
) -> tuple[str, bytes]:
    """The key and bytes to write; raise GroundTruthConflict before anything is written
    if the day already has a ground truth computed under another pool or sales count."""
    key = ground_truth_key(as_of, horizon_days)
    data = ground_truth_bytes(ground_truth_table(pool, as_of, horizon_days, count))
    if lake.exists(key) and lake.get(key) != data:
        raise GroundTruthConflict(
            f"{key} already holds the churn ground truth of {as_of} under a different seed, customer pool or "
            "sales count; generate this day with the settings it was first generated with"
        )
    return key, data
