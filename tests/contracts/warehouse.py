"""The Warehouse contract: inherit `WarehouseContract` in a `Test...` class that provides

- `publish`: a callable (tables: {TableName: pa.Table}) -> Warehouse that makes these tables
  the published state (as an ELT run would) and returns the warehouse over it;
- `unpublished`: a Warehouse over which nothing has been published.

Queries are the port's BigQuery SQL; rows come back as Arrow with the same types and values
from every adapter.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from winter_days.warehouse import Warehouse, WarehouseError, WarehouseMissing, WarehouseReader
from winter_days.warehouse.tables import FACT_PREDICTIONS_CHURN, FCT_SALES, PREDICTIONS


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SALES = pa.table(
    {
        "sale_id": ["S1", "S2", "S3", "S4"],
        "region": ["North", "North", "South", "East"],
        "quantity": pa.array([1, 2, 3, 4], pa.int64()),
        "total_amount": [10.5, 20.0, 30.25, 40.0],
        "is_completed": [True, False, True, True],
        "sale_date": pa.array([date(2026, 3, 1), date(2026, 3, 1), date(2026, 3, 2), date(2026, 4, 3)], pa.date32()),
        "sale_timestamp": pa.array(
            [
                utc("2026-03-01T10:00:00"),
                utc("2026-03-01T23:59:59.5"),
                utc("2026-03-02T00:00:00"),
                utc("2026-04-03T08:00:00"),
            ],
            pa.timestamp("us", tz="UTC"),
        ),
    }
)
SCORED_AT = utc("2026-03-05T02:00:00")


def predictions(customers: dict[str, float], as_of: date, version: str = "v1") -> pa.Table:
    """Rows of fact_predictions_churn for one as-of date."""
    return pa.table(
        {
            "customer_id": list(customers),
            "churn_probability": list(customers.values()),
            "risk_tier": ["high" if p >= 0.5 else "low" for p in customers.values()],
            "model_version": [version] * len(customers),
            "as_of_date": pa.array([as_of] * len(customers), pa.date32()),
            "scored_at": pa.array([SCORED_AT] * len(customers), pa.timestamp("us", tz="UTC")),
        },
        schema=PREDICTIONS.schema,
    )


PREDICTED = f"SELECT as_of_date, customer_id, churn_probability, model_version FROM {FACT_PREDICTIONS_CHURN} ORDER BY as_of_date, customer_id"


def rows(warehouse: Warehouse, sql: str, params=None) -> list[tuple]:
    return [tuple(row.values()) for row in warehouse.read(sql, params).to_pylist()]


class WarehouseContract:
    def test_a_reader_sees_the_published_rows_with_their_types(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        assert isinstance(warehouse, Warehouse)
        with warehouse.reader() as reader:
            assert isinstance(reader, WarehouseReader)
            assert FCT_SALES in reader.tables()
            got = reader.query(f"SELECT * FROM {FCT_SALES} ORDER BY sale_id")
        assert got.schema.names == SALES.schema.names
        for name in SALES.schema.names:
            assert got.schema.field(name).type == SALES.schema.field(name).type, name
        assert got.to_pylist() == SALES.to_pylist()

    def test_named_parameters_and_arrays(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        sql = f"SELECT sale_id FROM {FCT_SALES} WHERE region = @region AND sale_date IN UNNEST(@days) ORDER BY sale_id"
        assert rows(warehouse, sql, {"region": "North", "days": [date(2026, 3, 1), date(2026, 3, 9)]}) == [
            ("S1",),
            ("S2",),
        ]
        assert rows(warehouse, sql, {"region": "South", "days": [date(2026, 3, 1)]}) == []
        stamp = f"SELECT COUNT(*) AS n FROM {FCT_SALES} WHERE sale_timestamp < @cutoff AND sale_id IN UNNEST(@ids)"
        assert rows(warehouse, stamp, {"cutoff": utc("2026-03-02T00:00:00"), "ids": ["S1", "S2", "S3"]}) == [(2,)]

    def test_positional_parameters(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        sql = f"SELECT sale_id FROM {FCT_SALES} WHERE total_amount > ? AND is_completed = ? AND quantity <= ? ORDER BY sale_id"
        assert rows(warehouse, sql, [15.0, True, 4]) == [("S3",), ("S4",)]

    def test_bigquery_sql_keeps_bigquery_semantics(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        sql = f"""
            SELECT FORMAT_DATE('%Y-%m', sale_date) AS month,
                   COUNTIF(is_completed) AS completed,
                   ROUND(SAFE_DIVIDE(SUM(total_amount), COUNT(*)), 2) AS average,
                   EXTRACT(DAYOFWEEK FROM MIN(sale_date)) AS first_weekday,
                   TIMESTAMP_DIFF(MAX(sale_timestamp), MIN(sale_timestamp), HOUR) AS hours
            FROM {FCT_SALES} GROUP BY month ORDER BY month"""
        # 2026-03-01 is a Sunday: day 1 in BigQuery; whole hours between the first and last sale.
        assert rows(warehouse, sql) == [("2026-03", 2, 20.25, 1, 14), ("2026-04", 1, 40.0, 6, 0)]

    def test_nothing_published_says_to_run_the_pipeline(self, unpublished):
        with pytest.raises(WarehouseMissing, match="run the pipeline"):
            with unpublished.reader():
                pass

    def test_replacing_a_partition_keeps_the_other_dates_and_a_rerun_never_duplicates(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        first, second = date(2026, 3, 1), date(2026, 3, 2)
        assert (
            warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.1, "C2": 0.7, "C3": 0.2}, first), first) == 3
        )
        assert warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.3, "C4": 0.9}, second), second) == 2
        before = rows(warehouse, PREDICTED)
        # A rerun of the first date with the same rows, then with other rows.
        warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.1, "C2": 0.7, "C3": 0.2}, first), first)
        assert rows(warehouse, PREDICTED) == before
        warehouse.replace_partition(PREDICTIONS, predictions({"C2": 0.8, "C5": 0.4}, first, "v2"), first)
        assert rows(warehouse, PREDICTED) == [
            (first, "C2", 0.8, "v2"),
            (first, "C5", 0.4, "v2"),
            (second, "C1", 0.3, "v1"),
            (second, "C4", 0.9, "v1"),
        ]
        with warehouse.reader() as reader:
            assert FACT_PREDICTIONS_CHURN in reader.tables()

    def test_rows_that_do_not_fit_are_refused_naming_the_table_and_nothing_changes(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        day = date(2026, 3, 1)
        warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.1}, day), day)
        bad = predictions({"C9": 0.5}, day).drop_columns(["risk_tier"])
        with pytest.raises(WarehouseError, match="fact_predictions_churn"):
            warehouse.replace_partition(PREDICTIONS, bad, day)
        assert rows(warehouse, PREDICTED) == [(day, "C1", 0.1, "v1")]

    def test_the_published_version_changes_with_a_write(self, publish):
        warehouse = publish({FCT_SALES: SALES})
        before = warehouse.published_version()
        assert before is not None
        day = date(2026, 3, 1)
        warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.1}, day), day)
        assert warehouse.published_version() not in (None, before)

    def test_it_describes_where_it_is(self, unpublished):
        assert unpublished.describe()
