"""The local backend behind the EltBackend port: compile, invoke in the background, poll, cancel."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from winter_days.elt.backend import ActionState, EltBackend, InvocationConfig, InvocationState
from winter_days.elt.engines.duckdb.backend import DuckDBBackend, InvocationError

SETTINGS = """defaultProject: proj
defaultLocation: EU
defaultDataset: winter_days_warehouse
defaultAssertionDataset: winter_days_assertions
vars:
  lake_bucket: test-lake
  bronze_dataset: winter_days_bronze
"""

PROJECT = {
    "definitions/ext_orders.sqlx": """config { type: "operations", hasOutput: true, schema: dataform.projectConfig.vars.bronze_dataset, tags: ["orders"] }
CREATE OR REPLACE EXTERNAL TABLE ${self()} (line STRING)
OPTIONS (format = 'CSV', uris = ['gs://${dataform.projectConfig.vars.lake_bucket}/bronze/orders/*'], field_delimiter = '\\\\x1f', quote = '', skip_leading_rows = 0)
""",
    "definitions/stg_orders.sqlx": """config {
  type: "incremental",
  schema: "winter_days_staging",
  uniqueKey: ["order_id"],
  tags: ["orders"],
  assertions: { nonNull: ["order_id"], uniqueKey: ["order_id"] }
}
SELECT
  JSON_VALUE(doc, '$.order_id') AS order_id,
  SAFE_CAST(JSON_VALUE(doc, '$.amount') AS INT64) AS amount,
  EXTRACT(DAYOFWEEK FROM SAFE_CAST(JSON_VALUE(doc, '$.at') AS TIMESTAMP)) AS weekday
FROM (SELECT SAFE.PARSE_JSON(line) AS doc, _FILE_NAME AS source_file FROM ${ref("ext_orders")})
WHERE doc IS NOT NULL
${when(incremental(), "AND JSON_VALUE(doc, '$.order_id') NOT IN (SELECT order_id FROM " + self() + " WHERE amount IS NOT NULL)")}
QUALIFY ROW_NUMBER() OVER (PARTITION BY JSON_VALUE(doc, '$.order_id') ORDER BY source_file DESC) = 1
""",
    "definitions/amounts_positive.sqlx": """config { type: "assertion", tags: ["orders"] }
SELECT * FROM ${ref("stg_orders")} WHERE amount <= 0
""",
}


@pytest.fixture
def sqlx_project(tmp_path):
    root = tmp_path / "project"
    for rel, text in {"workflow_settings.yaml": SETTINGS, **PROJECT}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def add_orders(lake_root, day: str, orders: list[dict]) -> None:
    folder = lake_root / "bronze" / "orders" / f"load_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.jsonl").write_text("".join(json.dumps(o) + "\n" for o in orders))


@pytest.fixture
def backend(sqlx_project, warehouse_path, lake_root) -> DuckDBBackend:
    return DuckDBBackend(sqlx_project, warehouse_path, lake_root)


def run_to_end(backend: DuckDBBackend, config: InvocationConfig = InvocationConfig()):
    compilation = backend.compile()
    assert compilation.compilation_errors == ()
    invocation = backend.invoke(compilation, config)
    return invocation, backend.wait(invocation, timeout=120)


def test_backend_implements_the_port(backend):
    assert isinstance(backend, EltBackend)


def test_compiled_sqlx_project_runs_and_merges_incrementally(backend, lake_root, query_published):
    add_orders(
        lake_root,
        "2026-01-04",
        [{"order_id": "o1", "amount": 5, "at": "2026-01-04T10:00:00Z"}, {"order_id": "o2", "amount": "x"}],
    )
    invocation, status = run_to_end(backend)
    assert status.state is InvocationState.SUCCEEDED
    assert {a.state for a in status.actions} == {ActionState.SUCCEEDED}
    # 2026-01-04 is a Sunday: BigQuery's DAYOFWEEK 1.
    assert query_published("SELECT order_id, amount, weekday FROM winter_days_staging.stg_orders ORDER BY 1") == [
        ("o1", 5, 1),
        ("o2", None, None),
    ]
    add_orders(lake_root, "2026-01-05", [{"order_id": "o2", "amount": 7, "at": "2026-01-05T00:00:00Z"}])
    _, status = run_to_end(backend)
    assert status.state is InvocationState.SUCCEEDED
    stg = next(a for a in status.actions if a.target.name == "stg_orders")
    assert stg.rows == 2
    assert query_published("SELECT order_id, amount, weekday FROM winter_days_staging.stg_orders ORDER BY 1") == [
        ("o1", 5, 1),
        ("o2", 7, 2),
    ]


def test_invocation_resources_use_the_dataform_api_shape(backend, lake_root):
    add_orders(lake_root, "2026-01-04", [{"order_id": "o1", "amount": 5}])
    config = InvocationConfig(included_tags=("orders",), transitive_dependencies_included=True)
    invocation, status = run_to_end(backend, config)
    api = status.invocation.to_api()
    assert api["name"] == invocation.name and api["compilationResult"].startswith("compilationResults/")
    assert api["state"] == "SUCCEEDED"
    assert api["invocationConfig"]["includedTags"] == ["orders"]
    assert api["invocationConfig"]["transitiveDependenciesIncluded"] is True
    assert set(api["invocationTiming"]) == {"startTime", "endTime"}
    action = status.actions[0].to_api()
    assert action["target"] == {"database": "proj", "schema": "winter_days_bronze", "name": "ext_orders"}
    assert action["state"] == "SUCCEEDED" and "CREATE OR REPLACE VIEW" in action["bigqueryAction"]["sqlScript"]


def test_failed_assertion_fails_the_invocation_and_publishes_nothing(backend, lake_root, warehouse_path):
    add_orders(lake_root, "2026-01-04", [{"order_id": "o1", "amount": -3}])
    _, status = run_to_end(backend)
    assert status.state is InvocationState.FAILED
    failed = [a for a in status.actions if a.state is ActionState.FAILED]
    assert [a.target.name for a in failed] == ["amounts_positive"]
    assert failed[0].failing_rows_sample[0]["order_id"] == "o1"
    assert not warehouse_path.exists()


def test_compilation_errors_are_returned_and_block_invoke(sqlx_project, warehouse_path, lake_root):
    (sqlx_project / "definitions" / "broken.sqlx").write_text(
        'config { type: "table" }\nSELECT * FROM ${ref("missing")}\n'
    )
    backend = DuckDBBackend(sqlx_project, warehouse_path, lake_root)
    compilation = backend.compile()
    assert compilation.compilation_errors
    assert any("broken.sqlx" in e.path for e in compilation.compilation_errors)
    with pytest.raises(InvocationError, match="compilation has errors"):
        backend.invoke(compilation, InvocationConfig())


def slow_graph(graph):
    graph.table("winter_days_staging.quick", "SELECT 1 AS x")
    graph.table(
        "winter_days_staging.slow",
        "SELECT SUM(a * b) AS s FROM UNNEST(GENERATE_ARRAY(1, 200000)) AS a CROSS JOIN UNNEST(GENERATE_ARRAY(1, 200000)) AS b",
        deps=["winter_days_staging.quick"],
    )
    graph.table("winter_days_staging.after", "SELECT 2 AS x", deps=["winter_days_staging.slow"])
    return graph.build()


def test_cancel_interrupts_the_run_and_publishes_nothing(graph, warehouse_path, lake_root, digest):
    backend = DuckDBBackend(lake_root, warehouse_path, lake_root, compiled=slow_graph(graph))
    # A published warehouse from before, which the cancelled run must not touch.
    first = DuckDBBackend(lake_root, warehouse_path, lake_root, compiled={"tables": [graph.doc["tables"][0]]})
    _, status = run_to_end(first)
    assert status.state is InvocationState.SUCCEEDED
    before = digest(warehouse_path)

    invocation = backend.invoke(backend.compile(), InvocationConfig())
    deadline = time.monotonic() + 60
    while backend.get(invocation).actions[1].state is not ActionState.RUNNING:
        assert time.monotonic() < deadline, "the slow action never started"
        time.sleep(0.02)
    backend.cancel(invocation)
    status = backend.wait(invocation, timeout=60)
    assert status.state is InvocationState.CANCELLED
    assert [a.state for a in status.actions] == [ActionState.SUCCEEDED, ActionState.CANCELLED, ActionState.CANCELLED]
    assert digest(warehouse_path) == before
    assert not backend.result(invocation).published


def test_get_of_an_unknown_invocation_is_an_error(backend):
    with pytest.raises(InvocationError, match="unknown invocation"):
        backend.get("workflowInvocations/nope")


def test_cli_runs_selected_actions_and_exits_non_zero_on_failure(sqlx_project, settings, digest):
    from winter_days.cli import main

    add_orders(settings.lake_root, "2026-01-04", [{"order_id": "o1", "amount": 5}])
    runner = CliRunner()
    ok = runner.invoke(main, ["elt", "run", "--project", str(sqlx_project), "--actions", "stg_orders"])
    assert ok.exit_code == 0, ok.output
    assert "winter_days_staging.stg_orders" in ok.output and "SUCCEEDED" in ok.output
    assert "amounts_positive" not in ok.output  # not selected, not a dependency
    before = digest(settings.warehouse_path)

    add_orders(settings.lake_root, "2026-01-05", [{"order_id": "o9", "amount": 0}])
    failed = runner.invoke(main, ["elt", "run", "--project", str(sqlx_project), "--tags", "orders"])
    assert failed.exit_code == 1
    assert "amounts_positive" in failed.output and "FAILED" in failed.output and '"order_id": "o9"' in failed.output
    assert "published warehouse left unchanged" in failed.output
    assert digest(settings.warehouse_path) == before


@pytest.mark.slow
def test_elt_run_from_the_command_line_leaves_a_whole_standby_copy_and_no_partial_one(sqlx_project, settings):
    import subprocess
    import sys
    from pathlib import Path

    add_orders(settings.lake_root, "2026-01-04", [{"order_id": "o1", "amount": 5}])
    command = [str(Path(sys.executable).with_name("winter-days")), "elt", "run", "--project", str(sqlx_project)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    published = settings.warehouse_path
    stat = published.stat()
    beside = sorted(p.name for p in published.parent.iterdir() if published.name in p.name)
    assert beside == [
        f".{published.name}.lock",
        f".{published.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}",
        published.name,
    ]
    assert published.with_name(beside[1]).read_bytes() == published.read_bytes()


@pytest.mark.parametrize("rebuild", [["rebuild"], ["run", "--full-refresh"]], ids=" ".join)
def test_cli_names_an_unreadable_warehouse_and_the_rebuild_command_rebuilds_it(rebuild, sqlx_project, settings):
    from winter_days.cli import main
    from winter_days.warehouse.duckdb import DuckDBWarehouse

    add_orders(settings.lake_root, "2026-01-04", [{"order_id": "o1", "amount": 5}])
    runner = CliRunner()
    project = ["--project", str(sqlx_project)]
    assert runner.invoke(main, ["elt", "run", *project]).exit_code == 0
    published = settings.warehouse_path
    published.write_bytes(b"")  # a disk that filled while the file was restored by hand

    refused = runner.invoke(main, ["elt", "run", *project])
    assert refused.exit_code == 1
    assert f"the warehouse {published} cannot be read: it is empty (0 bytes)" in refused.output
    assert "`winter-days elt rebuild`" in refused.output and ".build-" not in refused.output

    rebuilt = runner.invoke(main, ["elt", *rebuild, *project])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "SUCCEEDED" in rebuilt.output
    assert DuckDBWarehouse(published).read("SELECT order_id FROM winter_days_staging.stg_orders").to_pylist() == [
        {"order_id": "o1"}
    ]
    [kept] = published.parent.glob(f"{published.name}.unreadable-*")
    assert kept.stat().st_size == 0


def test_cli_rejects_an_unknown_action(sqlx_project, settings):
    from winter_days.cli import main

    result = CliRunner().invoke(main, ["elt", "run", "--project", str(sqlx_project), "--actions", "nope"])
    assert result.exit_code == 2 and "no action named 'nope'" in result.output


def test_an_unchanged_project_is_compiled_once_and_an_edit_is_seen(
    sqlx_project, warehouse_path, lake_root, monkeypatch
):
    import winter_days.elt.sqlx as sqlx

    compiles = []
    real = sqlx.compile_project
    monkeypatch.setattr(sqlx, "compile_project", lambda *args: compiles.append(args) or real(*args))
    first = DuckDBBackend(sqlx_project, warehouse_path, lake_root).compile()
    again = DuckDBBackend(sqlx_project, warehouse_path, lake_root).compile()
    assert len(compiles) == 1 and again.graph == first.graph
    assert again.graph is not first.graph  # each caller gets its own copy

    assertion = sqlx_project / "definitions" / "amounts_positive.sqlx"
    assertion.write_text(assertion.read_text().replace("amount <= 0", "amount < 0"))
    edited = DuckDBBackend(sqlx_project, warehouse_path, lake_root).compile()
    assert len(compiles) == 2
    (query,) = [a["query"] for a in edited.graph["assertions"] if a["target"]["name"] == "amounts_positive"]
    assert "amount < 0" in query

    other_vars = DuckDBBackend(sqlx_project, warehouse_path, lake_root, vars={"lake_bucket": "other"}).compile()
    assert len(compiles) == 3 and "other" in json.dumps(other_vars.graph)


def test_poll_step_ends_when_the_local_run_ends_not_at_the_next_interval(
    backend, lake_root, settings, tmp_path, monkeypatch
):
    from dataclasses import replace

    from winter_days.orchestrator import steps
    from winter_days.orchestrator.pipeline import RunContext, RunParameters
    from winter_days.platform import build_platform
    from winter_days.runs.sqlite import SqliteRunStore

    def slept(seconds: float) -> None:
        raise AssertionError(f"the poll step slept {seconds} s instead of waiting on the local run")

    monkeypatch.setattr(steps.time, "sleep", slept)
    add_orders(lake_root, "2026-01-04", [{"order_id": "o1", "amount": 5}])
    slow = replace(settings.orchestrator, poll_interval_seconds=300, poll_timeout_seconds=600)
    platform = build_platform(replace(settings, orchestrator=slow))
    context = RunContext("run-1", platform, RunParameters(), SqliteRunStore(tmp_path / "history.sqlite3"))
    steps.compile_step(lambda: backend)(context)
    steps.invoke_step(context)
    polled = steps.poll_step(context)
    assert (
        polled["polls"] <= 2 and polled["actions_succeeded"] == 5
    )  # the operation, the table and its two assertions, the assertion file
