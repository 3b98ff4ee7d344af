"""Caller identity for the gcp profile: Google OIDC ID tokens (see `oidc`).

The verifier imports google-auth lazily, so importing this package needs no cloud SDK.
"""

from __future__ import annotations

from winter_days.auth.oidc import (
    GOOGLE_CERTS_URL,
    GOOGLE_ISSUERS,
    CallerNotAllowed,
    CertificatesUnavailable,
    GoogleIdTokenVerifier,
    IdTokenError,
    InvalidIdToken,
    parse_allowed_callers,
)

__all__ = [
    "GOOGLE_CERTS_URL",
    "GOOGLE_ISSUERS",
    "CallerNotAllowed",
    "CertificatesUnavailable",
    "GoogleIdTokenVerifier",
    "IdTokenError",
    "InvalidIdToken",
    "parse_allowed_callers",
]
