"""The `[dataform]` settings of the gcp profile, from WINTER_DAYS_DATAFORM_* variables.

Validated when the backend is built, so a gcp run with a missing or malformed value fails
at start with a message naming the variable, before any request is sent. This module is
the only reader of those variables.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from winter_days.config import ConfigError, Settings

PREFIX = "WINTER_DAYS_DATAFORM_"
# Where the compiled code comes from: exactly one of these is set.
SOURCE_VARIABLES = ("WORKSPACE", "GIT_COMMITISH", "RELEASE_CONFIG")
# Resource ids of repositories, workspaces and release configs.
RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
# A Google Cloud project id, optionally domain-scoped (example.com:project).
PROJECT_ID = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# BigQuery dataset ids (and what Dataform appends to them: "_" + suffix).
DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
SCHEMA_SUFFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")
# The variable api_endpoint replaced; a value left in it must not be silently ignored.
RENAMED = {"API_URL": "API_ENDPOINT"}


@dataclass(frozen=True)
class DataformSettings:
    """One Dataform repository, the source to compile, who runs it, and how the code compiles.

    `location` is the repository's region (default: the gcp region). `api_endpoint` is
    empty for Google's endpoint, else a host[:port] or an http(s)://host[:port] URL.
    `default_database` is the BigQuery project the actions write to (default: the gcp
    project); `schema_suffix` is appended to every dataset (`winter_days_staging_dev`), so
    several environments share one project; `assertion_schema` replaces the assertion
    dataset of workflow_settings.yaml.
    """

    repository: str
    service_account: str
    location: str
    workspace: str = ""
    git_commitish: str = ""
    release_config: str = ""
    api_endpoint: str = ""
    schema_suffix: str = ""
    default_database: str = ""
    assertion_schema: str = ""

    def repository_path(self, project: str) -> str:
        """projects/{project}/locations/{location}/repositories/{repository}."""
        return f"projects/{project}/locations/{self.location}/repositories/{self.repository}"

    def compilation_source(self, project: str) -> dict[str, str]:
        """The CompilationResult source field: workspace, git_commitish or release_config."""
        if self.workspace:
            return {"workspace": f"{self.repository_path(project)}/workspaces/{self.workspace}"}
        if self.release_config:
            return {"release_config": f"{self.repository_path(project)}/releaseConfigs/{self.release_config}"}
        return {"git_commitish": self.git_commitish}


def _value(environ: Mapping[str, str], name: str) -> str:
    return environ.get(PREFIX + name, "").strip()


def _check(name: str, value: str, pattern: re.Pattern[str], what: str) -> str:
    if value and not pattern.match(value):
        raise ConfigError(f"{PREFIX}{name}: {value!r} is not {what}")
    return value


def _check_id(name: str, value: str) -> str:
    return _check(
        name, value, RESOURCE_ID,
        "a resource id (letters, digits, '-' and '_', at most 63, without the projects/.../ prefix)",
    )


def check_service_account(variable: str, value: str) -> str:
    """A service account e-mail (NAME@PROJECT.iam.gserviceaccount.com), or ConfigError naming the variable."""
    if not value:
        raise ConfigError(f"{variable}: required by the gcp profile (a service account e-mail)")
    if not SERVICE_ACCOUNT.match(value):
        raise ConfigError(f"{variable}: {value!r} is not a service account e-mail (NAME@PROJECT.iam.gserviceaccount.com)")
    return value


def check_api_endpoint(value: str) -> str:
    """'' (Google's endpoint), host[:port], or http(s)://host[:port]; ConfigError otherwise."""
    if not value:
        return ""
    parsed = urlparse(value if "://" in value else f"https://{value}")
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path.strip("/") or parsed.query:
        raise ConfigError(
            f"{PREFIX}API_ENDPOINT: {value!r} is not an API endpoint (a host such as dataform.googleapis.com, "
            "or http(s)://host:port, without a path such as /v1)"
        )
    return value.rstrip("/")


def load_dataform_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> DataformSettings:
    """Read and validate the `[dataform]` settings; raise ConfigError naming what is missing or wrong."""
    environ = os.environ if environ is None else environ
    if not settings.gcp_project_id:
        raise ConfigError("setting gcp_project_id: required by the Dataform API backend (WINTER_DAYS_GCP_PROJECT_ID)")
    for old, new in RENAMED.items():
        if _value(environ, old):
            raise ConfigError(
                f"{PREFIX}{old} is no longer read: set {PREFIX}{new} instead (a host such as "
                "dataform.googleapis.com, or http(s)://host:port, without /v1)"
            )
    location = _value(environ, "LOCATION") or settings.gcp_region
    if not location:
        raise ConfigError("setting gcp_region: required by the Dataform API backend (or WINTER_DAYS_DATAFORM_LOCATION)")
    repository = _value(environ, "REPOSITORY")
    if not repository:
        raise ConfigError(f"{PREFIX}REPOSITORY: required by the gcp profile (the Dataform repository id)")
    sources = {name: _value(environ, name) for name in SOURCE_VARIABLES}
    given = [name for name, value in sources.items() if value]
    if len(given) != 1:
        choices = " or ".join(PREFIX + name for name in SOURCE_VARIABLES)
        found = f"; got {', '.join(PREFIX + name for name in given)}" if given else ""
        raise ConfigError(f"set exactly one of {choices}: what the Dataform API compiles{found}")
    return DataformSettings(
        repository=_check_id("REPOSITORY", repository),
        service_account=check_service_account(PREFIX + "SERVICE_ACCOUNT", _value(environ, "SERVICE_ACCOUNT")),
        location=location,
        workspace=_check_id("WORKSPACE", sources["WORKSPACE"]),
        git_commitish=sources["GIT_COMMITISH"],
        release_config=_check_id("RELEASE_CONFIG", sources["RELEASE_CONFIG"]),
        api_endpoint=check_api_endpoint(_value(environ, "API_ENDPOINT")),
        schema_suffix=_check(
            "SCHEMA_SUFFIX", _value(environ, "SCHEMA_SUFFIX"), SCHEMA_SUFFIX,
            "a dataset suffix (letters, digits and '_', at most 64)",
        ),
        default_database=_check(
            "DEFAULT_DATABASE", _value(environ, "DEFAULT_DATABASE"), PROJECT_ID, "a Google Cloud project id"
        ),
        assertion_schema=_check(
            "ASSERTION_SCHEMA", _value(environ, "ASSERTION_SCHEMA"), DATASET_ID,
            "a BigQuery dataset id (letters, digits and '_')",
        ),
    )
