"""Settings: one model, loaded once, in the documented order.

Precedence, lowest first: defaults, a TOML file (`--config`, `$WINTER_DAYS_CONFIG`, or
`./winter-days.toml`), `WINTER_DAYS_*` environment variables, then explicit overrides
(command-line flags). A TOML table `[section] field = ...` is the variable
`WINTER_DAYS_<SECTION>_<FIELD>`. Every value is validated when loaded: a wrong value, an
unknown key or an unknown `WINTER_DAYS_*` variable stops the command at start with a
message naming the setting (and, for a misspelt name, the closest valid one).

The bearer token is a secret: it is read only from `WINTER_DAYS_AUTH_TOKEN` or the file
`auth.token_file` names, never from a TOML file, and never shown in a repr or a dump.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PROFILES = ("local", "gcp")
ENV_PREFIX = "WINTER_DAYS_"
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"
TOKEN_VARIABLE = ENV_PREFIX + "AUTH_TOKEN"
DEFAULT_CONFIG_FILE = "winter-days.toml"
MISSED_RUN_POLICIES = ("skip", "run_once")
MIN_TOKEN_LENGTH = 16
_MEMORY_LIMIT = re.compile(r"(?i)\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")
_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9.-]+\.gserviceaccount\.com$")
_GS_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}(/.*)?$")
_IMAGE = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9_.-]{1,128}|@sha256:[0-9a-f]{64})?$")
_DATASET_SUFFIX = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
# A Google Cloud project id, optionally domain-scoped (example.com:project).
_PROJECT_ID = re.compile(r"^(?:[a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
# Variables renamed when the settings became one model: the old name points to the new one.
RENAMED_VARIABLES = {
    "WINTER_DAYS_POLL_INTERVAL_SECONDS": "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS",
    "WINTER_DAYS_POLL_TIMEOUT_SECONDS": "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS",
    "WINTER_DAYS_OIDC_AUDIENCE": "WINTER_DAYS_AUTH_OIDC_AUDIENCES",
    "WINTER_DAYS_ALLOWED_CALLERS": "WINTER_DAYS_AUTH_ALLOWED_CALLERS",
    "WINTER_DAYS_DATAFORM_API_URL": "WINTER_DAYS_DATAFORM_API_ENDPOINT",
}


class ConfigError(ValueError):
    """A setting that is missing or has a value outside what is allowed."""


def setting(default: Any, doc: str, **checks: Any) -> Any:
    """A settings field: its default, one line for the settings reference, and its checks
    (low/high bounds, choices, pattern with a description, secret)."""
    return field(default=default, metadata={"doc": doc, **checks})


# -- sections -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GcpSettings:
    """The Google Cloud project the gcp profile runs in."""

    project_id: str = setting("", "gcp: the project id (required by the gcp profile)")
    region: str = setting("europe-west1", "gcp: region of Cloud Run, Dataform and Vertex AI")
    bucket: str = setting("", "gcp: the lake bucket (the lake is gs://<bucket> unless lake_uri says otherwise)")
    firestore_database: str = setting("(default)", "gcp: Firestore database of the sales documents and runs")
    firestore_settle_seconds: float = setting(
        0.0,
        "gcp: hold back documents younger than this from incremental reads (for stores weaker than Firestore)",
        low=0.0,
        high=3600.0,
    )


@dataclass(frozen=True)
class EltSettings:
    """The local ELT engine (our SQLX compiler and DuckDB executor)."""

    workers: int = setting(2, "local ELT: independent actions the DuckDB executor runs at once", low=1, high=64)
    memory_limit: str = setting(
        "2GB",
        "local ELT: DuckDB's memory cap for a run; larger joins, aggregates and sorts spill beside the "
        "warehouse (empty: DuckDB's default, 80% of RAM)",
    )


@dataclass(frozen=True)
class ScheduleSettings:
    """The platform's cron (UTC), used by `winter-days schedule`."""

    sales: str = setting("0 1 * * *", "cron of the sales generator")
    clickstream: str = setting("0 1 * * *", "cron of the clickstream generator")
    startups: str = setting("0 1 * * 5", "cron of the startups generator (Fridays)")
    orchestrator: str = setting("0 2 * * *", "cron of the orchestrator run")
    missed_runs: str = setting("skip", "runs missed while the scheduler was down", choices=MISSED_RUN_POLICIES)


@dataclass(frozen=True)
class OrchestratorSettings:
    """The orchestrator: where it is reached, how it polls the ELT, how long a run may take."""

    url: str = setting("http://127.0.0.1:8080", "where the scheduler posts /run")
    poll_interval_seconds: float | None = setting(
        None, "poll cadence of the ELT invocation (default: 0.2 s locally, 60 s on gcp)", low=0.01, high=3600.0
    )
    poll_timeout_seconds: float = setting(
        1800.0, "limit of the poll step; the invocation is cancelled after it", low=0.1, high=86400.0
    )
    run_deadline_seconds: float = setting(
        7200.0, "limit of a whole run; a run past it stops at the next step boundary", low=1.0, high=86400.0
    )
    wait_for_run: bool | None = setting(
        None,
        "POST /run waits for the run's end and answers 200/500 (default: true locally; false on gcp, where it "
        "answers 202 with the run id and a status URL at once); ?wait=true|false overrides it per request",
    )


@dataclass(frozen=True)
class AuthSettings:
    """Who may trigger a run (POST /run)."""

    disabled: bool = setting(False, "turn auth off (logged at every start; loopback only)")
    token_file: Path | None = setting(
        None, "local: file holding the bearer token (or set WINTER_DAYS_AUTH_TOKEN); the demo makes <home>/api-token"
    )
    oidc_audiences: tuple[str, ...] = setting(
        (), "gcp: accepted ID-token audiences, comma-separated (the service URL and its /run URL)"
    )
    allowed_callers: tuple[str, ...] = setting(
        (), "gcp: service account e-mails allowed to trigger runs, comma-separated"
    )
    token: str = setting("", "the bearer token, only from WINTER_DAYS_AUTH_TOKEN or token_file", secret=True)

    def __repr__(self) -> str:
        # The token must never reach a log line through a repr.
        return (
            f"AuthSettings(disabled={self.disabled}, token_file={self.token_file}, token={'set' if self.token else 'unset'}, "
            f"oidc_audiences={self.oidc_audiences}, allowed_callers={len(self.allowed_callers)} caller(s))"
        )


@dataclass(frozen=True)
class DataformSettings:
    """The Dataform repository the gcp profile compiles and invokes."""

    repository: str = setting("", "gcp: the Dataform repository id", pattern=(_RESOURCE_ID, "a resource id"))
    workspace: str = setting(
        "",
        "gcp: compile this workspace (one of workspace, git_commitish, release_config)",
        pattern=(_RESOURCE_ID, "a resource id"),
    )
    git_commitish: str = setting("", "gcp: compile this git commit, branch or tag")
    release_config: str = setting(
        "", "gcp: compile this release configuration", pattern=(_RESOURCE_ID, "a resource id")
    )
    service_account: str = setting(
        "", "gcp: the service account the invocations run as", pattern=(_SERVICE_ACCOUNT, "a service account e-mail")
    )
    location: str = setting("", "gcp: the repository's region (default: gcp.region)")
    api_endpoint: str = setting("", "the Dataform API endpoint: a host, or http(s)://host:port (default: Google's)")
    default_database: str = setting(
        "",
        "gcp: the project the models write to (default: gcp.project_id)",
        pattern=(_PROJECT_ID, "a Google Cloud project id"),
    )
    schema_suffix: str = setting(
        "",
        "suffix appended to every dataset (e.g. dev, for a second environment)",
        pattern=(_DATASET_SUFFIX, "a dataset suffix (letters, digits and '_', at most 64)"),
    )
    assertion_schema: str = setting(
        "",
        "dataset of the assertions' views (default: the project's)",
        pattern=(_DATASET_ID, "a BigQuery dataset id (letters, digits and '_')"),
    )


@dataclass(frozen=True)
class BigQuerySettings:
    """The warehouse on BigQuery (gcp profile)."""

    location: str = setting("", "gcp: location of the datasets and query jobs (default: the datasets')")
    maximum_bytes_billed: int = setting(
        10 * 1024**3,
        "gcp: cost cap per query in bytes; a query over it fails before it runs (0: no cap)",
        low=0,
        high=10**15,
    )
    api_endpoint: str = setting("", "the BigQuery API endpoint (default: Google's; an http URL for a test server)")


@dataclass(frozen=True)
class VertexSettings:
    """The churn pipeline on Vertex AI Pipelines (gcp profile)."""

    service_account: str = setting(
        "", "gcp: the service account pipeline jobs run as", pattern=(_SERVICE_ACCOUNT, "a service account e-mail")
    )
    pipeline_root: str = setting(
        "",
        "gcp: where pipeline jobs keep artefacts (default: <lake>/mlops/pipeline_root)",
        pattern=(_GS_URI, "a gs://BUCKET[/prefix] URI"),
    )
    location: str = setting("", "gcp: Vertex AI region (default: gcp.region)")
    image: str = setting(
        "",
        "gcp: the container image of the pipeline's components (an Artifact Registry path)",
        pattern=(_IMAGE, "an image path such as europe-west1-docker.pkg.dev/PROJECT/REPO/winter-days:TAG"),
    )
    poll_interval_seconds: float = setting(
        30.0, "gcp: how often the ML step checks the pipeline job", low=0.01, high=3600.0
    )
    poll_timeout_seconds: float = setting(
        3600.0, "gcp: how long the ML step waits for the pipeline job", low=0.1, high=86400.0
    )


@dataclass(frozen=True)
class PseudonymSettings:
    """The key of the keyed pseudonyms (HMAC-SHA256) of e-mails and names."""

    key_file: Path | None = setting(
        None, "local: the key file, made at first use with mode 0600 (default: <home>/pseudonym.key)"
    )
    secret: str = setting("", "gcp: the Secret Manager secret holding the key (projects/P/secrets/S[/versions/V])")


@dataclass(frozen=True)
class LineageSettings:
    """Where OpenLineage events go."""

    url: str = setting(
        "",
        "an OpenLineage HTTP endpoint, e.g. http://marquez:5000 (empty: events go to files under <home>/lineage/ "
        "locally, and nowhere on gcp)",
    )


@dataclass(frozen=True)
class RetentionSettings:
    """How long per-run artefacts of the churn pipeline are kept."""

    ml_runs_kept: int = setting(
        20,
        "the newest N churn pipeline runs keep their artefacts (mlops/runs/<id>/, <home>/kfp-local/<id>/) "
        "whatever their age",
        low=1,
        high=100_000,
    )
    ml_run_days: int = setting(
        30,
        "artefacts of older runs are deleted once they are this many days old, after a successful ML step "
        "(on gcp the bucket's lifecycle rule deletes them; deploy/terraform passes its ml_run_artifacts_days here)",
        low=1,
        high=3650,
    )


@dataclass(frozen=True)
class Settings:
    """All settings of one installation; paths are absolute once loaded."""

    profile: str = setting("local", "local or gcp", choices=PROFILES)
    home: Path = setting(Path(".winter-days"), "where the local profile keeps its files")
    lake_uri: str = setting("", "the bronze lake: file://<home>/lake locally, gs://<gcp.bucket> on gcp")
    document_store_path: Path | None = setting(
        None, "the local sales document store (default: <home>/documents.sqlite3)"
    )
    warehouse_path: Path | None = setting(
        None,
        "the published local warehouse (default: <home>/warehouse.duckdb); beside it the ELT keeps a synced "
        "standby copy that the next run builds in, so plan for twice its size on disk",
    )
    run_store_path: Path | None = setting(None, "the local run history (default: <home>/orchestrator.sqlite3)")
    dataform_dir: Path | None = setting(None, "the Dataform project (default: the one shipped with the package)")
    seed: int = setting(42, "the simulated world's seed")
    customers: int = setting(2000, "customer pool size", low=1, high=10_000_000)
    population_start: date = setting(date(2026, 1, 1), "first day of the simulated customer pool")
    legacy_timestamp_share: float = setting(
        0.2, "share of sales documents with a legacy sale_timestamp", low=0.0, high=1.0
    )
    churn_horizon_days: int = setting(30, "churn label horizon in days", low=1, high=365)
    churn_train_every_days: int = setting(
        7,
        "the daily run trains a new churn model when none was trained for this many days (it scores every day)",
        low=1,
        high=3650,
    )
    churn_promotion_confidence: float = setting(
        0.95,
        "a new churn model replaces the champion only when it is not worse at this confidence (the interval "
        "of its AUC minus the champion's, on the same rows, lies above zero)",
        low=0.5,
        high=0.999,
    )
    gcp: GcpSettings = field(default_factory=GcpSettings)
    elt: EltSettings = field(default_factory=EltSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    orchestrator: OrchestratorSettings = field(default_factory=OrchestratorSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    dataform: DataformSettings = field(default_factory=DataformSettings)
    bigquery: BigQuerySettings = field(default_factory=BigQuerySettings)
    vertex: VertexSettings = field(default_factory=VertexSettings)
    pseudonym: PseudonymSettings = field(default_factory=PseudonymSettings)
    lineage: LineageSettings = field(default_factory=LineageSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)

    @property
    def lake_root(self) -> Path:
        """Local folder of a file:// lake."""
        parsed = urlparse(self.lake_uri)
        if parsed.scheme != "file":
            raise ConfigError(f"setting lake_uri: {self.lake_uri!r} is not a local folder")
        return Path(parsed.path)

    def to_mapping(self) -> dict[str, Any]:
        """Every setting as TOML-shaped plain values (secrets left out), e.g. for a pipeline
        component to load the same settings with `load_settings(overrides=...)`."""
        return _to_mapping(self)


# -- the names --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingName:
    """Where one setting lives: its section (None at the top), its field, and its type."""

    section: str | None
    field: Field[Any]
    kind: Any

    @property
    def name(self) -> str:
        return f"{self.section}.{self.field.name}" if self.section else self.field.name

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.replace(".", "_").upper()

    def describe(self) -> str:
        """How a user names it: 'setting gcp.project_id (WINTER_DAYS_GCP_PROJECT_ID)'."""
        return f"setting {self.name} ({self.variable})"


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


SECTIONS: dict[str, type] = {
    f.name: _hints(Settings)[f.name] for f in fields(Settings) if is_dataclass(_hints(Settings)[f.name])
}
NAMES: dict[str, SettingName] = {}
for _f in fields(Settings):
    if _f.name not in SECTIONS:
        NAMES[_f.name] = SettingName(None, _f, _hints(Settings)[_f.name])
for _section, _cls in SECTIONS.items():
    for _f in fields(_cls):
        NAMES[f"{_section}.{_f.name}"] = SettingName(_section, _f, _hints(_cls)[_f.name])
VARIABLES: dict[str, SettingName] = {spec.variable: spec for spec in NAMES.values()}
assert len(VARIABLES) == len(NAMES), "two settings share one variable name"


def setting_name(name: str) -> SettingName:
    """The setting called `name` ('gcp.project_id', or the flat 'gcp_project_id')."""
    spec = NAMES.get(name) or VARIABLES.get(ENV_PREFIX + name.replace(".", "_").upper())
    if spec is None:
        raise KeyError(name)
    return spec


def describe(name: str) -> str:
    """'setting gcp.project_id (WINTER_DAYS_GCP_PROJECT_ID)' for error messages."""
    return setting_name(name).describe()


def _closest(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


# -- coercion and checks -----------------------------------------------------------------------


def _coerce(spec: SettingName, raw: Any, source: str) -> Any:
    """Turn a raw TOML/env/flag value into the setting's type, or fail naming the setting."""
    kind = spec.kind
    optional = type(None) in typing.get_args(kind)
    base = next((a for a in typing.get_args(kind) if a is not type(None)), kind) if optional else kind
    where = f"{spec.describe()} from {source}"
    if raw is None and optional:
        return None
    if base is Path and str(raw).strip() == "":
        raise ConfigError(f"{where}: empty; give a folder or file path, or leave it unset for the default")
    try:
        if base is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if base is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise ValueError
            return int(raw)
        if base is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if base is date:
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        if base is Path:
            return Path(os.path.expanduser(str(raw)))
        if typing.get_origin(base) is tuple:
            items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
            return tuple(str(item).strip() for item in items if str(item).strip())
        if isinstance(raw, (dict, list)):
            raise ValueError
        return str(raw)
    except (TypeError, ValueError):
        expected = {int: "a whole number", float: "a number", date: "a date YYYY-MM-DD", bool: "true or false"}.get(
            base, "text"
        )
        raise ConfigError(f"{where}: expected {expected}, got {raw!r}") from None


def _check_value(spec: SettingName, value: Any) -> None:
    meta = spec.field.metadata
    if value is None:
        return
    if "low" in meta and not meta["low"] <= value <= meta["high"]:
        raise ConfigError(f"{spec.describe()}: {value} is outside {meta['low']}..{meta['high']}")
    if "choices" in meta and value not in meta["choices"]:
        raise ConfigError(f"{spec.describe()}: {value!r} is not allowed; allowed: {', '.join(meta['choices'])}")
    if "pattern" in meta and value:
        pattern, meaning = meta["pattern"]
        if not pattern.match(value):
            raise ConfigError(f"{spec.describe()}: {value!r} is not {meaning}")


# -- sources -------------------------------------------------------------------------------


def _from_table(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    """TOML keys (top level and [section] tables) as setting names -> values."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in SECTIONS and isinstance(value, Mapping):
            for inner, raw in value.items():
                name = f"{key}.{inner}"
                if name not in NAMES:
                    known = [f.name for f in fields(SECTIONS[key])]
                    raise ConfigError(f"{source}: unknown setting {name}{_closest(inner, known)}")
                values[name] = raw
        elif key in NAMES and NAMES[key].section is None:
            values[key] = value
        else:
            # A flat name (elt_workers = 2) reads as its section's field.
            spec = VARIABLES.get(ENV_PREFIX + key.upper())
            if spec is None or isinstance(value, Mapping):
                known = [n for n in NAMES if "." not in n] + list(SECTIONS)
                raise ConfigError(f"{source}: unknown setting {key}{_closest(key, known)}")
            values[spec.name] = value
    for name in values:
        if NAMES[name].field.metadata.get("secret"):
            raise ConfigError(
                f"{source}: {name} is a secret: set {TOKEN_VARIABLE} or the file auth.token_file names, "
                "never a settings file"
            )
    return values


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX) or variable in (CONFIG_VARIABLE, TOKEN_VARIABLE):
            continue
        spec = VARIABLES.get(variable)
        if spec is None or spec.field.metadata.get("secret"):
            hint = (
                f"; it is now {RENAMED_VARIABLES[variable]}"
                if variable in RENAMED_VARIABLES
                else _closest(variable, sorted(VARIABLES))
            )
            raise ConfigError(f"unknown variable {variable}{hint} (unset it, or see `winter-days settings`)")
        values[spec.name] = raw
    return values


def _from_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Flags and programmatic overrides: nested like TOML, or flat names; None means not given."""
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in SECTIONS and isinstance(value, Mapping):
            flat.update({f"{key}.{inner}": raw for inner, raw in value.items()})
        else:
            flat[key] = value
    values: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        try:
            values[setting_name(key).name] = value
        except KeyError:
            raise ConfigError(f"unknown setting {key}{_closest(key, list(NAMES))}") from None
    return values


def _read_token(auth: AuthSettings, environ: Mapping[str, str]) -> tuple[str, str]:
    """The bearer token and where it came from; exactly as given (a credential matches exactly).

    A file may end with one line break, which editors add; any other white space is refused."""
    inline = environ.get(TOKEN_VARIABLE)
    if inline:
        token, source = inline, TOKEN_VARIABLE
    elif auth.token_file is not None:
        try:
            token = auth.token_file.read_text()
        except OSError as err:
            raise ConfigError(f"{describe('auth.token_file')}: cannot read {auth.token_file}: {err.strerror}") from None
        token = token[:-2] if token.endswith("\r\n") else token[:-1] if token.endswith("\n") else token
        if not token:
            raise ConfigError(f"{describe('auth.token_file')}: {auth.token_file} is empty")
        source = f"file {auth.token_file}"
    else:
        return "", ""
    if len(token) < MIN_TOKEN_LENGTH or any(ch.isspace() for ch in token):
        raise ConfigError(
            f"the bearer token from {source} must be at least {MIN_TOKEN_LENGTH} characters with no white space"
        )
    return token, source


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> Settings:
    """Read, merge and validate settings; raise ConfigError naming the bad setting."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else Path(cwd)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    path = config_path or environ.get(CONFIG_VARIABLE)
    if path is None and (cwd / DEFAULT_CONFIG_FILE).is_file():
        path = cwd / DEFAULT_CONFIG_FILE
    layers: list[tuple[str, dict[str, Any]]] = []
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"settings file {path} does not exist")
        try:
            table = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"settings file {path}: not valid TOML: {err}") from None
        layers.append((f"settings file {path}", _from_table(table, f"settings file {path}")))
    layers.append(("the environment", _from_env(environ)))
    layers.append(("the command line", _from_overrides(overrides or {})))
    for source, layer in layers:
        values.update(layer)
        sources.update(dict.fromkeys(layer, source))
    coerced = {name: _coerce(NAMES[name], raw, sources[name]) for name, raw in values.items()}
    top = {name: value for name, value in coerced.items() if "." not in name}
    sections: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for name, value in coerced.items():
        if "." in name:
            section, inner = name.split(".", 1)
            sections[section][inner] = value
    settings = Settings(**top, **{s: SECTIONS[s](**v) for s, v in sections.items()})
    for spec in NAMES.values():
        holder = getattr(settings, spec.section) if spec.section else settings
        _check_value(spec, getattr(holder, spec.field.name))
    token, _ = _read_token(settings.auth, environ)
    settings = replace(settings, auth=replace(settings.auth, token=token))
    return _resolve(settings, cwd)


def _check_schedule(settings: Settings) -> None:
    from croniter import croniter

    for name in ("sales", "clickstream", "startups", "orchestrator"):
        expression = getattr(settings.schedule, name)
        if not croniter.is_valid(expression) or len(expression.split()) != 5:
            raise ConfigError(
                f"{describe('schedule.' + name)}: {expression!r} is not a 5-field cron expression "
                "(minute hour day month weekday)"
            )
    parsed = urlparse(settings.orchestrator.url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{describe('orchestrator.url')}: {settings.orchestrator.url!r} is not an http(s) URL")


def _check_url(name: str, value: str) -> None:
    parsed = urlparse(value)
    if value and (parsed.scheme not in ("http", "https") or not parsed.netloc):
        raise ConfigError(f"{describe(name)}: {value!r} is not an http(s) URL")


def _resolve(settings: Settings, cwd: Path) -> Settings:
    """Defaults that follow from other settings, absolute paths, and checks across settings."""
    home = settings.home if settings.home.is_absolute() else cwd / settings.home
    lake_uri = settings.lake_uri
    if not lake_uri:
        lake_uri = (
            f"gs://{settings.gcp.bucket}"
            if settings.gcp.bucket and settings.profile == "gcp"
            else (home / "lake").as_uri()
        )
    parsed = urlparse(lake_uri)
    if parsed.scheme not in ("file", "gs"):
        raise ConfigError(
            f"{describe('lake_uri')}: scheme {parsed.scheme or '(none)'!r} of {lake_uri!r} is not supported; "
            "allowed: file://, gs://"
        )
    if parsed.scheme == "file" and not Path(parsed.path).is_absolute():
        raise ConfigError(f"{describe('lake_uri')}: {lake_uri!r} must be an absolute file:// path")
    if parsed.scheme == "gs" and not parsed.netloc:
        raise ConfigError(f"{describe('lake_uri')}: {lake_uri!r} names no bucket (gs://BUCKET[/prefix])")
    _check_schedule(settings)
    if settings.elt.memory_limit and not _MEMORY_LIMIT.fullmatch(settings.elt.memory_limit.strip()):
        raise ConfigError(
            f"{describe('elt.memory_limit')}: {settings.elt.memory_limit!r} is not a size like 2GB, 1500MB or 4GiB "
            "(empty for DuckDB's default)"
        )
    interval = settings.orchestrator.poll_interval_seconds
    if interval is not None and interval > settings.orchestrator.poll_timeout_seconds:
        raise ConfigError(
            f"{describe('orchestrator.poll_interval_seconds')} ({interval}) is longer than "
            f"{describe('orchestrator.poll_timeout_seconds')} ({settings.orchestrator.poll_timeout_seconds})"
        )
    for name in ("bigquery.api_endpoint", "lineage.url"):
        section, inner = name.split(".")
        _check_url(name, getattr(getattr(settings, section), inner))
    sources = [n for n in ("workspace", "git_commitish", "release_config") if getattr(settings.dataform, n)]
    if len(sources) > 1:
        raise ConfigError(
            f"set one of {', '.join(describe('dataform.' + n) for n in sources)}: what the Dataform API compiles"
        )

    def absolute(path: Path | None, default: Path) -> Path:
        path = default if path is None else path
        return path if path.is_absolute() else cwd / path

    return replace(
        settings,
        home=home,
        lake_uri=lake_uri.rstrip("/"),
        document_store_path=absolute(settings.document_store_path, home / "documents.sqlite3"),
        warehouse_path=absolute(settings.warehouse_path, home / "warehouse.duckdb"),
        run_store_path=absolute(settings.run_store_path, home / "orchestrator.sqlite3"),
        dataform_dir=absolute(settings.dataform_dir, default_dataform_dir()),
        auth=replace(
            settings.auth, token_file=absolute(settings.auth.token_file, home) if settings.auth.token_file else None
        ),
        pseudonym=replace(settings.pseudonym, key_file=absolute(settings.pseudonym.key_file, home / "pseudonym.key")),
    )


def default_dataform_dir() -> Path:
    """The Dataform project shipped with the package (in a source checkout, a link to the
    repository's dataform/ folder)."""
    return (Path(__file__).parent / "dataform").resolve()


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _to_mapping(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in NAMES.values():
        if spec.field.metadata.get("secret"):
            continue
        holder = getattr(settings, spec.section) if spec.section else settings
        value = getattr(holder, spec.field.name)
        if value is None:
            continue
        if spec.section:
            out.setdefault(spec.section, {})[spec.field.name] = _plain(value)
        else:
            out[spec.field.name] = _plain(value)
    return out


def settings_reference() -> str:
    """The settings as a Markdown table (the README's settings section is this text)."""

    def default_text(spec: SettingName) -> str:
        default = spec.field.default
        if default is MISSING or default is None or default == "" or default == ():
            return ""
        return f"`{_plain(default)}`" if not isinstance(default, tuple) else f"`{','.join(default)}`"

    lines = ["| setting | variable | default | meaning |", "|---|---|---|---|"]
    for spec in NAMES.values():
        doc = spec.field.metadata["doc"].replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
        lines.append(f"| `{spec.name}` | `{spec.variable}` | {default_text(spec)} | {doc} |")
    return "\n".join(lines) + "\n"
