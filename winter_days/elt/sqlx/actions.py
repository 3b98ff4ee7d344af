"""Actions built from verified configs and builder calls, with @dataform/core's rules.

Each action keeps `proto`: the fields of its compiled-graph entry, set in the order and
under the conditions Dataform's action classes (Table, View, IncrementalTable, Operation,
Assertion, Declaration, Test) set them; output.py writes them out. A field is present when
Dataform sets it, even to a default value, because the real compiler prints it then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from winter_days.elt.sqlx.configs import ConfigError, verify

DATASET_TYPES = ("table", "view", "incremental")
_ON_SCHEMA_CHANGE = ("IGNORE", "FAIL", "EXTEND", "SYNCHRONIZE")
_STRATEGIES = {
    "INCREMENTAL_STRATEGY_UNSPECIFIED": "INCREMENTAL_STRATEGY_UNSPECIFIED",
    "MERGE": "MERGE",
    "INSERT_OVERWRITE": "INSERT_OVERWRITE",
}
_STRATEGY_NUMBERS = ("INCREMENTAL_STRATEGY_UNSPECIFIED", "MERGE", "INSERT_OVERWRITE")
_TEST_KEYS = ["type", "dataset", "name", "filename", "tags"]


@dataclass
class Problem:
    """A compile error an action reports without stopping (Dataform's session.compileError)."""

    message: str
    line: int | None = None
    key: str | None = None  # the config key at fault, reported at its line


@dataclass
class Action:
    kind: str  # table | view | incremental | operations | assertion | declaration | test
    proto: dict
    file: str
    line: int
    spec: int | None = None
    depend_on_dependency_assertions: bool = False
    include_assertions: dict[str, bool] = field(default_factory=dict)
    inline: list[Action] = field(default_factory=list)
    builtin: tuple[str, list[str]] | None = None  # ("uniqueKey", columns) or ("rowConditions", conditions)
    test_target: dict | None = None
    inputs: dict[tuple, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Target as written in the action's own `dependencies` / ref() calls, for actionAssertionMap.
    asserted: list[dict] = field(default_factory=list)

    @property
    def target(self) -> dict:
        return self.proto.get("target") or {}

    @property
    def is_dataset(self) -> bool:
        return self.kind in DATASET_TYPES


def target_of(name: Any, schema: Any = None, database: Any = None) -> dict:
    """A compiled-graph Target with Dataform's key order (schema, name, database) and absent
    parts left out."""
    out: dict = {}
    if schema is not None:
        out["schema"] = schema
    out["name"] = name
    if database is not None:
        out["database"] = database
    return out


def readable(target: dict) -> str:
    """Dataform's targetAsReadableString: `database.schema.name` (no database: `schema.name`)."""
    parts = [target.get("name"), target.get("schema")]
    if target.get("database"):
        parts.append(target["database"])
    return ".".join("" if p is None else str(p) for p in reversed(parts))


def target_key(target: dict) -> tuple:
    return (target.get("database"), target.get("schema"), target.get("name"))


def resolvable_as_target(value: Any) -> dict:
    """Dataform's resolvableAsTarget: a string is a name; `dataset`/`project` read as schema/database."""
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise ConfigError(f"cannot read a target from {json.dumps(value)}")
    if "dataset" in value or "project" in value:
        out = target_of(value.get("name"), value.get("dataset"), value.get("project"))
        if "includeDependentAssertions" in value:
            out["includeDependentAssertions"] = value["includeDependentAssertions"]
        return out
    out = target_of(value.get("name"), value.get("schema"), value.get("database"))
    if "includeDependentAssertions" in value:
        out["includeDependentAssertions"] = value["includeDependentAssertions"]
    return out


def config_target(value: dict) -> dict:
    """Dataform's configTargetToCompiledGraphTarget: only the parts that are set."""
    out = target_of(value.get("name"), value.get("dataset") or None, value.get("project") or None)
    if "includeDependentAssertions" in value:
        out["includeDependentAssertions"] = value["includeDependentAssertions"]
    return out


class Builder:
    """Creates actions the way @dataform/core's constructors do, for one project config."""

    def __init__(self, project: dict, canonical: dict, resolve_target: Callable[[dict], str]):
        self.project = project
        self.canonical = canonical
        self.resolve_target = resolve_target
        self.created: list[Action] = []  # in Dataform's session order

    # -- targets -------------------------------------------------------------------
    def session_target(self, target: dict, project: dict, assertion: bool = False) -> dict:
        """Dataform's applySessionToTarget: default dataset and project filled in."""
        default_schema = (
            (project.get("assertionSchema") or project.get("defaultSchema"))
            if assertion
            else project.get("defaultSchema")
        )
        return target_of(
            target.get("name"),
            target.get("schema") or default_schema or None,
            target.get("database") or project.get("defaultDatabase") or None,
        )

    def _validated(self, action: Action, target: dict) -> None:
        for part, label in (("name", "names"), ("schema", "datasets"), ("database", "projects")):
            if "." in (target.get(part) or ""):
                action.problems.append(Problem(f"Action target {label} cannot include '.'"))

    def _targets(self, action: Action, config: dict, assertion: bool = False, validate: bool = True) -> None:
        target = {"name": config["name"], "schema": config["dataset"], "database": config["project"]}
        if validate:
            self._validated(action, target)
        action.proto["target"] = self.session_target(target, self.project, assertion)
        action.proto["canonicalTarget"] = self.session_target(target, self.canonical, assertion)

    def _retarget(self, action: Action, part: str, value: str, assertion: bool = False) -> None:
        current = dict(action.proto["target"])
        current[part] = value
        self._validated(action, current)
        action.proto["target"] = self.session_target(current, self.project, assertion)

    def _retargets(self, action: Action, config: dict) -> None:
        if config["project"]:
            self._retarget(action, "database", config["project"])
        if config["dataset"]:
            self._retarget(action, "schema", config["dataset"])

    # -- creation ------------------------------------------------------------------
    def _shared(self, action: Action, config: dict) -> None:
        """What the Table, View, IncrementalTable and Operation constructors do alike."""
        if not config["name"]:
            config["name"] = action.file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        self._targets(action, config)
        if config["filename"]:
            action.proto["fileName"] = config["filename"]
        if config["dependOnDependencyAssertions"]:
            action.depend_on_dependency_assertions = True
        if config["dependencyTargets"]:
            self.dependencies(action, [config_target(t) for t in config["dependencyTargets"]])
        self.call(action, "hermetic", [config["hermetic"]])
        if config["disabled"]:
            self.call(action, "disabled", [])
        if config["tags"]:
            self.call(action, "tags", [config["tags"]])
        if config["description"]:
            self.call(action, "description", [config["description"]])
        if config["columns"]:
            action.proto.setdefault("actionDescriptor", {})["columns"] = [_column(c) for c in config["columns"]]

    def dataset(self, kind: str, raw: dict, file: str, line: int, spec: int | None, legacy: bool) -> Action:
        """A table, view or incremental table (Table/View/IncrementalTable constructors)."""
        config = verify(kind, raw, legacy)
        action = Action(kind, {"type": kind}, file, line, spec)
        proto = action.proto
        proto["enumType"] = kind.upper()
        proto["disabled"] = False
        self._shared(action, config)
        if kind != "table":
            self._retargets(action, config)
        if config["assertions"]:
            action.inline = self.inline_assertions(action, config["assertions"])
        if kind == "view":
            if config["materialized"]:
                proto["materialized"] = True
            if not config["materialized"] and (config["partitionBy"] or config["clusterBy"]):
                action.problems.append(
                    Problem(
                        "partitionBy/clusterBy can be applied only to materialized views",
                        key="partitionBy" if config["partitionBy"] else "clusterBy",
                    )
                )
            if config["labels"] or config["additionalOptions"] or config["partitionBy"] or config["clusterBy"]:
                self._view_bigquery(
                    action,
                    {
                        "partitionBy": config["partitionBy"],
                        "clusterBy": config["clusterBy"],
                        "labels": config["labels"],
                        "additionalOptions": config["additionalOptions"],
                    },
                )
        else:
            if kind == "incremental":
                if config["uniqueKey"]:
                    proto["uniqueKey"] = list(config["uniqueKey"])
                proto["protected"] = bool(config["protected"])
            options = {"partitionBy": config["partitionBy"], "clusterBy": config["clusterBy"]}
            if kind == "incremental":
                options["updatePartitionFilter"] = config["updatePartitionFilter"]
            options.update(
                labels=config["labels"],
                partitionExpirationDays=config["partitionExpirationDays"],
                requirePartitionFilter=config["requirePartitionFilter"],
                additionalOptions=config["additionalOptions"],
            )
            if kind == "incremental":
                options["incrementalPredicates"] = config["incrementalPredicates"]
            else:
                options["preserveGovernanceControls"] = bool(
                    config["preserveGovernanceControls"] or self.project.get("preserveGovernanceControls")
                )
            self.call(action, "bigquery", [options])
            if (
                kind == "table"
                and not config["partitionBy"]
                and (config["partitionExpirationDays"] or config["requirePartitionFilter"])
            ):
                action.problems.append(
                    Problem(
                        "requirePartitionFilter/partitionExpirationDays are not valid for "
                        "non partitioned BigQuery tables",
                        key="requirePartitionFilter" if config["requirePartitionFilter"] else "partitionExpirationDays",
                    )
                )
        if config["reservation"]:
            proto.setdefault("actionDescriptor", {})["reservation"] = config["reservation"]
        if config["additionalOptions"] and kind != "view":
            if config["partitionExpirationDays"] and "partition_expiration_days" in config["additionalOptions"]:
                action.problems.append(
                    Problem("partitionExpirationDays has been declared twice", key="partitionExpirationDays")
                )
            if config["requirePartitionFilter"] and "require_partition_filter" in config["additionalOptions"]:
                action.problems.append(
                    Problem("requirePartitionFilter has been declared twice", key="requirePartitionFilter")
                )
        if kind == "incremental":
            proto["onSchemaChange"] = _enum(
                config["onSchemaChange"], _ON_SCHEMA_CHANGE, _ON_SCHEMA_CHANGE, "OnSchemaChange"
            )
            strategy = config["incrementalStrategy"]
            if isinstance(strategy, str) and strategy.upper() == "INCREMENTAL_STRATEGY_MERGE":
                strategy = "MERGE"
            if isinstance(strategy, str) and strategy.upper() == "INCREMENTAL_STRATEGY_INSERT_OVERWRITE":
                strategy = "INSERT_OVERWRITE"
            proto["incrementalStrategy"] = _enum(strategy, tuple(_STRATEGIES), _STRATEGY_NUMBERS, "IncrementalStrategy")
            bigquery = proto.get("bigquery") or {}
            if proto["incrementalStrategy"] == "INSERT_OVERWRITE" and not bigquery.get("partitionBy"):
                action.problems.append(
                    Problem(
                        "IncrementalStrategy 'insert_overwrite' requires 'partitionBy' to be set",
                        key="incrementalStrategy",
                    )
                )
            if proto["incrementalStrategy"] == "MERGE" and not proto.get("uniqueKey"):
                action.problems.append(
                    Problem("IncrementalStrategy 'merge' requires 'uniqueKey' to be set", key="incrementalStrategy")
                )
            if bigquery.get("updatePartitionFilter") and bigquery.get("incrementalPredicates"):
                action.problems.append(
                    Problem(
                        "incrementalPredicates and updatePartitionFilter cannot be both set. "
                        "Use only incrementalPredicates.",
                        key="incrementalPredicates",
                    )
                )
        self.created.append(action)
        return action

    def operation(self, raw: dict, file: str, line: int, spec: int | None, legacy: bool) -> Action:
        config = verify("operations", raw, legacy)
        action = Action("operations", {}, file, line, spec)
        self._shared(action, config)
        if config["hasOutput"]:
            self.call(action, "hasOutput", [True])
        self._retargets(action, config)
        if config["reservation"]:
            action.proto.setdefault("actionDescriptor", {})["reservation"] = config["reservation"]
        self.created.append(action)
        return action

    def assertion(self, raw: dict, file: str, line: int, spec: int | None) -> Action:
        config = verify("assertion", raw, True)
        action = Action("assertion", {}, file, line, spec)
        if not config["name"]:
            config["name"] = file.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        self._targets(action, config, assertion=True)
        if config["dependencyTargets"]:
            self.dependencies(action, [config_target(t) for t in config["dependencyTargets"]])
        if config["hermetic"]:
            self.call(action, "hermetic", [True])
        if config["disabled"] or self.project.get("disableAssertions"):
            self.call(action, "disabled", [])
        if config["tags"]:
            self.call(action, "tags", [config["tags"]])
        if config["description"]:
            self.call(action, "description", [config["description"]])
        if config["project"]:
            self._retarget(action, "database", config["project"], assertion=True)
        if config["dataset"]:
            self._retarget(action, "schema", config["dataset"], assertion=True)
        if config["filename"]:
            action.proto["fileName"] = config["filename"]
        if config["reservation"]:
            action.proto.setdefault("actionDescriptor", {})["reservation"] = config["reservation"]
        self.created.append(action)
        return action

    def declaration(self, raw: dict, file: str, line: int) -> Action:
        config = verify("declaration", raw, True)
        if not config["name"]:
            raise ConfigError("Declarations must have a populated 'name' field.")
        action = Action("declaration", {}, file, line)
        target = {"name": config["name"], "schema": config["dataset"], "database": config["project"]}
        action.proto["target"] = self.session_target(target, self.project)
        action.proto["canonicalTarget"] = self.session_target(target, self.canonical)
        if config["description"]:
            action.proto.setdefault("actionDescriptor", {})["description"] = config["description"]
        if config["columns"]:
            action.proto.setdefault("actionDescriptor", {})["columns"] = [_column(c) for c in config["columns"]]
        action.proto["fileName"] = config["filename"] or file
        action.proto["tags"] = list(config["tags"])
        self.created.append(action)
        return action

    def test(self, name: str, file: str, line: int, spec: int | None) -> Action:
        action = Action("test", {}, file, line, spec)
        if name:
            action.proto["name"] = name
        action.proto["fileName"] = file
        return action

    # -- builder methods -----------------------------------------------------------
    def call(self, action: Action, method: str, args: list) -> None:
        """A builder method called on an action (`publish(...).tags(...)`), as Dataform's."""
        handler = getattr(self, f"_m_{method}", None)
        allowed = _METHODS.get(action.kind, ())
        if handler is None or method not in allowed:
            raise ConfigError(f".{method}() is not a method of a {action.kind} action")
        handler(action, *args)

    def _m_hermetic(self, action: Action, hermetic: Any = None) -> None:
        action.proto["hermeticity"] = "HERMETIC" if hermetic else "NON_HERMETIC"

    def _m_disabled(self, action: Action, disabled: Any = True) -> None:
        action.proto["disabled"] = bool(disabled)
        for assertion in action.inline:
            assertion.proto["disabled"] = bool(disabled)

    def _m_tags(self, action: Action, value: Any) -> None:
        tags = [value] if isinstance(value, str) else list(value or [])
        existing = action.proto.setdefault("tags", [])
        for tag in tags:
            if action.is_dataset or action.kind == "test" or tag not in existing:
                existing.append(tag)
        for assertion in action.inline:
            self._m_tags(assertion, value)

    def _m_description(self, action: Action, description: str) -> None:
        if action.kind == "assertion":
            action.proto["actionDescriptor"] = {"description": description}
        else:
            action.proto.setdefault("actionDescriptor", {})["description"] = description

    def _m_columns(self, action: Action, columns: Any) -> None:
        # Called on a builder, Dataform maps over a list of column descriptors.
        if not (isinstance(columns, list) and all(isinstance(c, dict) for c in columns)):
            raise ConfigError(
                ".columns() takes a list of column descriptors ({path: [...], description}); "
                "describe columns as an object in the config instead"
            )
        action.proto.setdefault("actionDescriptor", {})["columns"] = [_column(c, from_config=False) for c in columns]

    def _m_hasOutput(self, action: Action, has_output: Any) -> None:
        action.proto["hasOutput"] = bool(has_output)

    def _m_materialized(self, action: Action, materialized: Any) -> None:
        action.proto["materialized"] = materialized

    def _m_uniqueKey(self, action: Action, unique_key: Any) -> None:
        action.proto["uniqueKey"] = unique_key

    def _m_protected(self, action: Action, protected: Any = None) -> None:
        action.proto["protected"] = protected is None or bool(protected)

    def _m_setDependOnDependencyAssertions(self, action: Action, value: Any) -> None:
        action.depend_on_dependency_assertions = bool(value)

    def _m_schema(self, action: Action, schema: str) -> None:
        self._retarget(action, "schema", schema, assertion=action.kind == "assertion")

    def _m_database(self, action: Action, database: str) -> None:
        self._retarget(action, "database", database, assertion=action.kind == "assertion")

    def _m_dependencies(self, action: Action, value: Any) -> None:
        self.dependencies(action, value if isinstance(value, list) else [value])

    def _m_bigquery(self, action: Action, options: dict) -> None:
        if action.kind == "view":
            self._view_bigquery(action, options)
            return
        labels = options.get("labels")
        if labels:
            action.proto.setdefault("actionDescriptor", {})["bigqueryLabels"] = labels
        kept = {key: value for key, value in options.items() if value and value != [] and value != {}}
        if kept:
            action.proto["bigquery"] = kept

    def _view_bigquery(self, action: Action, options: dict) -> None:
        action.proto["bigquery"] = {key: value for key, value in options.items() if value is not None}
        if options.get("labels") is not None:
            action.proto.setdefault("actionDescriptor", {})["bigqueryLabels"] = options["labels"]

    def _m_assertions(self, action: Action, assertions: Any) -> None:
        # Called on a builder, Dataform reads the object as it is: without `uniqueKeys` it
        # fails on `uniqueKeys.map`.
        if not isinstance(assertions, dict) or not isinstance(assertions.get("uniqueKeys"), list):
            raise ConfigError(
                ".assertions() needs an object with a 'uniqueKeys' list (Dataform reads "
                "assertions.uniqueKeys); pass the assertions in the config instead"
            )
        action.inline = self.inline_assertions(action, assertions)

    def _m_dataset(self, action: Action, dataset: Any) -> None:
        self._m_config(action, {"dataset": dataset})

    def _m_config(self, action: Action, config: dict) -> None:
        extra = [key for key in config if key not in _TEST_KEYS]
        if extra:
            action.problems.append(
                Problem(
                    f'Unexpected property "{extra[0]}" in test config. Supported properties '
                    f"are: {json.dumps(_TEST_KEYS, separators=(',', ':'))}"
                )
            )
        if config.get("name"):
            action.proto["name"] = config["name"]
        if config.get("dataset"):
            wanted = resolvable_as_target(config["dataset"])
            action.test_target = self.session_target(wanted, self.project)
            canonical = self.session_target(wanted, self.canonical)
            # Dataform copies the parts from a Target message, whose unset parts read as "".
            action.proto["target"] = target_of(
                action.proto.get("name"),
                action.test_target.get("schema") or "",
                action.test_target.get("database") or "",
            )
            action.proto["canonicalTarget"] = target_of(
                action.proto.get("name"), canonical.get("schema") or "", canonical.get("database") or ""
            )
        if config.get("filename"):
            action.proto["fileName"] = config["filename"]
        if config.get("tags"):
            action.proto["tags"] = list(config["tags"])

    # -- dependencies and inline assertions -----------------------------------------
    def dependencies(self, action: Action, values: list) -> None:
        """Dataform's dependencies(): each one recorded with its includeDependentAssertions."""
        for value in values:
            target = resolvable_as_target(value)
            if action.kind == "assertion":
                action.asserted.append(dict(target))
                target.pop("includeDependentAssertions", None)
                action.proto.setdefault("dependencyTargets", []).append(target)
                continue
            if "includeDependentAssertions" not in target:
                target["includeDependentAssertions"] = action.depend_on_dependency_assertions
            key = self.resolve_target(target)
            known = action.include_assertions.get(key)
            if known is not None and known != target["includeDependentAssertions"]:
                action.problems.append(
                    Problem(
                        f'Conflicting "includeDependentAssertions" properties are not allowed. Dependency '
                        f"{target['name']} has different values set for this property."
                    )
                )
                continue
            action.include_assertions[key] = target["includeDependentAssertions"]
            action.proto.setdefault("dependencyTargets", []).append(target)

    def inline_assertions(self, parent: Action, assertions: dict) -> list[Action]:
        """The uniqueKey and rowConditions assertions a dataset declares (generateInlineAssertions)."""
        unique_key = list(assertions.get("uniqueKey") or [])
        unique_keys = [list(k.get("uniqueKey") or []) for k in assertions.get("uniqueKeys") or []]
        if unique_key and unique_keys:
            parent.problems.append(
                Problem("Specify at most one of 'assertions.uniqueKey' and 'assertions.uniqueKeys'.", key="uniqueKeys")
            )
        if unique_key:
            unique_keys = [unique_key]
        prefix = (
            f"{self.project['builtinAssertionNamePrefix']}_" if self.project.get("builtinAssertionNamePrefix") else ""
        )
        target = parent.proto["target"]
        stem = f"{prefix}{target.get('schema')}_{target['name']}_assertions"
        made: list[tuple[str, tuple[str, list[str]]]] = [
            (f"{stem}_uniqueKey_{i}", ("uniqueKey", key)) for i, key in enumerate(unique_keys)
        ]
        conditions = list(assertions.get("rowConditions") or [])
        conditions += [f"{column} IS NOT NULL" for column in assertions.get("nonNull") or []]
        if conditions:
            made.append((f"{stem}_rowConditions", ("rowConditions", conditions)))
        out = []
        for name, builtin in made:
            assertion = self.assertion(
                {"name": name, "filename": parent.proto.get("fileName", parent.file)}, parent.file, parent.line, None
            )
            assertion.builtin = builtin
            assertion.proto["parentAction"] = dict(target)
            if parent.proto.get("tags"):
                self._m_tags(assertion, parent.proto["tags"])
            if builtin[0] == "uniqueKey":
                if parent.proto.get("disabled"):
                    self._m_disabled(assertion)
            else:
                if parent.proto.get("disabled"):
                    self._m_disabled(assertion)
            out.append(assertion)
        return out


_COMMON_METHODS = ("dependencies", "tags", "disabled", "description", "schema", "database", "hermetic")
_METHODS = {
    "table": (*_COMMON_METHODS, "columns", "bigquery", "assertions", "setDependOnDependencyAssertions"),
    "view": (*_COMMON_METHODS, "columns", "bigquery", "assertions", "setDependOnDependencyAssertions", "materialized"),
    "incremental": (
        *_COMMON_METHODS,
        "columns",
        "bigquery",
        "assertions",
        "setDependOnDependencyAssertions",
        "uniqueKey",
        "protected",
    ),
    "operations": (*_COMMON_METHODS, "columns", "hasOutput", "setDependOnDependencyAssertions"),
    "assertion": _COMMON_METHODS,
    "declaration": ("description", "columns"),
    "test": ("dataset", "config"),
}


def _column(descriptor: dict, from_config: bool = True) -> dict:
    """Dataform's compiled ColumnDescriptor from a config one (whose description defaults to
    "", while a plain object given to .columns() has none unless it says so)."""
    out: dict = {"path": list(descriptor.get("path") or [])}
    if from_config or "description" in descriptor:
        out["description"] = descriptor.get("description", "")
    for key in ("tags", "bigqueryPolicyTags"):
        if descriptor.get(key):
            out[key] = list(descriptor[key])
    return out


def _enum(value: Any, names: tuple[str, ...], numbers: tuple[str, ...], what: str) -> str:
    if not value:
        return names[0] if value in ("", None, 0, False) else numbers[0]
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(numbers):
            return numbers[value]
        raise ConfigError(f'{what} value "{value}" is not supported', what[0].lower() + what[1:])
    upper = str(value).upper()
    if upper in names:
        return _STRATEGIES.get(upper, upper)
    raise ConfigError(f'{what} value "{value}" is not supported', what[0].lower() + what[1:])


def sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def builtin_query(builtin: tuple[str, list[str]], dataset: str) -> str:
    """The SQL Dataform writes for a uniqueKey or rowConditions assertion on `dataset`."""
    kind, values = builtin
    if kind == "uniqueKey":
        columns = ", ".join(values)
        return (
            f"\nSELECT\n  *\nFROM (\n  SELECT\n    {columns},\n    COUNT(1) AS index_row_count\n"
            f"  FROM {dataset}\n  GROUP BY {columns}\n  ) AS data\nWHERE index_row_count > 1\n"
        )
    return "UNION ALL".join(
        f"\nSELECT\n  {sql_string(condition)} AS failing_row_condition,\n  *\nFROM {dataset}\nWHERE NOT ({condition})\n"
        for condition in values
    )
