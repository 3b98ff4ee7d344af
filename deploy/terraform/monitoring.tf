# Alerts: a failed run, no successful run for missed_run_alert_hours, a failed generator.
#
# The service writes one structured log line per finished run (JSON on stderr, which
# Cloud Run turns into a log entry with the fields under jsonPayload):
#
#   {"severity": "ERROR", "event": "run_failed",    "run_id": "...", "step": "invoke", "message": "run failed: ..."}
#   {"severity": "INFO",  "event": "run_succeeded", "run_id": "...", "step": null,     "message": "run succeeded"}
#
# The two log-based metrics below count those lines; nothing else in the logs matches them.

locals {
  orchestrator_log_filter = join(" AND ", [
    "resource.type=\"cloud_run_revision\"",
    "resource.labels.service_name=\"${local.orchestrator_service}\"",
  ])
}

resource "google_logging_metric" "run_failed" {
  name        = "winter-days-run-failed"
  description = "Orchestrator runs that ended failed (one ERROR line with event=run_failed per run)."
  filter      = "${local.orchestrator_log_filter} AND severity>=ERROR AND jsonPayload.event=\"run_failed\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "step"
      value_type  = "STRING"
      description = "Step the run failed in"
    }
  }

  label_extractors = {
    step = "EXTRACT(jsonPayload.step)"
  }
}

resource "google_logging_metric" "run_succeeded" {
  name        = "winter-days-run-succeeded"
  description = "Orchestrator runs that ended succeeded (one line with event=run_succeeded per run)."
  filter      = "${local.orchestrator_log_filter} AND jsonPayload.event=\"run_succeeded\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "run_failed" {
  display_name          = "winter-days: a run failed"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "a run_failed line in the orchestrator's logs"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.run_failed.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.step"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A winter-days run failed in step $${metric.label.step}. Find it in Logs Explorer:
      `${local.orchestrator_log_filter} AND jsonPayload.event="run_failed"`, then follow its
      run_id (`jsonPayload.run_id="..."`) through the steps' lines. deploy/README.md, "When a
      run fails", lists where each step's own logs are.
    EOT
  }
}

# A metric-absence condition can wait at most 24.5 hours, so the 26-hour window is a
# PromQL condition: true when no run_succeeded point exists in the window. Right after
# the first apply it is true until the first run succeeds (start one: deploy/README.md).
resource "google_monitoring_alert_policy" "no_successful_run" {
  display_name          = "winter-days: no successful run in ${var.missed_run_alert_hours} hours"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "no run_succeeded line for ${var.missed_run_alert_hours}h"
    condition_prometheus_query_language {
      query               = "absent_over_time(logging_googleapis_com:user_${replace(google_logging_metric.run_succeeded.name, "-", "_")}{monitored_resource=\"cloud_run_revision\"}[${var.missed_run_alert_hours}h])"
      duration            = "0s"
      evaluation_interval = "300s"
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      No winter-days run has succeeded for ${var.missed_run_alert_hours} hours. Check that the
      Cloud Scheduler job winter-days-orchestrator-daily ran (its last attempt's status), then
      the orchestrator's logs for the run it started. deploy/README.md, "When a run fails".
    EOT
  }
}

resource "google_monitoring_alert_policy" "generator_failed" {
  display_name          = "winter-days: a generator job failed"
  combiner              = "OR"
  notification_channels = var.notification_channels

  conditions {
    display_name = "a failed execution of a winter-days generator job"
    condition_threshold {
      filter          = "metric.type=\"run.googleapis.com/job/completed_execution_count\" AND resource.type=\"cloud_run_job\" AND metric.label.result=\"failed\" AND resource.label.job_name=starts_with(\"winter-days-\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.job_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      The generator job $${resource.label.job_name} failed after its retries: that day's data
      is missing until it is rerun (gcloud run jobs execute JOB --region REGION). Its logs:
      `resource.type="cloud_run_job" AND resource.labels.job_name="JOB"`.
    EOT
  }
}
