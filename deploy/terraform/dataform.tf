# The Dataform repository (linked to the git remote that holds dataform/) and the release
# configuration the orchestrator compiles on each run. Workflows run as dataform-exec-sa
# (strict act-as: the orchestrator holds actAs on it, the Dataform service agent holds
# token creator on it; see iam.tf). The compilation settings put the models in this
# project's datasets and point the external tables at this bucket.

resource "google_dataform_repository" "data" {
  provider = google-beta

  name            = local.dataform_repository
  region          = var.region
  display_name    = "winter-days SQL models"
  service_account = google_service_account.accounts["dataform-exec-sa"].email
  labels          = local.labels

  git_remote_settings {
    url                                 = var.dataform_git_url
    default_branch                      = var.dataform_git_default_branch
    authentication_token_secret_version = "projects/${var.project_id}/secrets/${var.dataform_git_token_secret}/versions/${var.dataform_git_token_secret_version}"
  }

  depends_on = [
    google_secret_manager_secret_iam_member.grants,
    google_service_account_iam_member.grants,
  ]
}

resource "google_dataform_repository_release_config" "production" {
  provider = google-beta

  project       = var.project_id
  region        = var.region
  repository    = google_dataform_repository.data.name
  name          = local.dataform_release_config
  git_commitish = var.dataform_git_commitish
  time_zone     = "Etc/UTC"

  code_compilation_config {
    default_database = var.project_id
    default_schema   = "winter_days_warehouse"
    default_location = var.bigquery_location
    assertion_schema = "winter_days_assertions"
    vars = {
      lake_bucket       = local.bucket_name
      bronze_dataset    = "winter_days_bronze"
      staging_dataset   = "winter_days_staging"
      warehouse_dataset = "winter_days_warehouse"
    }
  }
}
