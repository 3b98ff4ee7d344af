"""Our SQLX compiler against the real `dataform compile --json` (@dataform/cli from npm).

A project the real compiler accepts must compile here to the same JSON text; a file it
rejects must be rejected here too. The real CLI takes seconds to start, so each project runs
through it once: the project's own models, the constructs project (tests/sqlx_project), and
three written for these tests (dataform_projects.py): every construct, renaming workflow
settings, and files the real compiler rejects.

Install once (the Makefile's setup does the same):
    (cd tools/dataform-cli && npm ci)
    (cd dataform && npm install) ; (cd tests/sqlx_project && npm install)
The test installs what is missing or stale itself, and skips with the reason when npm or
node is absent or the registry cannot be reached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.dataform_projects import CONSTRUCTS, REJECTED, RENAMED, RENAMING_SETTINGS, SETTINGS
from winter_days.elt.sqlx import CompilationError, compile_project

REPO = Path(__file__).resolve().parents[2]
CLI_DIR = REPO / "tools" / "dataform-cli"
DATAFORM_BIN = CLI_DIR / "node_modules" / ".bin" / "dataform"
PROJECTS = [REPO / "dataform", REPO / "tests" / "sqlx_project"]
CORE_SOURCE = REPO / "tests" / "sqlx_project"
NPM_FLAGS = ["--no-audit", "--no-fund", "--loglevel=error"]

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"`{' '.join(args)}` failed in {cwd}: {done.stderr.strip()[-400:]}")


def _cli_is_current() -> bool:
    marker = CLI_DIR / "node_modules" / ".package-lock.json"
    return (
        DATAFORM_BIN.exists()
        and marker.exists()
        and marker.stat().st_mtime >= (CLI_DIR / "package-lock.json").stat().st_mtime
    )


def _core_is_current(project: Path) -> bool:
    modules = project / "node_modules"
    return (
        (modules / "@dataform" / "core").is_dir()
        and not modules.is_symlink()
        and modules.stat().st_mtime >= (project / "package.json").stat().st_mtime
    )


def _install_core(project: Path) -> None:
    if not _core_is_current(project):
        _run(["npm", "install", "--no-package-lock", *NPM_FLAGS], project)


@pytest.fixture(scope="module")
def dataform_cli() -> Path:
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node not found: cannot run the real Dataform compiler for conformance")
    if not _cli_is_current():
        _run(["npm", "ci", *NPM_FLAGS], CLI_DIR)
    return DATAFORM_BIN


def _real_compile(cli: Path, project: Path) -> tuple[dict, str]:
    """The real compiler's graph of `project` and the JSON text it printed."""
    done = subprocess.run(
        [str(cli), "compile", str(project), "--json"], capture_output=True, text=True, timeout=300, cwd=project
    )
    try:
        return json.loads(done.stdout), done.stdout
    except json.JSONDecodeError:
        pytest.fail(f"dataform compile printed no graph:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _written_project(root: Path, files: dict[str, str], settings: str) -> Path:
    """A project on disk with the @dataform/core the constructs project pins."""
    _install_core(CORE_SOURCE)
    (root / "definitions").mkdir(parents=True)
    (root / "workflow_settings.yaml").write_text(settings)
    shutil.copy(CORE_SOURCE / "package.json", root / "package.json")
    shutil.copytree(CORE_SOURCE / "node_modules", root / "node_modules", symlinks=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _same_json(cli: Path, project: Path) -> None:
    real, text = _real_compile(cli, project)
    assert not (real.get("graphErrors") or {}).get("compilationErrors"), real["graphErrors"]
    ours = compile_project(project)
    # Field by field first (a readable failure), then the printed text as a whole.
    for section in ("tables", "operations", "assertions", "declarations", "tests"):
        assert len(ours.get(section, [])) == len(real.get(section, [])), section
        for ours_action, real_action in zip(ours.get(section, []), real.get(section, []), strict=True):
            assert ours_action == real_action
    assert ours == real
    assert json.dumps(ours, indent=4) == text.rstrip("\n")


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_our_compile_matches_dataform(dataform_cli: Path, project: Path) -> None:
    _install_core(project)
    _same_json(dataform_cli, project)


def test_every_supported_construct_compiles_to_the_real_json(dataform_cli: Path, tmp_path: Path) -> None:
    _same_json(dataform_cli, _written_project(tmp_path / "constructs", CONSTRUCTS, SETTINGS))


def test_renaming_settings_compile_to_the_real_json(dataform_cli: Path, tmp_path: Path) -> None:
    _same_json(dataform_cli, _written_project(tmp_path / "renamed", RENAMED, RENAMING_SETTINGS))


def test_files_the_real_compiler_rejects_are_rejected(dataform_cli: Path, tmp_path: Path) -> None:
    files = {rel: text for rel, (text, _) in REJECTED.items()}
    files["definitions/src.sqlx"] = 'config { type: "declaration", schema: "raw", name: "src" }\n'
    project = _written_project(tmp_path / "rejected", files, SETTINGS)
    real, _ = _real_compile(dataform_cli, project)
    errors = real["graphErrors"]["compilationErrors"]
    real_files = {error.get("fileName") for error in errors}
    # An error found while a query compiles carries no file in the real compiler ("index.js").
    unplaced = [error["message"] for error in errors if error.get("fileName") == "index.js"]
    with pytest.raises(CompilationError) as caught:
        compile_project(project)
    ours = {}
    for issue in caught.value.issues:
        ours.setdefault(issue.file, []).append(issue.message)
    for rel, (_, fragment) in REJECTED.items():
        if fragment is None:
            assert rel not in real_files and rel not in ours, rel
            continue
        assert rel in real_files or any(fragment in message for message in unplaced), (
            f"the real compiler accepts {rel}: move it to the constructs project"
        )
        assert rel in ours, f"{rel} compiles here, the real compiler rejects it"
        assert any(fragment in message for message in ours[rel]), (rel, ours[rel])
