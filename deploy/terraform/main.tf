# The platform on Google Cloud: names shared by every file, the project, its APIs.
# Names that the code also knows (datasets, lake folders, the Dataform repository) are
# fixed here rather than variables, so the deployment and the code cannot disagree.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  bucket_name = var.bucket_name != "" ? var.bucket_name : "${var.project_id}-winter-days-lake"

  orchestrator_service = "winter-days-batch-orchestrator"
  # Cloud Run's deterministic service URL; known before the service exists, so the
  # service's own settings (the accepted token audiences) can name it.
  orchestrator_url = "https://${local.orchestrator_service}-${data.google_project.this.number}.${var.region}.run.app"

  # The three generator jobs: job name => what it generates and as which account.
  generators = {
    "winter-days-firestore-sales-gen" = { flow = "sales", account = "winter-days-sales-gen-sa", schedule = var.schedule_generators }
    "winter-days-clickstream-gen"     = { flow = "clickstream", account = "winter-days-clickstream-gen-sa", schedule = var.schedule_generators }
    "winter-days-startup-gen"         = { flow = "startups", account = "winter-days-startup-gen-sa", schedule = var.schedule_startups }
  }

  # BigQuery datasets: the layers of the warehouse (dataform/workflow_settings.yaml vars).
  datasets = {
    winter_days_bronze     = "Bronze: external tables over the lake's bronze/ files"
    winter_days_staging    = "Silver: typed, checked and pseudonymised staging tables"
    winter_days_warehouse  = "Gold: facts, dimensions, ML features and churn predictions"
    winter_days_assertions = "Dataform assertion views (data quality checks)"
  }

  # Lake areas that get their own access (managed folders): each writer reaches only its own.
  lake_folders = {
    "bronze/sales/"       = "Sales exports (Parquet), written by the orchestrator"
    "bronze/clickstream/" = "Clickstream files (JSONL), written by the clickstream generator"
    "bronze/startups/"    = "Startup loads (JSONL), written by the startups generator"
    "ground_truth/"       = "Simulated churn ground truth, written by the sales generator; no pipeline step reads it"
    "mlops/"              = "Model registry, per-run ML files and the Vertex AI pipeline root"
  }

  pipeline_root = "gs://${local.bucket_name}/mlops/pipeline_root"

  dataform_repository     = "winter-days-data-repo"
  dataform_release_config = "production"
  dataform_service_agent  = "service-${data.google_project.this.number}@gcp-sa-dataform.iam.gserviceaccount.com"

  # The secret's name, not its value (the value is added with gcloud, never in Terraform).
  pseudonym_secret = "winter-days-pseudonym-key" # checkov:skip=CKV_SECRET_6:a secret id, not a secret

  labels = { platform = "winter-days" }
}

resource "google_project_service" "apis" {
  for_each = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigqueryconnection.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "compute.googleapis.com",
    "dataform.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  service = each.value
  # Turning an API off on destroy would break anything else in the project that uses it.
  disable_on_destroy = false
}
