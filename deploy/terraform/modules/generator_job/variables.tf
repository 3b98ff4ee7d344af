variable "name" {
  description = "Cloud Run job name (also the prefix of its Cloud Scheduler job)."
  type        = string
}

variable "flow" {
  description = "Flow the job generates: sales, clickstream or startups."
  type        = string

  validation {
    condition     = contains(["sales", "clickstream", "startups"], var.flow)
    error_message = "flow must be sales, clickstream or startups."
  }
}

variable "project_id" {
  description = "Project of the job."
  type        = string
}

variable "region" {
  description = "Region of the job and of its scheduler trigger."
  type        = string
}

variable "image" {
  description = "The platform's container image."
  type        = string
}

variable "service_account_email" {
  description = "Service account the job runs as."
  type        = string
}

variable "env" {
  description = "WINTER_DAYS_* settings of the job."
  type        = map(string)
}

variable "schedule" {
  description = "Cron (UTC) of the trigger."
  type        = string
}

variable "scheduler_service_account" {
  description = "Service account whose OAuth token the trigger carries (holds roles/run.invoker on the job)."
  type        = string
}

variable "labels" {
  description = "Labels of the job."
  type        = map(string)
  default     = {}
}
