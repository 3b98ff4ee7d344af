"""Point-in-time churn features and labels, computed in the warehouse (BigQuery SQL).

Input contract (the gold/silver tables the ELT publishes; only these columns are read):

- sales, `winter_days_warehouse.fct_sales_status_history`: one row per version of a sale
  (a status change, a correction): sale_id, customer_id, sale_timestamp (TIMESTAMPTZ, UTC),
  status (completed/pending/refunded/cancelled), total_amount, payment_method, region,
  document_update_seq, known_from (when the warehouse knew the version; see the model).
- clicks, `winter_days_staging.stg_click`: user_id (a customer_id for signed-in visitors),
  event_timestamp (TIMESTAMPTZ or ISO-8601 text, UTC), event_type, is_bounce, session_id,
  loaded_at (when the event's file was loaded).

Every aggregate is exact (decimal sums, integer counts), so the same rows give bit-identical
features whatever the table layout or thread count: the training fingerprint depends on
the data only.

Time semantics. An as-of date T stands for the end of day T: its cutoff is T+1 00:00 UTC.
Features as of T see the data as the warehouse knew it at the cutoff: a sale only when one
of its versions was known by then, in the version that held then (a refund known later
leaves T's features alone), and a click only when it was loaded by then. So a late sale, a
late refund or a late click never changes a feature row of a date already past when it
arrived. A customer is active at T when they had a completed purchase, so known, before
the cutoff; only active customers get a row. The label `churned` is 1 when the customer
makes no completed purchase in (T, T+H] (days T+1 .. T+H), H = churn_horizon_days, as the
warehouse knows those purchases at `label_until` (the run's own as-of date, so a training
run gives the same labels whenever it is repeated); it is only defined when T+H <=
label_until, otherwise it is null.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from winter_days.records import PAYMENT_METHODS, REGIONS
from winter_days.warehouse import WarehouseReader
from winter_days.warehouse.tables import FCT_SALES_STATUS_HISTORY, STG_CLICK, TableName

SALES_TABLE = str(FCT_SALES_STATUS_HISTORY)
CLICKS_TABLE = str(STG_CLICK)

SALES_COLUMNS = (
    "customer_id",
    "sale_id",
    "sale_timestamp",
    "status",
    "total_amount",
    "payment_method",
    "region",
    "document_update_seq",
    "known_from",
)
CLICK_COLUMNS = ("user_id", "event_timestamp", "event_type", "is_bounce", "session_id", "loaded_at")

# Order matters: it is the column order of the model's input matrix.
FEATURE_COLUMNS: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "frequency",
    "frequency_30d",
    "frequency_90d",
    "monetary",
    "monetary_90d",
    "avg_order_value",
    "avg_gap_days",
    "recency_over_gap",
    "order_recency_days",
    "orders",
    "orders_30d",
    "order_rate_30d",
    "order_pace_ratio",
    "order_recency_over_gap",
    "orders_14d",
    "history_days",
    "first_activity_days",
    "order_rate_history_30d",
    "refund_rate",
    "cancel_rate",
    "pending_rate",
    *(f"pay_share_{method}" for method in PAYMENT_METHODS),
    *(f"region_{region.lower()}" for region in REGIONS),
    "clicks_7d",
    "clicks_30d",
    "clicks_prev_30d",
    "click_trend",
    "sessions_30d",
    "bounce_rate_30d",
    "cart_events_30d",
    "clicks_total",
    "click_rate_30d",
    "click_pace_ratio",
    "sessions_total",
    "sessions_14d",
    "session_rate_30d",
    "days_since_last_click",
)

KEY_COLUMNS = ("as_of_date", "customer_id")
LABEL_COLUMN = "churned"


class FeatureError(ValueError):
    """The warehouse cannot give the features asked for (missing table or column, no data)."""


class NoSalesError(FeatureError):
    """The warehouse holds no sales (as known by the date asked for) yet."""


@dataclass(frozen=True)
class FeatureSources:
    """Where the sales and click rows come from (tables or views in the warehouse)."""

    sales: str = SALES_TABLE
    clicks: str = CLICKS_TABLE


@dataclass(frozen=True)
class DataSpan:
    """First and last calendar day (UTC) with a sale in the warehouse."""

    first_day: date
    last_day: date


def _sql_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _table(name: str) -> TableName:
    dataset, _, table = name.rpartition(".")
    return TableName(dataset, table)


def check_sources(reader: WarehouseReader, sources: FeatureSources) -> None:
    """Fail naming the table and column when the warehouse does not meet the input contract."""
    for table, columns in ((sources.sales, SALES_COLUMNS), (sources.clicks, CLICK_COLUMNS)):
        if _table(table) not in reader.tables():
            raise FeatureError(f"churn features: table {table} does not exist in the warehouse; run the ELT first")
        found = set(reader.query(f"SELECT * FROM {table} LIMIT 0").column_names)
        missing = [c for c in columns if c not in found]
        if missing:
            raise FeatureError(f"churn features: table {table} lacks column(s) {', '.join(missing)}")


def data_span(
    reader: WarehouseReader, sources: FeatureSources = FeatureSources(), known_by: date | None = None
) -> DataSpan:
    """The days the sales data covers (as known at the end of `known_by`, when given);
    FeatureError when there are no sales."""
    known = "" if known_by is None else " AND known_from < TIMESTAMP(DATE_ADD(@known_by, INTERVAL 1 DAY))"
    row = reader.query(
        f"SELECT DATE(MIN(sale_timestamp)) AS first_day, DATE(MAX(sale_timestamp)) AS last_day "
        f"FROM {sources.sales} WHERE sale_timestamp IS NOT NULL AND customer_id IS NOT NULL{known}",
        {} if known_by is None else {"known_by": known_by},
    ).to_pylist()[0]
    if row["first_day"] is None:
        when = "" if known_by is None else f" known by {known_by}"
        raise NoSalesError(f"churn features: {sources.sales} has no sales with a customer and a timestamp{when}")
    return DataSpan(row["first_day"], row["last_day"])


def _days(later: str, earlier: str) -> str:
    """Fractional days between two timestamps."""
    return f"TIMESTAMP_DIFF({later}, {earlier}, MICROSECOND) / 86400000000.0"


def _feature_sql(sources: FeatureSources, horizon_days: int) -> str:
    """The feature query (BigQuery SQL) over @as_of_dates (ARRAY<DATE>) and @label_until (DATE)."""
    pay_shares = ",\n".join(
        f"    COUNTIF(payment_method = {_sql_literal(m)}) / COUNT(*) AS pay_share_{m}" for m in PAYMENT_METHODS
    )
    regions = ",\n".join(
        f"  CAST(IF(sa.region = {_sql_literal(r)}, 1, 0) AS FLOAT64) AS region_{r.lower()}" for r in REGIONS
    )
    in_days = "IF(day > DATE_SUB(d.as_of_date, INTERVAL {n} DAY), {value}, NULL)"
    return f"""
WITH d AS (
  SELECT as_of_date, TIMESTAMP(DATE_ADD(as_of_date, INTERVAL 1 DAY)) AS cutoff
  FROM UNNEST(@as_of_dates) AS as_of_date
),
-- Every version of every sale, and when the next one replaced it (null: still current).
v AS (
  SELECT customer_id, CAST(sale_timestamp AS TIMESTAMP) AS ts, status,
         CAST(total_amount AS NUMERIC) AS amount, payment_method, region,
         CAST(known_from AS TIMESTAMP) AS known_from,
         LEAD(CAST(known_from AS TIMESTAMP)) OVER (PARTITION BY sale_id ORDER BY known_from, document_update_seq)
           AS known_until
  FROM {sources.sales}
  WHERE customer_id IS NOT NULL AND sale_timestamp IS NOT NULL
),
-- Each date's sales as known at its cutoff, each in the version that held then.
s AS (
  SELECT d.as_of_date, d.cutoff, v.customer_id, v.ts, v.status, v.amount, v.payment_method, v.region
  FROM d JOIN v ON v.ts < d.cutoff AND v.known_from < d.cutoff
                AND (v.known_until IS NULL OR v.known_until >= d.cutoff)
),
-- The sales as known at the end of @label_until: what the labels are read from.
labelled AS (
  SELECT customer_id, ts
  FROM v
  WHERE status = 'completed' AND known_from < TIMESTAMP(DATE_ADD(@label_until, INTERVAL 1 DAY))
    AND (known_until IS NULL OR known_until >= TIMESTAMP(DATE_ADD(@label_until, INTERVAL 1 DAY)))
),
c AS (
  SELECT user_id AS customer_id, CAST(event_timestamp AS TIMESTAMP) AS ts, event_type,
         CAST(is_bounce AS BOOL) AS is_bounce, session_id, DATE(CAST(loaded_at AS TIMESTAMP)) AS load_day
  FROM {sources.clicks}
  WHERE user_id IS NOT NULL AND event_timestamp IS NOT NULL
),
sales_agg AS (
  SELECT s.as_of_date, s.cutoff, s.customer_id,
    COUNTIF(status = 'completed') AS frequency,
    COUNTIF(status = 'completed' AND ts >= TIMESTAMP_SUB(s.cutoff, INTERVAL 30 DAY)) AS frequency_30d,
    COUNTIF(status = 'completed' AND ts >= TIMESTAMP_SUB(s.cutoff, INTERVAL 90 DAY)) AS frequency_90d,
    CAST(COALESCE(SUM(IF(status = 'completed', amount, NULL)), 0) AS FLOAT64) AS monetary,
    CAST(COALESCE(SUM(IF(status = 'completed' AND ts >= TIMESTAMP_SUB(s.cutoff, INTERVAL 90 DAY), amount, NULL)), 0)
      AS FLOAT64) AS monetary_90d,
    COUNT(*) AS orders,
    COUNTIF(ts >= TIMESTAMP_SUB(s.cutoff, INTERVAL 30 DAY)) AS orders_30d,
    COUNTIF(ts >= TIMESTAMP_SUB(s.cutoff, INTERVAL 14 DAY)) AS orders_14d,
    MIN(ts) AS first_order,
    MAX(ts) AS last_order,
    MIN(IF(status = 'completed', ts, NULL)) AS first_completed,
    MAX(IF(status = 'completed', ts, NULL)) AS last_completed,
    COUNTIF(status = 'refunded') / COUNT(*) AS refund_rate,
    COUNTIF(status = 'cancelled') / COUNT(*) AS cancel_rate,
    COUNTIF(status = 'pending') / COUNT(*) AS pending_rate,
{pay_shares},
    MAX_BY(region, ts) AS region
  FROM s
  GROUP BY s.as_of_date, s.cutoff, s.customer_id
  HAVING COUNTIF(status = 'completed') > 0
),
-- Exposure starts where the data known at each date starts.
h AS (
  SELECT as_of_date, MIN(ts) AS data_start FROM s GROUP BY as_of_date
),
-- Every click window is whole UTC days ending at a cutoff (midnight), and a click counts from
-- the day it was loaded, so events bucketed per customer, day, load day and session give exact
-- window counts, with far fewer rows to join per date.
click_days AS (
  SELECT customer_id, DATE(ts) AS day, load_day, session_id,
    COUNT(*) AS events,
    COUNTIF(is_bounce) AS bounces,
    COUNTIF(event_type IN ('add_to_cart', 'checkout')) AS cart_events,
    MIN(ts) AS first_ts,
    MAX(ts) AS last_ts
  FROM c
  GROUP BY customer_id, day, load_day, session_id
),
click_agg AS (
  SELECT d.as_of_date, c.customer_id,
    COALESCE(SUM({in_days.format(n=7, value="events")}), 0) AS clicks_7d,
    COALESCE(SUM({in_days.format(n=30, value="events")}), 0) AS clicks_30d,
    COALESCE(SUM(IF(day > DATE_SUB(d.as_of_date, INTERVAL 60 DAY) AND day <= DATE_SUB(d.as_of_date, INTERVAL 30 DAY),
                    events, NULL)), 0) AS clicks_prev_30d,
    SUM(events) AS clicks_total,
    COUNT(DISTINCT session_id) AS sessions_total,
    COUNT(DISTINCT {in_days.format(n=14, value="session_id")}) AS sessions_14d,
    COUNT(DISTINCT {in_days.format(n=30, value="session_id")}) AS sessions_30d,
    SUM({in_days.format(n=30, value="bounces")}) / NULLIF(SUM({in_days.format(n=30, value="events")}), 0)
      AS bounce_rate_30d,
    COALESCE(SUM({in_days.format(n=30, value="cart_events")}), 0) AS cart_events_30d,
    MIN(first_ts) AS first_click,
    MAX(last_ts) AS last_click
  FROM d JOIN click_days c ON c.day <= d.as_of_date AND c.load_day <= d.as_of_date
  GROUP BY d.as_of_date, c.customer_id
),
future AS (
  SELECT d.as_of_date, f.customer_id, COUNT(*) AS completed_in_window
  FROM d JOIN labelled f ON f.ts >= d.cutoff AND f.ts < TIMESTAMP_ADD(d.cutoff, INTERVAL {horizon_days} DAY)
  GROUP BY d.as_of_date, f.customer_id
)
SELECT
  sa.as_of_date, sa.customer_id,
  {_days("sa.cutoff", "sa.last_completed")} AS recency_days,
  {_days("sa.cutoff", "sa.first_completed")} AS tenure_days,
  CAST(sa.frequency AS FLOAT64) AS frequency,
  CAST(sa.frequency_30d AS FLOAT64) AS frequency_30d,
  CAST(sa.frequency_90d AS FLOAT64) AS frequency_90d,
  sa.monetary, sa.monetary_90d,
  sa.monetary / sa.frequency AS avg_order_value,
  IF(sa.frequency > 1, {_days("sa.last_completed", "sa.first_completed")} / (sa.frequency - 1), NULL) AS avg_gap_days,
  IF(sa.frequency > 1 AND sa.last_completed > sa.first_completed,
     {_days("sa.cutoff", "sa.last_completed")} / ({_days("sa.last_completed", "sa.first_completed")} / (sa.frequency - 1)),
     NULL) AS recency_over_gap,
  -- Long-run rates (per 30 days of observed tenure) and the last 30 days against them:
  -- a customer who is drifting away buys and browses below their own usual pace.
  -- Orders of any status count here: who buys is drawn before the status is, so a refunded
  -- or pending order says as much about a customer's pace as a completed one.
  {_days("sa.cutoff", "sa.last_order")} AS order_recency_days,
  CAST(sa.orders AS FLOAT64) AS orders,
  CAST(sa.orders_30d AS FLOAT64) AS orders_30d,
  30.0 * sa.orders / GREATEST({_days("sa.cutoff", "sa.first_order")}, 1.0) AS order_rate_30d,
  sa.orders_30d / (30.0 * sa.orders / GREATEST({_days("sa.cutoff", "sa.first_order")}, 30.0)) AS order_pace_ratio,
  CAST(sa.orders_14d AS FLOAT64) AS orders_14d,
  -- Exposure: how long the data could have shown this customer's activity. The first
  -- activity (order or visit) bounds the signup; the data's own start bounds older customers.
  {_days("sa.cutoff", "h.data_start")} AS history_days,
  {_days("sa.cutoff", "LEAST(sa.first_order, COALESCE(ca.first_click, sa.first_order))")} AS first_activity_days,
  30.0 * sa.orders / GREATEST({_days("sa.cutoff", "h.data_start")}, 1.0) AS order_rate_history_30d,
  IF(sa.orders > 1 AND sa.last_order > sa.first_order,
     {_days("sa.cutoff", "sa.last_order")} / ({_days("sa.last_order", "sa.first_order")} / (sa.orders - 1)),
     NULL) AS order_recency_over_gap,
  sa.refund_rate, sa.cancel_rate, sa.pending_rate,
  {", ".join(f"sa.pay_share_{m}" for m in PAYMENT_METHODS)},
{regions},
  CAST(COALESCE(ca.clicks_7d, 0) AS FLOAT64) AS clicks_7d,
  CAST(COALESCE(ca.clicks_30d, 0) AS FLOAT64) AS clicks_30d,
  CAST(COALESCE(ca.clicks_prev_30d, 0) AS FLOAT64) AS clicks_prev_30d,
  CAST(COALESCE(ca.clicks_30d, 0) - COALESCE(ca.clicks_prev_30d, 0) AS FLOAT64) AS click_trend,
  CAST(COALESCE(ca.sessions_30d, 0) AS FLOAT64) AS sessions_30d,
  ca.bounce_rate_30d,
  CAST(COALESCE(ca.cart_events_30d, 0) AS FLOAT64) AS cart_events_30d,
  CAST(COALESCE(ca.clicks_total, 0) AS FLOAT64) AS clicks_total,
  CAST(COALESCE(ca.sessions_total, 0) AS FLOAT64) AS sessions_total,
  CAST(COALESCE(ca.sessions_14d, 0) AS FLOAT64) AS sessions_14d,
  30.0 * COALESCE(ca.sessions_total, 0)
    / GREATEST({_days("sa.cutoff", "LEAST(sa.first_order, COALESCE(ca.first_click, sa.first_order))")}, 1.0)
    AS session_rate_30d,
  30.0 * ca.clicks_total / GREATEST({_days("sa.cutoff", "ca.first_click")}, 1.0) AS click_rate_30d,
  ca.clicks_30d / (30.0 * ca.clicks_total / GREATEST({_days("sa.cutoff", "ca.first_click")}, 30.0)) AS click_pace_ratio,
  {_days("sa.cutoff", "ca.last_click")} AS days_since_last_click,
  -- Labels need the whole window (T, T+H] inside the data: later as-of dates get a null label.
  IF(DATE_ADD(d.as_of_date, INTERVAL {horizon_days} DAY) <= @label_until,
     CAST(COALESCE(f.completed_in_window, 0) = 0 AS INT64), NULL) AS churned
FROM sales_agg sa
LEFT JOIN click_agg ca USING (as_of_date, customer_id)
LEFT JOIN future f USING (as_of_date, customer_id)
JOIN d ON d.as_of_date = sa.as_of_date
JOIN h ON h.as_of_date = sa.as_of_date
ORDER BY sa.as_of_date, sa.customer_id
"""


def build_feature_table(
    reader: WarehouseReader,
    as_of_dates: list[date],
    horizon_days: int,
    sources: FeatureSources = FeatureSources(),
    label_until: date | None = None,
) -> pa.Table:
    """One row per (as_of_date, active customer): keys, FEATURE_COLUMNS and `churned`.

    `label_until` is the last day the data may be read for labels, as known at its end
    (default: the last sale day); a label whose window passes it is null rather than a
    wrong "churned".
    """
    if not as_of_dates:
        raise FeatureError("churn features: no as-of dates given")
    check_sources(reader, sources)
    if label_until is None:
        label_until = data_span(reader, sources).last_day
    params = {"as_of_dates": sorted(set(as_of_dates)), "label_until": label_until}
    return reader.query(_feature_sql(sources, horizon_days), params)


def feature_matrix(table: pa.Table, columns: tuple[str, ...] | list[str] = FEATURE_COLUMNS) -> np.ndarray:
    """The model input: float64, one column per feature, NaN where a feature is undefined."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise FeatureError(f"churn features: feature table lacks column(s) {', '.join(missing)}")
    if table.num_rows == 0:
        return np.empty((0, len(columns)), dtype=np.float64)
    return np.column_stack(
        [table.column(c).to_numpy(zero_copy_only=False).astype(np.float64, copy=False) for c in columns]
    )


MIN_HISTORY_DAYS = 14  # history before the first training as-of date, by default


def minimum_history_days(horizon_days: int, min_history_days: int = MIN_HISTORY_DAYS) -> int:
    """Days of sales history the time split needs: some history, a training label window and
    an evaluation label window (see training_as_of_dates)."""
    return 2 * horizon_days + min_history_days


def training_as_of_dates(
    span: DataSpan, score_date: date, horizon_days: int, train_dates: int, step_days: int, min_history_days: int
) -> tuple[list[date], date]:
    """Earlier as-of dates to train on and the later one to evaluate on.

    The evaluation date is score_date - H (the last date whose label window is complete);
    training dates end H days before it, so no training label looks into the evaluation
    window, and step back `step_days` while at least `min_history_days` of history remain.
    """
    eval_date = score_date - timedelta(days=horizon_days)
    earliest = span.first_day + timedelta(days=min_history_days)
    train = []
    for k in range(train_dates):
        candidate = eval_date - timedelta(days=horizon_days + k * step_days)
        if candidate < earliest:
            break
        train.append(candidate)
    if not train:
        need = minimum_history_days(horizon_days, min_history_days)
        have = (score_date - span.first_day).days
        raise FeatureError(
            f"churn training: the sales history from {span.first_day} to {score_date} spans {have} days; a time split "
            f"with a {horizon_days}-day horizon needs at least {need} days (history, a training window and an "
            "evaluation window)"
        )
    return sorted(train), eval_date
