"""The platform: one builder per profile, chosen in one mapping; each profile's check names
the first missing setting at start; the gcp platform never builds a local adapter, and the
local one never imports a cloud SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from winter_days.config import ConfigError, load_settings
from winter_days.platform import PROFILE_BUILDERS, build_platform

SA = "runner@winter-days-prod.iam.gserviceaccount.com"
COMPLETE = {
    "WINTER_DAYS_PROFILE": "gcp",
    "WINTER_DAYS_GCP_PROJECT_ID": "winter-days-prod",
    "WINTER_DAYS_GCP_BUCKET": "winter-days-lake",
    "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days-data-repo",
    "WINTER_DAYS_DATAFORM_WORKSPACE": "batch-workspace",
    "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA,
    "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": SA,
    "WINTER_DAYS_VERTEX_IMAGE": "europe-west1-docker.pkg.dev/winter-days-prod/winter-days/winter-days:1",
    "WINTER_DAYS_AUTH_OIDC_AUDIENCES": "https://orchestrator.example.run.app,https://orchestrator.example.run.app/run",
    "WINTER_DAYS_AUTH_ALLOWED_CALLERS": SA,
    "WINTER_DAYS_PSEUDONYM_SECRET": "projects/winter-days-prod/secrets/winter-days-pseudonym-key",
}
# "google" and "google.cloud" are namespace packages some installed .pth files load at start.
SDK_MODULES = ("google.cloud.", "google.auth", "google.api_core", "grpc", "kfp")


def check(tmp_path: Path, environ: dict[str, str], serving: bool = True) -> None:
    build_platform(load_settings(environ=environ, cwd=tmp_path)).check(serving=serving)


def test_every_profile_has_a_builder():
    assert set(PROFILE_BUILDERS) == {"local", "gcp"}


def test_a_complete_gcp_installation_passes(tmp_path):
    check(tmp_path, COMPLETE)


@pytest.mark.parametrize(
    ("missing", "named", "serving"),
    [
        ("WINTER_DAYS_GCP_PROJECT_ID", "WINTER_DAYS_GCP_PROJECT_ID", False),
        ("WINTER_DAYS_DATAFORM_REPOSITORY", "WINTER_DAYS_DATAFORM_REPOSITORY", False),
        ("WINTER_DAYS_DATAFORM_WORKSPACE", "WINTER_DAYS_DATAFORM_WORKSPACE", False),
        ("WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT", "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT", False),
        ("WINTER_DAYS_VERTEX_SERVICE_ACCOUNT", "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT", False),
        ("WINTER_DAYS_VERTEX_IMAGE", "WINTER_DAYS_VERTEX_IMAGE", False),
        ("WINTER_DAYS_GCP_BUCKET", "lake_uri", False),
        ("WINTER_DAYS_AUTH_OIDC_AUDIENCES", "WINTER_DAYS_AUTH_OIDC_AUDIENCES", True),
        ("WINTER_DAYS_AUTH_ALLOWED_CALLERS", "WINTER_DAYS_AUTH_ALLOWED_CALLERS", True),
        ("WINTER_DAYS_PSEUDONYM_SECRET", "WINTER_DAYS_PSEUDONYM_SECRET", False),
    ],
)
def test_each_missing_setting_is_named_at_start(tmp_path, missing, named, serving):
    environ = {k: v for k, v in COMPLETE.items() if k != missing}
    with pytest.raises(ConfigError, match=named):
        check(tmp_path, environ, serving=serving)


def test_the_local_profile_needs_a_token_only_to_serve(tmp_path):
    check(tmp_path, {}, serving=False)
    with pytest.raises(ConfigError, match="WINTER_DAYS_AUTH_TOKEN"):
        check(tmp_path, {}, serving=True)


@pytest.mark.parametrize(
    ("kind", "message"), [("file", "is a file, not a folder"), ("under a file", "cannot write in")]
)
def test_a_home_that_cannot_hold_the_installation_is_named(tmp_path, kind, message):
    blocker = tmp_path / "home"
    blocker.write_text("not a folder")
    home = blocker if kind == "file" else blocker / "below"
    with pytest.raises(ConfigError) as err:
        check(tmp_path, {"WINTER_DAYS_HOME": str(home)}, serving=False)
    assert str(err.value).startswith("setting home (WINTER_DAYS_HOME):") and message in str(err.value)


def test_run_and_serve_on_gcp_stop_at_start_naming_the_missing_setting(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from winter_days.cli import main

    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    for name, value in COMPLETE.items():
        if name != "WINTER_DAYS_DATAFORM_REPOSITORY":
            monkeypatch.setenv(name, value)
    for command in (["run"], ["serve"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "WINTER_DAYS_DATAFORM_REPOSITORY" in result.output


def probe(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_gcp_platform_never_builds_a_local_warehouse_or_file(tmp_path):
    """Every gcp port is built (against unreachable endpoints: building connects to nothing)
    and none of them is a local adapter, nor did building one touch the home folder."""
    environ = {
        **COMPLETE,
        "WINTER_DAYS_HOME": str(tmp_path / "home"),
        "WINTER_DAYS_BIGQUERY_API_ENDPOINT": "http://127.0.0.1:9",
        "WINTER_DAYS_DATAFORM_API_ENDPOINT": "http://127.0.0.1:9",
    }
    code = f"""
import json, os, sys
os.environ.update({{"FIRESTORE_EMULATOR_HOST": "127.0.0.1:9", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9",
                   "GOOGLE_CLOUD_PROJECT": "winter-days-prod"}})
from winter_days.config import load_settings
from winter_days.platform import build_platform
platform = build_platform(load_settings(environ={environ!r}, cwd={str(tmp_path)!r}))
built = [type(port).__module__ for port in (platform.lake, platform.run_store, platform.warehouse, platform.ml_runner,
         platform.document_store(), platform.verifier)]
print(json.dumps({{"modules": built, "duckdb": "duckdb" in sys.modules,
                  "home": os.path.exists({str(tmp_path / "home")!r})}}))
"""
    found = probe(code)
    assert not any(
        "duckdb" in m or m.endswith(("stores.lake", "stores.documents", "runs.sqlite")) for m in found["modules"]
    )
    assert found["modules"][2] == "winter_days.warehouse.bigquery"
    assert not found["duckdb"], "the gcp platform imported DuckDB"
    assert not found["home"], "the gcp platform made a local home folder"


def test_the_local_platform_runs_without_a_cloud_sdk(tmp_path):
    code = f"""
import json, sys
from winter_days.config import load_settings
from winter_days.platform import build_platform
platform = build_platform(load_settings(environ={{"WINTER_DAYS_HOME": {str(tmp_path / "home")!r},
                                                   "WINTER_DAYS_AUTH_TOKEN": "t" * 32}}, cwd={str(tmp_path)!r}))
platform.check(serving=True)
platform.lake.put("bronze/a.txt", b"x")
store = platform.document_store(); store.put_many("winter_sales", [("s1", {{"a": 1}})]); store.close()
platform.run_store.list_runs(); platform.elt_backend(); platform.ml_runner; platform.warehouse.published_version()
print(json.dumps(sorted(m for m in sys.modules if m.startswith({SDK_MODULES!r}))))
"""
    assert probe(code) == []
