"""Churn ("what will happen"): the latest predictions, revenue at risk and the registered models.

Predictions are those of the latest as_of_date in `fact_predictions_churn`; the region is
the customer's region in `dim_customer`. Churn probabilities are calibrated (ml/calibrate.py)
and the risk tiers are cut on them (ml/predict.py). Revenue at risk is the completed
revenue of the 90 days up to the as-of date: per tier in full, and weighted by each
customer's churn probability as the expected loss. The top list ranks customers by that
expected loss; ties go to the higher churn probability, then the higher lifetime value,
then the longer absence, and only then to the customer id.

Each registered model shows its evaluation, the interval of its AUC against the champion
that the gate decided on, its lineage, and its reliability curve (observed churn rate
against predicted probability on the evaluation rows, before and after calibration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from winter_days.dashboard.charts import Chart, DataQuery, SqlAndParams
from winter_days.dashboard.filters import RISK_TIERS, DashboardFilters
from winter_days.dashboard.sales_page import FCT_SALES
from winter_days.ml.predict import HIGH_RISK_FROM, MEDIUM_RISK_FROM
from winter_days.warehouse import tables

PREDICTIONS = tables.FACT_PREDICTIONS_CHURN
DIM_CUSTOMER = tables.DIM_CUSTOMER
REVENUE_WINDOW_DAYS = 90
HISTOGRAM_BINS = 20
TIER_CUTOFFS = {"high": HIGH_RISK_FROM, "medium": MEDIUM_RISK_FROM}

NO_PREDICTIONS = "no predictions yet: run the pipeline (winter-days run) to train a model and score customers"


def no_predictions_hint(runs: list[dict]) -> str:
    """Why the page has no predictions, in the words of the newest run's ML step (e.g.
    "skipped: not enough history (12 of 74 days)"), so an operator of a young installation
    sees that nothing is wrong; the general hint when no run got that far."""
    for run in runs:
        ml = next((step for step in run.get("steps") or () if step.get("name") == "ml"), None)
        counts = (ml or {}).get("counts") or {}
        if counts.get("training") or counts.get("scoring"):
            said = "; ".join(f"{what} {counts[what]}" for what in ("training", "scoring") if counts.get(what))
            when = f" (as of {counts['as_of']})" if counts.get("as_of") else ""
            return f"no predictions yet: the ML step of run {run['run_id']}{when} says {said}"
    return NO_PREDICTIONS


def _scored(filters: DashboardFilters, with_tier: bool = False) -> SqlAndParams:
    """CTE `scored`: the latest as-of date's predictions with each customer's region, filtered."""
    conditions, params = [], []
    if filters.region:
        conditions.append("c.region = ?")
        params.append(filters.region)
    if with_tier and filters.risk_tier:
        conditions.append("p.risk_tier = ?")
        params.append(filters.risk_tier)
    where = "".join(f" AND {c}" for c in conditions)
    return (
        f"""
        scored AS (
          SELECT p.customer_id, c.customer_label, p.churn_probability, p.risk_tier, p.model_version, p.as_of_date,
                 c.region, c.lifetime_value, c.last_purchase_at
          FROM {PREDICTIONS} AS p
          LEFT JOIN {DIM_CUSTOMER} AS c USING (customer_id)
          WHERE p.as_of_date = (SELECT MAX(as_of_date) FROM {PREDICTIONS}){where}
        )""",
        params,
    )


def _recent_revenue() -> str:
    return f"""
        recent AS (
          SELECT s.customer_id, SUM(f.total_amount) AS revenue_window
          FROM scored AS s
          JOIN {FCT_SALES} AS f
            ON f.customer_id = s.customer_id AND f.is_completed
           AND f.sale_date > DATE_SUB(s.as_of_date, INTERVAL {REVENUE_WINDOW_DAYS} DAY)
           AND f.sale_date <= s.as_of_date
          GROUP BY s.customer_id
        )"""


def _churn_summary(filters: DashboardFilters) -> SqlAndParams:
    scored, params = _scored(filters)
    return (
        f"""
        WITH {scored}, {_recent_revenue()}
        SELECT
          MAX(s.as_of_date) AS as_of_date,
          MAX(s.model_version) AS model_version,
          COUNT(*) AS customers_scored,
          COUNTIF(s.risk_tier = 'high') AS high_risk_customers,
          ROUND(AVG(s.churn_probability), 4) AS mean_churn_probability,
          ROUND(COALESCE(SUM(IF(s.risk_tier = 'high', r.revenue_window, NULL)), 0), 2) AS high_risk_revenue_90d,
          ROUND(COALESCE(SUM(s.churn_probability * r.revenue_window), 0), 2) AS expected_revenue_at_risk_90d
        FROM scored AS s LEFT JOIN recent AS r USING (customer_id)
        HAVING COUNT(*) > 0
        """,
        params,
    )


def _probability_histogram(filters: DashboardFilters) -> SqlAndParams:
    scored, params = _scored(filters)
    return (
        f"""
        WITH {scored},
        bins AS (SELECT bin FROM UNNEST(GENERATE_ARRAY(0, {HISTOGRAM_BINS - 1})) AS bin),
        binned AS (
          SELECT LEAST(CAST(FLOOR(churn_probability * {HISTOGRAM_BINS}) AS INT64), {HISTOGRAM_BINS - 1}) AS bin
          FROM scored
        )
        SELECT
          FORMAT('%.2f-%.2f', b.bin / {HISTOGRAM_BINS}, (b.bin + 1) / {HISTOGRAM_BINS}) AS probability_range,
          ROUND(b.bin / {HISTOGRAM_BINS}, 2) AS bin_start,
          COUNT(x.bin) AS customers
        FROM bins AS b LEFT JOIN binned AS x ON x.bin = b.bin
        GROUP BY b.bin
        HAVING (SELECT COUNT(*) FROM scored) > 0
        ORDER BY b.bin
        """,
        params,
    )


def _tiers() -> str:
    values = ", ".join(f"STRUCT({i} AS position, '{tier}' AS risk_tier)" for i, tier in enumerate(RISK_TIERS))
    return f"tiers AS (SELECT * FROM UNNEST([{values}]))"


def _customers_per_tier(filters: DashboardFilters) -> SqlAndParams:
    scored, params = _scored(filters)
    return (
        f"""
        WITH {scored}, {_tiers()}, {_recent_revenue()}
        SELECT
          t.risk_tier,
          COUNT(s.customer_id) AS customers,
          ROUND(COALESCE(SUM(r.revenue_window), 0), 2) AS revenue_90d,
          ROUND(COALESCE(SUM(s.churn_probability * r.revenue_window), 0), 2) AS expected_revenue_at_risk_90d
        FROM tiers AS t
        LEFT JOIN scored AS s ON s.risk_tier = t.risk_tier
        LEFT JOIN recent AS r ON r.customer_id = s.customer_id
        GROUP BY t.position, t.risk_tier
        HAVING (SELECT COUNT(*) FROM scored) > 0
        ORDER BY t.position
        """,
        params,
    )


def _top_at_risk(filters: DashboardFilters) -> SqlAndParams:
    scored, params = _scored(filters, with_tier=True)
    return (
        f"""
        WITH {scored}, {_recent_revenue()}
        SELECT
          -- The label, not the name: the warehouse holds no personal data to show.
          COALESCE(s.customer_label, s.customer_id) AS customer_label,
          s.region,
          ROUND(s.churn_probability, 4) AS churn_probability,
          s.risk_tier,
          ROUND(s.churn_probability * COALESCE(r.revenue_window, 0), 2) AS expected_revenue_at_risk_90d,
          ROUND(COALESCE(r.revenue_window, 0), 2) AS revenue_90d,
          ROUND(s.lifetime_value, 2) AS lifetime_value,
          CAST(s.last_purchase_at AS DATE) AS last_purchase_date
        FROM scored AS s LEFT JOIN recent AS r USING (customer_id)
        ORDER BY s.churn_probability * COALESCE(r.revenue_window, 0) DESC, s.churn_probability DESC,
                 s.lifetime_value DESC, s.last_purchase_at, s.customer_id
        LIMIT {int(filters.top_n)}
        """,
        params,
    )


def top_at_risk_sql(top_n: int) -> SqlAndParams:
    """The top list of every region and tier (the demo report prints it)."""
    return _top_at_risk(DashboardFilters(top_n=top_n))


NEEDS = (PREDICTIONS, DIM_CUSTOMER, FCT_SALES)

QUERIES: tuple[DataQuery, ...] = (
    DataQuery("churn_summary", "Churn summary", NEEDS, _churn_summary, NO_PREDICTIONS),
    DataQuery(
        "probability_histogram", "Distribution of churn probability", NEEDS, _probability_histogram, NO_PREDICTIONS
    ),
    DataQuery(
        "customers_per_tier", "Customers and revenue at risk per tier", NEEDS, _customers_per_tier, NO_PREDICTIONS
    ),
    DataQuery(
        "top_at_risk",
        "Top customers at risk of churn, by expected revenue at risk",
        NEEDS,
        _top_at_risk,
        NO_PREDICTIONS,
    ),
)

CHARTS: tuple[Chart, ...] = (
    Chart(
        "probability_histogram",
        "probability_histogram",
        "Distribution of churn probability",
        "bar",
        "bin_start",
        ("customers",),
        f"Churn probability (bins of {1 / HISTOGRAM_BINS:.2f}, lower edge)",
        "Customers",
    ),
    Chart(
        "customers_per_tier",
        "customers_per_tier",
        "Customers per risk tier",
        "bar",
        "risk_tier",
        ("customers",),
        "Risk tier",
        "Customers",
    ),
    Chart(
        "revenue_at_risk",
        "customers_per_tier",
        "Revenue at risk per tier (last 90 days)",
        "bar",
        "risk_tier",
        ("revenue_90d", "expected_revenue_at_risk_90d"),
        "Risk tier",
        "Revenue (USD)",
        series_names=("Completed revenue, last 90 days", "Expected loss (probability-weighted)"),
        y_format=",.0f",
    ),
)


# -- the model registry -----------------------------------------------------------------

METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "average_precision": "PR AUC (average precision)",
    "brier": "Brier score",
    "brier_score": "Brier score",
    "top_decile_lift": "Lift in the top decile",
    "lift_top_decile": "Lift in the top decile",
    "ece": "Expected calibration error",
    "rows": "Customers evaluated",
    "positive_rate": "Churn rate in evaluation",
}
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass
class ModelCard:
    """One aliased model version as the page shows it."""

    alias: str
    version: str
    roc_auc: float | None
    metrics: list[tuple[str, Any]] = field(default_factory=list)
    baseline_metrics: list[tuple[str, Any]] = field(default_factory=list)
    trained_at: str = ""
    has_roc: bool = False
    error: str = ""
    # The gate: the AUC against the champion on the same rows, its interval, and the decision.
    comparison: dict[str, Any] | None = None
    decision: str = ""
    calibration: str = ""
    lineage: list[tuple[str, str]] = field(default_factory=list)
    reliability: dict[str, Any] | None = None
    reliability_rows: list[tuple[Any, ...]] = field(default_factory=list)


def _metric_rows(metrics: Any) -> list[tuple[str, Any]]:
    if not isinstance(metrics, dict):
        return []
    rows = []
    for key, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = value if isinstance(value, int) else round(float(value), 4)
            rows.append((METRIC_LABELS.get(key, key.replace("_", " ")), shown))
    return rows


def model_cards(lake: Any) -> list[ModelCard]:
    """Champion and challenger from the registry in the lake; empty when none is registered."""
    from winter_days.ml.registry import Registry, RegistryError, version_key

    registry = Registry(lake)
    cards = []
    for alias in ("champion", "challenger"):
        entry = registry.aliases().get("aliases", {}).get(alias)
        if not entry:
            continue
        version = str(entry.get("version"))
        try:
            manifest = registry.get_version(version).manifest
        except RegistryError as err:
            cards.append(ModelCard(alias, version, entry.get("roc_auc"), error=str(err)))
            continue
        metrics = manifest.get("metrics") or {}
        figure, rows = reliability(metrics)
        cards.append(
            ModelCard(
                alias=alias,
                version=version,
                roc_auc=entry.get("roc_auc"),
                metrics=_metric_rows(metrics.get("candidate")),
                baseline_metrics=_metric_rows(metrics.get("baseline")),
                trained_at=str(manifest.get("trained_at") or manifest.get("created_at") or ""),
                has_roc=lake.exists(version_key(version, "roc.png")),
                comparison=metrics.get("comparison"),
                decision=_decision(registry.aliases().get("history", []), version),
                calibration=_calibration_text(manifest.get("calibration")),
                lineage=_lineage_rows(manifest),
                reliability=figure,
                reliability_rows=rows,
            )
        )
    return cards


def _decision(history: list[dict], version: str) -> str:
    """The latest recorded decision about a version (gate or manual promotion)."""
    for entry in reversed(history):
        if entry.get("version") == version and entry.get("reason"):
            return str(entry["reason"])
    return ""


def _calibration_text(calibration: Any) -> str:
    if not isinstance(calibration, dict):
        return "uncalibrated (registered before calibration)"
    brier = calibration.get("brier_out_of_fold") or {}
    compared = ", ".join(f"{name} {value:.4f}" for name, value in sorted(brier.items()))
    return (
        f"{calibration.get('method')} calibration on {calibration.get('rows')} held-out rows, chosen by Brier "
        f"score out of fold ({compared})"
    )


def _lineage_rows(manifest: dict) -> list[tuple[str, str]]:
    """Where the version came from, as label/value pairs."""
    window = manifest.get("training_window") or {}
    source = manifest.get("source") or {}
    signature = manifest.get("feature_signature") or {}
    commit = source.get("commit")
    rows = [
        ("Trained on as-of dates", ", ".join(window.get("train_as_of_dates") or manifest.get("train_dates") or [])),
        ("Calibrated and evaluated as of", str(window.get("evaluation_as_of_date") or manifest.get("eval_date") or "")),
        ("Labels as known on", str(window.get("labels_known_at") or manifest.get("as_of") or "")),
        ("Features", f"{len(signature.get('inputs') or manifest.get('features') or [])} inputs"),
        ("Data fingerprint", str(manifest.get("data_fingerprint") or "")[:16]),
        ("Package", str(manifest.get("package_version") or "")),
        (
            "Source commit",
            (commit[:12] + (" (with local changes)" if source.get("dirty") else ""))
            if commit
            else "unknown (not run from a git checkout)",
        ),
    ]
    return [(label, value) for label, value in rows if value]


def reliability(metrics: dict) -> tuple[dict[str, Any] | None, list[tuple[Any, ...]]]:
    """The reliability curve (Plotly figure) and its numbers, from a version's metrics:
    observed churn rate against mean predicted probability per bin, calibrated and before."""
    curves = [
        ("Calibrated", (metrics.get("candidate") or {}).get("calibration")),
        ("Before calibration", (metrics.get("uncalibrated") or {}).get("calibration")),
    ]
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": [0, 1],
            "y": [0, 1],
            "name": "Perfect",
            "line": {"dash": "dash", "color": "grey", "width": 1},
        }
    ]
    rows: list[tuple[Any, ...]] = []
    for name, bins in curves:
        if not bins:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [round(b["mean_predicted"], 4) for b in bins],
                "y": [round(b["observed_rate"], 4) for b in bins],
                "text": [f"{b['count']} customers" for b in bins],
            }
        )
        rows += [
            (
                name,
                f"{b['bin_lower']:.1f}-{b['bin_upper']:.1f}",
                b["count"],
                round(b["mean_predicted"], 4),
                round(b["observed_rate"], 4),
            )
            for b in bins
        ]
    if not rows:
        return None, []
    layout = {
        "title": {"text": "Reliability on the evaluation rows", "x": 0, "xanchor": "left", "font": {"size": 15}},
        "xaxis": {"title": {"text": "Predicted churn probability (bin mean)"}, "range": [0, 1], "tickformat": ".0%"},
        "yaxis": {"title": {"text": "Observed churn rate"}, "range": [0, 1], "tickformat": ".0%"},
        "margin": {"l": 10, "r": 10, "t": 44, "b": 10},
        "autosize": True,
        "height": 340,
        "legend": {"orientation": "h", "y": -0.25},
        "paper_bgcolor": "rgba(0,0,0,0)",
    }
    return {"data": traces, "layout": layout}, rows


RELIABILITY_COLUMNS = ("scores", "probability bin", "customers", "mean predicted", "observed churn rate")


def roc_png(lake: Any, version: str) -> bytes | None:
    """The ROC curve PNG of a registered version, or None when it has none."""
    from winter_days.ml.registry import Registry, version_key

    if not VERSION_PATTERN.match(version) or version not in Registry(lake).versions():
        return None
    key = version_key(version, "roc.png")
    return lake.get(key) if lake.exists(key) else None
