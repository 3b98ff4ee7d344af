"""`elt compile|run` on the gcp profile: the command functions driving the Dataform API backend on the fake."""

from __future__ import annotations

import pytest
from fakes.dataform_server import FakeAction

from winter_days.elt.backend import InvocationState
from winter_days.elt.engines.dataform_api.commands import TargetNotFound, compile_repository, run_repository


class Printed:
    """What a command printed, standard output and error apart."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.err: list[str] = []

    def __call__(self, message: str = "", err: bool = False) -> None:
        (self.err if err else self.out).extend(message.splitlines())


def test_compile_prints_the_actions_and_where_they_go(make_backend):
    printed = Printed()

    compilation = compile_repository(make_backend(schema_suffix="dev"), printed)

    assert compilation.compilation_errors == () and printed.err == []
    assert printed.out[0] == f"Compiled {compilation.name}: 7 actions"
    assert "  project winter-proj, location europe-west1, dataset suffix _dev" in printed.out
    assert {
        "  incremental: 1",
        "  table: 2",
        "  view: 1",
        "  assertion: 1",
        "  operations: 1",
        "  declaration: 1",
    } <= set(printed.out)


def test_compile_errors_are_printed_with_file_and_line(backend, dataform_server):
    dataform_server.compilation_errors = [
        {
            "message": "Unexpected token '}'",
            "path": "definitions/sales/stg_sales.sqlx",
            "stack": "/workspace/definitions/sales/stg_sales.sqlx:23\nSELECT ${foo(}\n\nSyntaxError: Unexpected token '}'",
        },
        {
            "message": "Missing dependency detected",
            "path": "definitions/sales/fct_sales.sqlx",
            "stack": "Error: Missing dependency",
            "actionTarget": {"database": "winter-proj", "schema": "winter_days_warehouse", "name": "fct_sales"},
        },
    ]
    printed = Printed()

    assert run_repository(backend, echo=printed) is None

    assert printed.err[1:] == [
        "  definitions/sales/stg_sales.sqlx:23: Unexpected token '}'",
        "  definitions/sales/fct_sales.sqlx [winter-proj.winter_days_warehouse.fct_sales]: Missing dependency detected",
    ]
    assert dataform_server.invocations == {}


def test_run_selects_tags_and_actions_and_follows_to_the_end(backend, dataform_server):
    dataform_server.running_polls = 2
    printed = Printed()
    sleeps: list[float] = []

    status = run_repository(
        backend,
        tags=("ops",),
        actions=("winter_days_warehouse.dim_customer",),
        full_refresh=True,
        echo=printed,
        poll_seconds=0.5,
        sleep=sleeps.append,
    )

    assert status is not None and status.state is InvocationState.SUCCEEDED
    (sent,) = dataform_server.requests_to("POST", "/workflowInvocations")
    config = sent.body["invocationConfig"]
    assert config["includedTags"] == ["ops"] and config["fullyRefreshIncrementalTablesEnabled"] is True
    assert config["includedTargets"] == [
        {"database": "winter-proj", "schema": "winter_days_warehouse", "name": "dim_customer"}
    ]
    assert config["transitiveDependenciesIncluded"] is True
    assert sleeps == [0.5, 0.5]
    assert any(
        line.startswith("SUCCEEDED view") and line.endswith("winter_days_warehouse.dim_customer")
        for line in [" ".join(line.split()[:3]) for line in printed.out]
    )
    assert printed.out[-1] == f"SUCCEEDED: {status.invocation.name} (2 succeeded)"


def test_a_failed_action_is_printed_with_its_reason(backend, dataform_server):
    dataform_server.actions[3] = FakeAction(
        "fct_sales", "winter_days_warehouse", "table", outcome="FAILED", failure_reason="Query error: Division by zero"
    )
    printed = Printed()

    status = run_repository(backend, actions=("fct_sales",), echo=printed, sleep=lambda _: None)

    assert status is not None and status.state is InvocationState.FAILED
    assert "    Query error: Division by zero" in printed.out
    assert printed.err[-1].startswith(f"FAILED: {status.invocation.name}")


def test_an_unknown_action_names_the_choices_and_starts_nothing(backend, dataform_server):
    with pytest.raises(
        TargetNotFound, match=r"--actions fct_slaes: matches no action \(actions: .*winter_days_warehouse.fct_sales"
    ):
        run_repository(backend, actions=("fct_slaes",), echo=Printed())
    assert dataform_server.invocations == {}


def test_ctrl_c_cancels_the_invocation_and_waits_for_it(backend, dataform_server):
    dataform_server.running_polls = 10_000
    printed = Printed()

    def interrupted(seconds: float) -> None:
        if not dataform_server.requests_to("POST", ":cancel"):
            raise KeyboardInterrupt

    status = run_repository(backend, echo=printed, sleep=interrupted)

    assert status is not None and status.state is InvocationState.CANCELLED
    (cancel,) = dataform_server.requests_to("POST", ":cancel")
    assert cancel.path.endswith(f"{status.invocation.name}:cancel")
    assert printed.err[0] == f"Cancelling {status.invocation.name}: no further action starts"
    assert len(dataform_server.invocations) == 1


def test_elt_rebuild_on_gcp_is_a_full_refresh_of_every_action_through_the_dataform_api(make_backend, dataform_server):
    """`winter-days elt rebuild` is generic over the ELT port: on gcp, one full-refresh invocation."""
    from click.testing import CliRunner
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from winter_days.elt.cli import rebuild_command
    from winter_days.platform import Platform
    from winter_days.profiles.gcp import GcpProfile
    from winter_days.warehouse.bigquery import BigQueryWarehouse

    backend = make_backend()

    class OnTheFake(GcpProfile):
        def elt_backend(self, settings, vars):
            return backend

        def warehouse(self, settings):
            return BigQueryWarehouse(
                bigquery.Client(project="winter-proj", credentials=AnonymousCredentials()), "winter-proj"
            )

    result = CliRunner().invoke(rebuild_command, [], obj=Platform(backend.settings, OnTheFake()))

    assert result.exit_code == 0, result.output
    (sent,) = dataform_server.requests_to("POST", "/workflowInvocations")
    config = sent.body["invocationConfig"]
    assert config["fullyRefreshIncrementalTablesEnabled"] is True
    assert not config.get("includedTargets") and not config.get("includedTags")
    assert "SUCCEEDED: tables written to BigQuery project winter-proj" in result.output
