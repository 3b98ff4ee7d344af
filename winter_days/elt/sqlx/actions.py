"""Actions built from evaluated SQLX configs, and the built-in assertions they declare."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from winter_days.elt.sqlx.errors import CompileIssue

DATASET_TYPES = ("table", "view", "incremental")
_COMMON = {"type", "name", "schema", "database", "tags", "dependencies", "disabled", "description", "columns", "hermetic"}
ALLOWED_KEYS = {
    "table": _COMMON | {"assertions", "bigquery"},
    "view": _COMMON | {"assertions", "bigquery"},
    "incremental": _COMMON | {"assertions", "bigquery", "uniqueKey", "protected"},
    "operations": _COMMON | {"hasOutput"},
    "assertion": _COMMON,
    "declaration": {"type", "name", "schema", "database", "description", "columns"},
}
_BIGQUERY_KEYS = {"partitionBy", "clusterBy", "labels"}
_ASSERTION_KEYS = {"uniqueKey", "uniqueKeys", "nonNull", "rowConditions"}


class ConfigError(Exception):
    """A config value this compiler cannot honour exactly."""


@dataclass
class Action:
    kind: str
    target: dict
    canonical_target: dict
    file: str
    line: int
    spec_index: int | None = None
    tags: list[str] = field(default_factory=list)
    disabled: bool = False
    hermetic: bool | None = None
    description: str | None = None
    columns: list[dict] = field(default_factory=list)
    bigquery: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    unique_key: list[str] = field(default_factory=list)
    protected: bool = False
    has_output: bool = False
    dependencies: list[dict] = field(default_factory=list)  # unresolved: name/schema/database
    parent: dict | None = None
    builtin: tuple[str, list[str]] | None = None  # ("uniqueKey", columns) or ("rowConditions", conditions)
    compiled: dict = field(default_factory=dict)


def readable(target: dict) -> str:
    """`database.schema.name`, the form Dataform uses to name an action in messages."""
    return ".".join(p for p in (target.get("database"), target.get("schema"), target.get("name")) if p)


def target_key(target: dict) -> str:
    return json.dumps([target.get("database"), target.get("schema"), target.get("name")])


def _strings(value: object, what: str, allow_single: bool = True) -> list[str]:
    if isinstance(value, str) and allow_single:
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{what} must be {'a string or ' if allow_single else ''}a list of strings")


def _dependency(value: object) -> dict:
    if isinstance(value, str):
        parts = value.split(".")
        if not 1 <= len(parts) <= 3:
            raise ConfigError(f"dependency {value!r} must be name, dataset.name or project.dataset.name")
        parts.reverse()
        return {"name": parts[0], "schema": parts[1] if len(parts) > 1 else None,
                "database": parts[2] if len(parts) > 2 else None}
    if isinstance(value, dict):
        extra = set(value) - {"name", "dataset", "project"}
        if extra or not isinstance(value.get("name"), str):
            raise ConfigError(
                f"dependency {json.dumps(value)} must be an object with 'name' and optional 'dataset', 'project'"
            )
        return {"name": value["name"], "schema": value.get("dataset"), "database": value.get("project")}
    raise ConfigError(f"dependency {json.dumps(value)} must be a string or an object")


def _columns(value: object) -> list[dict]:
    if not isinstance(value, dict):
        raise ConfigError("columns must be an object of column name to description")
    out = []
    for name, described in value.items():
        if isinstance(described, str):
            out.append({"description": described, "path": [name]})
        elif isinstance(described, dict) and set(described) <= {"description"}:
            out.append({"description": described.get("description", ""), "path": [name]})
        else:
            raise ConfigError(f"column {name!r}: only a description string or {{description}} is supported")
    return out


def build_actions(config: dict, file: str, line: int, spec_index: int, project: dict) -> list[Action]:
    """The action a file declares, preceded by its built-in assertions (Dataform's order)."""
    kind = config.get("type", "operations")
    if kind not in ALLOWED_KEYS:
        raise ConfigError(f"action type {kind!r} is not supported (use one of {', '.join(ALLOWED_KEYS)})")
    unknown = sorted(set(config) - ALLOWED_KEYS[kind])
    if unknown:
        raise ConfigError(f"config property {unknown[0]!r} is not supported for type {kind!r}")
    name = config.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError("name must be a non-empty string")
    default_schema = project.get("assertionSchema") or project.get("defaultSchema") if kind == "assertion" \
        else project.get("defaultSchema")
    for key in ("schema", "database", "description"):
        if key in config and not isinstance(config[key], str):
            raise ConfigError(f"{key} must be a string")
    target = {"schema": config.get("schema") or default_schema, "name": name,
              "database": config.get("database") or project.get("defaultDatabase")}
    for part, label in (("name", "names"), ("schema", "datasets"), ("database", "projects")):
        if target[part] and "." in target[part]:
            raise ConfigError(f"Action target {label} cannot include '.'")
    canonical = dict(target)
    action = Action(kind=kind, target=target, canonical_target=canonical, file=file, line=line,
                    spec_index=None if kind == "declaration" else spec_index)
    if "tags" in config:
        action.tags = _strings(config["tags"], "tags")
    if "dependencies" in config:
        deps = config["dependencies"] if isinstance(config["dependencies"], list) else [config["dependencies"]]
        action.dependencies = [_dependency(dep) for dep in deps]
    for flag, attr in (("disabled", "disabled"), ("hermetic", "hermetic"), ("hasOutput", "has_output"),
                       ("protected", "protected")):
        if flag in config:
            if not isinstance(config[flag], bool):
                raise ConfigError(f"{flag} must be true or false")
            setattr(action, attr, config[flag])
    action.description = config.get("description")
    if "columns" in config:
        action.columns = _columns(config["columns"])
    if "uniqueKey" in config:
        action.unique_key = _strings(config["uniqueKey"], "uniqueKey")
    if "bigquery" in config:
        _apply_bigquery(action, config["bigquery"])
    builtins = _builtin_assertions(action, config.get("assertions"), project, line) if "assertions" in config else []
    return [*builtins, action]


def _apply_bigquery(action: Action, bigquery: object) -> None:
    if not isinstance(bigquery, dict):
        raise ConfigError("bigquery must be an object")
    unknown = sorted(set(bigquery) - _BIGQUERY_KEYS)
    if unknown:
        raise ConfigError(f"bigquery option {unknown[0]!r} is not supported (supported: partitionBy, clusterBy, labels)")
    options: dict = {}
    if bigquery.get("partitionBy"):
        if not isinstance(bigquery["partitionBy"], str):
            raise ConfigError("bigquery.partitionBy must be a string")
        options["partitionBy"] = bigquery["partitionBy"]
    if bigquery.get("clusterBy"):
        options["clusterBy"] = _strings(bigquery["clusterBy"], "bigquery.clusterBy", allow_single=False)
    labels = bigquery.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise ConfigError("bigquery.labels must map names to strings")
    if labels:
        options["labels"] = dict(labels)
        action.labels = dict(labels)
    action.bigquery = options


def _builtin_assertions(parent: Action, assertions: object, project: dict, line: int) -> list[Action]:
    if not isinstance(assertions, dict):
        raise ConfigError("assertions must be an object")
    unknown = sorted(set(assertions) - _ASSERTION_KEYS)
    if unknown:
        raise ConfigError(f"assertions.{unknown[0]} is not supported (supported: {', '.join(sorted(_ASSERTION_KEYS))})")
    unique_key = _strings(assertions["uniqueKey"], "assertions.uniqueKey") if assertions.get("uniqueKey") else []
    unique_keys_raw = assertions.get("uniqueKeys") or []
    if unique_key and unique_keys_raw:
        raise ConfigError("Specify at most one of 'assertions.uniqueKey' and 'assertions.uniqueKeys'.")
    if not isinstance(unique_keys_raw, list):
        raise ConfigError("assertions.uniqueKeys must be a list of lists of column names")
    unique_keys = [unique_key] if unique_key else [
        _strings(key, "each assertions.uniqueKeys entry", allow_single=False) for key in unique_keys_raw
    ]
    conditions = _strings(assertions.get("rowConditions") or [], "assertions.rowConditions", allow_single=False)
    if assertions.get("nonNull"):
        conditions += [f"{column} IS NOT NULL" for column in _strings(assertions["nonNull"], "assertions.nonNull")]
    prefix = f"{project['builtinAssertionNamePrefix']}_" if project.get("builtinAssertionNamePrefix") else ""
    stem = f"{prefix}{parent.target['schema']}_{parent.target['name']}_assertions"
    made = [(f"{stem}_uniqueKey_{i}", ("uniqueKey", key)) for i, key in enumerate(unique_keys)]
    if conditions:
        made.append((f"{stem}_rowConditions", ("rowConditions", conditions)))
    out = []
    for name, builtin in made:
        target = {"schema": project.get("assertionSchema") or project.get("defaultSchema"), "name": name,
                  "database": project.get("defaultDatabase")}
        out.append(Action(kind="assertion", target=target, canonical_target=dict(target), file=parent.file,
                          line=line, tags=list(parent.tags), disabled=parent.disabled,
                          parent=dict(parent.target), builtin=builtin))
    return out


def sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def builtin_query(builtin: tuple[str, list[str]], dataset: str) -> str:
    """The SQL Dataform writes for a uniqueKey or rowConditions assertion on `dataset`."""
    kind, values = builtin
    if kind == "uniqueKey":
        columns = ", ".join(values)
        return (f"\nSELECT\n  *\nFROM (\n  SELECT\n    {columns},\n    COUNT(1) AS index_row_count\n"
                f"  FROM {dataset}\n  GROUP BY {columns}\n  ) AS data\nWHERE index_row_count > 1\n")
    return "UNION ALL".join(
        f"\nSELECT\n  {sql_string(condition)} AS failing_row_condition,\n  *\nFROM {dataset}\nWHERE NOT ({condition})\n"
        for condition in values
    )
