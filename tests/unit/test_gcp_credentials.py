"""Without Application Default Credentials, a gcp client fails in one line that says how to set them.

Each case runs in a fresh interpreter whose environment has no credentials: no key file
variable, an empty gcloud configuration folder, and the metadata server check turned off
(pointed at a closed local port besides), so nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from winter_days.gcp_credentials import HOW_TO_SET

BUILD_DATAFORM_BACKEND = """
from winter_days.config import ConfigError, load_settings
from winter_days.elt.engines.dataform_api import DataformApiBackend
settings = load_settings(environ={"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
                                  "WINTER_DAYS_GCP_BUCKET": "winter-lake",
                                  "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days", "WINTER_DAYS_DATAFORM_GIT_COMMITISH": "main",
                                  "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": "dataform-runner@winter-proj.iam.gserviceaccount.com"})
try:
    DataformApiBackend.from_settings(settings)
except ConfigError as err:
    print(type(err).__name__ + ": " + str(err))
"""


def environ_without_credentials(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This environment without credentials, Google settings or emulators (an emulator needs none)."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GOOGLE_", "CLOUDSDK_", "GCE_", "WINTER_DAYS_")) and not k.endswith("_EMULATOR_HOST")
    }
    environ.update(
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        NO_GCE_CHECK="true",
        GCE_METADATA_HOST="127.0.0.1:9",
        GCE_METADATA_IP="127.0.0.1:9",
        **extra,
    )
    return environ


def run_without_credentials(tmp_path: Path, code: str, **extra: str) -> list[str]:
    environ = environ_without_credentials(tmp_path, **extra)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()


def test_no_credentials_is_one_line_naming_adc_and_how_to_set_them(tmp_path):
    (line,) = run_without_credentials(tmp_path, BUILD_DATAFORM_BACKEND)

    assert line.startswith("CredentialsError: the Dataform API: no Google Application Default Credentials found")
    assert "gcloud auth application-default login" in line and "GOOGLE_APPLICATION_CREDENTIALS" in line


def test_a_missing_key_file_is_named(tmp_path):
    missing = tmp_path / "keys" / "runner.json"

    (line,) = run_without_credentials(tmp_path, BUILD_DATAFORM_BACKEND, GOOGLE_APPLICATION_CREDENTIALS=str(missing))

    assert f"GOOGLE_APPLICATION_CREDENTIALS={missing} are not usable" in line
    assert "was not found" in line


def test_credentials_from_a_key_file_are_used(tmp_path):
    key = tmp_path / "authorized-user.json"
    key.write_text(
        '{"type": "authorized_user", "client_id": "id", "client_secret": "secret", "refresh_token": "token"}'
    )
    code = (
        "from winter_days.gcp_credentials import application_default_credentials\n"
        "print(type(application_default_credentials(purpose='BigQuery')).__name__)"
    )

    assert run_without_credentials(tmp_path, code, GOOGLE_APPLICATION_CREDENTIALS=str(key)) == ["Credentials"]


GCP_ENVIRON = {
    "WINTER_DAYS_PROFILE": "gcp",
    "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
    "WINTER_DAYS_GCP_BUCKET": "winter-lake",
    "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": "churn-pipeline@winter-proj.iam.gserviceaccount.com",
    "WINTER_DAYS_VERTEX_IMAGE": "europe-west1-docker.pkg.dev/winter-proj/winter-days/winter-days:1",
    "WINTER_DAYS_PSEUDONYM_SECRET": "projects/winter-proj/secrets/winter-days-pseudonym-key",
}
# Each port of the gcp platform, built in turn in one interpreter; each build's error on its own line.
BUILD_PORTS = """
from pathlib import Path
from winter_days.config import ConfigError, load_settings
from winter_days.ml.vertex import submit_churn_pipeline
from winter_days.platform import build_platform
from winter_days.stores import LocalLake
platform = build_platform(load_settings(environ={environ!r}))
builds = [
    lambda: platform.document_store(),
    lambda: platform.run_store,
    lambda: platform.lake,
    lambda: platform.warehouse,
    lambda: platform.pseudonymiser,
    lambda: submit_churn_pipeline(platform.settings, LocalLake(Path("lake")), "run-1", spec_path=Path("spec.json"),
                                  pipeline_job=object),
]
for build in builds:
    try:
        build()
        print("built")
    except ConfigError as err:
        print(type(err).__name__ + ": " + str(err))
"""
PURPOSES = (
    "Firestore (the sales documents)",
    "Firestore (the run history)",
    "the lake bucket (Cloud Storage)",
    "the BigQuery warehouse",
    "the pseudonymisation key (Secret Manager)",
    "Vertex AI Pipelines",
)


def test_every_gcp_adapter_fails_in_one_line_without_credentials(tmp_path):
    (tmp_path / "spec.json").write_text(
        json.dumps(
            {
                "root": {
                    "inputDefinitions": {
                        "parameters": {
                            "settings_json": {"parameterType": "STRING"},
                            "run_id": {"parameterType": "STRING"},
                        }
                    }
                }
            }
        )
    )

    lines = run_without_credentials(tmp_path, BUILD_PORTS.format(environ=GCP_ENVIRON))

    assert lines == [
        f"CredentialsError: {purpose}: no Google Application Default Credentials found: {HOW_TO_SET}"
        for purpose in PURPOSES
    ]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and "lake" in p.parts], (
        "work started before the credentials were checked"
    )


def test_a_command_without_credentials_says_so_in_one_line(tmp_path):
    environ = environ_without_credentials(
        tmp_path,
        WINTER_DAYS_GCP_PROJECT_ID="winter-proj",
        WINTER_DAYS_GCP_BUCKET="winter-lake",
        WINTER_DAYS_PSEUDONYM_SECRET="projects/winter-proj/secrets/winter-days-pseudonym-key",
    )
    command = [
        sys.executable,
        "-c",
        "from winter_days.cli import main; main()",
        "--profile",
        "gcp",
        "generate",
        "sales",
    ]

    done = subprocess.run(command, capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=120)

    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("Error: ") and line.endswith(
        f": no Google Application Default Credentials found: {HOW_TO_SET}"
    )
    assert list(tmp_path.iterdir()) == [], "the command wrote files before failing"
