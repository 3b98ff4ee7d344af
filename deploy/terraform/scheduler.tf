# The orchestrator's daily trigger. (Each generator job's trigger is in its module.)
#
# The request carries a Google-signed OIDC ID token of the scheduler's account. Its
# audience is the service URL: Cloud Run's IAM check accepts it, and the service accepts
# it too (WINTER_DAYS_AUTH_OIDC_AUDIENCES lists the URL and the /run URL). A retried
# attempt carries the same X-CloudScheduler-ScheduleTime, so the service answers it with
# the run the first attempt started instead of starting another.

resource "google_cloud_scheduler_job" "orchestrator" {
  name             = "winter-days-orchestrator-daily"
  region           = var.region
  description      = "Daily winter-days run: export, compile, invoke, poll, ML"
  schedule         = var.schedule_orchestrator
  time_zone        = "Etc/UTC"
  attempt_deadline = "120s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "120s"
    max_backoff_duration = "900s"
    max_doublings        = 2
  }

  http_target {
    http_method = "POST"
    uri         = "${local.orchestrator_url}/run"

    oidc_token {
      service_account_email = google_service_account.accounts["winter-days-scheduler-sa"].email
      audience              = local.orchestrator_url
    }
  }

  depends_on = [google_project_service.apis, google_cloud_run_v2_service_iam_member.grants]
}
