"""Reads `workflow_settings.yaml` into Dataform's project config.

Only the YAML a workflow settings file needs is accepted: `key: value` lines and one nested
mapping (`vars:`). Anything else is a compile error naming the line, not a guess.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from winter_days.elt.sqlx.errors import CompilationError, CompileIssue

SETTINGS_FILE = "workflow_settings.yaml"

_TOP_LEVEL = {
    "defaultProject": "defaultDatabase",
    "defaultDataset": "defaultSchema",
    "defaultLocation": "defaultLocation",
    "defaultAssertionDataset": "assertionSchema",
    "builtinAssertionNamePrefix": "builtinAssertionNamePrefix",
    "namePrefix": "tablePrefix",
    "datasetSuffix": "schemaSuffix",
    "projectSuffix": "databaseSuffix",
    "disableAssertions": "disableAssertions",
    "defaultReservation": "defaultReservation",
    "preserveGovernanceControls": "preserveGovernanceControls",
    "dataformCoreVersion": None,
    "vars": "vars",
}
_FLAGS = ("disableAssertions", "preserveGovernanceControls")
_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)\s*:(?:\s+(?P<value>.*?))?\s*$")


def _scalar(raw: str, file: str, line: int) -> object:
    if raw.startswith('"'):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            raise CompilationError([CompileIssue(file, line, f"unreadable quoted value {raw}")]) from None
    if raw.startswith("'"):
        if len(raw) < 2 or not raw.endswith("'"):
            raise CompilationError([CompileIssue(file, line, f"unreadable quoted value {raw}")])
        return raw[1:-1].replace("''", "'")
    if raw in ("true", "True", "TRUE"):
        return True
    if raw in ("false", "False", "FALSE"):
        return False
    if raw in ("null", "~", ""):
        return None
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", raw):
        return float(raw)
    if raw[0] in "[{&*!|>%@`":
        raise CompilationError([CompileIssue(file, line, f"YAML construct not supported here: {raw}")])
    return raw


def read_project_config(project_dir: Path, vars_override: dict[str, str] | None = None) -> dict:
    """The compiled graph's `projectConfig` for this project."""
    path = project_dir / SETTINGS_FILE
    if not path.is_file():
        raise CompilationError([CompileIssue(SETTINGS_FILE, 1, "workflow_settings.yaml not found")])
    raw: dict[str, Any] = {}  # a YAML mapping: scalars, and the vars section's mapping
    section: str | None = None
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = text.split(" #", 1)[0].rstrip() if not text.lstrip().startswith("#") else ""
        if not stripped.strip() or stripped.strip() == "---":
            continue
        match = _LINE.match(stripped)
        if match is None:
            raise CompilationError([CompileIssue(SETTINGS_FILE, number, f"unsupported YAML line: {text.strip()}")])
        key, value, indented = match["key"], match["value"], bool(match["indent"])
        if indented:
            if section is None:
                raise CompilationError([CompileIssue(SETTINGS_FILE, number, "unexpected indentation")])
            scalar = _scalar(value or "", SETTINGS_FILE, number)
            if not isinstance(scalar, str):
                raise CompilationError(
                    [CompileIssue(SETTINGS_FILE, number, f"vars.{key}: custom variables can only be strings")]
                )
            raw.setdefault(section, {})[key] = scalar
            continue
        if key not in _TOP_LEVEL:
            raise CompilationError(
                [CompileIssue(SETTINGS_FILE, number, f"workflow setting '{key}' is not supported by this compiler")]
            )
        if key == "vars":
            if value:
                raise CompilationError([CompileIssue(SETTINGS_FILE, number, "vars must be a mapping")])
            section = "vars"
            raw["vars"] = {}
            continue
        section = None
        raw[key] = _scalar(value or "", SETTINGS_FILE, number)

    config: dict[str, object] = {"warehouse": "bigquery"}
    for key in ("defaultDataset", "defaultAssertionDataset", "defaultProject"):
        field = _TOP_LEVEL[key]
        if raw.get(key) and field is not None:
            config[field] = str(raw[key])
    variables = dict(raw.get("vars") or {})
    variables.update(vars_override or {})
    if variables:
        config["vars"] = variables
    for key in (
        "defaultLocation",
        "builtinAssertionNamePrefix",
        "namePrefix",
        "datasetSuffix",
        "projectSuffix",
        "defaultReservation",
    ):
        field = _TOP_LEVEL[key]
        if raw.get(key) and field is not None:
            config[field] = str(raw[key])
    for key in _FLAGS:
        if raw.get(key) not in (None, False, True):
            raise CompilationError([CompileIssue(SETTINGS_FILE, 1, f"{key} must be true or false")])
        if raw.get(key):
            config[key] = True
    return config
