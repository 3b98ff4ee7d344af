# The orchestrator service and the three generator jobs, all from the one image.
#
# Run mode: POST /run answers 202 with the run id and the run goes on in the background
# for up to run_deadline_seconds. Cloud Run normally throttles an instance's CPU between
# requests and may stop an idle instance, which would freeze or kill that background run.
# So the CPU stays allocated (cpu_idle = false) and one instance is always kept
# (min_instance_count = 1). One instance at most: a run holds the platform's single-run
# guard, the only caller fires once a day, and GET /runs and the dashboards are light;
# a second instance would only add cost. The request timeout bounds requests, not runs:
# 300 s is ample for POST /run's answer and a dashboard page.

resource "google_cloud_run_v2_service" "orchestrator" {
  name                = local.orchestrator_service
  location            = var.region
  description         = "winter-days orchestrator: POST /run (Cloud Scheduler), GET /runs, /metrics, dashboards"
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = true
  labels              = local.labels

  template {
    service_account                  = google_service_account.accounts["winter-days-orchestrator-sa"].email
    timeout                          = "300s"
    max_instance_request_concurrency = 8 # gunicorn's 2 workers x 4 threads
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    labels                           = local.labels

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    containers {
      image = var.image
      args  = ["--profile", "gcp", "serve"]

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "2Gi"
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.env_orchestrator
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds    = 5
        failure_threshold = 24
      }

      liveness_probe {
        http_get {
          path = "/healthz"
        }
        period_seconds = 30
      }
    }
  }

  depends_on = [google_project_service.apis]
}

module "generator" {
  source   = "./modules/generator_job"
  for_each = local.generators

  name                      = each.key
  flow                      = each.value.flow
  project_id                = var.project_id
  region                    = var.region
  image                     = var.image
  service_account_email     = google_service_account.accounts[each.value.account].email
  env                       = local.env_common
  schedule                  = each.value.schedule
  scheduler_service_account = google_service_account.accounts["winter-days-scheduler-sa"].email
  labels                    = local.labels

  depends_on = [google_project_service.apis]
}
