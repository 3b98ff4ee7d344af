"""The local profile: everything on one machine, under the installation's home folder.

SQLite document store, a folder as the lake, the run store in a SQLite file, a DuckDB
warehouse, our SQLX compiler and DuckDB executor, the churn pipeline in this process, and
one shared bearer token. No cloud SDK is imported.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from winter_days.config import ConfigError, Settings, describe

if TYPE_CHECKING:
    from winter_days.auth import CallerVerifier
    from winter_days.elt.backend import EltBackend
    from winter_days.lineage import DatasetNaming
    from winter_days.ml.port import ChurnPipelineRunner
    from winter_days.platform import Platform
    from winter_days.pseudonyms import Pseudonymiser
    from winter_days.runs import RunStore
    from winter_days.stores import DocumentStore, Lake
    from winter_days.stores.retention import ArtefactRetention
    from winter_days.warehouse import Warehouse


def check_home(settings: Settings) -> None:
    """The home folder exists or can be made, and can be written."""
    home = settings.home
    where = describe("home")
    if home.exists() and not home.is_dir():
        raise ConfigError(f"{where}: {home} is a file, not a folder; point it at a folder (it is made if absent)")
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=home, prefix=".write-check-"):
            pass
    except OSError as err:
        raise ConfigError(f"{where}: cannot write in {home} ({err.strerror}); choose a folder you can write") from None


class LocalProfile:
    """Builds the local adapters."""

    single_machine = True
    default_poll_interval_seconds = 0.2
    # A local caller (the demo, a script) wants the run's outcome in the answer.
    default_wait_for_run = True

    def check(self, settings: Settings, serving: bool) -> None:
        if urlparse(settings.lake_uri).scheme != "file":
            raise ConfigError(
                f"{describe('lake_uri')}: the local profile keeps its lake in a folder (file://...), "
                f"got {settings.lake_uri!r}"
            )
        check_home(settings)
        if not settings.dataform_dir or not (Path(settings.dataform_dir) / "workflow_settings.yaml").is_file():
            raise ConfigError(
                f"{describe('dataform_dir')}: {settings.dataform_dir} holds no Dataform project (workflow_settings.yaml)"
            )

    def lake(self, settings: Settings) -> Lake:
        from winter_days.stores import LocalLake

        return LocalLake(settings.lake_root)

    def document_store(self, settings: Settings) -> DocumentStore:
        from winter_days.stores import SqliteDocumentStore

        assert settings.document_store_path is not None
        return SqliteDocumentStore(settings.document_store_path)

    def run_store(self, settings: Settings) -> RunStore:
        from winter_days.runs.sqlite import SqliteRunStore

        assert settings.run_store_path is not None
        return SqliteRunStore(settings.run_store_path)

    def warehouse(self, settings: Settings) -> Warehouse:
        from winter_days.warehouse.duckdb import DuckDBWarehouse

        assert settings.warehouse_path is not None
        return DuckDBWarehouse(settings.warehouse_path)

    def elt_backend(self, settings: Settings, vars: Mapping[str, str]) -> EltBackend:
        from winter_days.elt.compilation_config import code_compilation_config
        from winter_days.elt.engines.duckdb.backend import DuckDBBackend

        assert settings.dataform_dir is not None and settings.warehouse_path is not None
        return DuckDBBackend(
            settings.dataform_dir,
            settings.warehouse_path,
            settings.lake_root,
            vars={**code_compilation_config(settings)["vars"], **vars},
            max_workers=settings.elt.workers,
            memory_limit=settings.elt.memory_limit,
        )

    def ml_runner(self, platform: Platform) -> ChurnPipelineRunner:
        from winter_days.ml.runner import InProcessRunner

        return InProcessRunner(platform)

    def caller_verifier(self, settings: Settings) -> CallerVerifier:
        from winter_days.auth import OpenAccess, SharedTokenVerifier

        if settings.auth.disabled:
            return OpenAccess()
        if not settings.auth.token:
            raise ConfigError(
                f"no bearer token for POST /run: set WINTER_DAYS_AUTH_TOKEN or {describe('auth.token_file')} "
                f"(or, on a trusted machine only, {describe('auth.disabled')}=true)"
            )
        return SharedTokenVerifier(settings.auth.token)

    def pseudonymiser(self, settings: Settings) -> Pseudonymiser:
        from winter_days.pseudonyms import Pseudonymiser, key_from_file

        assert settings.pseudonym.key_file is not None
        # Made at first use (mode 0600): a laptop's installation keeps its own key.
        return Pseudonymiser(key_from_file(settings.pseudonym.key_file, create=True))

    def lineage_naming(self, settings: Settings) -> DatasetNaming:
        from winter_days.lineage import FileNaming

        assert settings.warehouse_path is not None and settings.document_store_path is not None
        return FileNaming(settings.warehouse_path, settings.document_store_path)

    def lineage_folder(self, settings: Settings) -> Path | None:
        return settings.home / "lineage"

    def ml_artefact_retention(self, settings: Settings, lake: Lake) -> ArtefactRetention:
        from winter_days.stores.retention import ML_RUNS_PREFIX, FolderRetention

        return FolderRetention(
            (settings.lake_root / ML_RUNS_PREFIX, settings.home / "kfp-local"),
            settings.retention.ml_runs_kept,
            settings.retention.ml_run_days,
        )
