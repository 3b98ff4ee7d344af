# Every WINTER_DAYS_* setting the containers get, in this one file. A setting
# `[section] field` of the settings model is the variable WINTER_DAYS_<SECTION>_<FIELD>;
# renaming one is a one-line change here. The bearer token is never set: on Cloud Run the
# service checks Google-signed ID tokens instead.

locals {
  # What every workload (the service and the three generator jobs) reads.
  env_common = {
    WINTER_DAYS_PROFILE                = "gcp"
    WINTER_DAYS_HOME                   = "/tmp/winter-days"
    WINTER_DAYS_GCP_PROJECT_ID         = var.project_id
    WINTER_DAYS_GCP_REGION             = var.region
    WINTER_DAYS_GCP_BUCKET             = local.bucket_name
    WINTER_DAYS_GCP_FIRESTORE_DATABASE = var.firestore_database
    WINTER_DAYS_PSEUDONYM_SECRET       = google_secret_manager_secret.pseudonym_key.id
  }

  # The orchestrator service adds who may call it, and where Dataform, BigQuery and Vertex AI are.
  env_orchestrator_only = {
    WINTER_DAYS_AUTH_OIDC_AUDIENCES               = join(",", [local.orchestrator_url, "${local.orchestrator_url}/run"])
    WINTER_DAYS_AUTH_ALLOWED_CALLERS              = google_service_account.accounts["winter-days-scheduler-sa"].email
    WINTER_DAYS_ORCHESTRATOR_RUN_DEADLINE_SECONDS = tostring(var.run_deadline_seconds)
    WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS = tostring(var.dataform_poll_timeout_seconds)
    WINTER_DAYS_DATAFORM_REPOSITORY               = local.dataform_repository
    WINTER_DAYS_DATAFORM_RELEASE_CONFIG           = local.dataform_release_config
    WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT          = google_service_account.accounts["dataform-exec-sa"].email
    WINTER_DAYS_DATAFORM_LOCATION                 = var.region
    WINTER_DAYS_DATAFORM_DEFAULT_DATABASE         = var.project_id
    WINTER_DAYS_DATAFORM_ASSERTION_SCHEMA         = "winter_days_assertions"
    WINTER_DAYS_BIGQUERY_LOCATION                 = var.bigquery_location
    WINTER_DAYS_BIGQUERY_MAXIMUM_BYTES_BILLED     = tostring(var.bigquery_maximum_bytes_billed)
    WINTER_DAYS_VERTEX_SERVICE_ACCOUNT            = google_service_account.accounts["winter-days-vertex-ai-sa"].email
    WINTER_DAYS_VERTEX_PIPELINE_ROOT              = local.pipeline_root
    WINTER_DAYS_VERTEX_LOCATION                   = var.region
    WINTER_DAYS_VERTEX_IMAGE                      = var.image
    WINTER_DAYS_VERTEX_POLL_TIMEOUT_SECONDS       = tostring(var.vertex_poll_timeout_seconds)
    WINTER_DAYS_RETENTION_ML_RUN_DAYS             = tostring(var.ml_run_artifacts_days)
  }

  env_orchestrator = merge(local.env_common, local.env_orchestrator_only)
}
