"""Who may trigger a run: the `CallerVerifier` port over the `Authorization` header.

Adapters: `SharedTokenVerifier` (one shared bearer token, compared in constant time),
`GoogleCallerVerifier` (a Google-signed OIDC ID token from an allowed service account, as
Cloud Scheduler sends them; google-auth is imported lazily) and `OpenAccess` (auth turned
off). The platform module picks one per profile.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from winter_days.auth.oidc import GoogleIdTokenVerifier

# RFC 6750: "Bearer" 1*SP b64token, matched exactly: a credential is the same bytes or it
# is refused (a trailing space or tab makes another credential).
_BEARER = re.compile(r"^Bearer ([A-Za-z0-9\-._~+/]+=*)$")


class AuthError(Exception):
    """A request that may not trigger a run; `status` is 401 (who are you), 403 (not you)
    or 503 (cannot check now)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Caller:
    """An authenticated caller, named without any secret."""

    name: str


@runtime_checkable
class CallerVerifier(Protocol):
    """Checks a request's Authorization header; returns the caller or raises AuthError."""

    def verify(self, authorization: str | None) -> Caller: ...


def bearer_credential(authorization: str | None) -> str:
    """The credential of a well-formed bearer header, else AuthError 401."""
    if not authorization:
        raise AuthError(401, "missing Authorization header: send 'Authorization: Bearer <token>'")
    match = _BEARER.match(authorization)
    if match is None:
        raise AuthError(401, "malformed Authorization header: expected 'Bearer <token>' and nothing else")
    return match.group(1)


class SharedTokenVerifier:
    """One shared secret (the local profile)."""

    def __init__(self, token: str):
        self._token = token.encode()

    def verify(self, authorization: str | None) -> Caller:
        credential = bearer_credential(authorization).encode()
        if not hmac.compare_digest(credential, self._token):
            raise AuthError(403, "the bearer token is not allowed to trigger runs")
        return Caller("token-holder")


class OpenAccess:
    """Auth switched off (setting auth.disabled): every caller is let in."""

    def verify(self, authorization: str | None) -> Caller:
        return Caller("anonymous (auth disabled)")


class GoogleCallerVerifier:
    """A Google OIDC ID token for one of the accepted audiences, from an allowed service account."""

    def __init__(self, id_tokens: GoogleIdTokenVerifier):
        self._verifier = id_tokens

    @classmethod
    def for_audiences(cls, audiences: Iterable[str], allowed_callers: Iterable[str]) -> GoogleCallerVerifier:
        from winter_days.auth.oidc import GoogleIdTokenVerifier

        return cls(GoogleIdTokenVerifier(list(audiences), set(allowed_callers)))

    def verify(self, authorization: str | None) -> Caller:
        from winter_days.auth.oidc import IdTokenError

        try:
            email = self._verifier.verify(authorization)
        except IdTokenError as err:
            raise AuthError(err.status, str(err)) from None
        # Named by domain only: no e-mail address reaches a log line.
        return Caller(f"service account at {email.rsplit('@', 1)[-1]}")


__all__ = [
    "AuthError",
    "Caller",
    "CallerVerifier",
    "GoogleCallerVerifier",
    "OpenAccess",
    "SharedTokenVerifier",
    "bearer_credential",
]
