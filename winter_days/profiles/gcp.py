"""The gcp profile: Firestore, Cloud Storage, BigQuery, the Dataform API and Vertex AI.

Nothing here reads or writes a local file but configuration: the lake is a bucket, runs live
in Firestore, the warehouse is BigQuery (the ELT's, the ML step's and the dashboards' alike),
and the churn pipeline runs on Vertex AI from the project's container image. Every cloud SDK
is imported when an adapter is built, never before.
"""

from __future__ import annotations

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

# Remote engines answer slowly; polling more often only costs API quota.
REMOTE_POLL_SECONDS = 60.0


def _required(settings: Settings, *names: str) -> None:
    for name in names:
        section, _, field = name.partition(".")
        value = getattr(getattr(settings, section), field) if field else getattr(settings, section)
        if not value:
            raise ConfigError(f"{describe(name)}: required by the gcp profile")


class GcpProfile:
    """Builds the gcp adapters."""

    single_machine = False
    default_poll_interval_seconds = REMOTE_POLL_SECONDS
    # Cloud Scheduler's attempt deadline and Cloud Run's request timeout are shorter than a
    # run: POST /run answers 202 and the run goes on in the service.
    default_wait_for_run = False

    def check(self, settings: Settings, serving: bool) -> None:
        _required(settings, "gcp.project_id")
        if urlparse(settings.lake_uri).scheme != "gs":
            raise ConfigError(
                f"{describe('lake_uri')}: the gcp profile keeps its lake in a bucket (gs://...), got "
                f"{settings.lake_uri!r}; set {describe('gcp.bucket')} or WINTER_DAYS_LAKE_URI"
            )
        _required(settings, "dataform.repository", "dataform.service_account", "vertex.service_account", "vertex.image")
        if not (settings.dataform.workspace or settings.dataform.git_commitish or settings.dataform.release_config):
            raise ConfigError(
                f"set one of {describe('dataform.workspace')}, {describe('dataform.git_commitish')} or "
                f"{describe('dataform.release_config')}: what the Dataform API compiles"
            )
        key_file = settings.pseudonym.key_file
        if not settings.pseudonym.secret and (key_file is None or not key_file.is_file()):
            raise ConfigError(
                f"{describe('pseudonym.secret')}: required by the gcp profile (the Secret Manager secret holding the "
                "pseudonymisation key, e.g. projects/PROJECT/secrets/winter-days-pseudonym-key), unless that secret "
                f"is mounted as the file {describe('pseudonym.key_file')}"
            )
        if serving:
            self.caller_verifier(settings)

    def lake(self, settings: Settings) -> Lake:
        _required(settings, "gcp.project_id")
        from winter_days.stores.gcs import GcsLake

        return GcsLake.from_settings(settings)

    def document_store(self, settings: Settings) -> DocumentStore:
        _required(settings, "gcp.project_id")
        from winter_days.stores.firestore import FirestoreDocumentStore

        return FirestoreDocumentStore.from_settings(
            settings, database=settings.gcp.firestore_database, settle_seconds=settings.gcp.firestore_settle_seconds
        )

    def run_store(self, settings: Settings) -> RunStore:
        _required(settings, "gcp.project_id")
        from winter_days.runs.firestore import FirestoreRunStore

        return FirestoreRunStore.from_settings(settings)

    def warehouse(self, settings: Settings) -> Warehouse:
        _required(settings, "gcp.project_id")
        from winter_days.warehouse.bigquery import BigQueryWarehouse

        return BigQueryWarehouse.from_settings(settings)

    def elt_backend(self, settings: Settings, vars: Mapping[str, str]) -> EltBackend:
        from winter_days.elt.engines.dataform_api.backend import DataformApiBackend

        if vars:
            raise ConfigError(
                "the Dataform API compiles with the settings' vars (lake bucket and datasets); "
                "--vars applies to the local engine"
            )
        return DataformApiBackend.from_settings(settings)

    def ml_runner(self, platform: Platform) -> ChurnPipelineRunner:
        from winter_days.ml.vertex import VertexRunner

        return VertexRunner(platform.settings, platform.lake)

    def caller_verifier(self, settings: Settings) -> CallerVerifier:
        from winter_days.auth import GoogleCallerVerifier, OpenAccess

        if settings.auth.disabled:
            return OpenAccess()
        _required(settings, "auth.oidc_audiences", "auth.allowed_callers")
        return GoogleCallerVerifier.for_audiences(settings.auth.oidc_audiences, settings.auth.allowed_callers)

    def pseudonymiser(self, settings: Settings) -> Pseudonymiser:
        from winter_days.pseudonyms import Pseudonymiser, key_from_file, key_from_secret_manager

        if settings.pseudonym.secret:
            return Pseudonymiser(key_from_secret_manager(settings.pseudonym.secret))
        key_file = settings.pseudonym.key_file
        if key_file is None or not key_file.is_file():
            raise ConfigError(
                f"{describe('pseudonym.secret')}: required by the gcp profile (the Secret Manager secret holding the "
                "pseudonymisation key), unless that secret is mounted as the file pseudonym.key_file"
            )
        # Nothing is created on gcp: a key made here would differ from every other job's.
        return Pseudonymiser(key_from_file(key_file, create=False))

    def lineage_naming(self, settings: Settings) -> DatasetNaming:
        from winter_days.lineage import BigQueryNaming

        return BigQueryNaming(
            settings.dataform.default_database or settings.gcp.project_id,
            schema_suffix=settings.dataform.schema_suffix,
            firestore_database=settings.gcp.firestore_database,
        )

    def lineage_folder(self, settings: Settings) -> Path | None:
        # Nothing is written to a local file on gcp: without lineage.url there are no events.
        return None

    def ml_artefact_retention(self, settings: Settings, lake: Lake) -> ArtefactRetention:
        from winter_days.stores.retention import ML_RUNS_PREFIX, LifecycleRuleRetention

        return LifecycleRuleRetention(f"{settings.lake_uri}/{ML_RUNS_PREFIX}/", settings.retention.ml_run_days)
