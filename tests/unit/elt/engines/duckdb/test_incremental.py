"""Incremental tables that exist are written as Dataform writes them on BigQuery: onSchemaChange
(FAIL, EXTEND, SYNCHRONIZE, IGNORE) for a column added and a column removed, protected tables
through a full refresh, the legacy incremental_where, and the incremental strategies."""

from __future__ import annotations

import pytest

from winter_days.elt.backend import ActionState, InvocationConfig
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

WH = "winter_days_warehouse"
FIRST = "SELECT 1 AS id, 'x' AS a"


def _run(
    warehouse_path,
    lake_root,
    graph_builder,
    incremental_query: str,
    *,
    first: str = FIRST,
    full_refresh: bool = False,
    **table,
):
    graph = graph_builder()
    graph.table(f"{WH}.events", first, type="incremental", incrementalQuery=incremental_query, **table)
    config = InvocationConfig(fully_refresh_incremental_tables_enabled=full_refresh)
    return DuckDBExecutor(warehouse_path, lake_root).run(graph.build(), config)


@pytest.fixture
def run(warehouse_path, lake_root, graph):
    def go(incremental_query: str, **table):
        # A fresh graph per run, of the graph fixture's builder.
        return _run(warehouse_path, lake_root, type(graph), incremental_query, **table)

    return go


def _columns(query_published) -> list[str]:
    return [row[0] for row in query_published(f"DESCRIBE {WH}.events")]


def _failure(result) -> str:
    [action] = result.actions
    assert action.state is ActionState.FAILED and not result.published
    return action.failure_reason


ADDED = "SELECT 2 AS id, 'y' AS a, 'new' AS b"
REMOVED = "SELECT 2 AS id"


def test_ignore_keeps_the_columns_of_the_table(run, query_published):
    assert run(FIRST, onSchemaChange="IGNORE").published
    assert run(ADDED, onSchemaChange="IGNORE").published
    assert _columns(query_published) == ["id", "a"]
    assert query_published(f"SELECT id, a FROM {WH}.events ORDER BY id") == [(1, "x"), (2, "y")]
    # A column the query no longer makes fails the write, as BigQuery's INSERT naming it does.
    assert "rebuild it once" in _failure(run(REMOVED, onSchemaChange="IGNORE"))


def test_fail_refuses_a_column_added_and_a_column_removed(run, query_published, warehouse_path, digest):
    assert run(FIRST, onSchemaChange="FAIL").published
    before = digest(warehouse_path)
    assert "Schema mismatch defined by on_schema_change = 'FAIL'. Added columns: [b], removed columns: []" in _failure(
        run(ADDED, onSchemaChange="FAIL")
    )
    assert "Added columns: [], removed columns: [a]" in _failure(run(REMOVED, onSchemaChange="FAIL"))
    assert digest(warehouse_path) == before


def test_extend_adds_a_new_column_and_refuses_a_removed_one(run, query_published):
    assert run(FIRST, onSchemaChange="EXTEND").published
    assert run(ADDED, onSchemaChange="EXTEND").published
    assert _columns(query_published) == ["id", "a", "b"]
    assert query_published(f"SELECT id, a, b FROM {WH}.events ORDER BY id") == [(1, "x", None), (2, "y", "new")]
    assert "Column removals are not allowed when on_schema_change = 'EXTEND'. Removed columns: [a, b]" in _failure(
        run(REMOVED, onSchemaChange="EXTEND")
    )


def test_synchronize_adds_and_drops_columns_but_keeps_the_unique_key(run, query_published):
    assert run(FIRST, onSchemaChange="SYNCHRONIZE", uniqueKey=["id"]).published
    assert run(ADDED, onSchemaChange="SYNCHRONIZE", uniqueKey=["id"]).published
    assert _columns(query_published) == ["id", "a", "b"]
    assert run(REMOVED, onSchemaChange="SYNCHRONIZE", uniqueKey=["id"]).published
    assert _columns(query_published) == ["id"]
    assert query_published(f"SELECT id FROM {WH}.events ORDER BY id") == [(1,), (2,)]
    assert "Cannot drop columns [id] as they are part of the unique key" in _failure(
        run("SELECT 'z' AS a", onSchemaChange="SYNCHRONIZE", uniqueKey=["id"])
    )


def test_a_protected_table_survives_a_full_refresh(run, query_published):
    assert run(FIRST, protected=True).published
    assert run(ADDED, protected=True, full_refresh=True).published
    assert query_published(f"SELECT id FROM {WH}.events ORDER BY id") == [(1,), (2,)]
    assert run(ADDED, full_refresh=True).published  # unprotected: rebuilt from the full query
    assert query_published(f"SELECT id FROM {WH}.events ORDER BY id") == [(1,)]


def test_incremental_where_filters_only_incremental_writes(run, query_published):
    rows = "SELECT * FROM UNNEST([1, 2, 3]) AS id"
    assert run(rows, first=rows, where="id > 1").published
    assert query_published(f"SELECT COUNT(*) FROM {WH}.events") == [(3,)]
    assert run(rows, first=rows, where="id > 1").published
    assert query_published(f"SELECT id, COUNT(*) FROM {WH}.events GROUP BY id ORDER BY id") == [(1, 1), (2, 2), (3, 2)]


def test_insert_overwrite_replaces_the_partitions_of_the_new_rows(run, query_published):
    first = "SELECT * FROM UNNEST([STRUCT(DATE '2024-01-01' AS d, 1 AS v), (DATE '2024-01-02', 2)])"
    options = {"incrementalStrategy": "INSERT_OVERWRITE", "bigquery": {"partitionBy": "d"}}
    assert run(first, first=first, **options).published
    assert run("SELECT DATE '2024-01-02' AS d, 20 AS v", first=first, **options).published
    assert query_published(f"SELECT d, v FROM {WH}.events ORDER BY d") == [
        (__import__("datetime").date(2024, 1, 1), 1),
        (__import__("datetime").date(2024, 1, 2), 20),
    ]


def test_update_partition_filter_limits_the_rows_a_merge_matches(run, query_published):
    first = "SELECT 1 AS id, 'old' AS a, 5 AS p"
    options = {"uniqueKey": ["id"], "bigquery": {"partitionBy": "p", "updatePartitionFilter": "p > 10"}}
    assert run(first, first=first, **options).published
    # The target row (p = 5) is outside the filter: not matched, so the new row is added.
    assert run("SELECT 1 AS id, 'new' AS a, 5 AS p", first=first, **options).published
    assert query_published(f"SELECT a FROM {WH}.events ORDER BY a") == [("new",), ("old",)]
