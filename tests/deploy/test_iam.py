"""The IAM graph of deploy/terraform: it matches the table in README.md, row for row.

iam.tf keeps every grant in one table (`local.grants`); README.md gives the same
rows with the reason for each. These tests hold the two together and check the graph's
promises: no primitive role, the Firestore condition and the act-as limits, and nobody but
the scheduler's account able to invoke the orchestrator.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from support.terraform_model import DEPLOY, TERRAFORM, Module, root, tf_files

SCHEDULER = "winter-days-scheduler-sa"
ORCHESTRATOR = "winter-days-orchestrator-sa"
DATAFORM_EXEC = "dataform-exec-sa"
VERTEX = "winter-days-vertex-ai-sa"
DATAFORM_AGENT = "dataform-service-agent"
SERVICE = "service:winter-days-batch-orchestrator"
PRIMITIVE = re.compile(r"roles/(owner|editor|viewer)\b")
# IAM resource types and the scope kind of local.grants each one applies.
IAM_RESOURCES = {
    "google_project_iam_member": {"project", "firestore"},
    "google_storage_managed_folder_iam_member": {"folder"},
    "google_bigquery_dataset_iam_member": {"dataset"},
    "google_service_account_iam_member": {"sa"},
    "google_secret_manager_secret_iam_member": {"secret"},
    "google_cloud_run_v2_service_iam_member": {"service"},
    "google_cloud_run_v2_job_iam_member": {"job"},
    "google_dataform_repository_iam_member": {"repository"},
}

Grant = tuple[str, str, str]  # account, role, scope


def terraform_grants(module: Module) -> set[Grant]:
    rows = [(g["account"], g["role"], module.resolve(g["on"])) for g in module.locals["grants"]]
    assert len(rows) == len(set(rows)), "iam.tf lists a grant twice"
    return set(rows)


def readme_grants() -> set[Grant]:
    text = (DEPLOY.parent / "README.md").read_text()
    match = re.search(r"<!-- iam-table:start -->\n(.*?)<!-- iam-table:end -->", text, re.S)
    assert match, "README.md has no iam-table markers around the service account table"
    rows = []
    for line in match.group(1).splitlines()[2:]:  # past the header and its rule
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        assert len(cells) == 4 and all(cells), f"README.md: malformed table row {line!r}"
        rows.append(tuple(cells[:3]))
    assert len(rows) == len(set(rows)), "README.md lists a grant twice"
    return set(rows)


def by_account(grants: set[Grant]) -> dict[str, set[tuple[str, str]]]:
    accounts: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for account, role, scope in grants:
        accounts[account].add((role, scope))
    return accounts


@pytest.fixture(scope="module")
def module() -> Module:
    return root()


@pytest.fixture(scope="module")
def grants(module) -> set[Grant]:
    return terraform_grants(module)


def test_each_account_holds_exactly_the_roles_of_the_readme_table(grants):
    terraform, documented = by_account(grants), by_account(readme_grants())
    assert sorted(terraform) == sorted(documented)
    for account in terraform:
        assert terraform[account] == documented[account], (
            f"{account}: only in iam.tf {sorted(terraform[account] - documented[account])}, "
            f"only in the README {sorted(documented[account] - terraform[account])}"
        )


def test_the_six_accounts_of_the_guide_and_the_vertex_account_are_declared(module):
    assert set(module.locals["service_accounts"]) == {
        SCHEDULER,
        "winter-days-sales-gen-sa",
        "winter-days-clickstream-gen-sa",
        "winter-days-startup-gen-sa",
        ORCHESTRATOR,
        DATAFORM_EXEC,
        VERTEX,
    }
    for account_id in module.locals["service_accounts"]:
        # Service account ids: 6 to 30 characters, lowercase letters, digits and hyphens.
        assert re.fullmatch(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", account_id), account_id


def test_every_grant_names_a_declared_account_and_an_existing_scope(module, grants):
    locals_ = module.locals
    targets = {
        "folder": set(locals_["lake_folders"]),
        "dataset": set(locals_["datasets"]),
        "sa": set(locals_["service_accounts"]),
        "secret": {locals_["pseudonym_secret"], module.variables["dataform_git_token_secret"]["default"]},
        "service": {locals_["orchestrator_service"]},
        "job": set(locals_["generators"]),
        "repository": {locals_["dataform_repository"]},
    }
    for account, role, scope in grants:
        assert account in locals_["service_accounts"] or account == DATAFORM_AGENT, account
        assert role.startswith("roles/"), role
        kind, _, target = scope.partition(":")
        if kind in ("project", "firestore"):
            assert target == "", scope
        else:
            assert target in targets[kind], f"{account} {role}: no {kind} named {target!r}"


def test_no_primitive_role_anywhere():
    for path in tf_files():
        found = PRIMITIVE.findall(path.read_text())
        assert not found, f"{path.relative_to(TERRAFORM)} grants a primitive role: {found}"
    assert not PRIMITIVE.search((DEPLOY.parent / "README.md").read_text().split("<!-- iam-table:start -->")[1])


def test_iam_bindings_come_only_from_the_grants_table(module):
    """Every IAM resource sits in iam.tf and applies rows of local.grants; none is authoritative."""
    for path in tf_files():
        text = path.read_text()
        assert not re.search(r'resource\s+"google_\w+_iam_(binding|policy)"', text), (
            f"{path.name}: authoritative IAM (a binding or policy resource) would remove grants made outside Terraform"
        )
        if path.name != "iam.tf":
            assert not re.search(r'resource\s+"google_\w+_iam_member"', text), (
                f"{path.name} declares an IAM member outside iam.tf"
            )
    iam = [r for r in module.resources if r.type.endswith("_iam_member")]
    assert {r.type for r in iam} == set(IAM_RESOURCES)
    for resource in iam:
        kind = re.fullmatch(r'\$\{local\.grants_by_kind\["(\w+)"\]\}', resource.body["for_each"])
        assert kind and kind.group(1) in IAM_RESOURCES[resource.type], (
            f"{resource.address} applies {resource.body['for_each']}"
        )
        assert resource.body["member"] == "${local.members[each.value.account]}", resource.address
        assert resource.body["role"] == "${each.value.role}", resource.address
    kinds = {scope.partition(":")[0] for _, _, scope in terraform_grants(module)}
    assert kinds <= set().union(*IAM_RESOURCES.values())


def test_only_the_scheduler_can_invoke_the_orchestrator(module, grants):
    on_service = {(account, role) for account, role, scope in grants if scope == SERVICE}
    assert on_service == {(SCHEDULER, "roles/run.invoker")}
    # A project-wide Cloud Run role would reach the service too.
    assert not [g for g in grants if g[2] == "project" and g[1].startswith("roles/run.")]
    service = module.resource("google_cloud_run_v2_service", "orchestrator").body
    assert service.get("invoker_iam_disabled") in (None, False)
    assert "allUsers" not in (TERRAFORM / "iam.tf").read_text()
    # The service's own check admits the scheduler's account and the audience its token carries.
    env = module.locals["env_orchestrator_only"]
    assert (
        env["WINTER_DAYS_AUTH_ALLOWED_CALLERS"]
        == '${google_service_account.accounts["winter-days-scheduler-sa"].email}'
    )
    trigger = module.resource("google_cloud_scheduler_job", "orchestrator").body["http_target"][0]
    oidc = trigger["oidc_token"][0]
    assert oidc["service_account_email"] == '${google_service_account.accounts["winter-days-scheduler-sa"].email}'
    assert oidc["audience"] == "${local.orchestrator_url}"
    assert "local.orchestrator_url" in env["WINTER_DAYS_AUTH_OIDC_AUDIENCES"]
    assert trigger["uri"] == "${local.orchestrator_url}/run"


def test_the_acting_as_limits_and_the_firestore_condition(module, grants):
    """The guide's condition: the orchestrator may act as the Dataform identity and nothing wider."""
    act_as = {
        (a, s) for a, r, s in grants if r in ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")
    }
    assert act_as == {
        (ORCHESTRATOR, f"sa:{DATAFORM_EXEC}"),
        (ORCHESTRATOR, f"sa:{VERTEX}"),
        (DATAFORM_AGENT, f"sa:{DATAFORM_EXEC}"),
    }
    assert (DATAFORM_AGENT, "roles/iam.serviceAccountTokenCreator", f"sa:{DATAFORM_EXEC}") in grants
    repository = module.resource("google_dataform_repository", "data").body
    assert repository["service_account"] == '${google_service_account.accounts["dataform-exec-sa"].email}'
    env = module.locals["env_orchestrator_only"]
    assert env["WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT"] == repository["service_account"]
    # Firestore: every datastore grant is the conditional one, limited to the platform's database.
    assert {s for _, r, s in grants if r.startswith("roles/datastore.")} == {"firestore"}
    condition = module.resource("google_project_iam_member", "firestore").body["condition"][0]
    assert (
        module.resolve(condition["expression"])
        == f'resource.name == "projects/{"${var.project_id}"}/databases/(default)"'
    )
    assert "condition" not in module.resource("google_project_iam_member", "grants").body


def test_pseudonymising_accounts_read_the_key_and_nobody_else(grants):
    readers = {a for a, r, s in grants if s == "secret:winter-days-pseudonym-key"}
    assert readers == {
        "winter-days-sales-gen-sa",
        "winter-days-clickstream-gen-sa",
        "winter-days-startup-gen-sa",
        ORCHESTRATOR,
    }
    assert {r for a, r, s in grants if s == "secret:winter-days-pseudonym-key"} == {
        "roles/secretmanager.secretAccessor"
    }


def test_generators_reach_only_their_own_lake_area(grants):
    for account, folder in [
        ("winter-days-clickstream-gen-sa", "folder:bronze/clickstream/"),
        ("winter-days-startup-gen-sa", "folder:bronze/startups/"),
        ("winter-days-sales-gen-sa", "folder:ground_truth/"),
    ]:
        storage = {(r, s) for a, r, s in grants if a == account and r.startswith("roles/storage.")}
        # Create and read, never delete: a generator cannot replace a file it or another wrote.
        assert storage == {("roles/storage.objectCreator", folder), ("roles/storage.objectViewer", folder)}
