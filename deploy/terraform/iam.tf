# Who may do what. The whole IAM graph is the `grants` table below: one row per
# (account, role, scope), and the resources under it only apply the rows. The same
# rows, with the reason for each, are the table in deploy/README.md; tests/deploy checks
# that the two agree, that no primitive role appears, and that only the scheduler's
# account can invoke the orchestrator. No other file declares an IAM binding.
#
# Scopes: project | firestore (the platform's database, by IAM condition) |
# folder:<lake managed folder> | dataset:<BigQuery dataset> | sa:<service account> |
# secret:<secret id> | service:<Cloud Run service> | job:<Cloud Run job> |
# repository:<Dataform repository>.

locals {
  service_accounts = {
    "winter-days-scheduler-sa"       = "Cloud Scheduler: starts the generator jobs and calls the orchestrator"
    "winter-days-sales-gen-sa"       = "Sales generator job: writes the day's sales to Firestore"
    "winter-days-clickstream-gen-sa" = "Clickstream generator job: writes bronze/clickstream/"
    "winter-days-startup-gen-sa"     = "Startups generator job: writes bronze/startups/"
    "winter-days-orchestrator-sa"    = "Orchestrator service: export, Dataform, Vertex AI, dashboards"
    "dataform-exec-sa"               = "Dataform workflow invocations: runs the SQL models in BigQuery"
    "winter-days-vertex-ai-sa"       = "Vertex AI pipeline jobs: churn features, training, predictions"
  }

  grants = [
    { account = "winter-days-scheduler-sa", role = "roles/run.invoker", on = "service:winter-days-batch-orchestrator" },
    { account = "winter-days-scheduler-sa", role = "roles/run.invoker", on = "job:winter-days-firestore-sales-gen" },
    { account = "winter-days-scheduler-sa", role = "roles/run.invoker", on = "job:winter-days-clickstream-gen" },
    { account = "winter-days-scheduler-sa", role = "roles/run.invoker", on = "job:winter-days-startup-gen" },

    { account = "winter-days-sales-gen-sa", role = "roles/datastore.user", on = "firestore" },
    { account = "winter-days-sales-gen-sa", role = "roles/storage.objectCreator", on = "folder:ground_truth/" },
    { account = "winter-days-sales-gen-sa", role = "roles/storage.objectViewer", on = "folder:ground_truth/" },
    { account = "winter-days-sales-gen-sa", role = "roles/secretmanager.secretAccessor", on = "secret:winter-days-pseudonym-key" },

    { account = "winter-days-clickstream-gen-sa", role = "roles/storage.objectCreator", on = "folder:bronze/clickstream/" },
    { account = "winter-days-clickstream-gen-sa", role = "roles/storage.objectViewer", on = "folder:bronze/clickstream/" },
    { account = "winter-days-clickstream-gen-sa", role = "roles/secretmanager.secretAccessor", on = "secret:winter-days-pseudonym-key" },

    { account = "winter-days-startup-gen-sa", role = "roles/storage.objectCreator", on = "folder:bronze/startups/" },
    { account = "winter-days-startup-gen-sa", role = "roles/storage.objectViewer", on = "folder:bronze/startups/" },
    { account = "winter-days-startup-gen-sa", role = "roles/secretmanager.secretAccessor", on = "secret:winter-days-pseudonym-key" },

    { account = "winter-days-orchestrator-sa", role = "roles/datastore.user", on = "firestore" },
    { account = "winter-days-orchestrator-sa", role = "roles/storage.objectCreator", on = "folder:bronze/sales/" },
    { account = "winter-days-orchestrator-sa", role = "roles/storage.objectViewer", on = "folder:bronze/sales/" },
    { account = "winter-days-orchestrator-sa", role = "roles/storage.objectCreator", on = "folder:mlops/" },
    { account = "winter-days-orchestrator-sa", role = "roles/storage.objectViewer", on = "folder:mlops/" },
    { account = "winter-days-orchestrator-sa", role = "roles/bigquery.jobUser", on = "project" },
    { account = "winter-days-orchestrator-sa", role = "roles/bigquery.readSessionUser", on = "project" },
    { account = "winter-days-orchestrator-sa", role = "roles/bigquery.dataViewer", on = "dataset:winter_days_staging" },
    { account = "winter-days-orchestrator-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_warehouse" },
    { account = "winter-days-orchestrator-sa", role = "roles/dataform.editor", on = "repository:winter-days-data-repo" },
    { account = "winter-days-orchestrator-sa", role = "roles/aiplatform.user", on = "project" },
    # The provisioning guide's conditional grant (Service Account User on the project, limited
    # by an IAM condition to the Dataform service agent) becomes a grant on the execution
    # account itself: strict act-as checks actAs on the account a workflow runs as, and IAM
    # conditions cannot name a service account (iam.googleapis.com has no resource
    # attributes), so the condition could never have matched. The binding's own resource now
    # carries the limit the condition meant: act as this account and no other.
    { account = "winter-days-orchestrator-sa", role = "roles/iam.serviceAccountUser", on = "sa:dataform-exec-sa" },
    { account = "winter-days-orchestrator-sa", role = "roles/iam.serviceAccountUser", on = "sa:winter-days-vertex-ai-sa" },
    { account = "winter-days-orchestrator-sa", role = "roles/secretmanager.secretAccessor", on = "secret:winter-days-pseudonym-key" },

    { account = "dataform-exec-sa", role = "roles/bigquery.jobUser", on = "project" },
    { account = "dataform-exec-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_bronze" },
    { account = "dataform-exec-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_staging" },
    { account = "dataform-exec-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_warehouse" },
    { account = "dataform-exec-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_assertions" },
    { account = "dataform-exec-sa", role = "roles/storage.objectViewer", on = "folder:bronze/sales/" },
    { account = "dataform-exec-sa", role = "roles/storage.objectViewer", on = "folder:bronze/clickstream/" },
    { account = "dataform-exec-sa", role = "roles/storage.objectViewer", on = "folder:bronze/startups/" },

    { account = "winter-days-vertex-ai-sa", role = "roles/aiplatform.user", on = "project" },
    { account = "winter-days-vertex-ai-sa", role = "roles/storage.objectUser", on = "folder:mlops/" },
    { account = "winter-days-vertex-ai-sa", role = "roles/bigquery.jobUser", on = "project" },
    { account = "winter-days-vertex-ai-sa", role = "roles/bigquery.readSessionUser", on = "project" },
    { account = "winter-days-vertex-ai-sa", role = "roles/bigquery.dataViewer", on = "dataset:winter_days_staging" },
    { account = "winter-days-vertex-ai-sa", role = "roles/bigquery.dataEditor", on = "dataset:winter_days_warehouse" },

    { account = "dataform-service-agent", role = "roles/iam.serviceAccountTokenCreator", on = "sa:dataform-exec-sa" },
    { account = "dataform-service-agent", role = "roles/secretmanager.secretAccessor", on = "secret:${var.dataform_git_token_secret}" },
  ]

  members = merge(
    { for id, account in google_service_account.accounts : id => "serviceAccount:${account.email}" },
    { "dataform-service-agent" = "serviceAccount:${local.dataform_service_agent}" },
  )

  # The rows of one scope kind, keyed uniquely, with the scope's name split off.
  grants_by_kind = {
    for kind in ["project", "firestore", "folder", "dataset", "sa", "secret", "service", "job", "repository"] : kind => {
      for g in local.grants : "${g.account} ${g.role} ${g.on}" => merge(g, { target = trimprefix(g.on, "${kind}:") })
      if g.on == kind || startswith(g.on, "${kind}:")
    }
  }

  secret_names = {
    (local.pseudonym_secret)        = google_secret_manager_secret.pseudonym_key.id
    (var.dataform_git_token_secret) = "projects/${var.project_id}/secrets/${var.dataform_git_token_secret}"
  }
}

resource "google_service_account" "accounts" {
  for_each = local.service_accounts

  account_id   = each.key
  display_name = each.key
  description  = each.value
}

# Makes the Dataform service agent exist before anything is granted to it.
resource "google_project_service_identity" "dataform" {
  provider = google-beta
  service  = "dataform.googleapis.com"

  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "grants" {
  for_each = local.grants_by_kind["project"]

  project = var.project_id
  role    = each.value.role
  member  = local.members[each.value.account]
}

# Firestore has no per-collection IAM: the narrowest grant is the database, expressed as
# an IAM condition on the project binding (Firestore supports resource.name conditions).
resource "google_project_iam_member" "firestore" {
  for_each = local.grants_by_kind["firestore"]

  project = var.project_id
  role    = each.value.role
  member  = local.members[each.value.account]

  condition {
    title       = "winter-days-firestore-database"
    description = "Only the platform's Firestore database"
    expression  = "resource.name == \"projects/${var.project_id}/databases/${var.firestore_database}\""
  }
}

resource "google_storage_managed_folder_iam_member" "grants" {
  for_each = local.grants_by_kind["folder"]

  bucket         = google_storage_bucket.lake.name
  managed_folder = google_storage_managed_folder.lake[each.value.target].name
  role           = each.value.role
  member         = local.members[each.value.account]
}

resource "google_bigquery_dataset_iam_member" "grants" {
  for_each = local.grants_by_kind["dataset"]

  dataset_id = google_bigquery_dataset.layers[each.value.target].dataset_id
  role       = each.value.role
  member     = local.members[each.value.account]
}

resource "google_service_account_iam_member" "grants" {
  for_each = local.grants_by_kind["sa"]

  service_account_id = google_service_account.accounts[each.value.target].name
  role               = each.value.role
  member             = local.members[each.value.account]

  depends_on = [google_project_service_identity.dataform]
}

resource "google_secret_manager_secret_iam_member" "grants" {
  for_each = local.grants_by_kind["secret"]

  secret_id = local.secret_names[each.value.target]
  role      = each.value.role
  member    = local.members[each.value.account]

  depends_on = [google_project_service_identity.dataform]
}

resource "google_cloud_run_v2_service_iam_member" "grants" {
  for_each = local.grants_by_kind["service"]

  name     = { (local.orchestrator_service) = google_cloud_run_v2_service.orchestrator.name }[each.value.target]
  location = var.region
  role     = each.value.role
  member   = local.members[each.value.account]
}

resource "google_cloud_run_v2_job_iam_member" "grants" {
  for_each = local.grants_by_kind["job"]

  name     = module.generator[each.value.target].job_name
  location = var.region
  role     = each.value.role
  member   = local.members[each.value.account]
}

resource "google_dataform_repository_iam_member" "grants" {
  provider = google-beta
  for_each = local.grants_by_kind["repository"]

  repository = { (local.dataform_repository) = google_dataform_repository.data.name }[each.value.target]
  region     = var.region
  role       = each.value.role
  member     = local.members[each.value.account]
}
