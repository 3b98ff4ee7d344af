"""Google Cloud emulators on 127.0.0.1, started once per test session (per xdist worker).

- Firestore: the Cloud SDK's emulator (`gcloud emulators firestore start`, Java). Skipped,
  saying why, where gcloud or Java is missing.
- Cloud Storage: `gcp-storage-emulator`, run by support/gcs_emulator.py, which adds the generation
  preconditions the lake's create-only writes rely on.

Each runs in its own process group, stopped by that group's id when the session ends. A
start that fails or times out is an error showing the tail of the emulator's log.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.emulator_processes import environment_variable, running_emulator
from support.ports import free_port

# The shared store contracts assert outside test modules: have pytest explain their failures.
pytest.register_assert_rewrite("contracts")

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def firestore_emulator(tmp_path_factory) -> Iterator[str]:
    """host:port of a Firestore emulator; FIRESTORE_EMULATOR_HOST points clients at it."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        pytest.skip("gcloud is not on PATH: the Firestore emulator tests need the Cloud SDK's cloud-firestore-emulator")
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH: the Firestore emulator needs a Java runtime (11+)")
    pytest.importorskip("google.cloud.firestore", reason="google-cloud-firestore (the [gcp] extra) is not installed")
    host = f"127.0.0.1:{free_port()}"
    log_path = tmp_path_factory.mktemp("firestore-emulator") / "emulator.log"
    command = [gcloud, "emulators", "firestore", "start", f"--host-port={host}"]
    with running_emulator("Firestore emulator", command, f"http://{host}/", log_path):
        with environment_variable("FIRESTORE_EMULATOR_HOST", host):
            yield host


@pytest.fixture
def firestore_project(firestore_emulator) -> str:
    """A project id of its own for each test: the emulator keeps projects apart."""
    return f"wd-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def storage_emulator(tmp_path_factory) -> Iterator[str]:
    """http://host:port of a Cloud Storage emulator; STORAGE_EMULATOR_HOST points clients at it."""
    pytest.importorskip("gcp_storage_emulator", reason="gcp-storage-emulator is not installed")
    pytest.importorskip("google.cloud.storage", reason="google-cloud-storage (the [gcp] extra) is not installed")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("storage-emulator") / "emulator.log"
    command = [sys.executable, str(HERE.parent / "support" / "gcs_emulator.py"), "--port", str(port)]
    with running_emulator("Cloud Storage emulator", command, f"{endpoint}/", log_path):
        with environment_variable("STORAGE_EMULATOR_HOST", endpoint):
            yield endpoint
