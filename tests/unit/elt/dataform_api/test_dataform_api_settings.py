"""The Dataform API backend's settings fail at start, naming the variable that is missing or wrong."""

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


def test_valid_settings(gcp_settings):
    config = load_dataform_settings(gcp_settings, with_env(LOCATION="us-central1"))
    assert config.repository_name == "projects/winter-proj/locations/us-central1/repositories/winter-days"
    assert config.compilation_source() == {"gitCommitish": "main"}
    assert config.service_account == SA
    assert config.api_url == "https://dataform.googleapis.com/v1"
    assert load_dataform_settings(gcp_settings, BASE).location == gcp_settings.gcp.region


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"REPOSITORY": None}, "WINTER_DAYS_DATAFORM_REPOSITORY: required"),
        ({"REPOSITORY": "projects/p/locations/l/repositories/r"}, "WINTER_DAYS_DATAFORM_REPOSITORY: 'projects/p"),
        ({"SERVICE_ACCOUNT": None}, "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT: required"),
        ({"SERVICE_ACCOUNT": "someone@example.com"}, "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT: 'someone@example.com' is not"),
        ({"GIT_COMMITISH": None}, "set exactly one of WINTER_DAYS_DATAFORM_WORKSPACE or"),
        ({"WORKSPACE": "dev"}, "got WINTER_DAYS_DATAFORM_WORKSPACE, WINTER_DAYS_DATAFORM_GIT_COMMITISH"),
        ({"GIT_COMMITISH": None, "RELEASE_CONFIG": "nightly/x"}, "WINTER_DAYS_DATAFORM_RELEASE_CONFIG: 'nightly/x'"),
        ({"API_URL": "dataform.googleapis.com"}, "WINTER_DAYS_DATAFORM_API_URL: 'dataform.googleapis.com' is not"),
    ],
)
def test_a_missing_or_wrong_setting_is_named(gcp_settings, changes, named):
    with pytest.raises(ConfigError) as raised:
        load_dataform_settings(gcp_settings, with_env(**changes))
    assert named in str(raised.value)


def test_the_project_is_required(gcp_settings):
    with pytest.raises(ConfigError, match="gcp.project_id"):
        load_dataform_settings(replace(gcp_settings, gcp=replace(gcp_settings.gcp, project_id="")), BASE)


def test_the_backend_checks_settings_before_any_request(gcp_settings, dataform_server):
    with pytest.raises(ConfigError, match="WINTER_DAYS_DATAFORM_REPOSITORY"):
        DataformApiBackend.from_settings(gcp_settings, with_env(REPOSITORY=None, API_URL=dataform_server.url), session=object())
    assert dataform_server.requests == []
