"""The ELT backend port, shaped like the Dataform REST API v1.

The orchestrator drives every ELT engine through `EltBackend`: compile the repository
(`compilationResults.create`), start a run of the compiled graph
(`workflowInvocations.create` with an `invocationConfig`), poll it
(`workflowInvocations.get` + `workflowInvocations.query` for the per-action states) and
cancel it (`workflowInvocations.cancel`). The local DuckDB backend and the Dataform API
backend both implement it; field names follow the REST resources in snake_case, and
`to_api()` renders the camelCase JSON the REST API uses.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class ActionState(str, enum.Enum):
    """WorkflowInvocationAction.State."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SKIPPED = "SKIPPED"
    DISABLED = "DISABLED"
    SUCCEEDED = "SUCCEEDED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self not in (ActionState.PENDING, ActionState.RUNNING)


class InvocationState(str, enum.Enum):
    """WorkflowInvocation.State."""

    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"

    @property
    def finished(self) -> bool:
        return self in (InvocationState.SUCCEEDED, InvocationState.CANCELLED, InvocationState.FAILED)


@dataclass(frozen=True, order=True)
class Target:
    """An action's output relation: database (project), schema (dataset), name."""

    database: str
    schema: str
    name: str

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Target:
        return cls(database=str(raw.get("database") or ""), schema=str(raw.get("schema") or ""), name=str(raw["name"]))

    def to_api(self) -> dict[str, str]:
        return {"database": self.database, "schema": self.schema, "name": self.name}

    def __str__(self) -> str:
        return ".".join(part for part in (self.database, self.schema, self.name) if part)


@dataclass(frozen=True)
class CompilationErrorEntry:
    """One entry of CompilationResult.compilationErrors."""

    message: str
    path: str = ""
    action_target: Target | None = None

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "path": self.path}
        if self.action_target is not None:
            out["actionTarget"] = self.action_target.to_api()
        return out


@dataclass(frozen=True)
class CompilationResult:
    """A compiled repository.

    `name` is the resource name (a local id for the DuckDB backend). `graph` holds the
    `dataform compile --json` document when the backend compiled locally; a remote backend
    may leave it empty and keep the graph server-side.
    """

    name: str
    create_time: datetime
    dataform_core_version: str = ""
    compilation_errors: tuple[CompilationErrorEntry, ...] = ()
    graph: Mapping[str, Any] = field(default_factory=dict, repr=False)
    code_compilation_config: Mapping[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "createTime": _timestamp(self.create_time),
            "dataformCoreVersion": self.dataform_core_version,
            "compilationErrors": [e.to_api() for e in self.compilation_errors],
            "codeCompilationConfig": dict(self.code_compilation_config),
        }


@dataclass(frozen=True)
class InvocationConfig:
    """WorkflowInvocation.invocationConfig: which actions run, and how.

    With no included targets and no included tags, every action runs.
    """

    included_targets: tuple[Target, ...] = ()
    included_tags: tuple[str, ...] = ()
    transitive_dependencies_included: bool = False
    transitive_dependents_included: bool = False
    fully_refresh_incremental_tables_enabled: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "includedTargets": [t.to_api() for t in self.included_targets],
            "includedTags": list(self.included_tags),
            "transitiveDependenciesIncluded": self.transitive_dependencies_included,
            "transitiveDependentsIncluded": self.transitive_dependents_included,
            "fullyRefreshIncrementalTablesEnabled": self.fully_refresh_incremental_tables_enabled,
        }


@dataclass(frozen=True)
class InvocationTiming:
    """Interval: startTime and endTime (None while not started / not finished)."""

    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    def to_api(self) -> dict[str, str]:
        out = {}
        if self.start_time is not None:
            out["startTime"] = _timestamp(self.start_time)
        if self.end_time is not None:
            out["endTime"] = _timestamp(self.end_time)
        return out


@dataclass(frozen=True)
class WorkflowInvocationAction:
    """One action of an invocation (workflowInvocations.query).

    `sql_script` is what ran (BigQuery SQL for Dataform, DuckDB SQL locally). `rows` is
    the number of rows in the output relation after the action (tables, incremental
    tables), the rows merged or inserted into an incremental table on an incremental
    run (`rows_affected`), or the number of failing rows of an assertion.
    `failing_rows_sample` holds up to a few failing rows of a failed assertion.
    """

    target: Target
    kind: str
    state: ActionState
    invocation_timing: InvocationTiming = InvocationTiming()
    failure_reason: str = ""
    sql_script: str = ""
    rows: int | None = None
    rows_affected: int | None = None
    failing_rows_sample: tuple[Mapping[str, Any], ...] = ()

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target": self.target.to_api(),
            "canonicalTarget": self.target.to_api(),
            "state": self.state.value,
            "invocationTiming": self.invocation_timing.to_api(),
        }
        if self.failure_reason:
            out["failureReason"] = self.failure_reason
        if self.sql_script:
            out["bigqueryAction"] = {"sqlScript": self.sql_script}
        return out


@dataclass(frozen=True)
class WorkflowInvocation:
    """A run of a compilation result."""

    name: str
    compilation_result: str
    invocation_config: InvocationConfig
    state: InvocationState
    invocation_timing: InvocationTiming = InvocationTiming()

    def to_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "compilationResult": self.compilation_result,
            "invocationConfig": self.invocation_config.to_api(),
            "state": self.state.value,
            "invocationTiming": self.invocation_timing.to_api(),
        }


@dataclass(frozen=True)
class InvocationStatus:
    """What `get` returns: the invocation (with its state) and its actions so far."""

    invocation: WorkflowInvocation
    actions: tuple[WorkflowInvocationAction, ...]

    @property
    def state(self) -> InvocationState:
        return self.invocation.state


@runtime_checkable
class EltBackend(Protocol):
    """compile -> invoke -> get (poll) -> cancel, as in the Dataform REST API."""

    def compile(self) -> CompilationResult:
        """Compile the repository; compilation errors are returned, not raised."""
        ...

    def invoke(self, compilation: CompilationResult, config: InvocationConfig) -> WorkflowInvocation:
        """Start running the compiled graph; returns at once with the invocation."""
        ...

    def get(self, invocation: WorkflowInvocation | str) -> InvocationStatus:
        """The invocation's current state and the state of each of its actions."""
        ...

    def cancel(self, invocation: WorkflowInvocation | str) -> None:
        """Ask a running invocation to stop; no further action starts."""
        ...


def _timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, as the REST API writes timestamps."""
    return value.isoformat().replace("+00:00", "Z")


@runtime_checkable
class WaitingBackend(EltBackend, Protocol):
    """A backend that can tell when its invocation ends (the local engine): a poller waits
    on it instead of sleeping a fixed interval."""

    def wait(self, invocation: WorkflowInvocation | str, timeout: float | None = None) -> InvocationStatus:
        """The status once the invocation has finished, or after `timeout` seconds."""
        ...


@runtime_checkable
class PublishingBackend(EltBackend, Protocol):
    """A backend that publishes a run's tables only when every action succeeded
    (write-audit-publish: the local engine), so a failed run leaves the warehouse as it was."""

    def published(self, invocation: WorkflowInvocation | str) -> bool:
        """Whether the finished invocation published its tables."""
        ...
