"""One CodeCompilationConfig from the settings: the local engine and the Dataform API compile with the same vars."""

from __future__ import annotations

from pathlib import Path

from winter_days.config import load_settings
from winter_days.elt.compilation_config import LOCAL_LAKE_BUCKET, code_compilation_config
from winter_days.elt.engines.dataform_api.settings import DataformRepository
from winter_days.platform import build_platform

REPO = Path(__file__).resolve().parents[3]
SA = "dataform-runner@winter-proj.iam.gserviceaccount.com"


def gcp(tmp_path, lake_uri: str = ""):
    environ = {
        "WINTER_DAYS_PROFILE": "gcp",
        "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
        "WINTER_DAYS_GCP_BUCKET": "winter-lake",
    }
    if lake_uri:
        environ["WINTER_DAYS_LAKE_URI"] = lake_uri
    return load_settings(environ=environ, cwd=tmp_path)


def test_the_lake_bucket_var_follows_the_lake(tmp_path):
    assert code_compilation_config(gcp(tmp_path))["vars"]["lake_bucket"] == "winter-lake"
    assert (
        code_compilation_config(gcp(tmp_path, "gs://shared-bucket/winter/"))["vars"]["lake_bucket"]
        == "shared-bucket/winter"
    )
    assert code_compilation_config(load_settings(environ={}, cwd=tmp_path))["vars"]["lake_bucket"] == LOCAL_LAKE_BUCKET


def test_the_dataform_section_adds_where_the_tables_go(tmp_path):
    settings = gcp(tmp_path)
    dataform = DataformRepository(
        repository="winter-days",
        service_account=SA,
        location="europe-west1",
        git_commitish="main",
        schema_suffix="dev",
        assertion_schema="winter_days_checks",
    )

    config = code_compilation_config(settings, dataform)

    assert config == {
        "vars": code_compilation_config(settings)["vars"],
        "defaultDatabase": "winter-proj",
        "defaultLocation": "europe-west1",
        "schemaSuffix": "dev",
        "assertionSchema": "winter_days_checks",
    }
    assert code_compilation_config(settings, dataform, bigquery_location="EU")["defaultLocation"] == "EU"


def test_the_local_engine_compiles_the_repository_with_the_settings_vars(tmp_path):
    settings = load_settings(environ={"WINTER_DAYS_DATAFORM_DIR": str(REPO / "dataform")}, cwd=tmp_path)

    compilation = build_platform(settings).elt_backend().compile()

    assert compilation.compilation_errors == ()
    assert compilation.code_compilation_config["vars"] == code_compilation_config(settings)["vars"]
    (sales,) = [o for o in compilation.graph["operations"] if o["target"]["name"] == "ext_sales_gcs"]
    assert f"gs://{LOCAL_LAKE_BUCKET}/bronze/sales/*.parquet" in " ".join(sales["queries"])


def test_workflow_settings_name_no_project_location_or_bucket():
    text = (REPO / "dataform" / "workflow_settings.yaml").read_text()
    for key in ("defaultProject", "defaultLocation", "lake_bucket"):
        assert f"{key}:" not in text, f"{key} belongs to the settings (code_compilation_config), not the repository"
