"""What the Dataform API backend needs to know, from Settings and WINTER_DAYS_DATAFORM_* variables.

Validated when the backend is built, so a gcp run with a missing or malformed value fails
at start with a message naming the variable, before any request is sent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlparse

from winter_days.config import ConfigError, Settings

DEFAULT_API_URL = "https://dataform.googleapis.com/v1"
PREFIX = "WINTER_DAYS_DATAFORM_"
# Where the compiled code comes from: exactly one of these is set.
SOURCE_VARIABLES = ("WORKSPACE", "GIT_COMMITISH", "RELEASE_CONFIG")
# Resource ids of repositories, workspaces and release configs.
RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")


@dataclass(frozen=True)
class DataformSettings:
    """One Dataform repository, the source to compile, and who runs the invocations."""

    project: str
    location: str
    repository: str
    service_account: str
    workspace: str = ""
    git_commitish: str = ""
    release_config: str = ""
    api_url: str = DEFAULT_API_URL

    @property
    def repository_name(self) -> str:
        """projects/{project}/locations/{location}/repositories/{repository}."""
        return f"projects/{self.project}/locations/{self.location}/repositories/{self.repository}"

    def compilation_source(self) -> dict[str, str]:
        """The CompilationResult source field: workspace, gitCommitish or releaseConfig."""
        if self.workspace:
            return {"workspace": f"{self.repository_name}/workspaces/{self.workspace}"}
        if self.release_config:
            return {"releaseConfig": f"{self.repository_name}/releaseConfigs/{self.release_config}"}
        return {"gitCommitish": self.git_commitish}


def _value(environ: Mapping[str, str], name: str) -> str:
    return environ.get(PREFIX + name, "").strip()


def _check_id(name: str, value: str) -> str:
    if not RESOURCE_ID.match(value):
        raise ConfigError(
            f"{PREFIX}{name}: {value!r} is not a resource id (letters, digits, '-' and '_', at most 63, "
            "without the projects/.../ prefix)"
        )
    return value


def check_service_account(variable: str, value: str) -> str:
    """A service account e-mail (NAME@PROJECT.iam.gserviceaccount.com), or ConfigError naming the variable."""
    if not value:
        raise ConfigError(f"{variable}: required by the gcp profile (a service account e-mail)")
    if not SERVICE_ACCOUNT.match(value):
        raise ConfigError(f"{variable}: {value!r} is not a service account e-mail (NAME@PROJECT.iam.gserviceaccount.com)")
    return value


def load_dataform_settings(settings: Settings, environ: Mapping[str, str] | None = None) -> DataformSettings:
    """Read and validate the backend's settings; raise ConfigError naming what is missing or wrong."""
    environ = os.environ if environ is None else environ
    if not settings.gcp.project_id:
        raise ConfigError("setting gcp.project_id: required by the Dataform API backend (WINTER_DAYS_GCP_PROJECT_ID)")
    location = _value(environ, "LOCATION") or settings.gcp.region
    if not location:
        raise ConfigError("setting gcp.region: required by the Dataform API backend (or WINTER_DAYS_DATAFORM_LOCATION)")
    repository = _value(environ, "REPOSITORY")
    if not repository:
        raise ConfigError(f"{PREFIX}REPOSITORY: required by the gcp profile (the Dataform repository id)")
    sources = {name: _value(environ, name) for name in SOURCE_VARIABLES}
    given = [name for name, value in sources.items() if value]
    if len(given) != 1:
        choices = " or ".join(PREFIX + name for name in SOURCE_VARIABLES)
        found = f"; got {', '.join(PREFIX + name for name in given)}" if given else ""
        raise ConfigError(f"set exactly one of {choices}: what the Dataform API compiles{found}")
    for name in ("WORKSPACE", "RELEASE_CONFIG"):
        if sources[name]:
            _check_id(name, sources[name])
    api_url = _value(environ, "API_URL") or DEFAULT_API_URL
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{PREFIX}API_URL: {api_url!r} is not an http(s) URL")
    return DataformSettings(
        project=settings.gcp.project_id,
        location=location,
        repository=_check_id("REPOSITORY", repository),
        service_account=check_service_account(PREFIX + "SERVICE_ACCOUNT", _value(environ, "SERVICE_ACCOUNT")),
        workspace=sources["WORKSPACE"],
        git_commitish=sources["GIT_COMMITISH"],
        release_config=sources["RELEASE_CONFIG"],
        api_url=api_url.rstrip("/"),
    )
