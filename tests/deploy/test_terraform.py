"""deploy/terraform reads as valid HCL, is formatted, and wires what the platform expects.

Offline: nothing here talks to Google Cloud or the Terraform registry. `terraform fmt`
runs where the terraform binary is installed; everything else needs only python-hcl2.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import hcl2
import pytest
from support.terraform_model import TERRAFORM, load_module, root, tf_files, unquote

# The settings model's names (defaults, TOML [section] field, WINTER_DAYS_<SECTION>_<FIELD>):
# a container given any other WINTER_DAYS_* variable stops at start on the unknown name.
SETTINGS = {
    "": [
        "profile",
        "home",
        "lake_uri",
        "document_store_path",
        "warehouse_path",
        "dataform_dir",
        "seed",
        "customers",
        "population_start",
        "legacy_timestamp_share",
        "churn_horizon_days",
    ],
    "gcp": ["project_id", "region", "bucket", "firestore_database", "firestore_settle_seconds"],
    "elt": ["workers", "memory_limit"],
    "schedule": ["sales", "clickstream", "startups", "orchestrator", "missed_runs"],
    "orchestrator": ["url", "poll_interval_seconds", "poll_timeout_seconds", "run_deadline_seconds", "wait_for_run"],
    "auth": ["disabled", "token_file", "oidc_audiences", "allowed_callers"],
    "dataform": [
        "repository",
        "workspace",
        "git_commitish",
        "release_config",
        "service_account",
        "location",
        "api_endpoint",
        "schema_suffix",
        "default_database",
        "assertion_schema",
    ],
    "bigquery": ["location", "maximum_bytes_billed", "api_endpoint"],
    "vertex": [
        "service_account",
        "pipeline_root",
        "location",
        "image",
        "poll_interval_seconds",
        "poll_timeout_seconds",
    ],
    "pseudonym": ["key_file", "secret"],
    "lineage": ["url"],
    "retention": ["ml_runs_kept", "ml_run_days"],
}
SETTING_VARIABLES = {
    "WINTER_DAYS_" + "_".join(part for part in (section, name) if part).upper()
    for section, names in SETTINGS.items()
    for name in names
}


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_tf_file_parses(path):
    with path.open() as handle:
        assert hcl2.load(handle), f"{path} is empty"


def test_terraform_fmt_check():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed: terraform fmt -check not run (HCL parsing still is)")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"terraform fmt -recursive deploy/terraform would change:\n{result.stdout}"


@pytest.mark.parametrize("folder", [TERRAFORM, TERRAFORM / "modules" / "generator_job"], ids=["root", "generator_job"])
def test_variables_and_outputs_say_what_they_are(folder):
    module = load_module(folder)
    assert module.variables and module.outputs
    for kind, blocks in (("variable", module.variables), ("output", module.outputs)):
        for name, body in blocks.items():
            assert len(body.get("description", "")) >= 10, f"{kind} {name} in {folder.name} has no description"


def test_example_tfvars_sets_every_variable_without_default():
    example = unquote(hcl2.loads((TERRAFORM / "terraform.tfvars.example").read_text()))
    variables = root().variables
    assert set(example) <= set(variables), f"unknown in the example: {sorted(set(example) - set(variables))}"
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(example), f"the example misses required variables {sorted(required - set(example))}"


def test_container_settings_are_the_settings_models_names_and_live_in_env_tf():
    module = root()
    common, orchestrator = module.locals["env_common"], module.locals["env_orchestrator_only"]
    names = set(common) | set(orchestrator)
    assert names <= SETTING_VARIABLES, f"not settings of the model: {sorted(names - SETTING_VARIABLES)}"
    assert not set(common) & set(orchestrator)
    assert common["WINTER_DAYS_PROFILE"] == "gcp"
    # The bearer token is env-or-file only and unused on gcp: never a container setting.
    assert "WINTER_DAYS_AUTH_TOKEN" not in names
    for path in tf_files():
        if path.name != "env.tf":
            assigned = re.findall(r"\bWINTER_DAYS_[A-Z_]+\s*=", path.read_text())
            assert not assigned, f"{path.name} sets {assigned} outside env.tf"
    assert module.locals["env_orchestrator"] == "${merge(local.env_common, local.env_orchestrator_only)}"


def test_the_service_and_each_job_get_their_settings_and_command():
    module = root()
    container = module.resource("google_cloud_run_v2_service", "orchestrator").body["template"][0]["containers"][0]
    assert container["args"] == ["--profile", "gcp", "serve"]
    assert container["dynamic"][0]["env"]["for_each"] == "${local.env_orchestrator}"
    generator = module.modules["generator"]
    assert generator["env"] == "${local.env_common}"
    assert {v["flow"] for v in module.locals["generators"].values()} == {"sales", "clickstream", "startups"}
    job = load_module(TERRAFORM / "modules" / "generator_job").resource("google_cloud_run_v2_job", "this").body
    job_container = job["template"][0]["template"][0]["containers"][0]
    assert job_container["args"] == ["--profile", "gcp", "generate", "${var.flow}"]
    assert job_container["dynamic"][0]["env"]["for_each"] == "${var.env}"


def test_the_service_keeps_cpu_and_an_instance_for_runs_that_go_on_after_202():
    template = root().resource("google_cloud_run_v2_service", "orchestrator").body["template"][0]
    assert template["containers"][0]["resources"][0]["cpu_idle"] is False
    scaling = template["scaling"][0]
    assert scaling["min_instance_count"] >= 1
    assert scaling["max_instance_count"] >= scaling["min_instance_count"]
    assert re.fullmatch(r"\d+s", template["timeout"])


def test_schedules_and_retries():
    module = root()
    variables = module.variables
    assert variables["schedule_generators"]["default"] == "0 1 * * *"
    assert variables["schedule_startups"]["default"] == "0 1 * * 5"  # Fridays
    assert variables["schedule_orchestrator"]["default"] == "0 2 * * *"
    schedules = {name: module.resolve(g["schedule"]) for name, g in module.locals["generators"].items()}
    assert schedules == {
        "winter-days-firestore-sales-gen": "0 1 * * *",
        "winter-days-clickstream-gen": "0 1 * * *",
        "winter-days-startup-gen": "0 1 * * 5",
    }
    triggers = [
        module.resource("google_cloud_scheduler_job", "orchestrator").body,
        load_module(TERRAFORM / "modules" / "generator_job").resource("google_cloud_scheduler_job", "this").body,
    ]
    for trigger in triggers:
        assert trigger["time_zone"] == "Etc/UTC"
        assert trigger["retry_config"][0]["retry_count"] >= 1
    # A job is started through the Admin API, which takes OAuth tokens (not OIDC ones).
    assert "oauth_token" in triggers[1]["http_target"][0]


def test_lake_bucket_access_and_lifecycle():
    module = root()
    bucket = module.resource("google_storage_bucket", "lake").body
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    rules = {
        (tuple(r["condition"][0].get("matches_prefix", [])), r["action"][0]["type"]): r
        for r in bucket["lifecycle_rule"]
    }
    cold = rules[(("bronze/",), "SetStorageClass")]
    assert cold["condition"][0]["age"] == "${var.bronze_cold_after_days}"
    assert cold["action"][0]["storage_class"] == "${var.bronze_cold_storage_class}"
    runs = rules[(("mlops/runs/", "mlops/pipeline_root/"), "Delete")]
    assert runs["condition"][0]["age"] == "${var.ml_run_artifacts_days}"
    # The service is told the same age, so its retention setting states the bucket's rule.
    assert module.locals["env_orchestrator_only"]["WINTER_DAYS_RETENTION_ML_RUN_DAYS"] == (
        "${tostring(var.ml_run_artifacts_days)}"
    )
    # Bronze is never deleted: a full refresh rebuilds everything from it.
    assert not [key for key in rules if key[1] == "Delete" and any(p.startswith("bronze") for p in key[0])]
    assert set(module.locals["lake_folders"]) >= {"bronze/sales/", "bronze/clickstream/", "bronze/startups/", "mlops/"}
    assert module.locals["pipeline_root"] == "gs://${local.bucket_name}/mlops/pipeline_root"


def test_alerts_use_the_run_log_lines_and_the_notification_channel_variable():
    module = root()
    failed = module.resource("google_logging_metric", "run_failed").body["filter"]
    assert "severity>=ERROR" in failed and 'jsonPayload.event="run_failed"' in failed
    succeeded = module.resource("google_logging_metric", "run_succeeded").body["filter"]
    assert "run_succeeded" in succeeded
    policies = module.resources_of("google_monitoring_alert_policy")
    assert {p.name for p in policies} >= {"run_failed", "no_successful_run"}
    for policy in policies:
        assert policy.body["notification_channels"] == "${var.notification_channels}"
    absence = module.resource("google_monitoring_alert_policy", "no_successful_run").body["conditions"][0]
    query = absence["condition_prometheus_query_language"][0]["query"]
    assert query.startswith("absent_over_time(") and "[${var.missed_run_alert_hours}h]" in query
    assert module.variables["missed_run_alert_hours"]["default"] == 26
