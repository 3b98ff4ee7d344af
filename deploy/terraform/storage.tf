# The lake bucket. Access is uniform (IAM only, no object ACLs) and per area: each lake
# area that a workload writes is a managed folder with its own grants (iam.tf), so a
# generator can reach only its own flow's files.

resource "google_storage_bucket" "lake" {
  # checkov:skip=CKV_GCP_62:usage logs would need a second bucket; Cloud Audit Logs already record every admin change, and Data Access audit logs for storage.googleapis.com record object reads and writes when wanted (deploy/README.md).
  name                        = local.bucket_name
  location                    = var.bucket_location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  # Bronze is create-only in the code; versions also keep a deleted or overwritten ML file
  # recoverable for a week.
  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age                   = var.bronze_cold_after_days
      matches_prefix        = ["bronze/"]
      matches_storage_class = ["STANDARD"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = var.bronze_cold_storage_class
    }
  }

  lifecycle_rule {
    condition {
      age            = var.ml_run_artifacts_days
      matches_prefix = ["mlops/runs/", "mlops/pipeline_root/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_storage_managed_folder" "lake" {
  for_each = local.lake_folders

  bucket = google_storage_bucket.lake.name
  name   = each.key
}
