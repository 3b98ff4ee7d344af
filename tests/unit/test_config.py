"""One settings model: defaults, a TOML file, WINTER_DAYS_* variables and flags, each value
checked when loaded; unknown names stop the command with the closest valid one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from winter_days.config import NAMES, ConfigError, load_settings, settings_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_are_local_and_rooted_in_home(tmp_path):
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.profile == "local"
    assert s.home == tmp_path / ".winter-days"
    assert s.lake_uri == (tmp_path / ".winter-days" / "lake").as_uri()
    assert s.lake_root == tmp_path / ".winter-days" / "lake"
    assert s.document_store_path == tmp_path / ".winter-days" / "documents.sqlite3"
    assert s.warehouse_path == tmp_path / ".winter-days" / "warehouse.duckdb"
    assert s.run_store_path == tmp_path / ".winter-days" / "orchestrator.sqlite3"
    assert s.pseudonym.key_file == tmp_path / ".winter-days" / "pseudonym.key"
    assert (s.dataform_dir / "workflow_settings.yaml").is_file()  # the project shipped with the package
    assert s.orchestrator.poll_interval_seconds is None and s.orchestrator.poll_timeout_seconds == 1800
    assert s.auth.token == "" and not s.auth.disabled


def test_toml_file_then_env_then_overrides(tmp_path):
    cfg = tmp_path / "wd.toml"
    cfg.write_text(
        'seed = 7\ncustomers = 50\npopulation_start = 2025-06-01\n[gcp]\nregion = "us-east1"\n'
        '[orchestrator]\npoll_timeout_seconds = 600\n[auth]\nallowed_callers = ["a@x.test", "b@x.test"]\n'
    )
    s = load_settings(config_path=cfg, environ={"WINTER_DAYS_CUSTOMERS": "60"}, cwd=tmp_path)
    assert (s.seed, s.customers, s.population_start, s.gcp.region) == (7, 60, date(2025, 6, 1), "us-east1")
    assert s.orchestrator.poll_timeout_seconds == 600 and s.auth.allowed_callers == ("a@x.test", "b@x.test")
    s = load_settings(
        config_path=cfg, environ={"WINTER_DAYS_CUSTOMERS": "60"}, overrides={"customers": 70}, cwd=tmp_path
    )
    assert s.customers == 70


def test_variables_fill_sections_and_lists(tmp_path):
    s = load_settings(
        environ={
            "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "5",
            "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS": "600",
            "WINTER_DAYS_AUTH_DISABLED": "true",
            "WINTER_DAYS_AUTH_ALLOWED_CALLERS": "a@x.test, b@x.test",
            "WINTER_DAYS_ELT_WORKERS": "3",
            "WINTER_DAYS_DATAFORM_DIR": str(tmp_path / "project"),
        },
        cwd=tmp_path,
    )
    assert (s.orchestrator.poll_interval_seconds, s.orchestrator.poll_timeout_seconds) == (5.0, 600.0)
    assert s.auth.disabled and s.auth.allowed_callers == ("a@x.test", "b@x.test")
    assert s.elt.workers == 3 and s.dataform_dir == tmp_path / "project"


def test_config_file_found_by_env_and_in_cwd(tmp_path):
    (tmp_path / "winter-days.toml").write_text("seed = 3\n")
    assert load_settings(environ={}, cwd=tmp_path).seed == 3
    other = tmp_path / "other.toml"
    other.write_text("seed = 4\n")
    assert load_settings(environ={"WINTER_DAYS_CONFIG": str(other)}, cwd=tmp_path).seed == 4


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"WINTER_DAYS_PROFILE": "aws"},
            "setting profile (WINTER_DAYS_PROFILE): 'aws' is not allowed; allowed: local, gcp",
        ),
        ({"WINTER_DAYS_LAKE_URI": "s3://bucket/x"}, "scheme 's3'"),
        ({"WINTER_DAYS_LAKE_URI": "gs://"}, "names no bucket"),
        (
            {"WINTER_DAYS_CUSTOMERS": "many"},
            "setting customers (WINTER_DAYS_CUSTOMERS) from the environment: expected a whole number, got 'many'",
        ),
        ({"WINTER_DAYS_CUSTOMERS": "0"}, "setting customers (WINTER_DAYS_CUSTOMERS): 0 is outside"),
        ({"WINTER_DAYS_ELT_WORKERS": "0"}, "setting elt.workers (WINTER_DAYS_ELT_WORKERS): 0 is outside 1..64"),
        ({"WINTER_DAYS_ELT_MEMORY_LIMIT": "lots"}, "'lots' is not a size"),
        ({"WINTER_DAYS_LEGACY_TIMESTAMP_SHARE": "1.5"}, "setting legacy_timestamp_share"),
        ({"WINTER_DAYS_POPULATION_START": "March"}, "expected a date"),
        (
            {"WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "soon"},
            "ORCHESTRATOR_POLL_INTERVAL_SECONDS) from the environment: expected a number",
        ),
        ({"WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS": "-1"}, "-1.0 is outside"),
        (
            {
                "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "90",
                "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS": "60",
            },
            "is longer than",
        ),
        (
            {"WINTER_DAYS_AUTH_DISABLED": "perhaps"},
            "WINTER_DAYS_AUTH_DISABLED) from the environment: expected true or false",
        ),
        ({"WINTER_DAYS_AUTH_TOKEN": "short"}, "at least 16 characters"),
        ({"WINTER_DAYS_AUTH_TOKEN_FILE": "/nonexistent/token"}, "WINTER_DAYS_AUTH_TOKEN_FILE): cannot read"),
        ({"WINTER_DAYS_SCHEDULE_SALES": "daily"}, "not a 5-field cron expression"),
        ({"WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": "me@example.com"}, "is not a service account e-mail"),
        ({"WINTER_DAYS_DATAFORM_WORKSPACE": "w", "WINTER_DAYS_DATAFORM_RELEASE_CONFIG": "r"}, "set one of"),
        ({"WINTER_DAYS_VERTEX_IMAGE": "not an image"}, "is not an image path"),
        ({"WINTER_DAYS_BIGQUERY_MAXIMUM_BYTES_BILLED": "-5"}, "is outside"),
        ({"WINTER_DAYS_HOME": ""}, "setting home (WINTER_DAYS_HOME) from the environment: empty"),
        ({"WINTER_DAYS_WAREHOUSE_PATH": "  "}, "empty"),
    ],
)
def test_bad_values_fail_naming_the_setting(tmp_path, environ, message):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ, cwd=tmp_path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("WINTER_DAYS_CUSTOMER", "did you mean WINTER_DAYS_CUSTOMERS?"),
        ("WINTER_DAYS_GCP_PROJCT_ID", "did you mean WINTER_DAYS_GCP_PROJECT_ID?"),
        ("WINTER_DAYS_POLL_TIMEOUT_SECONDS", "it is now WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS"),
        ("WINTER_DAYS_OIDC_AUDIENCE", "it is now WINTER_DAYS_AUTH_OIDC_AUDIENCES"),
        ("WINTER_DAYS_NOTHING_LIKE_IT_AT_ALL", "unknown variable WINTER_DAYS_NOTHING_LIKE_IT_AT_ALL"),
    ],
)
def test_an_unknown_variable_stops_naming_the_closest_setting(tmp_path, variable, hint):
    with pytest.raises(ConfigError, match="unknown variable") as err:
        load_settings(environ={variable: "1"}, cwd=tmp_path)
    assert hint in str(err.value)


def test_the_gcp_profile_defaults_the_lake_to_its_bucket(tmp_path):
    s = load_settings(
        environ={"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "p1", "WINTER_DAYS_GCP_BUCKET": "lake-b"},
        cwd=tmp_path,
    )
    assert s.lake_uri == "gs://lake-b"


def test_unknown_keys_and_bad_toml_are_named(tmp_path):
    cfg = tmp_path / "wd.toml"
    cfg.write_text("sede = 1\n")
    with pytest.raises(ConfigError, match="unknown setting sede; did you mean seed"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    cfg.write_text("[gcp]\nprojectid = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting gcp.projectid; did you mean project_id"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    cfg.write_text("seed = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_path=tmp_path / "missing.toml", environ={}, cwd=tmp_path)


def test_the_bearer_token_is_never_read_from_a_settings_file(tmp_path):
    cfg = tmp_path / "wd.toml"
    cfg.write_text('[auth]\ntoken = "s3cret-token-for-tests-0123456789"\n')
    with pytest.raises(ConfigError, match="auth.token is a secret"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="unknown variable"):
        load_settings(environ={"WINTER_DAYS_AUTH_AUTH_TOKEN": "x"}, cwd=tmp_path)


def test_an_empty_token_file_is_refused(tmp_path):
    empty = tmp_path / "token"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_settings(environ={"WINTER_DAYS_AUTH_TOKEN_FILE": str(empty)}, cwd=tmp_path)


def test_relative_paths_resolve_against_cwd(tmp_path):
    s = load_settings(environ={"WINTER_DAYS_HOME": "data", "WINTER_DAYS_WAREHOUSE_PATH": "wh/w.duckdb"}, cwd=tmp_path)
    assert s.home == tmp_path / "data"
    assert s.warehouse_path == tmp_path / "wh" / "w.duckdb"
    assert isinstance(s.dataform_dir, Path) and s.dataform_dir.is_absolute()


def test_settings_round_trip_through_their_mapping_without_secrets(tmp_path):
    s = load_settings(
        environ={"WINTER_DAYS_AUTH_TOKEN": "s3cret-token-for-tests-0123456789", "WINTER_DAYS_GCP_REGION": "us-east1"},
        cwd=tmp_path,
    )
    mapping = s.to_mapping()
    assert "token" not in mapping.get("auth", {}) and "s3cret" not in repr(mapping)
    again = load_settings(overrides=mapping, environ={}, cwd=tmp_path)
    assert again == type(s)(**{**s.__dict__, "auth": type(s.auth)(**{**s.auth.__dict__, "token": ""})})


def test_the_readme_settings_table_is_the_model():
    text = README.read_text()
    start, end = "<!-- settings:start -->\n", "<!-- settings:end -->"
    assert start in text and end in text, "README.md lacks the generated settings section"
    documented = text.split(start, 1)[1].split(end, 1)[0]
    assert documented == settings_reference(), (
        "README's settings table is stale: paste `winter-days settings --reference`"
    )
    assert all(f"`{name}`" in documented for name in NAMES)
