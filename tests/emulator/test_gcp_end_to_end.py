"""The gcp profile end to end, offline, with the real client libraries at every boundary:

generators -> Firestore (emulator) and the lake bucket (Cloud Storage emulator) -> the
orchestrator's run: export to bronze Parquet in the bucket -> compile and invoke on the
Dataform API (fake, compiling dataform/ and running its SQL on the BigQuery fake, whose
external tables read the bucket) -> the churn pipeline on Vertex AI (fake: the compiled
KFP spec run by KFP's local runner, its components reading the bucket and BigQuery from the
settings alone) -> predictions in BigQuery; then the dashboards render from BigQuery.

Nothing may touch the installation's home folder, and the local DuckDB adapters may never
be built. With GCP_E2E_REPORT set, the test writes how many predictions reached BigQuery
there (`make test-gcp` prints it).
"""

from __future__ import annotations

import os
import re
import secrets
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.emulator, pytest.mark.slow, pytest.mark.xdist_group("firestore_emulator")]

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
pytest.importorskip("kfp", reason="kfp (the [gcp] extra) is not installed")
pytest.importorskip("google.cloud.aiplatform", reason="google-cloud-aiplatform (the [gcp] extra) is not installed")

from fakes.bigquery import FakeBigQueryServer  # noqa: E402
from fakes.dataform_server import FakeDataformServer  # noqa: E402
from fakes.vertex import FakeVertex, vertex_profile  # noqa: E402

from winter_days.config import load_settings  # noqa: E402
from winter_days.orchestrator.launcher import RunLauncher  # noqa: E402
from winter_days.orchestrator.pipeline import RunParameters  # noqa: E402
from winter_days.platform import Platform  # noqa: E402
from winter_days.service import create_app  # noqa: E402
from winter_days.simulation import DailyVolumes, DaySimulator  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# A 7-day churn horizon trains once 28 days of history exist: 30 days, 400 customers.
DAYS, CUSTOMERS, HORIZON = 30, 400, 7
VOLUMES = DailyVolumes(sales=60, clicks=40, startups=10)
SA = "winter-days-runner@{project}.iam.gserviceaccount.com"
IMAGE = "europe-west1-docker.pkg.dev/{project}/winter-days/winter-days:e2e"
SUFFIX = "e2e"


@pytest.fixture
def bucket(storage_emulator) -> str:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    name = f"wd-e2e-{uuid.uuid4().hex[:12]}"
    storage.Client(project="wd-test", credentials=AnonymousCredentials()).create_bucket(name)
    return name


@pytest.fixture
def services(tmp_path, firestore_project, storage_emulator, bucket):
    """The BigQuery fake (reading the bucket), the Dataform fake on it, and the Vertex fake."""
    warehouse = FakeBigQueryServer(
        project=firestore_project, location="EU", lake_root=tmp_path / "bigquery-gcs", gcs=(storage_emulator, (bucket,))
    ).start()
    dataform = FakeDataformServer(
        project=firestore_project, repository="winter-days", repository_dir=REPO / "dataform", bigquery=warehouse
    ).start()
    vertex = FakeVertex(tmp_path / "vertex")
    yield warehouse, dataform, vertex
    vertex.stop()
    dataform.stop()
    warehouse.stop()


@pytest.fixture
def never_local(monkeypatch):
    """The local profile's warehouse and ELT engine may not be built in this process."""
    from winter_days.elt.engines.duckdb.backend import DuckDBBackend
    from winter_days.warehouse.duckdb import DuckDBWarehouse

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"the gcp platform built the local {type(self).__name__}")

    monkeypatch.setattr(DuckDBWarehouse, "__init__", refuse)
    monkeypatch.setattr(DuckDBBackend, "__init__", refuse)


def gcp_settings(tmp_path, project, bucket, warehouse, dataform):
    # The pseudonymisation key: on gcp a Secret Manager secret, here mounted as a file, as
    # Cloud Run mounts it (outside the installation's home, which nothing may touch).
    key = tmp_path / "secrets" / "pseudonym.key"
    if not key.exists():
        key.parent.mkdir()
        key.write_text(secrets.token_hex(32))
        key.chmod(0o600)
    return load_settings(
        environ={
            "WINTER_DAYS_PSEUDONYM_KEY_FILE": str(key),
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_HOME": str(tmp_path / "home"),
            "WINTER_DAYS_GCP_PROJECT_ID": project,
            "WINTER_DAYS_LAKE_URI": f"gs://{bucket}/lake",
            "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
            "WINTER_DAYS_CHURN_HORIZON_DAYS": str(HORIZON),
            "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
            "WINTER_DAYS_DATAFORM_WORKSPACE": "production",
            "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA.format(project=project),
            "WINTER_DAYS_DATAFORM_API_ENDPOINT": dataform.endpoint,
            "WINTER_DAYS_DATAFORM_SCHEMA_SUFFIX": SUFFIX,
            "WINTER_DAYS_BIGQUERY_API_ENDPOINT": warehouse.endpoint,
            "WINTER_DAYS_BIGQUERY_LOCATION": "EU",
            "WINTER_DAYS_VERTEX_SERVICE_ACCOUNT": SA.format(project=project),
            "WINTER_DAYS_VERTEX_IMAGE": IMAGE.format(project=project),
            "WINTER_DAYS_VERTEX_POLL_INTERVAL_SECONDS": "0.5",
            "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.1",
            "WINTER_DAYS_AUTH_DISABLED": "true",
        },
        cwd=tmp_path,
    )


def kpi(html: str, name: str) -> float:
    match = re.search(rf'data-kpi="{name}"[^>]*>([^<]+)<', html)
    assert match, f"no {name} on the page"
    return float(match.group(1).replace(",", "").rstrip("%"))


def test_the_gcp_profile_runs_from_the_generators_to_predictions_in_bigquery(
    tmp_path, firestore_project, bucket, services, never_local
):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform_v1.types import pipeline_job, pipeline_state

    warehouse, dataform, vertex = services
    settings = gcp_settings(tmp_path, firestore_project, bucket, warehouse, dataform)
    credentials = AnonymousCredentials()
    platform = Platform(settings, vertex_profile(vertex, credentials))
    platform.check(serving=True)

    simulator = DaySimulator(platform, VOLUMES)
    try:
        simulator.write_days(settings.population_start, DAYS)
    finally:
        simulator.close()
    run = RunLauncher(platform).trigger({"source": "test"}, RunParameters(as_of=None, ml=True)).run
    assert run is not None
    steps = {s["name"]: s for s in run["steps"]}
    assert run["status"] == "succeeded", {name: s.get("error") for name, s in steps.items()}

    # Sales went through Firestore to bronze Parquet in the bucket.
    exported = steps["export_sales"]["counts"]
    assert exported["rows"] == DAYS * VOLUMES.sales and exported["key"].endswith(".parquet")
    assert platform.lake.exists(exported["key"])
    # The Dataform fake ran every action on BigQuery, in the suffixed datasets.
    assert steps["poll"]["counts"]["actions_succeeded"] > 20 and "actions_failed" not in steps["poll"]["counts"]
    staged = warehouse.sql(f"SELECT COUNT(*) FROM winter_days_staging_{SUFFIX}.stg_sales")[0][0]
    quarantined = warehouse.sql(f"SELECT COUNT(*) FROM winter_days_staging_{SUFFIX}.stg_sales_quarantine")[0][0]
    assert staged + quarantined == DAYS * VOLUMES.sales and staged > 0

    # Vertex AI got the job as the SDK would, from the bucket, and ran every component.
    ml = steps["ml"]["counts"]
    (job,) = vertex.jobs
    assert job.init_args["template_path"].startswith(f"gs://{bucket}/lake/mlops/runs/")
    assert job.init_args["project"] == firestore_project and job.init_args["credentials"] is credentials
    assert job.init_args["pipeline_root"] == f"gs://{bucket}/lake/mlops/pipeline_root"
    assert job.submit_args["service_account"] == SA.format(project=firestore_project)
    assert ml["vertex_job_id"] == job.job_id and ml["runner"] == "vertex"
    assert job.state == pipeline_state.PipelineState.PIPELINE_STATE_SUCCEEDED
    assert {d.state for d in job.task_details} == {pipeline_job.PipelineTaskDetail.State.SUCCEEDED}
    assert len(job.task_details) == 6

    # The predictions reached BigQuery: one row per scored customer, for the run's as-of date.
    predicted = warehouse.sql(
        f"SELECT COUNT(*), COUNT(DISTINCT customer_id), MIN(as_of_date), MAX(as_of_date) "
        f"FROM winter_days_warehouse_{SUFFIX}.fact_predictions_churn"
    )[0]
    written = ml["predictions_written"]
    assert written > 0 and predicted[0] == predicted[1] == written
    assert predicted[2].isoformat() == predicted[3].isoformat() == ml["as_of"]
    report = os.environ.get("GCP_E2E_REPORT")
    if report:
        Path(report).write_text(
            f"{written} predictions reached BigQuery (winter_days_warehouse_{SUFFIX}.fact_predictions_churn)\n"
        )

    # The dashboards render from BigQuery.
    client = create_app(platform).test_client()
    before = len(warehouse.requests)
    sales = client.get("/dashboard/sales")
    churn = client.get("/dashboard/churn")
    assert sales.status_code == churn.status_code == client.get("/dashboard/pipeline").status_code == 200
    revenue = warehouse.sql(
        f"SELECT ROUND(SUM(total_amount), 2) FROM winter_days_warehouse_{SUFFIX}.fct_sales WHERE status = 'completed'"
    )[0][0]
    assert kpi(sales.get_data(as_text=True), "revenue") == pytest.approx(float(revenue))
    assert kpi(churn.get_data(as_text=True), "customers_scored") == written
    assert len(warehouse.requests) > before, "the pages did not query BigQuery"

    # Nothing of the installation touched the local disk.
    assert not settings.home.exists(), (
        f"the gcp profile wrote under its home folder: {sorted(settings.home.rglob('*'))}"
    )
    assert not (tmp_path / "warehouse.duckdb").exists()
    platform.close()


def test_the_churn_pipeline_fails_on_vertex_naming_the_job_and_the_component(
    tmp_path, firestore_project, bucket, services, never_local
):
    """Nothing published yet: the first component fails, and the ML step says which, why and where."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.aiplatform_v1.types import pipeline_job

    from winter_days.ml.vertex import VertexJobError

    warehouse, dataform, vertex = services
    settings = gcp_settings(tmp_path, firestore_project, bucket, warehouse, dataform)
    platform = Platform(settings, vertex_profile(vertex, AnonymousCredentials()))
    with pytest.raises(VertexJobError) as failed:
        platform.ml_runner.run()
    message = str(failed.value)
    (job,) = vertex.jobs
    assert f"Vertex AI pipeline job {job.job_id} ended PIPELINE_STATE_FAILED" in message
    assert "component build-features failed: FeatureError: churn features: nothing has been published" in message
    assert "run the pipeline" in message and "console.cloud.google.com" in message
    states = {d.task_name: d.state for d in job.task_details}
    assert states["build-features"] == pipeline_job.PipelineTaskDetail.State.FAILED
    assert states["predict-churn"] == pipeline_job.PipelineTaskDetail.State.NOT_TRIGGERED
    assert not settings.home.exists()
    platform.close()
