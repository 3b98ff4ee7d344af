from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from winter_days.config import ConfigError, load_settings


def test_defaults_are_local_and_rooted_in_home(tmp_path):
    s = load_settings(environ={}, cwd=tmp_path)
    assert s.profile == "local"
    assert s.home == tmp_path / ".winter-days"
    assert s.lake_uri == (tmp_path / ".winter-days" / "lake").as_uri()
    assert s.lake_root == tmp_path / ".winter-days" / "lake"
    assert s.document_store_path == tmp_path / ".winter-days" / "documents.sqlite3"
    assert s.warehouse_path == tmp_path / ".winter-days" / "warehouse.duckdb"


def test_toml_file_then_env_then_overrides(tmp_path):
    cfg = tmp_path / "wd.toml"
    cfg.write_text('seed = 7\ncustomers = 50\npopulation_start = 2025-06-01\n[gcp]\nregion = "us-east1"\n')
    s = load_settings(config_path=cfg, environ={"WINTER_DAYS_CUSTOMERS": "60"}, cwd=tmp_path)
    assert (s.seed, s.customers, s.population_start, s.gcp_region) == (7, 60, date(2025, 6, 1), "us-east1")
    s = load_settings(config_path=cfg, environ={"WINTER_DAYS_CUSTOMERS": "60"}, overrides={"customers": 70}, cwd=tmp_path)
    assert s.customers == 70


def test_config_file_found_by_env_and_in_cwd(tmp_path):
    (tmp_path / "winter-days.toml").write_text("seed = 3\n")
    assert load_settings(environ={}, cwd=tmp_path).seed == 3
    other = tmp_path / "other.toml"
    other.write_text("seed = 4\n")
    assert load_settings(environ={"WINTER_DAYS_CONFIG": str(other)}, cwd=tmp_path).seed == 4


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WINTER_DAYS_PROFILE": "aws"}, "setting profile: unknown profile 'aws'; allowed: local, gcp"),
        ({"WINTER_DAYS_LAKE_URI": "s3://bucket/x"}, "setting lake_uri: scheme 's3'"),
        ({"WINTER_DAYS_LAKE_URI": "gs://bucket"}, "allowed: file://"),
        ({"WINTER_DAYS_PROFILE": "gcp"}, "setting gcp_project_id: required by the gcp profile"),
        ({"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "p", "WINTER_DAYS_LAKE_URI": "gs://"}, "names no bucket"),
        ({"WINTER_DAYS_CUSTOMERS": "many"}, "setting customers: expected a whole number, got 'many'"),
        ({"WINTER_DAYS_CUSTOMERS": "0"}, "setting customers: 0 is outside"),
        ({"WINTER_DAYS_ELT_WORKERS": "0"}, "setting elt_workers: 0 is outside 1..64"),
        ({"WINTER_DAYS_ELT_MEMORY_LIMIT": "lots"}, "setting elt_memory_limit: 'lots' is not a size"),
        ({"WINTER_DAYS_LEGACY_TIMESTAMP_SHARE": "1.5"}, "setting legacy_timestamp_share"),
        ({"WINTER_DAYS_POPULATION_START": "March"}, "setting population_start: expected a date"),
    ],
)
def test_bad_values_fail_naming_the_setting(tmp_path, environ, message):
    with pytest.raises(ConfigError) as err:
        load_settings(environ=environ, cwd=tmp_path)
    assert message in str(err.value)


def test_gcp_profile_defaults_the_lake_to_its_bucket(tmp_path):
    s = load_settings(
        environ={"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "p1", "WINTER_DAYS_GCP_BUCKET": "lake-b"},
        cwd=tmp_path,
    )
    assert s.lake_uri == "gs://lake-b"


def test_unknown_keys_and_bad_toml_are_named(tmp_path):
    cfg = tmp_path / "wd.toml"
    cfg.write_text("sede = 1\n")
    with pytest.raises(ConfigError, match="unknown setting.*sede"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    cfg.write_text("seed = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config_path=cfg, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_path=tmp_path / "missing.toml", environ={}, cwd=tmp_path)


def test_relative_paths_resolve_against_cwd(tmp_path):
    s = load_settings(environ={"WINTER_DAYS_HOME": "data", "WINTER_DAYS_WAREHOUSE_PATH": "wh/w.duckdb"}, cwd=tmp_path)
    assert s.home == tmp_path / "data"
    assert s.warehouse_path == tmp_path / "wh" / "w.duckdb"
    assert isinstance(s.dataform_dir, Path) and s.dataform_dir.is_absolute()
