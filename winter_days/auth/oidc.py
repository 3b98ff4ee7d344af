"""Verify Google-signed OIDC ID tokens, as Cloud Scheduler sends them to Cloud Run.

A token passes when its RS256 signature verifies against Google's published certificates,
its audience is ours, its issuer is Google, it is within its lifetime (with a small clock
skew), and it names a verified e-mail in the allow-list. Failures are split the way HTTP
needs them: `InvalidIdToken` (401: no usable credential), `CallerNotAllowed` (403: a valid
token, but not a caller we accept), `CertificatesUnavailable` (503: we cannot check now).

Certificates are cached for as long as the endpoint's Cache-Control max-age allows. A
token signed with a key id we do not know triggers one early refresh (Google rotates keys),
at most once per `min_refresh_seconds`, so forged key ids cannot flood the endpoint. When a
refresh fails, the certificates we already have stay in use.

Neither a token nor a caller's e-mail address appears in an error message or a log line.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
DEFAULT_MAX_AGE_SECONDS = 3600.0

_BEARER_JWT = re.compile(r"^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)

log = logging.getLogger(__name__)


class IdTokenError(Exception):
    """A request the verifier turns away; `status` is the HTTP answer it calls for."""

    status = 401


class InvalidIdToken(IdTokenError):
    """Missing, malformed, badly signed, expired, or for another audience or issuer: 401."""

    status = 401


class CallerNotAllowed(IdTokenError):
    """A valid token whose caller is not in the allow-list (or has no verified e-mail): 403."""

    status = 403


class CertificatesUnavailable(IdTokenError):
    """Google's certificates could not be fetched and none are cached: 503."""

    status = 503


def parse_allowed_callers(text: str | Iterable[str]) -> frozenset[str]:
    """E-mail addresses from a comma/space separated setting (or a list), compared case-insensitively."""
    items = re.split(r"[,\s]+", text) if isinstance(text, str) else list(text)
    return frozenset(item.strip().lower() for item in items if item and item.strip())


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2] or "(no domain)"


class CertificateCache:
    """Google's signing certificates ({key id: PEM}), fetched over HTTP and cached."""

    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        min_refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self._timeout = timeout
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._expires_at = float("-inf")
        self._fetched_at = float("-inf")
        self._request: Any = None  # google.auth.transport.requests.Request, made on first use

    def _fetch(self) -> tuple[dict[str, str], float]:
        from google.auth import exceptions
        from google.auth.transport import requests as transport

        if self._request is None:
            self._request = transport.Request()
        try:
            response = self._request(self.url, method="GET", timeout=self._timeout)
        except exceptions.TransportError as err:
            raise CertificatesUnavailable(f"cannot reach the ID token certificate endpoint {self.url}: {err}") from None
        if response.status != 200:
            raise CertificatesUnavailable(
                f"the ID token certificate endpoint {self.url} answered HTTP {response.status}"
            )
        try:
            body = json.loads(response.data)
        except ValueError:
            raise CertificatesUnavailable(f"the ID token certificate endpoint {self.url} did not answer JSON") from None
        if not isinstance(body, dict) or not body or not all(isinstance(v, str) for v in body.values()):
            raise CertificatesUnavailable(
                f"the ID token certificate endpoint {self.url} did not answer a {{key id: PEM certificate}} map "
                "(use Google's v1 certs endpoint)"
            )
        match = _MAX_AGE.search(response.headers.get("cache-control", "") or "")
        max_age = float(match.group(1)) if match else DEFAULT_MAX_AGE_SECONDS
        return body, max_age

    def certificates(self, unknown_key_id: str | None = None) -> Mapping[str, str]:
        """The cached certificates, refreshed when expired or (rate-limited) for an unknown key id."""
        with self._lock:
            now = self._clock()
            stale = now >= self._expires_at
            rotated = unknown_key_id is not None and unknown_key_id not in self._certs
            if stale or (rotated and now - self._fetched_at >= self._min_refresh):
                try:
                    certs, max_age = self._fetch()
                except CertificatesUnavailable:
                    if not self._certs:
                        raise
                    log.warning("ID token certificates could not be refreshed; using the cached ones")
                else:
                    self._certs, self._fetched_at, self._expires_at = certs, now, now + max_age
            return dict(self._certs)


class GoogleIdTokenVerifier:
    """Checks `Authorization: Bearer <Google ID token>` for any of the accepted audiences (the
    service URL and its /run URL: Cloud Scheduler's default audience is the full target URL);
    returns the caller's e-mail."""

    def __init__(
        self,
        audiences: Iterable[str] | str,
        allowed_emails: Iterable[str] | str,
        certs_url: str = GOOGLE_CERTS_URL,
        issuers: Iterable[str] = GOOGLE_ISSUERS,
        clock_skew_seconds: int = 10,
        certificates: CertificateCache | None = None,
    ):
        self.audiences = [a for a in ([audiences] if isinstance(audiences, str) else audiences) if a]
        if not self.audiences:
            raise ValueError("an ID token audience is required (the service's URL, as the scheduler sends it)")
        self.allowed = parse_allowed_callers(allowed_emails)
        if not self.allowed:
            raise ValueError("at least one allowed caller e-mail is required (the scheduler's service account)")
        self.issuers = frozenset(issuers)
        self._skew = clock_skew_seconds
        self._certificates = certificates or CertificateCache(certs_url)

    def verify(self, authorization: str | None) -> str:
        """The verified caller e-mail, or IdTokenError with the HTTP status to answer."""
        claims = self._verified_claims(authorization)
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise CallerNotAllowed("the ID token names no e-mail: mint it for a service account")
        if claims.get("email_verified") not in (True, "true"):
            raise CallerNotAllowed("the ID token's e-mail is not verified")
        if email.lower() not in self.allowed:
            raise CallerNotAllowed(f"a caller from {_email_domain(email)} is not in the allowed callers")
        return email

    def _verified_claims(self, authorization: str | None) -> dict[str, Any]:
        from google.auth import jwt

        if not authorization:
            raise InvalidIdToken("missing Authorization header: send 'Authorization: Bearer <Google ID token>'")
        match = _BEARER_JWT.match(authorization)
        if match is None:
            raise InvalidIdToken("malformed Authorization header: expected 'Bearer <Google ID token>'")
        token = match.group(1)
        try:
            header = jwt.decode_header(token)
        except ValueError:
            raise InvalidIdToken("malformed ID token: its header is not JSON") from None
        if not isinstance(header, dict):
            raise InvalidIdToken("malformed ID token: its header is not a JSON object")
        if header.get("alg") != "RS256":
            raise InvalidIdToken("the ID token is not signed with RS256, as Google signs them")
        key_id = header.get("kid")
        if not isinstance(key_id, str) or not key_id:
            raise InvalidIdToken("the ID token names no signing key (kid)")
        certs = self._certificates.certificates(unknown_key_id=key_id)
        if key_id not in certs:
            raise InvalidIdToken("the ID token is signed by a key Google does not publish")
        try:
            claims = jwt.decode(token, certs=certs, audience=self.audiences, clock_skew_in_seconds=self._skew)
        except ValueError as err:
            raise InvalidIdToken(f"the ID token is not valid: {_reason(err)}") from None
        if claims.get("iss") not in self.issuers:
            raise InvalidIdToken("the ID token was not issued by Google")
        return claims


def _reason(err: ValueError) -> str:
    """google-auth's reason, without values taken from the token."""
    text = str(err)
    for start, reason in (
        ("Token expired", "it has expired"),
        ("Token used too early", "it is not valid yet (issued in the future)"),
        ("Token has wrong audience", "it is for another audience"),
        ("Could not verify token signature", "its signature does not verify"),
    ):
        if text.startswith(start):
            return reason
    return "it could not be decoded"
