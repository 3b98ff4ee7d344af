"""Google credentials for the gcp adapters, with one line a user can act on when absent.

The client libraries look for Application Default Credentials themselves and fail with a
google.auth traceback when there are none; asking first turns that into a message naming
what to set. google-auth is imported only when a gcp adapter is built.
"""

from __future__ import annotations

from typing import Any

from winter_days.config import ConfigError


def application_default_credentials(needed_by: str) -> Any:
    """The Application Default Credentials, or ConfigError saying how to provide them."""
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
    except ImportError as err:
        raise ConfigError(f"{needed_by} needs google-auth: install winter-days[gcp]") from err
    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError:
        raise ConfigError(
            f"{needed_by} found no Google credentials (Application Default Credentials): run "
            "`gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service "
            "account key file; on Cloud Run and Vertex AI the service account attached to the job is used"
        ) from None
    return credentials
