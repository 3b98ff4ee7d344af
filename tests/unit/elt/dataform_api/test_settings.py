"""The `[dataform]` settings fail at start, naming the variable that is missing or wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from winter_days.config import ConfigError
from winter_days.elt.engines.dataform_api import DataformApiBackend, load_dataform_settings

SA = "dataform-runner@winter-proj.iam.gserviceaccount.com"
BASE = {
    "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
    "WINTER_DAYS_DATAFORM_GIT_COMMITISH": "main",
    "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA,
}


def with_env(**changes: str | None) -> dict[str, str]:
    environ = dict(BASE)
    for name, value in changes.items():
        environ.pop(f"WINTER_DAYS_DATAFORM_{name}", None)
        if value is not None:
            environ[f"WINTER_DAYS_DATAFORM_{name}"] = value
    return environ


@pytest.fixture
def load(settings_with):
    return lambda environ: load_dataform_settings(settings_with(environ))


def test_valid_settings(gcp_settings, load):
    config = load(with_env(LOCATION="us-central1"))
    assert (
        config.repository_path("winter-proj") == "projects/winter-proj/locations/us-central1/repositories/winter-days"
    )
    assert config.compilation_source("winter-proj") == {"git_commitish": "main"}
    assert config.service_account == SA
    # Empty: the client library's own endpoint (dataform.googleapis.com).
    assert config.api_endpoint == ""
    assert (config.schema_suffix, config.default_database, config.assertion_schema) == ("", "", "")
    assert load(BASE).location == gcp_settings.gcp.region


def test_compilation_settings_and_endpoint(load):
    config = load(
        with_env(
            SCHEMA_SUFFIX="dev_7",
            DEFAULT_DATABASE="example.com:winter-data",
            ASSERTION_SCHEMA="winter_days_checks",
            API_ENDPOINT="http://127.0.0.1:8123/",
        )
    )
    assert (config.schema_suffix, config.default_database, config.assertion_schema) == (
        "dev_7",
        "example.com:winter-data",
        "winter_days_checks",
    )
    assert config.api_endpoint == "http://127.0.0.1:8123"
    assert load(with_env(API_ENDPOINT="dataform.googleapis.com")).api_endpoint == ("dataform.googleapis.com")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"REPOSITORY": None}, "WINTER_DAYS_DATAFORM_REPOSITORY): required"),
        ({"REPOSITORY": "projects/p/locations/l/repositories/r"}, "WINTER_DAYS_DATAFORM_REPOSITORY): 'projects/p"),
        ({"SERVICE_ACCOUNT": None}, "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT): required"),
        (
            {"SERVICE_ACCOUNT": "someone@example.com"},
            "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT): 'someone@example.com' is not",
        ),
        ({"GIT_COMMITISH": None}, "set exactly one of setting dataform.workspace (WINTER_DAYS_DATAFORM_WORKSPACE) or"),
        (
            {"WORKSPACE": "dev"},
            "set one of setting dataform.workspace (WINTER_DAYS_DATAFORM_WORKSPACE), setting dataform.git_commitish",
        ),
        ({"GIT_COMMITISH": None, "RELEASE_CONFIG": "nightly/x"}, "WINTER_DAYS_DATAFORM_RELEASE_CONFIG): 'nightly/x'"),
        (
            {"API_URL": "https://dataform.googleapis.com/v1"},
            "unknown variable WINTER_DAYS_DATAFORM_API_URL; it is now WINTER_DAYS_DATAFORM_API_ENDPOINT",
        ),
        (
            {"API_ENDPOINT": "https://dataform.googleapis.com/v1"},
            "WINTER_DAYS_DATAFORM_API_ENDPOINT): 'https://dataform.googleapis.com/v1' is not",
        ),
        ({"API_ENDPOINT": "ftp://host"}, "WINTER_DAYS_DATAFORM_API_ENDPOINT): 'ftp://host' is not"),
        ({"SCHEMA_SUFFIX": "dev-1"}, "WINTER_DAYS_DATAFORM_SCHEMA_SUFFIX): 'dev-1' is not a dataset suffix"),
        (
            {"DEFAULT_DATABASE": "My Project"},
            "WINTER_DAYS_DATAFORM_DEFAULT_DATABASE): 'My Project' is not a Google Cloud project id",
        ),
        (
            {"ASSERTION_SCHEMA": "checks.v1"},
            "WINTER_DAYS_DATAFORM_ASSERTION_SCHEMA): 'checks.v1' is not a BigQuery dataset id",
        ),
    ],
)
def test_a_missing_or_wrong_setting_is_named(load, changes, named):
    with pytest.raises(ConfigError) as raised:
        load(with_env(**changes))
    assert named in str(raised.value)


def test_the_project_is_required(settings_with):
    settings = settings_with(BASE)
    with pytest.raises(ConfigError, match="WINTER_DAYS_GCP_PROJECT_ID"):
        load_dataform_settings(replace(settings, gcp=replace(settings.gcp, project_id="")))


def test_the_backend_checks_settings_before_any_request(settings_with, dataform_server):
    settings = settings_with(with_env(REPOSITORY=None, API_ENDPOINT=dataform_server.endpoint))
    with pytest.raises(ConfigError, match="WINTER_DAYS_DATAFORM_REPOSITORY"):
        DataformApiBackend.from_settings(settings)
    assert dataform_server.requests == []
