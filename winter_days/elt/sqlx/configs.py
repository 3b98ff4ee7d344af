"""Action configs as Dataform checks them: legacy SQLX keys converted, then each key checked
against the config message of the action's type (@dataform/core's configs.proto).

`verify(kind, raw)` returns the config with Dataform's defaults filled in for absent keys
(as its proto objects read them), or raises ConfigError naming the key. Keys Dataform
accepts but this compiler cannot honour exactly raise ConfigError too, saying so.
"""

from __future__ import annotations

import json
from typing import Any

DOCS = "https://dataform-co.github.io/dataform/docs/configs-reference"


class ConfigError(Exception):
    """A config Dataform rejects, or one this compiler cannot honour exactly; `key` is the
    config key at fault when there is one (the error is reported at its line)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


# Field -> kind of value, per config message. Kinds: str, bool, int, strs (repeated
# string), map (map<string, string>), targets, columns, assertions, enum, unsupported.
_COMMON = {
    "name": "str",
    "dataset": "str",
    "project": "str",
    "dependencyTargets": "targets",
    "filename": "str",
    "tags": "strs",
    "disabled": "bool",
}
_DATASET = {
    **_COMMON,
    "preOperations": "strs",
    "postOperations": "strs",
    "description": "str",
    "columns": "columns",
    "partitionBy": "str",
    "clusterBy": "strs",
    "labels": "map",
    "additionalOptions": "map",
    "dependOnDependencyAssertions": "bool",
    "assertions": "assertions",
    "hermetic": "bool",
    "metadata": "unsupported",
    "reservation": "str",
}
FIELDS: dict[str, dict[str, str]] = {
    "table": {
        **_DATASET,
        "partitionExpirationDays": "int",
        "requirePartitionFilter": "bool",
        "iceberg": "unsupported",
        "preserveGovernanceControls": "bool",
    },
    "view": {**_DATASET, "materialized": "bool"},
    "incremental": {
        **_DATASET,
        "protected": "bool",
        "uniqueKey": "strs",
        "partitionExpirationDays": "int",
        "requirePartitionFilter": "bool",
        "updatePartitionFilter": "str",
        "onSchemaChange": "enum",
        "iceberg": "unsupported",
        "incrementalStrategy": "enum",
        "incrementalPredicates": "strs",
    },
    "assertion": {
        **_COMMON,
        "description": "str",
        "hermetic": "bool",
        "dependOnDependencyAssertions": "bool",
        "reservation": "str",
        "metadata": "unsupported",
    },
    "operations": {
        **_COMMON,
        "hasOutput": "bool",
        "description": "str",
        "columns": "columns",
        "dependOnDependencyAssertions": "bool",
        "hermetic": "bool",
        "reservation": "str",
    },
    "declaration": {
        "name": "str",
        "dataset": "str",
        "project": "str",
        "description": "str",
        "columns": "columns",
        "filename": "str",
        "tags": "strs",
    },
}
_MESSAGE_NAMES = {
    "table": "TableConfig",
    "view": "ViewConfig",
    "incremental": "IncrementalTableConfig",
    "assertion": "AssertionConfig",
    "operations": "OperationConfig",
    "declaration": "DeclarationConfig",
}
_DEFAULTS = {
    "str": "",
    "bool": False,
    "int": 0,
    "strs": [],
    "map": {},
    "targets": [],
    "columns": [],
    "enum": "",
    "assertions": None,
    "unsupported": None,
}
_TABLE_BIGQUERY = (
    "partitionBy",
    "clusterBy",
    "updatePartitionFilter",
    "labels",
    "partitionExpirationDays",
    "requirePartitionFilter",
    "additionalOptions",
    "incrementalPredicates",
    "iceberg",
)
_VIEW_BIGQUERY = ("labels", "additionalOptions", "partitionBy", "clusterBy")
_TARGET_KEYS = {"project", "dataset", "name", "includeDependentAssertions"}
_INVALID_REF = (
    "Invalid input. Accepted inputs include: a single object containing an (optional) 'database', "
    "(optional) 'schema', and 'name', or 1-3 inputs consisting of an (optional) database, (optional) "
    "schema, and 'name'."
)
_UNSUPPORTED = {
    "metadata": "config 'metadata' is not supported by this compiler",
    "iceberg": "BigQuery tables for Apache Iceberg ('iceberg') are not supported by this compiler",
}


def _js_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if value is not None else "undefined"


def unexpected(key: str, value: Any, kind: str) -> ConfigError:
    """Dataform's message for a key its config message does not have."""
    if not value and not isinstance(value, (list, dict)):
        return ConfigError(
            f'Unexpected empty value for "{key}". See {DOCS}#dataform-ActionConfig-'
            f"{_MESSAGE_NAMES[kind]} for allowed properties.",
            key,
        )
    return ConfigError(
        f'Unexpected property "{key}", or property value type of "{_js_type(value)}" is incorrect. '
        f"See {DOCS}#dataform-ActionConfig-{_MESSAGE_NAMES[kind]} for allowed properties.",
        key,
    )


def excess(given: dict, allowed: tuple[str, ...] | list[str], name: str) -> None:
    """Dataform's checkExcessProperties: the first key not allowed is an error."""
    extra = [key for key in given if key not in allowed]
    if extra:
        raise ConfigError(
            f'Unexpected property "{extra[0]}" in {name}. Supported properties are: '
            f"{json.dumps(list(allowed), separators=(',', ':'))}",
            extra[0],
        )


def action_config_target(value: Any) -> dict:
    """Dataform's resolvableAsActionConfigTarget: "project.dataset.name" or an object as given."""
    if isinstance(value, str):
        parts = value.split(".")[::-1]
        if not 1 <= len(parts) <= 3:
            raise ConfigError(_INVALID_REF)
        target = {"name": parts[0]}
        if len(parts) > 1:
            target["dataset"] = parts[1]
        if len(parts) > 2:
            target["project"] = parts[2]
        return target
    if isinstance(value, dict):
        return value
    raise ConfigError(f"dependency {json.dumps(value)} must be a string or an object")


def legacy_columns(columns: Any, path: list[str] | None = None) -> list[dict]:
    """A SQLX `columns: {name: description or {description, columns, tags, ...}}` object as
    Dataform's list of column descriptors, nested records flattened to paths."""
    if not isinstance(columns, dict):
        raise ConfigError("columns must be an object of column name to description")
    out: list[dict] = []
    for name, described in columns.items():
        here = [*(path or []), name]
        if isinstance(described, str):
            out.append({"description": described, "path": here})
            continue
        if not isinstance(described, dict):
            raise ConfigError(f"column {'.'.join(here)}: a description must be a string or an object")
        descriptor: dict = {"path": here}
        if described.get("description") is not None:
            descriptor["description"] = described["description"]
        for key in ("tags", "bigqueryPolicyTags"):
            if described.get(key) is not None:
                descriptor[key] = [described[key]] if isinstance(described[key], str) else described[key]
        out.append(descriptor)
        if described.get("columns"):
            out.extend(legacy_columns(described["columns"], here))
    return out


def _legacy_assertions(assertions: Any) -> Any:
    if not isinstance(assertions, dict):
        return assertions
    assertions = dict(assertions)
    if isinstance(assertions.get("uniqueKey"), str):
        assertions["uniqueKey"] = [assertions["uniqueKey"]]
    keys = assertions.get("uniqueKeys")
    if isinstance(keys, list) and keys and isinstance(keys[0], list) and keys[0]:
        assertions["uniqueKeys"] = [{"uniqueKey": key} for key in keys]
    if isinstance(assertions.get("nonNull"), str):
        assertions["nonNull"] = [assertions["nonNull"]]
    return assertions


def _legacy(kind: str, config: dict) -> dict:
    """Dataform's conversion of a legacy (`type: ...`) config to the config message's keys."""
    config = dict(config)
    config.pop("type", None)
    if config.get("dependencies"):
        dependencies = config.pop("dependencies")
        if not isinstance(dependencies, list):
            raise ConfigError(
                "dependencies must be a list (Dataform calls .map on it): write dependencies: "
                f"[{json.dumps(dependencies)}]"
            )
        config["dependencyTargets"] = [action_config_target(d) for d in dependencies]
    for old, new in (("database", "project"), ("schema", "dataset"), ("fileName", "filename")):
        if config.get(old):
            config[new] = config.pop(old)
    if kind == "declaration" or kind == "assertion":
        if config.get("columns") and kind == "declaration":
            config["columns"] = legacy_columns(config["columns"])
        return config
    if config.get("columns"):
        config["columns"] = legacy_columns(config["columns"])
    if kind == "operations":
        return config
    if config.get("assertions"):
        config["assertions"] = _legacy_assertions(config["assertions"])
    bigquery = config.get("bigquery")
    if isinstance(bigquery, dict):
        bigquery = dict(bigquery)
        allowed = _VIEW_BIGQUERY if kind == "view" else _TABLE_BIGQUERY
        if kind == "view":
            excess(bigquery, allowed, "BigQuery view config")
        for key in allowed:
            if bigquery.get(key):
                config[key] = bigquery.pop(key)
        if kind != "view":
            excess(bigquery, allowed, "BigQuery table config")
        if bigquery or kind == "view":
            config["bigquery"] = bigquery
        else:
            del config["bigquery"]
    return config


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


# Whether a value is of the wrong type for its field (a flag takes any value: Dataform reads
# it as JavaScript's truth of it).
_WRONG = {
    "str": lambda value: not isinstance(value, str),
    "int": lambda value: isinstance(value, bool) or not isinstance(value, int),
    "enum": lambda value: not isinstance(value, (str, int)) or isinstance(value, bool),
    "strs": lambda value: not _strings(value),
    "map": lambda value: not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())),
    "targets": lambda value: not _objects(value),
    "columns": lambda value: not _objects(value),
    "assertions": lambda value: not isinstance(value, dict),
}


def _check_value(key: str, value: Any, field: str, kind: str) -> None:
    wrong = _WRONG.get(field)
    if wrong is not None and wrong(value):
        raise unexpected(key, value, kind)
    if field == "targets":
        for target in value:
            extra = set(target) - _TARGET_KEYS
            if extra:
                raise unexpected(sorted(extra)[0], target[sorted(extra)[0]], kind)
            if not isinstance(target.get("name"), str):
                raise ConfigError(f"dependency {json.dumps(target)} must have a 'name'", key)
    if field == "assertions":
        excess(value, ["uniqueKey", "uniqueKeys", "nonNull", "rowConditions"], "assertions config")
        for sub in ("uniqueKey", "nonNull", "rowConditions"):
            if sub in value and not _strings(value[sub]):
                raise ConfigError(f"assertions.{sub} must be a list of column names or conditions", sub)
        for entry in value.get("uniqueKeys") or []:
            if not (isinstance(entry, dict) and isinstance(entry.get("uniqueKey"), list)):
                raise ConfigError("assertions.uniqueKeys must be a list of lists of column names", "uniqueKeys")


def verify(kind: str, raw: dict, legacy: bool) -> dict:
    """The verified config of an action of `kind`, defaults filled in like Dataform's proto."""
    config = _legacy(kind, raw) if legacy else dict(raw)
    fields = FIELDS[kind]
    for key, value in config.items():
        if value is None:
            continue
        field = fields.get(key)
        if field is None:
            if isinstance(value, dict) and not value:
                continue  # Dataform lets an empty object through, e.g. an emptied `bigquery: {}`.
            if isinstance(value, list) and not value:
                continue
            raise unexpected(key, value, kind)
        if field == "unsupported":
            raise ConfigError(_UNSUPPORTED[key], key)
        _check_value(key, value, field, kind)
    out = dict(_TEMPLATES[kind])
    for key, value in config.items():
        if value is not None and key in fields:
            out[key] = _truthy(value) if fields[key] == "bool" else value
    return out


# Absent keys read as the proto's defaults. Lists and maps are shared: callers copy before changing one.
_TEMPLATES = {kind: {key: _DEFAULTS[field] for key, field in fields.items()} for kind, fields in FIELDS.items()}


def _truthy(value: Any) -> bool:
    """JavaScript's truth of a JSON value."""
    if isinstance(value, float) and value != value:
        return False
    return bool(value) or value == [] or value == {}
