"""What the demo prints at the end: rows per layer and flow, quarantine, assertions, the
model, the top at-risk customers, where everything lives, and timings. Read from the
published warehouse (read-only) and the run history, like the dashboards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from winter_days.config import Settings

LAYER_TABLES = {
    "silver": {
        "sales": "winter_days_staging.stg_sales",
        "clickstream": "winter_days_staging.stg_click",
        "startups": "winter_days_staging.stg_startup",
    },
    "gold": {
        "sales": "winter_days_warehouse.fct_sales",
        "customers": "winter_days_warehouse.dim_customer",
        "customer features": "winter_days_warehouse.agg_cust_metrics",
        "clickstream": "winter_days_warehouse.fct_click_features",
        "startups (history)": "winter_days_warehouse.dim_startup",
        "churn predictions": "winter_days_warehouse.fact_predictions_churn",
    },
}
ACCOUNTING = "winter_days_staging.flow_row_accounting"
PREDICTIONS = "winter_days_warehouse.fact_predictions_churn"


@dataclass
class DemoSummary:
    layers: dict[str, dict[str, int | None]] = field(default_factory=dict)
    accounting: list[dict[str, Any]] = field(default_factory=list)
    top_at_risk: list[dict[str, Any]] = field(default_factory=list)
    last_run: dict[str, Any] = field(default_factory=dict)
    last_ml: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _count(con: Any, table: str) -> int | None:
    try:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except Exception:  # a table the run has not built (yet): shown as absent, not an error
        return None


def collect_summary(settings: Settings, runs: list[dict[str, Any]], top: int = 10) -> DemoSummary:
    """Gather the demo's closing summary; `runs` is the run history, newest first."""
    import duckdb

    summary = DemoSummary()
    summary.locations = {
        "home": str(settings.home),
        "lake (bronze, ground truth, model registry)": settings.lake_uri,
        "sales document store": str(settings.document_store_path),
        "published warehouse": str(settings.warehouse_path),
        "run history": str(settings.home / "orchestrator.sqlite3"),
        "model registry": f"{settings.lake_uri}/mlops/",
    }
    bronze_files = {}
    from winter_days.stores import open_lake

    lake = open_lake(settings)
    for flow in ("sales", "clickstream", "startups"):
        bronze_files[flow] = len(lake.list(f"bronze/{flow}/"))
    summary.layers["bronze (files)"] = bronze_files
    if runs:
        summary.last_run = runs[0]
        summary.last_ml = next(
            (step["counts"] for run in runs for step in run.get("steps", [])
             if step.get("name") == "ml" and step.get("status") == "succeeded" and step.get("counts", {}).get("model_version")),
            {},
        )
    if not settings.warehouse_path.exists():
        return summary
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        for layer, tables in LAYER_TABLES.items():
            summary.layers[layer] = {name: _count(con, table) for name, table in tables.items()}
        if _count(con, ACCOUNTING) is not None:
            summary.accounting = _rows(con, f"SELECT * FROM {ACCOUNTING} ORDER BY flow")
        if _count(con, PREDICTIONS):
            summary.top_at_risk = _rows(
                con,
                f"""
                SELECT COALESCE(d.customer_label, p.customer_id) AS customer, d.region,
                       round(p.churn_probability, 3) AS churn_probability, p.risk_tier,
                       round(d.lifetime_value, 2) AS lifetime_value, p.as_of_date
                FROM {PREDICTIONS} p
                LEFT JOIN winter_days_warehouse.dim_customer d USING (customer_id)
                WHERE p.as_of_date = (SELECT max(as_of_date) FROM {PREDICTIONS})
                ORDER BY p.churn_probability DESC, p.customer_id
                LIMIT {int(top)}
                """,
            )
    finally:
        con.close()
    return summary


def render_summary(summary: DemoSummary, console: Any, timings: dict[str, float]) -> None:
    """Print the summary as rich tables."""
    from rich.table import Table

    layers = Table(title="Rows per layer and flow")
    layers.add_column("layer")
    layers.add_column("flow / table")
    layers.add_column("rows", justify="right")
    for layer, counts in summary.layers.items():
        for name, count in counts.items():
            layers.add_row(layer, name, "not built" if count is None else f"{count:,}")
    console.print(layers)

    if summary.accounting:
        accounting = Table(title="Every bronze row accounted for (in = staged + quarantined + duplicates)")
        for column in ("flow", "rows_in_bronze", "rows_staged", "rows_quarantined", "duplicates_removed"):
            accounting.add_column(column, justify="left" if column == "flow" else "right")
        for row in summary.accounting:
            accounting.add_row(*(str(row.get(c)) for c in ("flow", "rows_in_bronze", "rows_staged", "rows_quarantined", "duplicates_removed")))
        console.print(accounting)

    poll = next((s for s in summary.last_run.get("steps", []) if s.get("name") == "poll"), None)
    if poll:
        counts = poll.get("counts", {})
        states = ", ".join(f"{k.removeprefix('actions_')}: {v}" for k, v in counts.items() if k.startswith("actions_"))
        console.print(f"ELT actions and assertions in the last run: {states}")

    if summary.last_ml:
        ml = summary.last_ml
        metrics = ", ".join(
            f"{k.removeprefix('candidate_')}={v:.3f}" for k, v in ml.items() if k.startswith("candidate_") and isinstance(v, float)
        )
        console.print(
            f"Churn model {ml.get('model_version')} (champion: {ml.get('champion')}, promoted: {ml.get('promoted')}"
            f"{'; ' + str(ml.get('gate_reason')) if ml.get('gate_reason') else ''}): {metrics}"
        )
    else:
        console.print("No churn model yet: the demo trains once it has enough history (see --days).")

    if summary.top_at_risk:
        risk = Table(title="Top customers at risk of churn")
        for column in summary.top_at_risk[0]:
            risk.add_column(column)
        for row in summary.top_at_risk:
            risk.add_row(*(str(v) for v in row.values()))
        console.print(risk)

    where = Table(title="Where everything was written")
    where.add_column("what")
    where.add_column("where")
    for what, location in summary.locations.items():
        where.add_row(what, location)
    console.print(where)
    console.print("Timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
