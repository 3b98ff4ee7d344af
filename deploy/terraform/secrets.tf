# The pseudonymisation key's secret (the HMAC key of e-mails and customer names). Terraform
# creates the secret only; its value is added with gcloud (deploy/README.md), so the key
# never enters the Terraform state. Which accounts may read it is in iam.tf.
#
# The Dataform git token secret (var.dataform_git_token_secret) is created before apply
# for the same reason; Terraform only grants the Dataform service agent access to it.

resource "google_secret_manager_secret" "pseudonym_key" {
  secret_id = local.pseudonym_secret
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}
