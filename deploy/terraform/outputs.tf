output "orchestrator_url" {
  description = "URL of the orchestrator service (POST /run, GET /runs, /metrics); only the scheduler's account may call it."
  value       = local.orchestrator_url
}

output "image_repository" {
  description = "Artifact Registry path to push the image to (append /winter-days:VERSION)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "lake_bucket" {
  description = "The lake bucket."
  value       = google_storage_bucket.lake.name
}

output "pipeline_root" {
  description = "Vertex AI pipeline root (gs://BUCKET/mlops/pipeline_root)."
  value       = local.pipeline_root
}

output "service_accounts" {
  description = "E-mail of each of the platform's service accounts, by account id."
  value       = { for id, account in google_service_account.accounts : id => account.email }
}

output "pseudonym_secret" {
  description = "Secret Manager secret of the pseudonymisation key; add its value with gcloud secrets versions add."
  value       = google_secret_manager_secret.pseudonym_key.id
}

output "dataform_repository" {
  description = "Dataform repository resource name."
  value       = google_dataform_repository.data.id
}

output "generator_jobs" {
  description = "Cloud Run job of each generator."
  value       = { for name, job in module.generator : name => job.job_name }
}

output "scheduler_jobs" {
  description = "Cloud Scheduler jobs: the orchestrator's and each generator's."
  value       = concat([google_cloud_scheduler_job.orchestrator.name], [for job in module.generator : job.scheduler_job_name])
}
