"""Reading the Dataform REST v1 JSON resources into the `winter_days.elt.backend` dataclasses.

`backend.py` renders these resources (`to_api`) but does not parse them; the parsing lives
here. A field the API omits takes its proto default; a value the contract does not know
(an unknown state) is an error naming the resource, never silently read as something else.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from winter_days.elt.backend import (
    ActionState,
    CompilationError,
    CompilationResult,
    InvocationConfig,
    InvocationState,
    InvocationTiming,
    Target,
    WorkflowInvocation,
    WorkflowInvocationAction,
)
from winter_days.elt.engines.dataform_api.transport import DataformApiError

# RFC 3339 as Google APIs write it: up to nanoseconds, Z or an offset.
_TIMESTAMP = re.compile(r"^(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d{1,9}))?(?P<zone>Z|[+-]\d\d:\d\d)$")
# CompilationResultAction.Relation.RelationType -> the kind names of `dataform compile --json`.
RELATION_KINDS = {"TABLE": "table", "VIEW": "view", "INCREMENTAL_TABLE": "incremental", "MATERIALIZED_VIEW": "view"}
# Where each kind goes in a `dataform compile --json`-shaped graph.
GRAPH_SECTIONS = {"operations": "operations", "assertion": "assertions", "declaration": "declarations"}


def parse_timestamp(raw: str | None, resource: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime (nanoseconds truncated to microseconds)."""
    if not raw:
        return None
    match = _TIMESTAMP.match(raw)
    if match is None:
        raise DataformApiError(f"Dataform API {resource}: unreadable timestamp {raw!r}")
    fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    return datetime.fromisoformat(f"{match['base']}.{fraction}{zone}").astimezone(timezone.utc)


def parse_timing(raw: Mapping[str, Any] | None, resource: str) -> InvocationTiming:
    raw = raw or {}
    return InvocationTiming(
        start_time=parse_timestamp(raw.get("startTime"), resource),
        end_time=parse_timestamp(raw.get("endTime"), resource),
    )


def _enum(kind: type, raw: Any, resource: str) -> Any:
    try:
        return kind(raw or "STATE_UNSPECIFIED")
    except ValueError:
        raise DataformApiError(f"Dataform API {resource}: unknown {kind.__name__} {raw!r}") from None


def _target(raw: Mapping[str, Any] | None, resource: str) -> Target:
    if not raw or not raw.get("name"):
        raise DataformApiError(f"Dataform API {resource}: an action without a target name")
    return Target.from_api(raw)


def parse_compilation_result(raw: Mapping[str, Any]) -> CompilationResult:
    """A CompilationResult resource (the graph is filled in later, from its actions)."""
    name = str(raw.get("name") or "")
    if not name:
        raise DataformApiError("Dataform API compilationResults.create: the answer names no compilation result")
    errors = tuple(
        CompilationError(
            message=str(e.get("message") or ""),
            path=str(e.get("path") or ""),
            action_target=Target.from_api(e["actionTarget"]) if (e.get("actionTarget") or {}).get("name") else None,
        )
        for e in raw.get("compilationErrors") or ()
    )
    return CompilationResult(
        name=name,
        create_time=parse_timestamp(raw.get("createTime"), name) or datetime.now(timezone.utc),
        dataform_core_version=str(raw.get("dataformCoreVersion") or ""),
        compilation_errors=errors,
        code_compilation_config=dict(raw.get("codeCompilationConfig") or {}),
    )


def compilation_graph(actions: Iterable[Mapping[str, Any]], resource: str) -> dict[str, list[dict[str, Any]]]:
    """compilationResults.query actions as a `dataform compile --json`-shaped graph."""
    graph: dict[str, list[dict[str, Any]]] = {"tables": [], "operations": [], "assertions": [], "declarations": []}
    for raw in actions:
        target = _target(raw.get("target"), resource)
        entry: dict[str, Any] = {"target": target.to_api(), "fileName": str(raw.get("filePath") or "")}
        relation = raw.get("relation")
        if relation is not None:
            entry["type"] = RELATION_KINDS.get(str(relation.get("relationType") or ""), "table")
            entry["tags"] = list(relation.get("tags") or ())
            graph["tables"].append(entry)
            continue
        for field, section in GRAPH_SECTIONS.items():
            if field in raw:
                entry["tags"] = list((raw[field] or {}).get("tags") or ())
                graph[section].append(entry)
                break
    return graph


def action_kinds(graph: Mapping[str, Any]) -> dict[Target, str]:
    """Target -> the action's kind (table, view, incremental, operations, assertion, declaration)."""
    kinds: dict[Target, str] = {}
    for entry in graph.get("tables") or ():
        kinds[Target.from_api(entry["target"])] = entry.get("type") or "table"
    for section, kind in (("operations", "operations"), ("assertions", "assertion"), ("declarations", "declaration")):
        for entry in graph.get(section) or ():
            kinds[Target.from_api(entry["target"])] = kind
    return kinds


def parse_invocation_config(raw: Mapping[str, Any] | None) -> InvocationConfig:
    raw = raw or {}
    return InvocationConfig(
        included_targets=tuple(Target.from_api(t) for t in raw.get("includedTargets") or ()),
        included_tags=tuple(str(t) for t in raw.get("includedTags") or ()),
        transitive_dependencies_included=bool(raw.get("transitiveDependenciesIncluded", False)),
        transitive_dependents_included=bool(raw.get("transitiveDependentsIncluded", False)),
        fully_refresh_incremental_tables_enabled=bool(raw.get("fullyRefreshIncrementalTablesEnabled", False)),
    )


def parse_workflow_invocation(raw: Mapping[str, Any], resource: str) -> WorkflowInvocation:
    """A WorkflowInvocation resource."""
    name = str(raw.get("name") or "")
    if not name:
        raise DataformApiError(f"Dataform API {resource}: the answer names no workflow invocation")
    return WorkflowInvocation(
        name=name,
        compilation_result=str(raw.get("compilationResult") or raw.get("resolvedCompilationResult") or ""),
        invocation_config=parse_invocation_config(raw.get("invocationConfig")),
        state=_enum(InvocationState, raw.get("state"), name),
        invocation_timing=parse_timing(raw.get("invocationTiming"), name),
    )


def action_kind(raw: Mapping[str, Any], target: Target, kinds: Mapping[Target, str]) -> str:
    """The kind from the compilation result; else what the action ran on."""
    if target in kinds:
        return kinds[target]
    for field, kind in (("notebookAction", "notebook"), ("dataPreparationAction", "data_preparation")):
        if field in raw:
            return kind
    return "bigquery" if "bigqueryAction" in raw else "unknown"


def parse_action(raw: Mapping[str, Any], resource: str, kinds: Mapping[Target, str]) -> WorkflowInvocationAction:
    """One WorkflowInvocationAction of workflowInvocations.query."""
    target = _target(raw.get("target"), resource)
    where = f"{resource} action {target}"
    return WorkflowInvocationAction(
        target=target,
        kind=action_kind(raw, target, kinds),
        state=_enum(ActionState, raw.get("state") or "PENDING", where),
        invocation_timing=parse_timing(raw.get("invocationTiming"), where),
        failure_reason=str(raw.get("failureReason") or ""),
        sql_script=str((raw.get("bigqueryAction") or {}).get("sqlScript") or ""),
    )
