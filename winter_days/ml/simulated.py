"""A warehouse filled straight from the generators' model, for testing and benchmarking the
churn pipeline without the export and ELT steps in between.

It holds the two tables of the pipeline's input contract (see features.py),
`winter_days_warehouse.fct_sales_status_history` and `winter_days_staging.stg_click`, with
the rows the generators would produce for each day, each loaded at the end of its day (a
sale known from its own time, a click from its day's load), so the model can be compared
with the generators' true churn probabilities (generators/ground_truth.py) on the same
customers.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from winter_days.generators.catalogue import build_catalogue
from winter_days.generators.clickstream import clickstream_chunks
from winter_days.generators.customers import CustomerPool
from winter_days.generators.randomness import day_rng
from winter_days.generators.sales import draw_sales_day
from winter_days.records import PAYMENT_METHODS, SALE_STATUSES


def _sales_day(pool: CustomerPool, day: date, count: int) -> pa.Table:
    draw = draw_sales_day(pool, day, day_rng(pool.seed, "sales", day), count)
    catalogue = build_catalogue(pool.seed)
    n = len(draw)
    unit_price = np.round(catalogue.price[draw.product] * draw.discount, 2)
    midnight = np.datetime64(day.isoformat(), "s")
    timestamps = pa.array(midnight + draw.second_of_day.astype("timedelta64[s]"), pa.timestamp("s")).cast(
        pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "sale_id": pa.array([f"SALE-{day:%Y%m%d}-{k:06d}" for k in range(1, n + 1)], pa.string()),
            "customer_id": pa.array(pool.customer_id[draw.buyer], pa.string()),
            "sale_timestamp": timestamps,
            "status": pa.array(np.asarray(SALE_STATUSES, dtype=object)[draw.status], pa.string()),
            "total_amount": pa.array(np.round(unit_price * draw.quantity, 2), pa.float64()),
            "payment_method": pa.array(np.asarray(PAYMENT_METHODS, dtype=object)[draw.payment], pa.string()),
            "region": pa.array(pool.region[draw.buyer], pa.string()),
            "document_update_seq": pa.array(np.ones(n, dtype=np.int64)),
            "known_from": timestamps,
        }
    )


def _clicks_day(pool: CustomerPool, day: date, count: int) -> list[pa.Table]:
    tables = []
    for chunk in clickstream_chunks(pool, day, count):
        t = chunk.table()
        tables.append(
            t.select(["user_id", "event_timestamp", "event_type", "is_bounce", "session_id", "load_timestamp"])
        )
    return tables


def write_simulated_warehouse(
    path: Path, pool: CustomerPool, first_day: date, last_day: date, sales_per_day: int, clicks_per_day: int
) -> dict[str, int]:
    """Create (or replace) the input tables in the DuckDB file `path`; returns row counts."""
    sales, clicks = [], []
    day = first_day
    while day <= last_day:
        sales.append(_sales_day(pool, day, sales_per_day))
        if clicks_per_day:
            clicks.extend(_clicks_day(pool, day, clicks_per_day))
        day += timedelta(days=1)
    sales_table = pa.concat_tables(sales)
    click_table = (
        pa.concat_tables(clicks)
        if clicks
        else pa.table(
            {
                "user_id": pa.array([], pa.string()),
                "event_timestamp": pa.array([], pa.string()),
                "event_type": pa.array([], pa.string()),
                "is_bounce": pa.array([], pa.bool_()),
                "session_id": pa.array([], pa.string()),
                "load_timestamp": pa.array([], pa.string()),
            }
        )
    )
    with duckdb.connect(str(path)) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA IF NOT EXISTS winter_days_warehouse")
        con.execute("CREATE SCHEMA IF NOT EXISTS winter_days_staging")
        con.register("sales_rows", sales_table)
        con.register("click_rows", click_table)
        con.execute(
            "CREATE OR REPLACE TABLE winter_days_warehouse.fct_sales_status_history AS SELECT * FROM sales_rows"
        )
        con.execute(
            "CREATE OR REPLACE TABLE winter_days_staging.stg_click AS SELECT user_id, "
            "CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, event_type, is_bounce, session_id, "
            "CAST(load_timestamp AS TIMESTAMPTZ) AS loaded_at FROM click_rows"
        )
    return {"sales": sales_table.num_rows, "clicks": click_table.num_rows}
