output "job_name" {
  description = "Name of the Cloud Run job."
  value       = google_cloud_run_v2_job.this.name
}

output "scheduler_job_name" {
  description = "Name of the Cloud Scheduler job that starts it."
  value       = google_cloud_scheduler_job.this.name
}
