"""The fake Dataform server on 127.0.0.1 and backends whose official client is pointed at it.

The client is google-cloud-dataform's DataformClient on its REST transport, with anonymous
credentials; backoff sleeps are recorded, not slept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fakes.dataform_server import FakeDataformServer

from winter_days.config import Settings, load_settings
from winter_days.elt.engines.dataform_api import DataformApiBackend, load_dataform_settings

EXECUTION_SA = "dataform-runner@winter-proj.iam.gserviceaccount.com"


@pytest.fixture
def dataform_server():
    server = FakeDataformServer().start()
    yield server
    server.stop()


GCP = {
    "WINTER_DAYS_PROFILE": "gcp",
    "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
    "WINTER_DAYS_GCP_BUCKET": "winter-lake",
}


def gcp_settings_with(root, environ: dict[str, str]) -> Settings:
    """gcp settings with these WINTER_DAYS_DATAFORM_* (and other) variables, loaded as a user's would be."""
    return load_settings(environ={**GCP, **environ}, cwd=root)


@pytest.fixture
def gcp_settings(tmp_path) -> Settings:
    return gcp_settings_with(tmp_path, {})


@pytest.fixture
def settings_with(tmp_path) -> Callable[[dict[str, str]], Settings]:
    """gcp settings loaded with extra variables."""
    return lambda environ: gcp_settings_with(tmp_path, environ)


@pytest.fixture
def dataform_environ(dataform_server) -> dict[str, str]:
    return {
        "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
        "WINTER_DAYS_DATAFORM_WORKSPACE": "production",
        "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": EXECUTION_SA,
        "WINTER_DAYS_DATAFORM_API_ENDPOINT": dataform_server.endpoint,
    }


@pytest.fixture
def sleeps() -> list[float]:
    return []


def anonymous_client(dataform_settings: Any, credentials: Any = None) -> Any:
    from google.auth.credentials import AnonymousCredentials

    from winter_days.elt.engines.dataform_api.client import make_dataform_client

    return make_dataform_client(dataform_settings, credentials or AnonymousCredentials())


@pytest.fixture
def make_backend(tmp_path, dataform_environ, sleeps) -> Callable[..., DataformApiBackend]:
    """A backend on the fake; keyword arguments replace WINTER_DAYS_DATAFORM_* values (None removes one)."""

    def make(page_size: int | None = None, timeout: float = 60.0, credentials: Any = None, **variables: str | None):
        environ = dict(dataform_environ)
        for name, value in variables.items():
            environ.pop(f"WINTER_DAYS_DATAFORM_{name.upper()}", None)
            if value is not None:
                environ[f"WINTER_DAYS_DATAFORM_{name.upper()}"] = value
        settings = gcp_settings_with(tmp_path, environ)
        dataform = load_dataform_settings(settings)
        client = anonymous_client(dataform, credentials)
        return DataformApiBackend(settings, dataform, client, sleep=sleeps.append, page_size=page_size, timeout=timeout)

    return make


@pytest.fixture
def backend(make_backend) -> DataformApiBackend:
    return make_backend()
