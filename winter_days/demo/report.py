"""What the demo prints at the end: rows per layer and flow, quarantine, assertions, the
model, the top at-risk customers, where everything lives, and timings. Read through the
warehouse port and the run store, like the dashboards, and like them from gold tables: the
silver rows per flow are the run's own count of its staging tables (flow_row_accounting,
one row per flow), so the report scans no staging table of records, which BigQuery bills."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from winter_days.dashboard.churn_page import top_at_risk_sql
from winter_days.platform import Platform
from winter_days.warehouse import WarehouseMissing, WarehouseReader, tables
from winter_days.warehouse.tables import TableName

# Report name of each flow -> its name in flow_row_accounting.
SILVER_FLOWS = {"sales": "sales", "clickstream": "clickstream", "startups": "startup"}
GOLD_TABLES = {
    "sales": tables.FCT_SALES,
    "customers": tables.DIM_CUSTOMER,
    "customer features": tables.AGG_CUST_METRICS,
    "clickstream": tables.FCT_CLICK_FEATURES,
    "web sessions": tables.FCT_WEB_SESSIONS,
    "startups (history)": tables.DIM_STARTUP,
    "churn predictions": tables.FACT_PREDICTIONS_CHURN,
}


@dataclass
class DemoSummary:
    layers: dict[str, dict[str, int | None]] = field(default_factory=dict)
    accounting: list[dict[str, Any]] = field(default_factory=list)
    top_at_risk: list[dict[str, Any]] = field(default_factory=list)
    last_run: dict[str, Any] = field(default_factory=dict)
    last_ml: dict[str, Any] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)


def _count(reader: WarehouseReader, table: TableName) -> int | None:
    """Rows of a table; None for a table the runs have not built (yet)."""
    if table not in reader.tables():
        return None
    return int(reader.query(f"SELECT COUNT(*) AS n FROM {table}").column("n")[0].as_py())


def collect_summary(platform: Platform, runs: list[dict[str, Any]], top: int = 10) -> DemoSummary:
    """Gather the demo's closing summary; `runs` is the run history, newest first."""
    lake = platform.lake
    store = platform.document_store()
    try:
        documents = store.describe()
    finally:
        store.close()
    summary = DemoSummary()
    summary.locations = {
        "home": str(platform.settings.home),
        "lake (bronze, ground truth, model registry)": platform.settings.lake_uri,
        "sales document store": documents,
        "published warehouse": platform.warehouse.describe(),
        "run history": platform.run_store.describe(),
        "model registry": f"{platform.settings.lake_uri}/mlops/",
    }
    summary.layers["bronze (files)"] = {
        flow: len(lake.list(f"bronze/{flow}/")) for flow in ("sales", "clickstream", "startups")
    }
    if runs:
        summary.last_run = runs[0]
        summary.last_ml = next(
            (
                step["counts"]
                for run in runs
                for step in run.get("steps", [])
                if step.get("name") == "ml"
                and step.get("status") == "succeeded"
                and step.get("counts", {}).get("model_version")
            ),
            {},
        )
    try:
        with platform.warehouse.reader() as reader:
            if tables.FLOW_ROW_ACCOUNTING in reader.tables():
                summary.accounting = reader.query(
                    f"SELECT * FROM {tables.FLOW_ROW_ACCOUNTING} ORDER BY flow"
                ).to_pylist()
            staged = {row["flow"]: row["rows_staged"] for row in summary.accounting}
            summary.layers["silver"] = {name: staged.get(flow) for name, flow in SILVER_FLOWS.items()}
            summary.layers["gold"] = {name: _count(reader, table) for name, table in GOLD_TABLES.items()}
            if _count(reader, tables.FACT_PREDICTIONS_CHURN):
                # The dashboard's own list: by expected revenue at risk, ties by meaningful keys.
                summary.top_at_risk = reader.query(*top_at_risk_sql(int(top))).to_pylist()
    except WarehouseMissing:
        pass
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
            accounting.add_row(
                *(
                    str(row.get(c))
                    for c in ("flow", "rows_in_bronze", "rows_staged", "rows_quarantined", "duplicates_removed")
                )
            )
        console.print(accounting)

    poll = next((s for s in summary.last_run.get("steps", []) if s.get("name") == "poll"), None)
    if poll:
        counts = poll.get("counts", {})
        states = ", ".join(f"{k.removeprefix('actions_')}: {v}" for k, v in counts.items() if k.startswith("actions_"))
        console.print(f"ELT actions and assertions in the last run: {states}")

    if summary.last_ml:
        ml = summary.last_ml
        metrics = ", ".join(
            f"{k.removeprefix('candidate_')}={v:.3f}"
            for k, v in ml.items()
            if k.startswith("candidate_") and isinstance(v, float)
        )
        console.print(
            f"Churn model {ml.get('model_version')} (champion: {ml.get('champion')}, promoted: {ml.get('promoted')}"
            f"{'; ' + str(ml.get('gate_reason')) if ml.get('gate_reason') else ''}): {metrics}"
        )
    else:
        console.print(
            "No churn model yet: the demo trains once it has enough history (see --days); until then "
            "each run's ML step says how many days it has."
        )

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
