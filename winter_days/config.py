"""Settings: profiles `local` (default) and `gcp`, from a TOML file and WINTER_DAYS_* variables.

Precedence, lowest first: defaults, the TOML file, environment variables, explicit
overrides (command-line flags). Every value is validated when loaded, so a wrong setting
fails at start with a message naming the setting and what is allowed.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

PROFILES = ("local", "gcp")
LAKE_SCHEMES = {"local": ("file",), "gcp": ("gs", "file")}
ENV_PREFIX = "WINTER_DAYS_"
DEFAULT_CONFIG_FILE = "winter-days.toml"
_MEMORY_LIMIT = re.compile(r"(?i)\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)")


class ConfigError(ValueError):
    """A setting that is missing or has a value outside what is allowed."""


@dataclass(frozen=True)
class Settings:
    """All settings of one installation; paths are absolute once loaded."""

    profile: str = "local"
    home: Path = Path(".winter-days")
    lake_uri: str = ""  # default: file://<home>/lake
    document_store_path: Path | None = None  # default: <home>/documents.sqlite3
    warehouse_path: Path | None = None  # default: <home>/warehouse.duckdb
    dataform_dir: Path = Path("dataform")
    # Local ELT: actions the DuckDB executor runs at once (independent models overlap).
    elt_workers: int = 2
    # Local ELT: DuckDB's memory cap for a run (beyond it, joins/aggregates/sorts spill to
    # disk beside the warehouse); empty leaves DuckDB's default, 80% of the machine's RAM.
    elt_memory_limit: str = "2GB"
    # The simulated world the generators draw from.
    seed: int = 42
    customers: int = 2000
    population_start: date = date(2026, 1, 1)
    legacy_timestamp_share: float = 0.2
    churn_horizon_days: int = 30
    # The platform's schedule (UTC cron expressions) and how it reaches the orchestrator.
    schedule_sales: str = "0 1 * * *"
    schedule_clickstream: str = "0 1 * * *"
    schedule_startups: str = "0 1 * * 5"
    schedule_orchestrator: str = "0 2 * * *"
    schedule_missed_runs: str = "skip"
    orchestrator_url: str = "http://127.0.0.1:8080"
    # gcp profile.
    gcp_project_id: str = ""
    gcp_region: str = "europe-west1"
    gcp_bucket: str = ""
    gcp_firestore_database: str = "(default)"
    # Hold back documents younger than this from incremental reads (0 on real Firestore,
    # whose commits are atomic; the emulator can show a commit half applied).
    gcp_firestore_settle_seconds: float = 0.0
    # The pseudonymisation key (pseudonyms.py): a file locally (made at first use), a Secret
    # Manager secret's resource name on gcp.
    pseudonym_key_file: Path | None = None  # default: <home>/pseudonym.key
    pseudonym_secret: str = ""

    @property
    def lake_root(self) -> Path:
        """Local folder of a file:// lake."""
        parsed = urlparse(self.lake_uri)
        if parsed.scheme != "file":
            raise ConfigError(f"lake_uri {self.lake_uri!r} is not a local folder")
        return Path(parsed.path)


_FIELDS = {f.name: f for f in fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    """Turn a raw TOML/env value into the setting's type, or fail naming the setting."""
    kind = _FIELDS[name].type
    try:
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "date":
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        if kind in ("Path", "Path | None"):
            return Path(os.path.expanduser(str(raw)))
        return str(raw)
    except (TypeError, ValueError):
        expected = {"int": "a whole number", "float": "a number", "date": "a date YYYY-MM-DD"}.get(kind, kind)
        raise ConfigError(f"setting {name}: expected {expected}, got {raw!r}") from None


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """TOML keys, with [gcp] project_id read as gcp_project_id."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}_"))
        else:
            flat[prefix + key] = value
    return flat


def _check_known(values: Mapping[str, Any], source: str) -> None:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name in _FIELDS:
            values[name] = value
    return values


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read, merge and validate settings; raise ConfigError naming the bad setting."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    values: dict[str, Any] = {}
    path = config_path or environ.get(ENV_PREFIX + "CONFIG")
    if path is None and (cwd / DEFAULT_CONFIG_FILE).is_file():
        path = cwd / DEFAULT_CONFIG_FILE
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"settings file {path} does not exist")
        try:
            from_file = _flatten(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"settings file {path}: not valid TOML: {err}") from None
        _check_known(from_file, f"settings file {path}")
        values.update(from_file)
    values.update(_from_env(environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    _check_known(values, "overrides")
    settings = Settings(**{name: _coerce(name, raw) for name, raw in values.items()})
    return _resolve(settings, cwd)


MISSED_RUN_POLICIES = ("skip", "run_once")
SCHEDULE_SETTINGS = ("schedule_sales", "schedule_clickstream", "schedule_startups", "schedule_orchestrator")


def _check_schedule(settings: Settings) -> None:
    from croniter import croniter

    for name in SCHEDULE_SETTINGS:
        expression = getattr(settings, name)
        if not croniter.is_valid(expression) or len(expression.split()) != 5:
            raise ConfigError(f"setting {name}: {expression!r} is not a 5-field cron expression (minute hour day month weekday)")
    if settings.schedule_missed_runs not in MISSED_RUN_POLICIES:
        raise ConfigError(
            f"setting schedule_missed_runs: {settings.schedule_missed_runs!r}; allowed: {', '.join(MISSED_RUN_POLICIES)}"
        )
    parsed = urlparse(settings.orchestrator_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"setting orchestrator_url: {settings.orchestrator_url!r} is not an http(s) URL")


def _resolve(settings: Settings, cwd: Path) -> Settings:
    if settings.profile not in PROFILES:
        raise ConfigError(f"setting profile: unknown profile {settings.profile!r}; allowed: {', '.join(PROFILES)}")
    home = settings.home if settings.home.is_absolute() else cwd / settings.home
    dataform_dir = settings.dataform_dir if settings.dataform_dir.is_absolute() else cwd / settings.dataform_dir
    lake_uri = settings.lake_uri
    if not lake_uri:
        lake_uri = f"gs://{settings.gcp_bucket}" if settings.profile == "gcp" and settings.gcp_bucket else (home / "lake").as_uri()
    parsed = urlparse(lake_uri)
    allowed = LAKE_SCHEMES[settings.profile]
    if parsed.scheme not in allowed:
        raise ConfigError(
            f"setting lake_uri: scheme {parsed.scheme or '(none)'!r} of {lake_uri!r} is not supported by the "
            f"{settings.profile} profile; allowed: {', '.join(s + '://' for s in allowed)}"
        )
    if parsed.scheme == "file" and not Path(parsed.path).is_absolute():
        raise ConfigError(f"setting lake_uri: {lake_uri!r} must be an absolute file:// path")
    if parsed.scheme == "gs" and not parsed.netloc:
        raise ConfigError(f"setting lake_uri: {lake_uri!r} names no bucket (gs://BUCKET[/prefix])")
    if settings.profile == "gcp" and not settings.gcp_project_id:
        raise ConfigError("setting gcp_project_id: required by the gcp profile (WINTER_DAYS_GCP_PROJECT_ID or [gcp] project_id)")
    for name, low, high in (("customers", 1, 10_000_000), ("churn_horizon_days", 1, 365), ("elt_workers", 1, 64)):
        value = getattr(settings, name)
        if not low <= value <= high:
            raise ConfigError(f"setting {name}: {value} is outside {low}..{high}")
    _check_schedule(settings)
    if settings.elt_memory_limit and not _MEMORY_LIMIT.fullmatch(settings.elt_memory_limit.strip()):
        raise ConfigError(
            f"setting elt_memory_limit: {settings.elt_memory_limit!r} is not a size like 2GB, 1500MB or 4GiB "
            "(empty for DuckDB's default)"
        )
    if not 0.0 <= settings.legacy_timestamp_share <= 1.0:
        raise ConfigError(f"setting legacy_timestamp_share: {settings.legacy_timestamp_share} is outside 0..1")
    return replace(
        settings,
        home=home,
        dataform_dir=dataform_dir,
        lake_uri=lake_uri.rstrip("/"),
        document_store_path=cwd / (settings.document_store_path or home / "documents.sqlite3"),
        warehouse_path=cwd / (settings.warehouse_path or home / "warehouse.duckdb"),
        pseudonym_key_file=cwd / (settings.pseudonym_key_file or home / "pseudonym.key"),
    )
