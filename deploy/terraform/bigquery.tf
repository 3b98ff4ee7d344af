# The warehouse layers. Dataform writes bronze (external tables), staging and warehouse
# and its assertion views; the ML pipeline writes the churn predictions into warehouse.
# Access is granted per dataset in iam.tf (non-authoritative members, so BigQuery's own
# default owners stay).

resource "google_bigquery_dataset" "layers" {
  # checkov:skip=CKV_GCP_81:Google-managed encryption at rest; a customer key would add a Cloud KMS key ring, its rotation and its IAM to a simulated-data platform. Set default_encryption_configuration when the data calls for it.
  for_each = local.datasets

  dataset_id                 = each.key
  description                = each.value
  location                   = var.bigquery_location
  delete_contents_on_destroy = false
  labels                     = local.labels

  depends_on = [google_project_service.apis]
}
