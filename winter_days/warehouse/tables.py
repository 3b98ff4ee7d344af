"""The warehouse tables that code outside the SQL models reads or writes, named once.

The Dataform project (`dataform/`) defines every table but the predictions; a test checks
each name here against its compiled graph. Names are logical (dataset.table): an adapter
maps them to where they live (a DuckDB schema, or a BigQuery dataset with the installation's
project and schema suffix).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

STAGING = "winter_days_staging"
WAREHOUSE = "winter_days_warehouse"


@dataclass(frozen=True, order=True)
class TableName:
    """A table by its dataset and name."""

    dataset: str
    name: str

    def __str__(self) -> str:
        return f"{self.dataset}.{self.name}"


# Silver.
STG_SALES = TableName(STAGING, "stg_sales")
STG_CLICK = TableName(STAGING, "stg_click")
STG_STARTUP = TableName(STAGING, "stg_startup")
FLOW_ROW_ACCOUNTING = TableName(STAGING, "flow_row_accounting")
STG_SALES_QUARANTINE = TableName(STAGING, "stg_sales_quarantine")
STG_CLICK_QUARANTINE = TableName(STAGING, "stg_click_quarantine")
STG_STARTUP_QUARANTINE = TableName(STAGING, "stg_startup_quarantine")
# Gold.
FCT_SALES = TableName(WAREHOUSE, "fct_sales")
FCT_SALES_STATUS_HISTORY = TableName(WAREHOUSE, "fct_sales_status_history")
DIM_CUSTOMER = TableName(WAREHOUSE, "dim_customer")
AGG_CUST_METRICS = TableName(WAREHOUSE, "agg_cust_metrics")
FCT_CLICK_FEATURES = TableName(WAREHOUSE, "fct_click_features")
FCT_CUSTOMER_SESSIONS = TableName(WAREHOUSE, "fct_customer_sessions")
FCT_WEB_SESSIONS = TableName(WAREHOUSE, "fct_web_sessions")
DIM_STARTUP = TableName(WAREHOUSE, "dim_startup")
# Written by the ML step, not by a model.
FACT_PREDICTIONS_CHURN = TableName(WAREHOUSE, "fact_predictions_churn")

MODEL_TABLES = (
    STG_SALES,
    STG_CLICK,
    STG_STARTUP,
    FLOW_ROW_ACCOUNTING,
    STG_SALES_QUARANTINE,
    STG_CLICK_QUARANTINE,
    STG_STARTUP_QUARANTINE,
    FCT_SALES,
    FCT_SALES_STATUS_HISTORY,
    DIM_CUSTOMER,
    AGG_CUST_METRICS,
    FCT_CLICK_FEATURES,
    FCT_CUSTOMER_SESSIONS,
    FCT_WEB_SESSIONS,
    DIM_STARTUP,
)


@dataclass(frozen=True)
class WrittenTable:
    """A table the platform writes itself: its columns and the column a write replaces by."""

    name: TableName
    schema: pa.Schema
    partition_column: str
    description: str


PREDICTIONS = WrittenTable(
    FACT_PREDICTIONS_CHURN,
    pa.schema(
        [
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("churn_probability", pa.float64(), nullable=False),
            pa.field("risk_tier", pa.string(), nullable=False),
            pa.field("model_version", pa.string(), nullable=False),
            pa.field("as_of_date", pa.date32(), nullable=False),
            pa.field("scored_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    ),
    partition_column="as_of_date",
    description="churn probability and risk tier per active customer and as-of date, by the champion model",
)
