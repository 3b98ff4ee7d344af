"""Our SQLX compiler against the real `dataform compile --json` (@dataform/cli from npm).

Install once (the Makefile's setup does the same):
    (cd tools/dataform-cli && npm ci)
    (cd dataform && npm install) ; (cd tests/sqlx_project && npm install)
The test installs what is missing or stale itself, and skips with the reason when npm or
node is absent or the registry cannot be reached.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from winter_days.elt.sqlx import compile_project

REPO = Path(__file__).resolve().parents[2]
CLI_DIR = REPO / "tools" / "dataform-cli"
DATAFORM_BIN = CLI_DIR / "node_modules" / ".bin" / "dataform"
PROJECTS = [REPO / "dataform", REPO / "tests" / "sqlx_project"]
NPM_FLAGS = ["--no-audit", "--no-fund", "--loglevel=error"]
QUERY_FIELDS = ("query", "incrementalQuery", "queries", "preOps", "postOps", "incrementalPreOps", "incrementalPostOps")

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"`{' '.join(args)}` failed in {cwd}: {done.stderr.strip()[-400:]}")


def _cli_is_current() -> bool:
    marker = CLI_DIR / "node_modules" / ".package-lock.json"
    return DATAFORM_BIN.exists() and marker.exists() and \
        marker.stat().st_mtime >= (CLI_DIR / "package-lock.json").stat().st_mtime


def _core_is_current(project: Path) -> bool:
    modules = project / "node_modules"
    return (modules / "@dataform" / "core").is_dir() and not modules.is_symlink() and \
        modules.stat().st_mtime >= (project / "package.json").stat().st_mtime


@pytest.fixture(scope="module")
def dataform_cli() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node not found: cannot run the real Dataform compiler for conformance")
    if not _cli_is_current():
        _run(["npm", "ci", *NPM_FLAGS], CLI_DIR)
    return DATAFORM_BIN


def _real_compile(cli: Path, project: Path) -> dict:
    if not _core_is_current(project):
        _run(["npm", "install", *NPM_FLAGS], project)
    done = subprocess.run([str(cli), "compile", str(project), "--json"], capture_output=True, text=True,
                          timeout=300, cwd=project)
    assert done.returncode == 0, f"dataform compile failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _target(target: dict) -> str:
    return f"{target.get('database')}.{target.get('schema')}.{target['name']}"


def normalise(graph: dict) -> dict:
    """What must agree: targets, types, dependency edges, every query and op, key flags."""
    actions = {}
    for section in ("tables", "operations", "assertions", "declarations"):
        for action in graph.get(section, []):
            entry: dict = {"section": section, "type": action.get("type")}
            entry["dependencies"] = sorted(_target(t) for t in action.get("dependencyTargets", []))
            for field in QUERY_FIELDS:
                value = action.get(field)
                if value is not None:
                    entry[field] = _squash(value) if isinstance(value, str) else [_squash(v) for v in value]
            for field in ("disabled", "tags", "uniqueKey", "hasOutput", "protected", "fileName"):
                entry[field] = action.get(field)
            if "parentAction" in action:
                entry["parentAction"] = _target(action["parentAction"])
            actions[_target(action["target"])] = entry
    return {
        "actions": actions,
        "targets": sorted(_target(t) for t in graph.get("targets", [])),
        "projectConfig": graph.get("projectConfig"),
        "graphErrors": graph.get("graphErrors") or {},
    }


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_our_compile_matches_dataform(dataform_cli: Path, project: Path) -> None:
    real = _real_compile(dataform_cli, project)
    assert not real.get("graphErrors", {}).get("compilationErrors"), real["graphErrors"]
    ours = compile_project(project)
    expected, actual = normalise(real), normalise(ours)
    assert actual["targets"] == expected["targets"]
    for target, entry in expected["actions"].items():
        assert actual["actions"].get(target) == entry, target
    assert actual == expected
    assert expected["actions"], "the real compiler produced no actions: nothing was compared"
