"""The gcp profile end to end: generators write sales to the Firestore emulator and
clickstream/startups to the storage emulator's lake, the orchestrator exports Firestore to
bronze Parquet in that lake (its run state in Firestore), and the gold tables equal those
the local profile builds from the same seed and days.

The local DuckDB executor stands in for BigQuery. It reads bronze from a folder, so the ELT
backend used here first mirrors the lake's bronze/ objects into one (as BigQuery's external
tables read the bucket); the SQL models and the executor are the local profile's own.
"""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import duckdb
import pytest

from winter_days.config import Settings, load_settings
from winter_days.generators.customers import pool_from_settings
from winter_days.generators.jobs import write_clickstream, write_sales, write_startups
from winter_days.platform import build_platform
from winter_days.runs.firestore import FirestoreRunStore
from winter_days.orchestrator.pipeline import RunParameters
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.steps import SALES_WATERMARK, make_pipeline
from winter_days.stores import Lake

pytestmark = [pytest.mark.emulator, pytest.mark.slow, pytest.mark.xdist_group("firestore_emulator")]

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS, SALES_PER_DAY, CLICKS_PER_DAY, STARTUPS = 80, 25, 60, 15
# Two orchestrator runs: the second exports only what changed since the first (the watermark).
BATCHES = (range(0, 6), range(6, 11))
GOLD = (
    "winter_days_warehouse.fct_sales",
    "winter_days_warehouse.dim_customer",
    "winter_days_warehouse.agg_cust_metrics",
    "winter_days_warehouse.fct_click_features",
    "winter_days_warehouse.dim_startup",
)
# When a run loaded or exported a row, and the store's own change counter (an SQLite sequence
# locally, a commit time in microseconds on Firestore): neither is part of the data.
RUN_DEPENDENT = {"loaded_at", "parsed_at", "exported_at", "staged_at", "document_update_seq"}
POLL = {"WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.05", "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS": "600"}


def installation(root: Path, **environ: str) -> Settings:
    shutil.copytree(REPO / "dataform", root / "dataform", ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    return load_settings(
        environ={
            "WINTER_DAYS_HOME": str(root / "home"),
            "WINTER_DAYS_DATAFORM_DIR": str(root / "dataform"),
            "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
            **POLL,
            # One key for both profiles (on gcp a Secret Manager secret mounted as this file):
            # the same pseudonyms make the same gold tables.
            "WINTER_DAYS_PSEUDONYM_KEY_FILE": str(root.parent / "pseudonym.key"),
            **environ,
        },
        cwd=root,
    )


def generate(settings: Settings, days: range) -> None:
    """The generator jobs for these days, into the profile's document store and lake."""
    platform = build_platform(settings)
    store, lake, pool = platform.document_store(), platform.lake, pool_from_settings(settings, platform.pseudonymiser)
    try:
        for offset in days:
            day = settings.population_start + timedelta(days=offset)
            write_sales(store, lake, pool, day, count=SALES_PER_DAY)
            write_clickstream(lake, pool, day, count=CLICKS_PER_DAY)
            if offset % 7 == 0:
                write_startups(lake, settings.seed, settings.population_start, day, count=STARTUPS, pseudonyms=pool.pseudonyms)
    finally:
        store.close()


def mirrored_bronze_backend(settings: Settings, lake: Lake, mirror: Path) -> Callable[[], Any]:
    """The local ELT backend over a folder holding a copy of the lake's bronze/ objects."""

    def open_backend() -> Any:
        for key in lake.list("bronze/"):
            target = mirror / key
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(lake.get(key))
        from winter_days.elt.engines.duckdb.backend import DuckDBBackend

        return DuckDBBackend(settings.dataform_dir, settings.warehouse_path, mirror)

    return open_backend


def run_batches(settings: Settings, backend_factory: Callable[[], Any] | None = None) -> list[dict[str, Any]]:
    platform = build_platform(settings)
    launcher = RunLauncher(platform, make_pipeline(platform, backend_factory))
    runs = []
    for days in BATCHES:
        generate(settings, days)
        run = launcher.trigger({"source": "test"}, RunParameters(as_of=None, ml=False)).run
        assert run is not None and run["status"] == "succeeded", run
        runs.append(run)
    return runs


def gold_rows(settings: Settings) -> dict[str, list[tuple]]:
    """Each gold table's rows, in a fixed order, without run-dependent columns; file names as lake keys."""
    tables = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table in GOLD:
            schema, name = table.split(".")
            columns = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?"
                    " ORDER BY ordinal_position",
                    [schema, name],
                ).fetchall()
                if row[0] not in RUN_DEPENDENT
            ]
            # Bronze files are read from different folders by the two runs: compare their lake keys.
            select = ", ".join(
                f"regexp_extract({c}, 'bronze/.*$') AS {c}" if c == "source_file" else c for c in columns
            )
            tables[table] = con.execute(f"SELECT {select} FROM {table} ORDER BY ALL").fetchall()
    return tables


@pytest.fixture
def bucket(storage_emulator) -> str:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    name = f"wd-e2e-{uuid.uuid4().hex[:12]}"
    storage.Client(project="wd-test", credentials=AnonymousCredentials()).create_bucket(name)
    return name


def test_the_gcp_profile_builds_the_same_gold_tables_as_the_local_profile(tmp_path, firestore_project, bucket):
    local = installation(tmp_path / "local")
    gcp = installation(
        tmp_path / "gcp",
        WINTER_DAYS_PROFILE="gcp",
        WINTER_DAYS_GCP_PROJECT_ID=firestore_project,
        WINTER_DAYS_LAKE_URI=f"gs://{bucket}/lake",
    )
    assert local.seed == gcp.seed and local.population_start == gcp.population_start

    local_runs = run_batches(local)
    lake = build_platform(gcp).lake
    gcp_runs = run_batches(gcp, mirrored_bronze_backend(gcp, lake, tmp_path / "gcp" / "bronze-mirror"))

    # The sales went through Firestore and the export wrote bronze Parquet to the bucket.
    assert [r["steps"][0]["counts"]["rows"] for r in gcp_runs] == [
        len(days) * SALES_PER_DAY for days in BATCHES
    ] == [r["steps"][0]["counts"]["rows"] for r in local_runs]
    exported = [key for key in lake.list("bronze/sales/") if key.endswith(".parquet")]
    assert sorted(exported) == sorted(r["steps"][0]["counts"]["key"] for r in gcp_runs)
    assert not (gcp.home / "lake").exists()
    # The run state lives in Firestore: both runs, and the watermark the second export reached.
    history = build_platform(gcp).run_store
    assert isinstance(history, FirestoreRunStore) and not (gcp.home / "orchestrator.sqlite3").exists()
    assert [r["run_id"] for r in history.list_runs()] == [r["run_id"] for r in reversed(gcp_runs)]
    assert history.watermark(SALES_WATERMARK) == gcp_runs[-1]["steps"][0]["counts"]["watermark_to"]

    local_gold, gcp_gold = gold_rows(local), gold_rows(gcp)
    for table in GOLD:
        assert local_gold[table], f"{table} is empty: the comparison would prove nothing"
        assert gcp_gold[table] == local_gold[table], table
    assert len(local_gold["winter_days_warehouse.fct_sales"]) == sum(len(d) for d in BATCHES) * SALES_PER_DAY
