# One generator: a Cloud Run job that runs `winter-days --profile gcp generate <flow>`,
# and the Cloud Scheduler job that starts it. The caller grants the scheduler's account
# roles/run.invoker on the job (all IAM lives in the root module's iam.tf).
#
# Cloud Scheduler starts a job through the Cloud Run Admin API (jobs:run), which takes
# OAuth access tokens only, so this trigger carries an OAuth token of the scheduler's
# account (the orchestrator's trigger, a call to the service itself, carries an OIDC token).

resource "google_cloud_run_v2_job" "this" {
  name                = var.name
  location            = var.region
  deletion_protection = false
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1
    labels      = var.labels

    template {
      service_account = var.service_account_email
      timeout         = "900s"
      # A rerun of the same day writes the same documents and the same bronze bytes
      # (bronze is create-only and equal bytes are a no-op), so a retried task is safe.
      max_retries           = 2
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      containers {
        image = var.image
        args  = ["--profile", "gcp", "generate", var.flow]

        resources {
          limits = {
            cpu    = "1"
            memory = "1Gi"
          }
        }

        dynamic "env" {
          for_each = var.env
          content {
            name  = env.key
            value = env.value
          }
        }
      }
    }
  }
}

resource "google_cloud_scheduler_job" "this" {
  name             = "${var.name}-trigger"
  region           = var.region
  description      = "Starts the ${var.flow} generator job"
  schedule         = var.schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
    max_doublings        = 3
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.this.name}:run"

    oauth_token {
      service_account_email = var.scheduler_service_account
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }
}
