"""The fake Dataform server on 127.0.0.1 and backends pointed at it (sleep recorded, not slept)."""

from __future__ import annotations

from typing import Callable

import pytest
import requests

from fakes.dataform_server import FakeDataformServer
from winter_days.config import Settings, load_settings
from winter_days.elt.engines.dataform_api import DataformApiBackend

ACCESS_TOKEN = "ya29.test-access-token-never-shown"
EXECUTION_SA = "dataform-runner@winter-proj.iam.gserviceaccount.com"


@pytest.fixture
def dataform_server():
    server = FakeDataformServer().start()
    yield server
    server.stop()


@pytest.fixture
def gcp_settings(tmp_path) -> Settings:
    environ = {"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj", "WINTER_DAYS_GCP_BUCKET": "winter-lake"}
    return load_settings(environ=environ, cwd=tmp_path)


@pytest.fixture
def dataform_environ(dataform_server) -> dict[str, str]:
    return {
        "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
        "WINTER_DAYS_DATAFORM_WORKSPACE": "production",
        "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": EXECUTION_SA,
        "WINTER_DAYS_DATAFORM_API_URL": dataform_server.url,
    }


@pytest.fixture
def access_token() -> str:
    return ACCESS_TOKEN


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_backend(gcp_settings, dataform_environ, sleeps) -> Callable[..., DataformApiBackend]:
    """A backend on the fake; keyword arguments replace WINTER_DAYS_DATAFORM_* values (None removes one)."""

    def make(page_size: int | None = None, **variables: str | None) -> DataformApiBackend:
        environ = dict(dataform_environ)
        for name, value in variables.items():
            environ.pop(f"WINTER_DAYS_DATAFORM_{name.upper()}", None)
            if value is not None:
                environ[f"WINTER_DAYS_DATAFORM_{name.upper()}"] = value
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ACCESS_TOKEN}"
        return DataformApiBackend.from_settings(gcp_settings, environ, session, sleep=sleeps.append, page_size=page_size)

    return make


@pytest.fixture
def backend(make_backend) -> DataformApiBackend:
    return make_backend()
