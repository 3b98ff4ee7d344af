"""An installed winter-days finds its Dataform project wherever it runs: the wheel ships it,
and the package's default `dataform_dir` is the copy inside the installed package."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("winter_days-*.whl")
    return built


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
