"""An installed winter-days finds its Dataform project wherever it runs: the wheel ships it,
and the package's default `dataform_dir` is the copy inside the installed package."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


def _source_snapshot(into: Path) -> Path:
    """The repository's tracked files as they are now: other tests write scratch files into
    the Dataform project while they run, which the build would otherwise pick up or lose
    halfway through copying."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True)
    if listing.returncode != 0:  # not a git checkout: the tree, without what git would ignore
        ignored = shutil.ignore_patterns(".git", ".venv*", "node_modules", "build", "*.egg-info", "__pycache__")
        shutil.copytree(REPO, into, symlinks=True, ignore=ignored, dirs_exist_ok=True)
        return into
    listed = listing.stdout
    for name in filter(None, listed.decode().split("\0")):
        source, target = REPO / name, into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = _source_snapshot(tmp_path_factory.mktemp("source"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"pip wheel failed:\n{built.stderr[-4000:]}"
    (wheel_file,) = out.glob("winter_days-*.whl")
    return wheel_file


def test_the_wheel_ships_the_dataform_project_without_node_modules(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.removeprefix("winter_days/dataform/") for n in names if n.startswith("winter_days/dataform/")}
    in_repo = {
        str(p.relative_to(REPO / "dataform"))
        for p in (REPO / "dataform").rglob("*")
        if p.is_file() and "node_modules" not in p.parts and p.suffix in (".sqlx", ".js", ".yaml", ".json")
    }
    assert "workflow_settings.yaml" in shipped and shipped == in_repo
    assert not any("node_modules" in n for n in names)


def test_an_installed_package_compiles_its_own_project_from_any_folder(wheel, tmp_path):
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = """
import json
from winter_days.config import load_settings
from winter_days.platform import build_platform
settings = load_settings(environ={"WINTER_DAYS_HOME": "home"})
compilation = build_platform(settings).elt_backend().compile()
print(json.dumps({"dataform_dir": str(settings.dataform_dir), "errors": len(compilation.compilation_errors),
                  "actions": len(compilation.graph["targets"])}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["dataform_dir"]).is_relative_to(installed / "winter_days")
    assert found["errors"] == 0 and found["actions"] > 20
