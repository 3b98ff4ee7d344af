"""The compiled graph as `dataform compile --json` prints it.

The real CLI decodes @dataform/core's protobuf output and prints each message's fields in
field-number order, every field the core set, except empty lists and maps (protobuf does not
encode those). This module writes our actions the same way, so the JSON text is the same.
"""

from __future__ import annotations

from typing import Any

from winter_days.elt.sqlx.actions import Action

# Field numbers of @dataform/core 3.0.62's core.proto (as the CLI 3.0.69 decodes them).
_TARGET = {"database": 3, "schema": 1, "name": 2, "includeDependentAssertions": 4}
_TABLE = {
    "enumType": 36,
    "target": 4,
    "canonicalTarget": 32,
    "dependencyTargets": 27,
    "hermeticity": 31,
    "disabled": 6,
    "type": 3,
    "query": 5,
    "protected": 9,
    "materialized": 35,
    "actionDescriptor": 24,
    "tags": 23,
    "where": 8,
    "incrementalQuery": 26,
    "uniqueKey": 30,
    "onSchemaChange": 37,
    "preOps": 13,
    "postOps": 14,
    "incrementalPreOps": 28,
    "incrementalPostOps": 29,
    "jitCode": 38,
    "incrementalStrategy": 39,
    "bigquery": 22,
    "fileName": 18,
}
_OPERATION = {
    "target": 3,
    "canonicalTarget": 13,
    "dependencyTargets": 11,
    "hermeticity": 12,
    "disabled": 14,
    "queries": 6,
    "hasOutput": 8,
    "tags": 9,
    "actionDescriptor": 10,
    "fileName": 7,
}
_ASSERTION = {
    "target": 8,
    "canonicalTarget": 13,
    "dependencyTargets": 11,
    "hermeticity": 12,
    "disabled": 14,
    "query": 3,
    "tags": 9,
    "actionDescriptor": 10,
    "parentAction": 15,
    "fileName": 7,
}
_DECLARATION = {"target": 2, "canonicalTarget": 5, "actionDescriptor": 3, "fileName": 4, "tags": 6}
_TEST = {
    "name": 1,
    "testQuery": 2,
    "expectedOutputQuery": 3,
    "fileName": 4,
    "disabled": 5,
    "tags": 6,
    "target": 7,
    "canonicalTarget": 8,
    "dependencyTargets": 9,
}
_DESCRIPTOR = {
    "description": 1,
    "columns": 2,
    "bigqueryLabels": 3,
    "metadata": 4,
    "compilationMode": 5,
    "reservation": 6,
}
_COLUMN = {"description": 1, "path": 2, "displayName": 3, "tags": 7, "bigqueryPolicyTags": 8}
_BIGQUERY = {
    "partitionBy": 1,
    "clusterBy": 2,
    "updatePartitionFilter": 3,
    "labels": 4,
    "partitionExpirationDays": 5,
    "requirePartitionFilter": 6,
    "additionalOptions": 7,
    "connection": 8,
    "tableFormat": 9,
    "fileFormat": 10,
    "storageUri": 11,
    "incrementalPredicates": 12,
    "preserveGovernanceControls": 13,
}
_PROJECT = {
    "warehouse": 1,
    "defaultDatabase": 9,
    "defaultSchema": 2,
    "defaultLocation": 16,
    "assertionSchema": 5,
    "vars": 14,
    "databaseSuffix": 15,
    "schemaSuffix": 7,
    "tablePrefix": 11,
    "builtinAssertionNamePrefix": 18,
    "disableAssertions": 20,
    "defaultReservation": 21,
    "includeTestsInCompiledGraph": 22,
    "preserveGovernanceControls": 24,
}
_GRAPH = {
    "projectConfig": 4,
    "tables": 1,
    "operations": 2,
    "assertions": 3,
    "declarations": 9,
    "tests": 8,
    "graphErrors": 7,
    "dataformCoreVersion": 10,
    "targets": 11,
    "jitData": 15,
}
# Fields that hold messages (written with their own field order) or lists of them.
_NESTED = {
    "target": _TARGET,
    "canonicalTarget": _TARGET,
    "parentAction": _TARGET,
    "dependencyTargets": _TARGET,
    "actionDescriptor": _DESCRIPTOR,
    "columns": _COLUMN,
    "bigquery": _BIGQUERY,
    "targets": _TARGET,
}
_MAPS = {"labels", "additionalOptions", "bigqueryLabels", "vars"}
_FIELDS = {
    "table": _TABLE,
    "view": _TABLE,
    "incremental": _TABLE,
    "operations": _OPERATION,
    "assertion": _ASSERTION,
    "declaration": _DECLARATION,
    "test": _TEST,
}


_PLANS: dict[int, tuple[tuple[str, dict | None, bool], ...]] = {}


def message(values: dict, numbers: dict[str, int]) -> dict:
    """`values` as the CLI prints that message: field-number order, unset and empty lists out."""
    plan = _PLANS.get(id(numbers))
    if plan is None:
        plan = _PLANS[id(numbers)] = tuple(
            (key, _NESTED.get(key), key in _MAPS) for key in sorted(numbers, key=numbers.__getitem__)
        )
    out: dict = {}
    for key, nested, is_map in plan:
        value = values.get(key)
        if value is None:
            continue
        if value.__class__ is list:
            if not value:
                continue
            if nested is not None:
                value = [message(item, nested) for item in value]
        elif is_map and not value:
            continue
        elif nested is not None:
            value = message(value, nested)
        out[key] = value
    return out


def action_json(action: Action) -> dict:
    return message(action.proto, _FIELDS[action.kind])


def assemble_graph(
    actions: list[Action], tests: list[Action], project: dict, targets: list[dict], core_version: str
) -> dict:
    """The compiled graph with Dataform's sections and key order."""
    sections: dict[str, list[dict]] = {
        "tables": [],
        "operations": [],
        "assertions": [],
        "declarations": [],
        "tests": [],
    }
    section_of = {
        "table": "tables",
        "view": "tables",
        "incremental": "tables",
        "operations": "operations",
        "assertion": "assertions",
        "declaration": "declarations",
    }
    for action in actions:
        sections[section_of[action.kind]].append(action_json(action))
    sections["tests"] = [action_json(test) for test in tests]
    graph: dict[str, Any] = {
        **sections,
        "projectConfig": message(project, _PROJECT),
        "graphErrors": {},
        "dataformCoreVersion": core_version,
        "targets": [message(t, _TARGET) for t in targets],
        "jitData": {},
    }
    out: dict = {}
    for key in sorted(graph, key=_GRAPH.__getitem__):
        value = graph[key]
        if isinstance(value, list) and not value:
            continue
        out[key] = value
    return out
