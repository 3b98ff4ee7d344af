"""Who may trigger a run: a pluggable verifier of the `Authorization: Bearer ...` header.

Local profile: one shared token (env var or file), compared in constant time. The gcp
profile's Google OIDC verifier plugs in through the same `CallerVerifier` protocol.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Protocol

from winter_days.config import ConfigError, Settings
from winter_days.orchestrator.options import ENV_PREFIX, OrchestratorOptions

# RFC 6750 b64token.
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9\-._~+/]+=*)$")


class AuthError(Exception):
    """A request that may not trigger a run; `status` is 401 (who are you) or 403 (not you)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """An authenticated caller, named without any secret."""

    name: str


class CallerVerifier(Protocol):
    """Checks a request's Authorization header; returns the caller or raises AuthError."""

    def verify(self, authorization: str | None) -> Caller: ...


def bearer_credential(authorization: str | None) -> str:
    """The credential of a well-formed bearer header, else AuthError 401."""
    if not authorization:
        raise AuthError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
    match = _BEARER.match(authorization.strip())
    if match is None:
        raise AuthError(401, "malformed Authorization header: expected 'Bearer <token>'")
    return match.group(1)


class SharedTokenVerifier:
    """The local profile's verifier: one shared secret."""

    def __init__(self, token: str):
        self._token = token.encode()

    def verify(self, authorization: str | None) -> Caller:
        credential = bearer_credential(authorization).encode()
        if not hmac.compare_digest(credential, self._token):
            raise AuthError(403, "the bearer token is not allowed to trigger runs")
        return Caller("token-holder")


class OpenAccess:
    """Auth switched off by WINTER_DAYS_AUTH_DISABLED: every caller is let in."""

    def verify(self, authorization: str | None) -> Caller:
        return Caller("anonymous (auth disabled)")


def make_verifier(settings: Settings, options: OrchestratorOptions) -> CallerVerifier:
    """The verifier the profile calls for; fails at start when none is configured."""
    if options.auth_disabled:
        return OpenAccess()
    if settings.profile == "local":
        if not options.auth_token:
            raise ConfigError(
                f"no bearer token for POST /run: set {ENV_PREFIX}AUTH_TOKEN or {ENV_PREFIX}AUTH_TOKEN_FILE "
                f"(or, on a trusted machine only, {ENV_PREFIX}AUTH_DISABLED=true)"
            )
        return SharedTokenVerifier(options.auth_token)
    if not options.oidc_audience:
        raise ConfigError(f"{ENV_PREFIX}OIDC_AUDIENCE: required by the gcp profile (the service URL the scheduler calls)")
    if not options.allowed_callers:
        raise ConfigError(
            f"{ENV_PREFIX}ALLOWED_CALLERS: required by the gcp profile (the scheduler's service account e-mail, comma-separated)"
        )
    from winter_days.auth import GoogleIdTokenVerifier

    return GoogleCallerVerifier(GoogleIdTokenVerifier(options.oidc_audience, set(options.allowed_callers)))


class GoogleCallerVerifier:
    """The gcp profile's verifier: a Google OIDC ID token from an allowed service account."""

    def __init__(self, verifier: object):
        self._verifier = verifier

    def verify(self, authorization: str | None) -> Caller:
        from winter_days.auth import IdTokenError

        try:
            email = self._verifier.verify(authorization)  # type: ignore[attr-defined]
        except IdTokenError as err:
            raise AuthError(err.status, str(err)) from None
        # Named by domain only: no e-mail address reaches a log line.
        return Caller(f"service account at {email.rsplit('@', 1)[-1]}")
