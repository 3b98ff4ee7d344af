"""The orchestrator's own settings, read from WINTER_DAYS_* environment variables.

They sit beside `winter_days.config.Settings` (which ignores variables it does not know) and
are validated the same way: a wrong value fails at start with a message naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from winter_days.config import ConfigError, Settings

ENV_PREFIX = "WINTER_DAYS_"

# Remote backends (Dataform API) are polled slowly; the local engine answers at once.
POLL_DEFAULTS = {"local": (0.2, 1800.0), "gcp": (60.0, 1800.0)}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class OrchestratorOptions:
    """Poll cadence, the step limit, and who may trigger a run."""

    poll_interval_seconds: float
    poll_timeout_seconds: float
    auth_token: str | None = None
    auth_token_source: str = ""
    auth_disabled: bool = False
    oidc_audience: str = ""
    allowed_callers: tuple[str, ...] = ()
    history_path: Path = Path("orchestrator.sqlite3")

    def __repr__(self) -> str:
        # The token must never reach a log line through a repr.
        token = "set" if self.auth_token else "unset"
        return (
            f"OrchestratorOptions(poll_interval_seconds={self.poll_interval_seconds}, "
            f"poll_timeout_seconds={self.poll_timeout_seconds}, auth_token={token}, "
            f"auth_disabled={self.auth_disabled}, history_path={self.history_path})"
        )


def _seconds(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = environ.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}: expected a number of seconds, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{ENV_PREFIX}{name}: {value} is outside {low}..{high} seconds")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(ENV_PREFIX + name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ConfigError(f"{ENV_PREFIX}{name}: expected true or false, got {raw!r}")


def _token(environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The bearer token and where it came from (the variable wins over the file)."""
    inline = environ.get(ENV_PREFIX + "AUTH_TOKEN")
    if inline is not None and inline.strip():
        token, source = inline.strip(), f"{ENV_PREFIX}AUTH_TOKEN"
    elif environ.get(ENV_PREFIX + "AUTH_TOKEN_FILE"):
        path = Path(os.path.expanduser(environ[ENV_PREFIX + "AUTH_TOKEN_FILE"]))
        try:
            token = path.read_text().strip()
        except OSError as err:
            raise ConfigError(f"{ENV_PREFIX}AUTH_TOKEN_FILE: cannot read {path}: {err.strerror}") from None
        if not token:
            raise ConfigError(f"{ENV_PREFIX}AUTH_TOKEN_FILE: {path} is empty")
        source = f"file {path}"
    else:
        return None, ""
    if len(token) < 16 or any(ch.isspace() for ch in token):
        raise ConfigError(f"the bearer token from {source} must be at least 16 characters with no whitespace")
    return token, source


def load_options(settings: Settings, environ: Mapping[str, str] | None = None) -> OrchestratorOptions:
    """Read and validate the orchestrator's variables for this installation."""
    environ = os.environ if environ is None else environ
    interval_default, timeout_default = POLL_DEFAULTS[settings.profile]
    interval = _seconds(environ, "POLL_INTERVAL_SECONDS", interval_default, 0.01, 3600)
    timeout = _seconds(environ, "POLL_TIMEOUT_SECONDS", timeout_default, 0.1, 24 * 3600)
    if interval > timeout:
        raise ConfigError(
            f"{ENV_PREFIX}POLL_INTERVAL_SECONDS ({interval}) is longer than {ENV_PREFIX}POLL_TIMEOUT_SECONDS ({timeout})"
        )
    token, source = _token(environ)
    callers = tuple(c.strip() for c in environ.get(ENV_PREFIX + "ALLOWED_CALLERS", "").split(",") if c.strip())
    return OrchestratorOptions(
        poll_interval_seconds=interval,
        poll_timeout_seconds=timeout,
        auth_token=token,
        auth_token_source=source,
        auth_disabled=_flag(environ, "AUTH_DISABLED"),
        oidc_audience=environ.get(ENV_PREFIX + "OIDC_AUDIENCE", "").strip(),
        allowed_callers=callers,
        history_path=settings.home / "orchestrator.sqlite3",
    )
