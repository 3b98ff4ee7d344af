# Artifact Registry repository of the platform's image. Tags are immutable: a version tag
# always names the same image, so a deployed revision and the Vertex AI components it
# submits run the same code.

resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84:the images hold code and pinned open-source packages only, no data or secret; Google-managed encryption at rest suffices.
  repository_id = "winter-days"
  location      = var.region
  format        = "DOCKER"
  description   = "winter-days container images"
  labels        = local.labels

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent-versions"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}
