"""A gcp installation missing a setting fails at start, naming it."""

from __future__ import annotations

import pytest

from winter_days.config import ConfigError, load_settings
from winter_days.orchestrator.options import load_options
from winter_days.orchestrator.preflight import check_profile

SA = "runner@winter-days-prod.iam.gserviceaccount.com"
COMPLETE = {
    "WINTER_DAYS_PROFILE": "gcp",
    "WINTER_DAYS_GCP_PROJECT_ID": "winter-days-prod",
    "WINTER_DAYS_GCP_BUCKET": "winter-days-lake",
    "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days-data-repo",
    "WINTER_DAYS_DATAFORM_WORKSPACE": "batch-workspace",
    "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA,
    "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": SA,
    "WINTER_DAYS_OIDC_AUDIENCE": "https://orchestrator.example.run.app",
    "WINTER_DAYS_ALLOWED_CALLERS": SA,
}


def check(tmp_path, environ, serving=True):
    settings = load_settings(environ=environ, cwd=tmp_path)
    check_profile(settings, load_options(settings, environ=environ), serving=serving, environ=environ)


def test_a_complete_gcp_installation_passes(tmp_path):
    check(tmp_path, COMPLETE)


@pytest.mark.parametrize(
    ("missing", "named", "serving"),
    [
        ("WINTER_DAYS_DATAFORM_REPOSITORY", "WINTER_DAYS_DATAFORM_REPOSITORY", False),
        ("WINTER_DAYS_DATAFORM_WORKSPACE", "WINTER_DAYS_DATAFORM_WORKSPACE", False),
        ("WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT", "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT", False),
        ("WINTER_DAYS_VERTEX_SERVICE_ACCOUNT", "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT", False),
        ("WINTER_DAYS_GCP_BUCKET", "lake_uri", False),
        ("WINTER_DAYS_OIDC_AUDIENCE", "WINTER_DAYS_OIDC_AUDIENCE", True),
        ("WINTER_DAYS_ALLOWED_CALLERS", "WINTER_DAYS_ALLOWED_CALLERS", True),
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


def test_run_and_serve_on_gcp_stop_at_start_naming_the_missing_setting(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from winter_days.cli import main

    monkeypatch.chdir(tmp_path)
    for name, value in COMPLETE.items():
        if name != "WINTER_DAYS_DATAFORM_REPOSITORY":
            monkeypatch.setenv(name, value)
    for command in (["run"], ["serve"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 2, result.output
        assert "WINTER_DAYS_DATAFORM_REPOSITORY" in result.output
