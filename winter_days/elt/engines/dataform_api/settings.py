"""The Dataform repository the gcp profile compiles and invokes, resolved from the settings'
`[dataform]` section: what is required by the API is checked here, at start, before any
request; the format of each value is checked when the settings load (`winter_days.config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from winter_days.config import ConfigError, Settings, describe

# Where the compiled code comes from: exactly one of these is set.
SOURCES = ("workspace", "git_commitish", "release_config")


@dataclass(frozen=True)
class DataformRepository:
    """One Dataform repository, the source to compile, who runs it, and how the code compiles.

    `location` is the repository's region (the settings' dataform.location, else gcp.region).
    `api_endpoint` is empty for Google's endpoint, else a host[:port] or an
    http(s)://host[:port] URL. `default_database` is the BigQuery project the actions write
    to (default: the gcp project); `schema_suffix` is appended to every dataset
    (`winter_days_staging_dev`), so several environments share one project;
    `assertion_schema` replaces the assertion dataset of workflow_settings.yaml.
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


def check_api_endpoint(value: str) -> str:
    """'' (Google's endpoint), host[:port], or http(s)://host[:port]; ConfigError otherwise."""
    if not value:
        return ""
    parsed = urlparse(value if "://" in value else f"https://{value}")
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path.strip("/") or parsed.query:
        raise ConfigError(
            f"{describe('dataform.api_endpoint')}: {value!r} is not an API endpoint (a host such as "
            "dataform.googleapis.com, or http(s)://host:port, without a path such as /v1)"
        )
    return value.rstrip("/")


def load_dataform_settings(settings: Settings) -> DataformRepository:
    """The repository the settings name; ConfigError naming what the Dataform API needs and is missing."""
    section = settings.dataform
    if not settings.gcp.project_id:
        raise ConfigError(f"{describe('gcp.project_id')}: required by the Dataform API backend")
    location = section.location or settings.gcp.region
    if not location:
        raise ConfigError(f"{describe('gcp.region')}: required by the Dataform API backend (or dataform.location)")
    for name in ("repository", "service_account"):
        if not getattr(section, name):
            raise ConfigError(f"{describe('dataform.' + name)}: required by the gcp profile")
    given = [name for name in SOURCES if getattr(section, name)]
    if len(given) != 1:
        choices = " or ".join(describe("dataform." + name) for name in SOURCES)
        found = f"; got {', '.join(given)}" if given else ""
        raise ConfigError(f"set exactly one of {choices}: what the Dataform API compiles{found}")
    return DataformRepository(
        repository=section.repository,
        service_account=section.service_account,
        location=location,
        workspace=section.workspace,
        git_commitish=section.git_commitish,
        release_config=section.release_config,
        api_endpoint=check_api_endpoint(section.api_endpoint),
        schema_suffix=section.schema_suffix,
        default_database=section.default_database,
        assertion_schema=section.assertion_schema,
    )
