"""The gcp adapters can be imported, and the local profile run, without loading a cloud SDK."""

from __future__ import annotations

import json
import subprocess
import sys

SDK_MODULES = (
    "google.cloud.firestore",
    "google.cloud.storage",
    "google.cloud.dataform",
    "google.auth",
    "google.api_core",
    "grpc",
)


def loaded_sdk_modules(code: str) -> list[str]:
    probe = f"""
import json, sys
{code}
print(json.dumps(sorted(m for m in sys.modules if m.startswith({SDK_MODULES!r}))))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_gcp_adapters_and_verifier_loads_no_sdk():
    code = "import winter_days.stores, winter_days.stores.firestore, winter_days.stores.gcs, winter_days.auth"
    assert loaded_sdk_modules(code) == []


def test_importing_the_dataform_engine_and_the_credentials_helper_loads_no_sdk():
    code = (
        "import winter_days.elt.engines.dataform_api, winter_days.elt.engines.dataform_api.commands, "
        "winter_days.elt.compilation_config, winter_days.gcp_credentials"
    )
    assert loaded_sdk_modules(code) == []


def test_the_local_stores_work_without_an_sdk(tmp_path):
    code = f"""
from winter_days.stores import LocalLake, SqliteDocumentStore
LocalLake({str(tmp_path / "lake")!r}).put("bronze/a.txt", b"x")
SqliteDocumentStore({str(tmp_path / "docs.sqlite3")!r}).put_many("winter_sales", [("s1", {{"a": 1}})])
"""
    assert loaded_sdk_modules(code) == []
