"""The executor runs Dataform actions as Dataform does, and publishes only successful runs."""

from __future__ import annotations

import shutil

import pytest

from winter_days.elt.backend import ActionState, InvocationConfig, InvocationState, Target
from winter_days.elt.engines.duckdb.actions import ROW_GROUP_ROWS
from winter_days.elt.engines.duckdb.graph import GraphError, build_graph, find_target, select
from winter_days.warehouse.duckdb.files import leave_out_standbys, prepare_standby, wait_for_after_write

ST = "winter_days_staging"
WH = "winter_days_warehouse"
AS = "winter_days_assertions"


def states(result) -> dict[str, str]:
    return {a.target.name: a.state.value for a in result.actions}


def by_name(result, name):
    return next(a for a in result.actions if a.target.name == name)


def source_table(graph, rows_sql: str):
    """An operation that (re)creates a source table from literal rows, in BigQuery SQL."""
    return graph.operation(f"{ST}.src", [f"CREATE OR REPLACE TABLE `proj.{ST}.src` AS {rows_sql}"])


def test_table_and_view_are_created_and_rows_counted(graph, executor, query_published):
    source_table(graph, "SELECT 1 AS id, 'a' AS v UNION ALL SELECT 2, 'b'")
    graph.table(f"{WH}.t", f"SELECT id, UPPER(v) AS v FROM `proj.{ST}.src`", deps=[f"{ST}.src"])
    graph.table(f"{WH}.v", f"SELECT COUNT(*) AS n FROM `proj.{WH}.t`", type="view", deps=[f"{WH}.t"])
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED and result.published
    assert states(result) == {"src": "SUCCEEDED", "t": "SUCCEEDED", "v": "SUCCEEDED"}
    assert by_name(result, "t").rows == 2
    assert by_name(result, "v").rows is None
    assert query_published(f"SELECT * FROM {WH}.t ORDER BY id") == [(1, "A"), (2, "B")]
    assert query_published(f"SELECT n FROM {WH}.v") == [(2,)]
    timing = by_name(result, "t").invocation_timing
    assert timing.start_time <= timing.end_time


def incremental_graph(graph, rows_sql: str, unique_key=("id",)):
    source_table(graph, rows_sql)
    extra = {"uniqueKey": list(unique_key)} if unique_key else {}
    graph.table(
        f"{WH}.inc",
        f"SELECT id, v, 'full' AS mode FROM `proj.{ST}.src`",
        type="incremental",
        deps=[f"{ST}.src"],
        incrementalQuery=f"SELECT id, v, 'incremental' AS mode FROM `proj.{ST}.src` WHERE id >= (SELECT MAX(id) FROM `proj.{WH}.inc`)",
        preOps=[f"CREATE OR REPLACE TABLE `proj.{ST}.ops_log` AS SELECT 'pre' AS op"],
        incrementalPreOps=[f"CREATE OR REPLACE TABLE `proj.{ST}.ops_log` AS SELECT 'incremental_pre' AS op"],
        **extra,
    )
    return graph.build()


def test_incremental_first_run_builds_then_merges_updates_and_inserts(graph, executor, query_published):
    first = incremental_graph(graph, "SELECT 1 AS id, 'a' AS v UNION ALL SELECT 2, 'b'")
    result = executor.run(first)
    assert result.state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT id, v, mode FROM {WH}.inc ORDER BY id") == [(1, "a", "full"), (2, "b", "full")]
    assert query_published(f"SELECT op FROM {ST}.ops_log") == [("pre",)]

    # Second run: id 2 changed, id 3 new; the incremental query sees ids >= 2 only.
    graph.doc["operations"][0]["queries"] = [
        f"CREATE OR REPLACE TABLE `proj.{ST}.src` AS SELECT 1 AS id, 'a' AS v UNION ALL SELECT 2, 'B' UNION ALL SELECT 3, 'c'"
    ]
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED
    inc = by_name(result, "inc")
    assert inc.rows_affected == 2 and inc.rows == 3
    assert query_published(f"SELECT id, v, mode FROM {WH}.inc ORDER BY id") == [
        (1, "a", "full"),
        (2, "B", "incremental"),
        (3, "c", "incremental"),
    ]
    assert query_published(f"SELECT op FROM {ST}.ops_log") == [("incremental_pre",)]

    # Repeating the same input never duplicates a key.
    for _ in range(2):
        assert executor.run(graph.build()).state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT COUNT(*), COUNT(DISTINCT id) FROM {WH}.inc") == [(3, 3)]


def test_merge_with_two_incremental_rows_for_one_existing_key_fails_as_in_bigquery(
    graph, executor, warehouse_path, digest
):
    doc = incremental_graph(graph, "SELECT 1 AS id, 'a' AS v")
    executor.run(doc)
    before = digest(warehouse_path)
    graph.doc["operations"][0]["queries"] = [
        f"CREATE OR REPLACE TABLE `proj.{ST}.src` AS SELECT 1 AS id, 'x' AS v UNION ALL SELECT 1, 'y'"
    ]
    result = executor.run(graph.build())
    inc = by_name(result, "inc")
    assert inc.state is ActionState.FAILED
    assert "at most one source row" in inc.failure_reason and "{'id': 1}" in inc.failure_reason
    assert digest(warehouse_path) == before


def test_full_refresh_rebuilds_an_incremental_table(graph, executor, query_published):
    doc = incremental_graph(graph, "SELECT 1 AS id, 'a' AS v")
    executor.run(doc)
    executor.run(doc)
    assert query_published(f"SELECT mode FROM {WH}.inc") == [("incremental",)]
    result = executor.run(doc, InvocationConfig(fully_refresh_incremental_tables_enabled=True))
    assert result.state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT mode FROM {WH}.inc") == [("full",)]


def test_incremental_without_unique_key_appends(graph, executor, query_published):
    doc = incremental_graph(graph, "SELECT 1 AS id, 'a' AS v", unique_key=())
    for _ in range(3):
        executor.run(doc)
    assert query_published(f"SELECT mode, COUNT(*) FROM {WH}.inc GROUP BY mode ORDER BY mode") == [
        ("full", 1),
        ("incremental", 2),
    ]


def test_operations_run_as_written_with_pre_and_post_ops(graph, executor, query_published):
    graph.operation(
        f"{ST}.log",
        [
            f"CREATE OR REPLACE TABLE `proj.{ST}.log` (step STRING, at_day INT64)",
            f"INSERT INTO `proj.{ST}.log` VALUES ('one', EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')); INSERT INTO `proj.{ST}.log` VALUES ('two', 2)",
        ],
    )
    graph.table(
        f"{WH}.t",
        f"SELECT COUNT(*) AS n FROM `proj.{ST}.log`",
        deps=[f"{ST}.log"],
        postOps=[f"INSERT INTO `proj.{ST}.log` VALUES ('post', 3)"],
    )
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED
    assert by_name(result, "log").rows == 2
    assert query_published(f"SELECT step, at_day FROM {ST}.log ORDER BY at_day") == [
        ("one", 1),
        ("two", 2),
        ("post", 3),
    ]
    assert query_published(f"SELECT n FROM {WH}.t") == [(2,)]


def test_assertion_passes_on_zero_rows_and_fails_with_a_sample(graph, executor, warehouse_path, digest):
    source_table(graph, "SELECT id FROM UNNEST(GENERATE_ARRAY(1, 8)) AS id")
    graph.assertion(f"{AS}.ok", f"SELECT * FROM `proj.{ST}.src` WHERE id > 100", deps=[f"{ST}.src"])
    graph.assertion(f"{AS}.too_big", f"SELECT id FROM `proj.{ST}.src` WHERE id > 1", deps=[f"{ST}.src"])
    result = executor.run(graph.build())
    assert states(result) == {"src": "SUCCEEDED", "ok": "SUCCEEDED", "too_big": "FAILED"}
    failed = by_name(result, "too_big")
    assert failed.rows == 7
    assert len(failed.failing_rows_sample) == 5
    assert all(set(row) == {"id"} and row["id"] > 1 for row in failed.failing_rows_sample)
    assert "7 row(s)" in failed.failure_reason
    assert result.state is InvocationState.FAILED and not result.published
    assert not warehouse_path.exists()


def test_failure_skips_dependents_only(graph, executor):
    source_table(graph, "SELECT 1 AS id")
    graph.table(f"{WH}.broken", "SELECT no_such_column FROM `proj.winter_days_staging.src`", deps=[f"{ST}.src"])
    graph.table(f"{WH}.child", f"SELECT * FROM `proj.{WH}.broken`", deps=[f"{WH}.broken"])
    graph.table(f"{WH}.grandchild", f"SELECT * FROM `proj.{WH}.child`", deps=[f"{WH}.child"])
    graph.table(f"{WH}.sibling", f"SELECT id FROM `proj.{ST}.src`", deps=[f"{ST}.src"])
    graph.table(f"{WH}.independent", "SELECT 42 AS answer")
    result = executor.run(graph.build())
    assert states(result) == {
        "src": "SUCCEEDED",
        "broken": "FAILED",
        "child": "SKIPPED",
        "grandchild": "SKIPPED",
        "sibling": "SUCCEEDED",
        "independent": "SUCCEEDED",
    }
    broken = by_name(result, "broken")
    assert "definitions/broken.sqlx" in broken.failure_reason and "no_such_column" in broken.failure_reason
    assert f"{WH}.broken" in by_name(result, "child").failure_reason
    assert result.state is InvocationState.FAILED


def test_disabled_action_is_disabled_and_does_not_block(graph, executor):
    source_table(graph, "SELECT 1 AS id")
    graph.table(f"{WH}.off", "SELECT 1 AS x", disabled=True)
    graph.table(f"{WH}.after", f"SELECT id FROM `proj.{ST}.src`", deps=[f"{ST}.src", f"{WH}.off"])
    result = executor.run(graph.build())
    assert states(result) == {"src": "SUCCEEDED", "off": "DISABLED", "after": "SUCCEEDED"}
    assert result.state is InvocationState.SUCCEEDED and result.published


def selection_graph(graph):
    source_table(graph, "SELECT 1 AS id")
    graph.table(f"{WH}.a", f"SELECT id FROM `proj.{ST}.src`", deps=[f"{ST}.src"], tags=["sales"])
    graph.table(f"{WH}.b", f"SELECT id FROM `proj.{WH}.a`", deps=[f"{WH}.a"], tags=["gold"])
    graph.table(f"{WH}.c", "SELECT 2 AS id", tags=["clicks"])
    return build_graph(graph.build())


def names(targets):
    return [t.name for t in targets]


def test_selection_by_tag_and_action_with_dependencies(graph):
    g = selection_graph(graph)
    assert names(select(g, InvocationConfig())) == ["src", "a", "b", "c"]
    assert names(select(g, InvocationConfig(included_tags=("gold",)))) == ["b"]
    deps = InvocationConfig(included_tags=("gold",), transitive_dependencies_included=True)
    assert names(select(g, deps)) == ["src", "a", "b"]
    by_action = InvocationConfig(included_targets=(find_target(g, "a"),), transitive_dependents_included=True)
    assert names(select(g, by_action)) == ["a", "b"]
    assert find_target(g, f"{WH}.c") == Target("proj", WH, "c")
    with pytest.raises(GraphError, match="no action named"):
        find_target(g, "missing")


def test_selected_run_leaves_other_tables_alone(graph, executor, query_published):
    g = selection_graph(graph)
    executor.run(g)
    result = executor.run(g, InvocationConfig(included_tags=("clicks",)))
    assert states(result) == {"c": "SUCCEEDED"}
    assert query_published(f"SELECT COUNT(*) FROM {WH}.b") == [(1,)]


def test_cycles_and_unknown_dependencies_are_graph_errors(graph):
    graph.table(f"{WH}.x", "SELECT 1", deps=[f"{WH}.y"])
    graph.table(f"{WH}.y", "SELECT 1", deps=[f"{WH}.x"])
    with pytest.raises(GraphError, match="cycle"):
        build_graph(graph.build())
    graph.doc["tables"] = graph.doc["tables"][:1]
    with pytest.raises(GraphError, match="not in the graph"):
        build_graph(graph.build())


def test_publish_on_success_and_unchanged_bytes_on_failure(graph, executor, warehouse_path, digest, query_published):
    source_table(graph, "SELECT 1 AS id")
    graph.table(f"{WH}.t", f"SELECT id FROM `proj.{ST}.src`", deps=[f"{ST}.src"])
    graph.assertion(f"{AS}.positive", f"SELECT * FROM `proj.{WH}.t` WHERE id <= 0", deps=[f"{WH}.t"])
    assert executor.run(graph.build()).published
    before = digest(warehouse_path)

    # Next run writes new rows, then its assertion fails: nothing of it is published.
    graph.doc["operations"][0]["queries"] = [f"CREATE OR REPLACE TABLE `proj.{ST}.src` AS SELECT -5 AS id"]
    result = executor.run(graph.build())
    assert states(result) == {"src": "SUCCEEDED", "t": "SUCCEEDED", "positive": "FAILED"}
    assert not result.published
    assert digest(warehouse_path) == before
    assert query_published(f"SELECT id FROM {WH}.t") == [(1,)]
    assert [p.name for p in warehouse_path.parent.iterdir() if ".build-" in p.name] == []

    # A run that fails on an action (not an assertion) leaves it unchanged too.
    graph.doc["tables"][0]["query"] = "SELECT nope FROM nowhere"
    assert executor.run(graph.build()).state is InvocationState.FAILED
    assert digest(warehouse_path) == before


def standbys(warehouse_path) -> list:
    return sorted(warehouse_path.parent.glob(f".{warehouse_path.name}.standby-*"))


def test_the_replaced_file_is_removed_after_the_publish_and_leftovers_on_the_next_run(graph, executor, warehouse_path):
    graph.table(f"{WH}.t", "SELECT 1 AS id")
    assert executor.run(graph.build()).published
    # A process that ended mid-run left its build copy, the copy's WAL and spill folder; one
    # that ended before removing the file its publish replaced, or before it finished the
    # next run's copy, left those.
    for leftover in ("build-0", "build-0.wal", "retired-0", "standby-partial-0"):
        warehouse_path.with_name(f".{warehouse_path.name}.{leftover}").write_bytes(b"an old warehouse")
    spill = warehouse_path.with_name(f".{warehouse_path.name}.build-0.spill")
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"spilled rows")
    assert executor.run(graph.build()).published
    wait_for_after_write()
    stat = warehouse_path.stat()
    assert sorted(p.name for p in warehouse_path.parent.iterdir() if warehouse_path.name in p.name) == [
        f".{warehouse_path.name}.lock",
        f".{warehouse_path.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}",
        warehouse_path.name,
    ]


def test_a_run_leaves_the_build_copy_of_a_live_run_alone_until_that_run_releases_the_lock(
    graph, executor, warehouse_path
):
    import threading

    from winter_days.stores.locking import exclusive_lock
    from winter_days.warehouse.duckdb.files import warehouse_lock_path

    graph.table(f"{WH}.t", "SELECT 1 AS id")
    assert executor.run(graph.build()).published
    live = warehouse_path.with_name(f".{warehouse_path.name}.build-live")
    with exclusive_lock(warehouse_lock_path(warehouse_path)):  # as another process's run holds it
        live.write_bytes(b"a run in progress")
        second = threading.Thread(target=executor.run, args=(graph.build(),))
        second.start()
        second.join(timeout=0.5)
        assert second.is_alive() and live.read_bytes() == b"a run in progress"
    second.join()
    assert not live.exists()


def test_the_standby_copy_outlives_a_daemon_thread_that_started_it(warehouse_path):
    """The local ELT runs in a daemon thread; a copy it starts must not die with the command."""
    import threading

    from winter_days.warehouse.duckdb.files import start_after_write

    started = []
    starter = threading.Thread(target=lambda: started.append(start_after_write(warehouse_path)), daemon=True)
    starter.start()
    starter.join()
    [after_write] = started
    assert not after_write.daemon
    after_write.join()


def test_a_run_builds_on_the_standby_copy_the_last_run_left(graph, executor, warehouse_path, query_published):
    graph.table(f"{WH}.t", "SELECT 1 AS id")
    assert executor.run(graph.build()).published
    wait_for_after_write()
    [standby] = standbys(warehouse_path)
    assert standby.read_bytes() == warehouse_path.read_bytes()
    standby_inode = standby.stat().st_ino

    graph.doc["tables"][0]["query"] = "SELECT 2 AS id"
    assert executor.run(graph.build()).published
    # The run built in the standby (renamed, not copied) and published it.
    assert warehouse_path.stat().st_ino == standby_inode
    assert query_published(f"SELECT id FROM {WH}.t") == [(2,)]


def test_a_write_to_the_published_file_after_the_standby_was_made_is_not_lost(
    graph, executor, warehouse_path, query_published
):
    import duckdb

    graph.table(f"{WH}.t", "SELECT 1 AS id")
    assert executor.run(graph.build()).published
    wait_for_after_write()
    [stale] = standbys(warehouse_path)
    # Another writer (the ML step's predictions) changes the published file between runs.
    con = duckdb.connect(str(warehouse_path))
    con.execute(f"CREATE TABLE {WH}.predictions AS SELECT 7 AS score")
    con.close()

    assert executor.run(graph.build()).published
    # The stale standby was not built on: the run copied the file as it is now, with the
    # predictions the standby does not hold; after the run it is replaced by a fresh one.
    assert query_published(f"SELECT score FROM {WH}.predictions") == [(7,)]
    wait_for_after_write()
    [fresh] = standbys(warehouse_path)
    assert fresh != stale and fresh.read_bytes() == warehouse_path.read_bytes()


def test_a_copy_of_the_warehouse_folder_can_leave_the_stale_standby_out(graph, executor, warehouse_path, tmp_path):
    import shutil

    graph.table(f"{WH}.t", "SELECT 1 AS id")
    assert executor.run(graph.build()).published
    wait_for_after_write()
    assert standbys(warehouse_path)
    copied = tmp_path / "copied"
    shutil.copytree(warehouse_path.parent, copied, ignore=leave_out_standbys)
    assert sorted(p.name for p in copied.iterdir()) == [f".{warehouse_path.name}.lock", warehouse_path.name]


def test_no_standby_is_made_for_a_warehouse_folder_removed_after_the_run(tmp_path):
    gone = tmp_path / "removed" / "warehouse.duckdb"
    assert prepare_standby(gone) is None
    assert not gone.parent.exists()


def test_unsupported_sql_fails_the_action_with_its_file(graph, executor):
    graph.table(f"{WH}.fp", "SELECT APPROX_COUNT_DISTINCT(x) AS h FROM UNNEST([1, 2]) AS x")
    result = executor.run(graph.build())
    fp = by_name(result, "fp")
    assert fp.state is ActionState.FAILED
    # The file, the action and the function, and why.
    assert fp.failure_reason.startswith(
        f"definitions/fp.sqlx: action proj.{WH}.fp: APPROX_COUNT_DISTINCT() is not supported by the local engine"
    ), fp.failure_reason


def test_parallel_workers_give_the_same_result(graph, warehouse_path, lake_root, query_published):
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

    source_table(graph, "SELECT id FROM UNNEST(GENERATE_ARRAY(1, 100)) AS id")
    for i in range(6):
        graph.table(f"{WH}.p{i}", f"SELECT SUM(id) + {i} AS s FROM `proj.{ST}.src`", deps=[f"{ST}.src"])
    # Independent actions in schemas that do not exist yet start at the same time.
    for i in range(4):
        graph.table(f"schema_{i}.first", f"SELECT {i} AS x")
    graph.table(f"{WH}.broken", "SELECT nope")
    graph.table(f"{WH}.after_broken", f"SELECT * FROM `proj.{WH}.broken`", deps=[f"{WH}.broken"])
    result = DuckDBExecutor(warehouse_path, lake_root, max_workers=2).run(graph.build())
    got = states(result)
    assert got.pop("broken") == "FAILED" and got.pop("after_broken") == "SKIPPED"
    assert set(got.values()) == {"SUCCEEDED"}
    assert not result.published


def test_rows_left_in_the_published_wal_survive_the_next_publish(graph, executor, warehouse_path, query_published):
    import duckdb

    graph.table(f"{WH}.t", "SELECT 1 AS id")
    executor.run(graph.build())
    # Another writer (the ML pipeline) commits a table but never checkpoints (a crash).
    con = duckdb.connect(str(warehouse_path))
    con.execute("SET wal_autocheckpoint = '1TB'")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute(f"CREATE TABLE {WH}.predictions AS SELECT 7 AS score")
    con.close()
    assert warehouse_path.with_name(warehouse_path.name + ".wal").exists()

    assert executor.run(graph.build()).published
    assert not warehouse_path.with_name(warehouse_path.name + ".wal").exists()
    assert query_published(f"SELECT score FROM {WH}.predictions") == [(7,)]


def test_a_run_over_its_memory_limit_spills_to_disk_and_cleans_up(graph, warehouse_path, lake_root, query_published):
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

    # Two million distinct keys need far more than 32 MB of hash table.
    graph.table(
        f"{WH}.distinct_keys",
        "SELECT COUNT(*) AS keys FROM (SELECT CONCAT('key-', CAST(k AS STRING)) AS key, COUNT(*) AS n "
        "FROM UNNEST(GENERATE_ARRAY(1, 2000000)) AS k GROUP BY key)",
    )
    result = DuckDBExecutor(warehouse_path, lake_root, memory_limit="32MB").run(graph.build())
    assert result.published, [a.failure_reason for a in result.actions]
    assert query_published(f"SELECT keys FROM {WH}.distinct_keys") == [(2_000_000,)]
    # The session a run opens (CURRENT_SETTING is DuckDB's, not BigQuery's: asked here directly).
    from winter_days.elt.engines.duckdb.executor import open_session

    con = open_session(warehouse_path, memory_limit="32MB")
    try:
        limit, spill = con.execute(
            "SELECT CURRENT_SETTING('memory_limit'), CURRENT_SETTING('temp_directory')"
        ).fetchone()
    finally:
        con.close()
    assert limit.replace(" ", "") in ("30.5MiB", "32.0MB") and spill.startswith(str(warehouse_path.parent))
    shutil.rmtree(f"{warehouse_path}.spill", ignore_errors=True)
    assert [p.name for p in warehouse_path.parent.iterdir() if p.name.endswith(".spill")] == []


def test_a_free_worker_takes_the_action_with_the_longest_chain_of_dependents(graph, executor):
    # Declared first, a leaf; declared later, the head of a three-action chain.
    graph.table(f"{WH}.leaf", "SELECT 1 AS x")
    graph.table(f"{WH}.head", "SELECT 1 AS x")
    graph.table(f"{WH}.middle", f"SELECT * FROM `proj.{WH}.head`", deps=[f"{WH}.head"])
    graph.table(f"{WH}.tail", f"SELECT * FROM `proj.{WH}.middle`", deps=[f"{WH}.middle"])
    result = executor.run(graph.build())
    started = sorted(result.actions, key=lambda a: a.invocation_timing.start_time)
    # The leaf waits while the chain is longer; on a tie the declared order decides.
    assert [a.target.name for a in started] == ["head", "middle", "leaf", "tail"]


def test_a_table_reads_its_filter_constants_after_its_pre_operations(graph, executor, query_published):
    source_table(graph, "SELECT 1 AS id, 'a' AS v UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'c'")
    graph.table(
        f"{WH}.after_cut",
        # The cut is what the pre-operation leaves in src: ids above 1 once 3 is gone.
        f"SELECT id FROM `proj.{ST}.src` WHERE id > (SELECT MAX(id) - 1 FROM `proj.{ST}.src`)",
        deps=[f"{ST}.src"],
        preOps=[f"DELETE FROM `proj.{ST}.src` WHERE id = 3"],
    )
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED
    assert "SELECT MAX" not in by_name(result, "after_cut").sql_script  # it ran as a constant
    assert query_published(f"SELECT id FROM {WH}.after_cut ORDER BY id") == [(2,)]


STORAGE_ORDER_CASES = {
    # 300,000 rows are three of DuckDB's row groups. In hash order every row group holds
    # every day: rewritten oldest day first, as BigQuery keeps a clustered table.
    "days scattered over the row groups": ("MOD(id, 60)", True),
    # In the order of the files a staging model read, each row group holds a few days
    # already: later runs skip the old ones as well as after a sort, which is not paid.
    "days in the order they were read": ("DIV(id, 5000)", False),
    "one day": ("0", False),
}


@pytest.mark.parametrize("case", list(STORAGE_ORDER_CASES))
def test_a_clustered_incremental_full_build_is_stored_with_narrow_partitions(case, graph, executor, query_published):
    day_offset, rewritten = STORAGE_ORDER_CASES[case]
    source_table(
        graph,
        f"SELECT id, DATE_ADD(DATE '2024-05-01', INTERVAL {day_offset} DAY) AS day "
        "FROM UNNEST(GENERATE_ARRAY(1, 300000)) AS id",
    )
    graph.table(
        f"{WH}.by_day",
        f"SELECT day, id FROM `proj.{ST}.src`  -- one row per id",
        type="incremental",
        deps=[f"{ST}.src"],
        uniqueKey=["id"],
        bigquery={"partitionBy": "day", "clusterBy": ["id"]},
    )
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED
    assert ("ORDER BY day NULLS FIRST, id NULLS FIRST" in by_name(result, "by_day").sql_script) is rewritten
    stored = query_published(f"SELECT day, id FROM {WH}.by_day ORDER BY rowid")
    assert sorted(stored) == query_published(f"SELECT day, id FROM {ST}.src ORDER BY day, id")
    if rewritten:
        assert stored == sorted(stored)
    # Either way a row group holds a narrow run of days, not all 60 of the scattered order:
    # its rows span 25 days, or two such runs where the build's two writer threads met
    # (they write without keeping the query's order; 27 days were seen).
    days_per_row_group = query_published(
        f"SELECT max(days) FROM (SELECT count(DISTINCT day) AS days FROM {WH}.by_day GROUP BY rowid // {ROW_GROUP_ROWS})"
    )[0][0]
    assert days_per_row_group <= 2 * (ROW_GROUP_ROWS // 5000 + 1)
