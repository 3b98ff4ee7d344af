# Inputs of the deployment. Every one has a description; the ones without a default are in
# terraform.tfvars.example.

variable "project_id" {
  description = "Google Cloud project that hosts the platform."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Cloud Scheduler, Artifact Registry, Dataform and Vertex AI (for example europe-west1)."
  type        = string
  default     = "europe-west1"
}

variable "image" {
  description = "Container image of the platform (the repository's Dockerfile), pushed to the Artifact Registry repository this module creates, by tag or digest: REGION-docker.pkg.dev/PROJECT/winter-days/winter-days:VERSION."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+-docker\\.pkg\\.dev/[^/]+/[^/]+/[^:@]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$", var.image))
    error_message = "image must be an Artifact Registry image with a tag or digest: REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG."
  }
}

variable "bucket_name" {
  description = "Name of the lake bucket (bronze files, ML artifacts, pipeline root). Empty: PROJECT_ID-winter-days-lake."
  type        = string
  default     = ""
}

variable "bucket_location" {
  description = "Location of the lake bucket; keep it with the BigQuery datasets (EU with EU) so external tables read it without cross-region transfer."
  type        = string
  default     = "EU"
}

variable "bronze_cold_after_days" {
  description = "Days after which bronze files (bronze/) move to the colder storage class. A full refresh reads all of bronze, so a colder class adds retrieval fees to it."
  type        = number
  default     = 90

  validation {
    condition     = var.bronze_cold_after_days >= 30
    error_message = "bronze_cold_after_days must be at least 30 (Nearline and Coldline bill 30 or 90 days minimum storage)."
  }
}

variable "bronze_cold_storage_class" {
  description = "Storage class bronze files move to after bronze_cold_after_days: NEARLINE, COLDLINE or ARCHIVE."
  type        = string
  default     = "COLDLINE"

  validation {
    condition     = contains(["NEARLINE", "COLDLINE", "ARCHIVE"], var.bronze_cold_storage_class)
    error_message = "bronze_cold_storage_class must be NEARLINE, COLDLINE or ARCHIVE."
  }
}

variable "ml_run_artifacts_days" {
  description = "Days after which a run's ML hand-over files (mlops/runs/) and Vertex AI pipeline artifacts (mlops/pipeline_root/) are deleted. The model registry (mlops/models/) is kept."
  type        = number
  default     = 30

  validation {
    condition     = var.ml_run_artifacts_days >= 1 && var.ml_run_artifacts_days <= 3650
    error_message = "ml_run_artifacts_days must be 1 to 3650 (the service's retention.ml_run_days takes the same value)."
  }
}

variable "bigquery_location" {
  description = "Location of the BigQuery datasets and of the Dataform invocations (EU, US or a region)."
  type        = string
  default     = "EU"
}

variable "bigquery_maximum_bytes_billed" {
  description = "Cost cap of one BigQuery query run by the platform, in bytes (0: no cap)."
  type        = number
  default     = 10737418240
}

variable "firestore_database" {
  description = "Firestore database (Native mode) of the sales documents and the run history."
  type        = string
  default     = "(default)"
}

variable "create_firestore_database" {
  description = "Create the Firestore database. Set false when the project already has it (a project has one (default) database, made once)."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Location of the Firestore database (a multi-region such as eur3 or nam5, or a region)."
  type        = string
  default     = "eur3"
}

variable "dataform_git_url" {
  description = "HTTPS URL of the git repository that holds the Dataform project (this repository's dataform/ folder at its root, or a repository made from it)."
  type        = string

  validation {
    condition     = can(regex("^https://", var.dataform_git_url))
    error_message = "dataform_git_url must be an https:// git URL (Dataform's token authentication works over HTTPS)."
  }
}

variable "dataform_git_default_branch" {
  description = "Default branch of the Dataform git repository."
  type        = string
  default     = "main"
}

variable "dataform_git_commitish" {
  description = "Branch, tag or commit the release configuration compiles (what production runs)."
  type        = string
  default     = "main"
}

variable "dataform_git_token_secret" {
  description = "Secret Manager secret id (in this project) that holds the git access token Dataform uses to read the repository. Create it and its first version before terraform apply (deploy/README.md)."
  type        = string
  default     = "winter-days-dataform-git-token"
}

variable "dataform_git_token_secret_version" {
  description = "Version of dataform_git_token_secret that Dataform reads (a number; a rotated token is a new version and a new apply)."
  type        = string
  default     = "1"

  validation {
    condition     = can(regex("^[0-9]+$", var.dataform_git_token_secret_version))
    error_message = "dataform_git_token_secret_version must be a version number such as 1."
  }
}

variable "schedule_generators" {
  description = "Cron (UTC) of the daily sales and clickstream generators."
  type        = string
  default     = "0 1 * * *"
}

variable "schedule_startups" {
  description = "Cron (UTC) of the weekly startups generator (Fridays)."
  type        = string
  default     = "0 1 * * 5"
}

variable "schedule_orchestrator" {
  description = "Cron (UTC) of the orchestrator run (export, compile, invoke, poll, ML), after the generators."
  type        = string
  default     = "0 2 * * *"
}

variable "run_deadline_seconds" {
  description = "Longest a run may take before the service stops it as failed. It continues after POST /run has answered 202, on an instance Cloud Run keeps with its CPU."
  type        = number
  default     = 5400
}

variable "dataform_poll_timeout_seconds" {
  description = "Longest the run waits for one Dataform invocation."
  type        = number
  default     = 1800
}

variable "vertex_poll_timeout_seconds" {
  description = "Longest the run waits for the Vertex AI pipeline job."
  type        = number
  default     = 3000
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (projects/PROJECT/notificationChannels/ID) that receive the platform's alerts."
  type        = list(string)

  validation {
    condition     = length(var.notification_channels) > 0 && alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "notification_channels needs at least one channel name projects/PROJECT/notificationChannels/ID (create one with gcloud beta monitoring channels create)."
  }
}

variable "missed_run_alert_hours" {
  description = "Alert when no run succeeded for this many hours (a daily run plus slack)."
  type        = number
  default     = 26
}
