"""Application Default Credentials for the gcp adapters, failing in one line a user can act on.

Every Google client (Dataform, Firestore, GCS, BigQuery, Vertex AI) finds its identity the
same way; without one, google.auth raises a long traceback that does not say what to do.
`application_default_credentials` turns that into a `CredentialsError` naming Application
Default Credentials and the two ways to set them. `client_credentials` is what each gcp
adapter passes its client: nothing for an emulator (the client library brings the
emulator's own), anonymous credentials for a plain-HTTP test server on this machine, else
Application Default Credentials, resolved before any request. google.auth is imported only
when called, so importing this module costs the local profile nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from winter_days.config import ConfigError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
KEY_FILE_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"
HOW_TO_SET = (
    "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service account "
    "key file (on Cloud Run and other Google runtimes the attached service account is found by itself)"
)


class CredentialsError(ConfigError):
    """No usable Application Default Credentials."""


def application_default_credentials(scopes: Sequence[str] = (CLOUD_PLATFORM_SCOPE,), purpose: str = "") -> Any:
    """The Application Default Credentials with `scopes`; CredentialsError in one line when there are none.

    `purpose` names who needs them ("the Dataform API"), so the message says what failed.
    """
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError:
        raise CredentialsError(
            f"{purpose or 'the gcp profile'} needs google-auth: pip install 'winter-days[gcp]'"
        ) from None
    try:
        credentials, _ = google.auth.default(scopes=list(scopes))
    except DefaultCredentialsError as err:
        raise CredentialsError(_message(purpose, err)) from None
    return credentials


def client_credentials(purpose: str, *, endpoint: str = "", emulator_variable: str = "") -> Any:
    """The credentials a gcp adapter gives its client for `purpose` ("the BigQuery warehouse").

    None when `emulator_variable` (FIRESTORE_EMULATOR_HOST, STORAGE_EMULATOR_HOST) is set:
    the client library then talks to the emulator with the emulator's credentials.
    AnonymousCredentials for an http:// `endpoint`: Google's endpoints are HTTPS, so a
    plain-HTTP one is a test server. Else Application Default Credentials, or one
    CredentialsError line saying how to set them.
    """
    if emulator_variable and os.environ.get(emulator_variable):
        return None
    if endpoint.startswith("http://"):
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    return application_default_credentials(purpose=purpose)


def _message(purpose: str, err: Exception) -> str:
    who = f"{purpose}: " if purpose else ""
    key_file = os.environ.get(KEY_FILE_VARIABLE, "")
    if key_file:
        # google.auth's reason names the file and what is wrong with it; keep its first line.
        reason = " ".join(str(err).split())[:300]
        return (
            f"{who}Application Default Credentials from {KEY_FILE_VARIABLE}={key_file} are not usable ({reason}); "
            f"point {KEY_FILE_VARIABLE} at a service account key file, or unset it and "
            "run `gcloud auth application-default login`"
        )
    return f"{who}no Google Application Default Credentials found: {HOW_TO_SET}"
