"""The main job end to end at a small scale: simulate, resume, start over; and backfill."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from winter_days.cli import main

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[3]
SMALL = ["--no-serve", "--sales-per-day", "60", "--clicks-per-day", "300"]


@pytest.fixture
def installation(tmp_path, monkeypatch):
    """A small world: 400 customers and a 7-day churn horizon, so the model trains within a month."""
    for name in list(__import__("os").environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    shutil.copytree(REPOSITORY / "dataform", tmp_path / "dataform", ignore=shutil.ignore_patterns("node_modules"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WINTER_DAYS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINTER_DAYS_CUSTOMERS", "400")
    monkeypatch.setenv("WINTER_DAYS_CHURN_HORIZON_DAYS", "7")
    monkeypatch.setenv("WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS", "0.05")
    return tmp_path / "home"


def demo(*args: str):
    result = CliRunner().invoke(main, ["demo", *args, *SMALL], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def query(home: Path, sql: str):
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_demo_simulates_resumes_and_starts_over(installation):
    home = installation
    result = demo("--days", "30")
    state = json.loads((home / "demo.json").read_text())
    assert state["days_done"] == 30 and state["first_day"] == "2026-01-01"
    # The model trains once the 7-day horizon's time split has 28 days of history, then weekly.
    assert [run["day"] for run in state["runs"] if run["trained"]] == ["2026-01-29"]
    assert "Top customers at risk of churn" in result.output and "Rows per layer and flow" in result.output

    # Every layer is filled and the layers agree with each other and with the source.
    sales_docs = 30 * 60
    assert len(list((home / "lake" / "bronze" / "clickstream").rglob("*.jsonl"))) == 30
    [(staged, facts, customers, predicted, unknown, bad_probabilities)] = query(
        home,
        """
        SELECT (SELECT count(*) FROM winter_days_staging.stg_sales),
               (SELECT count(*) FROM winter_days_warehouse.fct_sales),
               (SELECT count(*) FROM winter_days_warehouse.dim_customer),
               (SELECT count(*) FROM winter_days_warehouse.fact_predictions_churn
                 WHERE as_of_date = (SELECT max(as_of_date) FROM winter_days_warehouse.fact_predictions_churn)),
               (SELECT count(*) FROM winter_days_warehouse.fact_predictions_churn p
                 WHERE p.customer_id NOT IN (SELECT customer_id FROM winter_days_warehouse.dim_customer)),
               (SELECT count(*) FROM winter_days_warehouse.fact_predictions_churn
                 WHERE NOT churn_probability BETWEEN 0 AND 1)
        """,
    )
    [(quarantined,)] = query(home, "SELECT count(*) FROM winter_days_staging.stg_sales_quarantine")
    assert staged + quarantined == sales_docs and facts == staged
    assert 0 < predicted <= customers and unknown == 0 and bad_probabilities == 0
    # One prediction per customer and as-of date: the champion scores every day from its first.
    assert query(
        home, "SELECT DISTINCT as_of_date::VARCHAR FROM winter_days_warehouse.fact_predictions_churn ORDER BY 1"
    ) == [
        ("2026-01-29",),
        ("2026-01-30",),
    ]
    accounting = query(
        home,
        "SELECT flow, rows_in_bronze, rows_staged + rows_quarantined + duplicates_removed FROM winter_days_staging.flow_row_accounting",
    )
    assert {flow for flow, _, _ in accounting} == {"sales", "clickstream", "startup"}
    assert all(rows_in == accounted and rows_in > 0 for _, rows_in, accounted in accounting)

    # A second demo continues with a new day and never duplicates a sale.
    demo("--days", "1")
    state = json.loads((home / "demo.json").read_text())
    assert state["days_done"] == 31 and state["runs"][-1]["day"] == "2026-01-31"
    [(facts, distinct)] = query(home, "SELECT count(*), count(DISTINCT sale_id) FROM winter_days_warehouse.fct_sales")
    assert (
        facts
        == distinct
        == 31 * 60 - query(home, "SELECT count(*) FROM winter_days_staging.stg_sales_quarantine")[0][0]
    )

    # --fresh starts over from the first day.
    demo("--fresh", "--days", "2")
    state = json.loads((home / "demo.json").read_text())
    assert state["days_done"] == 2 and [r["day"] for r in state["runs"]] == ["2026-01-01", "2026-01-02"]
    [(facts,)] = query(home, "SELECT count(*) FROM winter_days_warehouse.fct_sales")
    assert facts <= 2 * 60


def test_a_demo_with_another_world_is_refused_until_fresh(installation, monkeypatch):
    demo("--days", "1")
    monkeypatch.setenv("WINTER_DAYS_CUSTOMERS", "401")
    result = CliRunner().invoke(main, ["demo", "--days", "1", *SMALL])
    assert result.exit_code == 1 and "other customers" in result.output and "--fresh" in result.output


def _tables_digest(home: Path) -> str:
    digest = hashlib.sha256()
    for schema, table in query(
        home,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema LIKE 'winter_days_%' AND table_type = 'BASE TABLE' ORDER BY 1, 2",
    ):
        digest.update(f"{schema}.{table}".encode())
        for row in query(home, f"SELECT * FROM {schema}.{table} ORDER BY ALL"):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def test_backfill_twice_changes_nothing(installation):
    home = installation
    demo("--days", "3")
    runner = CliRunner()
    first = runner.invoke(
        main, ["backfill", "--from", "2026-01-01", "--to", "2026-01-03", "--no-ml"], catch_exceptions=False
    )
    assert first.exit_code == 0, first.output
    assert [line.split()[0] for line in first.output.splitlines()] == ["2026-01-01:", "2026-01-02:", "2026-01-03:"]
    digest = _tables_digest(home)
    warehouse = (home / "warehouse.duckdb").read_bytes()
    second = runner.invoke(
        main, ["backfill", "--from", "2026-01-01", "--to", "2026-01-03", "--no-ml"], catch_exceptions=False
    )
    assert second.exit_code == 0 and second.output.count("already run: kept") == 3
    assert _tables_digest(home) == digest and (home / "warehouse.duckdb").read_bytes() == warehouse
    bad = runner.invoke(main, ["backfill", "--from", "2026-01-03", "--to", "2026-01-01"])
    assert bad.exit_code == 2 and "before --from" in bad.output
