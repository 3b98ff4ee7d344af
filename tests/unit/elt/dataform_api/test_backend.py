"""DataformApiBackend (the official client on its REST transport) against the fake Dataform v1 server."""

from __future__ import annotations

import pytest
from fakes.dataform_server import FakeAction, run_to_end

from winter_days.elt.backend import ActionState, EltBackend, InvocationConfig, InvocationState, Target
from winter_days.elt.engines.dataform_api import DataformApiError, DataformCompilationError

PARENT = "projects/winter-proj/locations/europe-west1/repositories/winter-days"


def test_backend_satisfies_the_elt_port(backend):
    assert isinstance(backend, EltBackend)


def test_compile_from_workspace_reads_the_action_graph(backend, dataform_server):
    compilation = backend.compile()

    (create,) = dataform_server.requests_to("POST", "/compilationResults")
    assert create.body["workspace"] == f"{PARENT}/workspaces/production"
    # The client library asks for integer enums; the fake answers so.
    assert {r.query["$alt"][0] for r in dataform_server.requests} == {"json;enum-encoding=int"}
    assert compilation.name.startswith(f"{PARENT}/compilationResults/")
    assert compilation.compilation_errors == ()
    assert compilation.dataform_core_version == "3.0.0"
    assert compilation.create_time.tzinfo is not None
    graph = compilation.graph
    tables = {t["target"]["name"]: t["type"] for t in graph["tables"]}
    assert tables == {
        "stg_sales": "incremental",
        "stg_sales_quarantine": "table",
        "fct_sales": "table",
        "dim_customer": "view",
    }
    assert [a["target"]["name"] for a in graph["assertions"]] == ["fct_sales_rows_positive"]
    assert [o["target"]["name"] for o in graph["operations"]] == ["refresh_marker"]
    assert [d["target"]["name"] for d in graph["declarations"]] == ["ext_sales_gcs"]
    # Seven actions at two per page: the listing followed nextPageToken to the end.
    pages = dataform_server.requests_to("GET", ":query")
    assert [p.query.get("pageToken") for p in pages] == [None, ["offset-2"], ["offset-4"], ["offset-6"]]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("git_commitish", "main", {"gitCommitish": "main"}),
        ("release_config", "nightly", {"releaseConfig": f"{PARENT}/releaseConfigs/nightly"}),
    ],
)
def test_compile_sends_the_configured_source(make_backend, dataform_server, variable, value, expected):
    backend = make_backend(workspace=None, **{variable: value})
    backend.compile()
    body = dataform_server.requests_to("POST", "/compilationResults")[0].body
    assert {key: body[key] for key in body if key != "codeCompilationConfig"} == expected


def test_compile_sends_the_code_compilation_config_of_the_settings(make_backend, dataform_server):
    backend = make_backend(
        schema_suffix="dev", default_database="winter-data-proj", assertion_schema="winter_days_checks"
    )

    compilation = backend.compile()

    sent = dataform_server.requests_to("POST", "/compilationResults")[0].body["codeCompilationConfig"]
    assert sent == {
        "defaultDatabase": "winter-data-proj",
        "defaultLocation": "europe-west1",
        "schemaSuffix": "dev",
        "assertionSchema": "winter_days_checks",
        "vars": {
            "lake_bucket": "winter-lake",
            "staging_dataset": "winter_days_staging",
            "warehouse_dataset": "winter_days_warehouse",
            "bronze_dataset": "winter_days_bronze",
        },
    }
    assert compilation.code_compilation_config == sent
    # The compiled targets are where the settings put them.
    targets = {t["target"]["name"]: t["target"] for t in compilation.graph["tables"] + compilation.graph["assertions"]}
    assert targets["fct_sales"] == {
        "database": "winter-data-proj",
        "schema": "winter_days_warehouse_dev",
        "name": "fct_sales",
    }
    assert targets["fct_sales_rows_positive"]["schema"] == "winter_days_checks_dev"


def test_without_dataform_settings_the_project_is_the_default_database(backend, dataform_server):
    backend.compile()

    sent = dataform_server.requests_to("POST", "/compilationResults")[0].body["codeCompilationConfig"]
    assert sent["defaultDatabase"] == "winter-proj" and sent["defaultLocation"] == "europe-west1"
    assert "schemaSuffix" not in sent and "assertionSchema" not in sent


def test_compilation_errors_are_returned_and_refused_by_invoke(backend, dataform_server):
    dataform_server.compilation_errors = [
        {
            "message": 'Unexpected token "FROMM"',
            "path": "definitions/sales/stg_sales.sqlx",
            "actionTarget": {"database": "winter-proj", "schema": "winter_days_staging", "name": "stg_sales"},
        },
        {"message": "Missing dependency detected", "path": "definitions/sales/fct_sales.sqlx"},
    ]

    compilation = backend.compile()

    assert [(e.path, e.message) for e in compilation.compilation_errors] == [
        ("definitions/sales/stg_sales.sqlx", 'Unexpected token "FROMM"'),
        ("definitions/sales/fct_sales.sqlx", "Missing dependency detected"),
    ]
    assert compilation.compilation_errors[0].action_target == Target("winter-proj", "winter_days_staging", "stg_sales")
    with pytest.raises(DataformCompilationError) as raised:
        backend.invoke(compilation, InvocationConfig())
    message = str(raised.value)
    assert "2 compilation error(s)" in message
    assert (
        'definitions/sales/stg_sales.sqlx [winter-proj.winter_days_staging.stg_sales]: Unexpected token "FROMM"'
        in message
    )
    assert "definitions/sales/fct_sales.sqlx: Missing dependency detected" in message
    assert dataform_server.requests_to("POST", "/workflowInvocations") == []


def test_invoke_sends_the_invocation_config_and_execution_service_account(backend, dataform_server, dataform_environ):
    compilation = backend.compile()
    config = InvocationConfig(
        included_targets=(Target("winter-proj", "winter_days_warehouse", "dim_customer"),),
        included_tags=("sales",),
        transitive_dependencies_included=True,
        fully_refresh_incremental_tables_enabled=True,
    )

    invocation = backend.invoke(compilation, config)

    (sent,) = dataform_server.requests_to("POST", "/workflowInvocations")
    assert sent.body["compilationResult"] == compilation.name
    # Proto JSON leaves out fields at their default (transitiveDependentsIncluded: false).
    assert sent.body["invocationConfig"] == {
        "includedTargets": [{"database": "winter-proj", "schema": "winter_days_warehouse", "name": "dim_customer"}],
        "includedTags": ["sales"],
        "transitiveDependenciesIncluded": True,
        "fullyRefreshIncrementalTablesEnabled": True,
        "serviceAccount": dataform_environ["WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT"],
    }
    assert invocation.state is InvocationState.RUNNING
    assert invocation.compilation_result == compilation.name
    assert invocation.invocation_config == config
    status = run_to_end(backend, invocation)
    assert sorted(a.target.name for a in status.actions) == [
        "dim_customer",
        "fct_sales",
        "fct_sales_rows_positive",
        "stg_sales",
        "stg_sales_quarantine",
    ]


def test_poll_goes_through_running_to_succeeded(backend, dataform_server):
    dataform_server.running_polls = 3
    invocation = backend.invoke(backend.compile(), InvocationConfig())

    states = []
    for _ in range(10):
        status = backend.get(invocation)
        states.append(status.state)
        if status.state.finished:
            break

    assert states == [InvocationState.RUNNING] * 3 + [InvocationState.SUCCEEDED]
    assert {a.state for a in status.actions} == {ActionState.SUCCEEDED}
    assert status.invocation.invocation_timing.duration_seconds is not None
    kinds = {a.target.name: a.kind for a in status.actions}
    assert kinds["stg_sales"] == "incremental" and kinds["fct_sales_rows_positive"] == "assertion"
    assert kinds["refresh_marker"] == "operations"
    assert all("CREATE OR REPLACE TABLE" in a.sql_script for a in status.actions)


def test_running_invocation_reports_its_actions_in_progress(backend, dataform_server):
    dataform_server.running_polls = 2
    status = backend.get(backend.invoke(backend.compile(), InvocationConfig()))

    assert status.state is InvocationState.RUNNING
    states = [a.state for a in status.actions]
    assert states[0] is ActionState.RUNNING and set(states[1:]) == {ActionState.PENDING}
    assert status.actions[0].invocation_timing.start_time is not None
    assert status.actions[1].invocation_timing.start_time is None


def test_a_failed_action_is_surfaced_with_its_failure_reason(backend, dataform_server):
    reason = "Query error: Division by zero: 1 / 0 at [12:5]"
    dataform_server.actions[3] = FakeAction(
        "fct_sales", "winter_days_warehouse", "table", outcome="FAILED", failure_reason=reason
    )
    dataform_server.actions[5] = FakeAction(
        "fct_sales_rows_positive", "winter_days_warehouse", "assertion", outcome="SKIPPED"
    )

    status = run_to_end(backend, backend.invoke(backend.compile(), InvocationConfig()))

    assert status.state is InvocationState.FAILED
    failed = [a for a in status.actions if a.state is ActionState.FAILED]
    assert [(str(a.target), a.failure_reason) for a in failed] == [
        ("winter-proj.winter_days_warehouse.fct_sales", reason)
    ]
    assert {a.target.name: a.state for a in status.actions}["fct_sales_rows_positive"] is ActionState.SKIPPED


def test_cancel_stops_a_running_invocation(backend, dataform_server):
    dataform_server.running_polls = 100
    invocation = backend.invoke(backend.compile(), InvocationConfig())
    assert backend.get(invocation).state is InvocationState.RUNNING

    backend.cancel(invocation)

    (cancel,) = dataform_server.requests_to("POST", ":cancel")
    assert cancel.path == f"/v1/{invocation.name}:cancel"
    status = backend.get(invocation)
    assert status.state is InvocationState.CANCELLED
    assert {a.state for a in status.actions} == {ActionState.CANCELLED}


def test_invocations_are_addressed_by_name_or_id_within_the_repository(backend, dataform_server):
    invocation = backend.invoke(backend.compile(), InvocationConfig())
    short_id = invocation.name.rsplit("/", 1)[1]

    assert backend.get(short_id).invocation.name == invocation.name
    assert backend.get(invocation.name).invocation.name == invocation.name
    with pytest.raises(ValueError, match="not in the repository"):
        backend.get(f"projects/other/locations/europe-west1/repositories/winter-days/workflowInvocations/{short_id}")


def test_a_new_backend_reads_action_kinds_of_an_earlier_compilation(make_backend, dataform_server):
    invocation = make_backend().invoke(make_backend().compile(), InvocationConfig(included_tags=("ops",)))

    status = run_to_end(make_backend(), invocation)

    assert [(a.target.name, a.kind) for a in status.actions] == [("refresh_marker", "operations")]


def test_action_pages_are_all_read_whatever_the_page_size(make_backend, dataform_server):
    dataform_server.actions = [FakeAction(f"stg_part_{i:02d}") for i in range(11)]
    backend = make_backend(page_size=4)

    status = run_to_end(backend, backend.invoke(backend.compile(), InvocationConfig()))

    assert [a.target.name for a in status.actions] == [f"stg_part_{i:02d}" for i in range(11)]
    action_pages = [r for r in dataform_server.requests_to("GET", ":query") if "workflowInvocations" in r.path]
    assert [r.query.get("pageSize") for r in action_pages][-3:] == [["4"], ["4"], ["4"]]
    assert [r.query.get("pageToken") for r in action_pages][-3:] == [None, ["offset-4"], ["offset-8"]]


def test_an_access_token_is_sent_as_a_bearer_header(make_backend, dataform_server):
    from google.oauth2.credentials import Credentials

    dataform_server.token = "ya29.test-access-token-never-shown"
    backend = make_backend(credentials=Credentials(token=dataform_server.token))

    status = run_to_end(backend, backend.invoke(backend.compile(), InvocationConfig(included_tags=("ops",))))

    assert status.state is InvocationState.SUCCEEDED
    assert {r.headers["authorization"] for r in dataform_server.requests} == {f"Bearer {dataform_server.token}"}


def test_an_unknown_state_is_an_error_not_a_guess(backend, dataform_server):
    invocation = backend.invoke(backend.compile(), InvocationConfig())
    dataform_server.invocations[invocation.name].resource["state"] = 9

    with pytest.warns(UserWarning, match="Unrecognized State enum value: 9"):
        with pytest.raises(DataformApiError, match=f"{invocation.name}: unknown workflow invocation state 9"):
            backend.get(invocation)


def test_timestamps_with_nanoseconds_are_read_as_utc(backend, dataform_server):
    compilation = backend.compile()
    status = run_to_end(backend, backend.invoke(compilation, InvocationConfig()))

    timing = status.invocation.invocation_timing
    assert timing.start_time.tzinfo is not None and timing.end_time >= timing.start_time
    assert compilation.create_time.utcoffset().total_seconds() == 0
