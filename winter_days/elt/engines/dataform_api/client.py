"""The official Dataform client (google-cloud-dataform), built lazily for the gcp profile.

Its REST transport is used everywhere, not gRPC: the requests the tests check against the
fake server (tests/fakes/dataform_server.py) are then the requests a real run sends.
"""

from __future__ import annotations

from typing import Any

from winter_days.config import ConfigError
from winter_days.elt.engines.dataform_api.settings import DataformRepository
from winter_days.gcp_credentials import client_credentials


def dataform_types() -> Any:
    """The google.cloud.dataform_v1 module, or ConfigError saying how to install it."""
    try:
        from google.cloud import dataform_v1
    except ImportError:
        raise ConfigError(
            "the Dataform API backend needs google-cloud-dataform: pip install 'winter-days[gcp]'"
        ) from None
    return dataform_v1


def make_dataform_client(dataform: DataformRepository, credentials: Any | None = None) -> Any:
    """A DataformClient on the REST transport, at `dataform.api_endpoint` when set.

    Without `credentials`, Application Default Credentials are used; their absence is a
    one-line CredentialsError, raised here before any request.
    """
    types = dataform_types()
    if credentials is None:
        credentials = client_credentials("the Dataform API", endpoint=dataform.api_endpoint)
    options = {"api_endpoint": dataform.api_endpoint} if dataform.api_endpoint else None
    return types.DataformClient(credentials=credentials, transport="rest", client_options=options)
