"""Pipeline: run history with per-step status and duration, the lineage picture, and the
assertion and quarantine results of each run and of the published warehouse.

Run history comes from the run store; row accounting and quarantine reasons from the
published warehouse. These are the only tables of the staging dataset a page reads, and
they are small: one row per flow, one per quarantined line (never the staged records
themselves, whose scans BigQuery would bill per view). An action's last state is read from
the run's poll step: `action_states` ({action name: state}) when the step recorded it, else
inferred from what every run records (a succeeded poll means every action succeeded; a
failed one names its failing actions).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from winter_days.dashboard.charts import Chart, DataQuery, QueryResult, SqlAndParams, plotly_figure
from winter_days.dashboard.filters import DashboardFilters
from winter_days.runs import RunStore
from winter_days.warehouse import tables

ACCOUNTING = tables.FLOW_ROW_ACCOUNTING
QUARANTINES = {
    "sales": tables.STG_SALES_QUARANTINE,
    "clickstream": tables.STG_CLICK_QUARANTINE,
    "startup": tables.STG_STARTUP_QUARANTINE,
}
NO_ELT = "nothing published yet: run the pipeline (winter-days run, or POST /run)"
POLL_STEP = "poll"
RUNS_SHOWN = 30
# Run labels under the step-duration chart: at most this many, so they never overlap.
MAX_RUN_TICKS = 10
# The shortest start-time form that tells the shown runs apart (times are UTC).
RUN_LABEL_FORMATS = ("%m-%d %H:%M", "%m-%d %H:%M:%S")
_FAILED_ACTION = re.compile(r"(?:^|; |failing action\(s\): )(?:[\w.-]+\.)?(?P<name>[A-Za-z_][\w]*): ")


def _accounting(filters: DashboardFilters) -> SqlAndParams:
    return (
        f"""
        SELECT flow, rows_in_bronze, rows_staged, rows_quarantined, duplicates_removed,
               rows_in_bronze - (rows_staged + rows_quarantined + duplicates_removed) AS rows_unaccounted
        FROM {ACCOUNTING}
        ORDER BY flow
        """,
        [],
    )


def _quarantine_reasons(filters: DashboardFilters) -> SqlAndParams:
    # The reason's fixed prefix ("invalid value: region") groups rows; the offending value
    # itself stays in the quarantine table, not on the page.
    union = " UNION ALL ".join(
        f"SELECT '{flow}' AS flow, REGEXP_REPLACE(reason, r' = .*$', '') AS reason FROM {table}"
        for flow, table in QUARANTINES.items()
    )
    return (
        f"""
        SELECT flow, reason, COUNT(*) AS rows_quarantined
        FROM ({union})
        GROUP BY flow, reason
        ORDER BY rows_quarantined DESC, flow, reason
        """,
        [],
    )


QUERIES: tuple[DataQuery, ...] = (
    DataQuery("row_accounting", "Where every bronze row went, per flow", (ACCOUNTING,), _accounting, NO_ELT),
    DataQuery(
        "quarantine_reasons",
        "Quarantined rows by flow and reason",
        tuple(QUARANTINES.values()),
        _quarantine_reasons,
        NO_ELT,
        no_rows_hint="no rows quarantined: every bronze row of the published run fits the record contract",
    ),
)

CHARTS: tuple[Chart, ...] = (
    Chart(
        "row_accounting",
        "row_accounting",
        "Bronze rows per flow: staged, quarantined, duplicates",
        "stacked",
        "flow",
        ("rows_staged", "rows_quarantined", "duplicates_removed"),
        "Flow",
        "Bronze rows",
        series_names=("Staged", "Quarantined", "Duplicates removed"),
    ),
    Chart(
        "quarantine_reasons",
        "quarantine_reasons",
        "Quarantined rows by reason",
        "hbar",
        "reason",
        ("rows_quarantined",),
        "Reason",
        "Rows quarantined",
    ),
)


# -- run history --------------------------------------------------------------------------


def load_runs(history: RunStore, limit: int = RUNS_SHOWN) -> list[dict[str, Any]]:
    """Newest runs first, each with its steps; empty when nothing has run yet."""
    return history.list_runs(limit=limit)


def step_names(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every step name in the order runs list them."""
    names: list[str] = []
    for run in runs:
        for step in run["steps"]:
            if step["name"] not in names:
                names.append(step["name"])
    return names


def step_duration_rows(runs: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Columns and rows (oldest run first) of seconds per step, for the stacked chart and its CSV."""
    names = step_names(runs)
    rows = []
    for run in reversed(runs):
        by_name = {s["name"]: s for s in run["steps"]}
        rows.append(
            (run["run_id"], _utc_text(run.get("started_at")), run["status"])
            + tuple(round(by_name[n]["duration_seconds"] or 0.0, 3) if n in by_name else 0.0 for n in names)
        )
    return ("run_id", "started_at", "status", *names), rows


def _utc_text(timestamp: str | None) -> str:
    """'YYYY-MM-DD HH:MM:SS' of a run store's ISO timestamp (UTC), '' when there is none."""
    return (timestamp or "")[:19].replace("T", " ")


def run_labels(started_at: Sequence[str]) -> list[str]:
    """Short labels that tell runs apart, from their start times ('YYYY-MM-DD HH:MM:SS'):
    month, day, hour and minute; the seconds too when two runs share a minute; a count
    after runs that share a second."""
    times = [datetime.fromisoformat(text) if text else None for text in started_at]
    for form in RUN_LABEL_FORMATS:
        labels = [t.strftime(form) if t else "?" for t in times]
        if len(set(labels)) == len(labels):
            return labels
    seen: Counter[str] = Counter()
    distinct = []
    for label in labels:
        seen[label] += 1
        distinct.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return distinct


def step_durations_chart(columns: Sequence[str]) -> Chart:
    """Seconds per step of each run, stacked: how long runs take and where the time goes."""
    steps = tuple(columns[3:])
    return Chart(
        "step_durations",
        "step_durations",
        "Step durations per run",
        "stacked",
        "run_id",
        steps,
        "Run start (UTC, oldest to newest)",
        "Seconds",
        series_names=steps,
    )


def step_durations_figure(durations: QueryResult) -> dict[str, Any]:
    """The stacked chart with readable run labels however many runs are shown: one bar per
    run at its position, at most MAX_RUN_TICKS short start-time labels (always the newest
    run's), slanted, and the full run id, start time and status in each bar's hover."""
    figure = plotly_figure(step_durations_chart(durations.columns), durations)
    run_ids, started = durations.column("run_id"), durations.column("started_at")
    statuses = durations.column("status")
    positions = list(range(len(run_ids)))
    labels = run_labels(started)
    for trace in figure["data"]:
        trace["x"] = positions
        trace["customdata"] = [list(run) for run in zip(run_ids, started, statuses, strict=False)]
        trace["hovertemplate"] = (
            f"run %{{customdata[0]}}<br>started %{{customdata[1]}} UTC, %{{customdata[2]}}<br>"
            f"{trace['name']}: %{{y:.2f}} s<extra></extra>"
        )
    every = max(1, math.ceil(len(positions) / MAX_RUN_TICKS))
    ticks = positions[::-1][::every][::-1]
    figure["layout"]["xaxis"].update(
        tickmode="array",
        tickvals=ticks,
        ticktext=[labels[i] for i in ticks],
        tickangle=-45,
        range=[-0.5, len(positions) - 0.5],
    )
    # At the foot of the figure, below the slanted labels and the axis title, on any width.
    figure["layout"]["legend"] = {
        "orientation": "h",
        "x": 0,
        "xanchor": "left",
        "yref": "container",
        "y": 0,
        "yanchor": "bottom",
    }
    return figure


def _poll(run: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((s for s in run.get("steps", ()) if s["name"] == POLL_STEP), None)


def action_states(run: Mapping[str, Any], action_names: Sequence[str]) -> dict[str, str]:
    """{action name: state} of one run, recorded or inferred (see the module docstring)."""
    poll = _poll(run)
    if poll is None:
        return {}
    recorded = (poll.get("counts") or {}).get("action_states")
    if isinstance(recorded, Mapping):
        return {str(k).split(".")[-1]: str(v).upper() for k, v in recorded.items()}
    if poll["status"] == "succeeded":
        return {name: "SUCCEEDED" for name in action_names}
    if poll["status"] == "failed":
        failing = {m.group("name") for m in _FAILED_ACTION.finditer(poll.get("error") or "")}
        return {name: "FAILED" for name in action_names if name in failing}
    return {}


def last_action_states(runs: Sequence[Mapping[str, Any]], action_names: Sequence[str]) -> tuple[dict[str, str], str]:
    """States from the newest run whose poll step finished, and that run's id ('' if none)."""
    for run in runs:
        poll = _poll(run)
        if poll is not None and poll["status"] in ("succeeded", "failed"):
            return action_states(run, action_names), run["run_id"]
    return {}, ""


@dataclass(frozen=True)
class RunChecks:
    """Assertion and quarantine results of one run."""

    run_id: str
    status: str
    assertions_passed: int | None
    assertions_failed: int | None
    quarantined: dict[str, int]


def run_checks(run: Mapping[str, Any], assertion_names: Sequence[str]) -> RunChecks:
    """Assertions passed/failed (None when the run did not get to them) and rows quarantined per flow."""
    poll = _poll(run)
    counts = (poll or {}).get("counts") or {}
    quarantined = {
        key[len("rows_quarantined_") :]: int(value)
        for key, value in counts.items()
        if key.startswith("rows_quarantined_") and isinstance(value, int)
    }
    passed = failed = None
    if poll is not None and poll["status"] in ("succeeded", "failed"):
        states = action_states(run, assertion_names)
        failed = sum(1 for n in assertion_names if states.get(n) == "FAILED")
        passed = sum(1 for n in assertion_names if states.get(n) == "SUCCEEDED")
    return RunChecks(run["run_id"], run["status"], passed, failed, quarantined)


def quarantine_flows(checks: Sequence[RunChecks]) -> list[str]:
    """Every flow any run counted quarantined rows for, sorted."""
    return sorted({flow for check in checks for flow in check.quarantined})


def assertion_names(graph: Mapping[str, Any]) -> list[str]:
    return [a["target"]["name"] for a in graph.get("assertions") or ()]


def all_action_names(graph: Mapping[str, Any]) -> list[str]:
    return [a["target"]["name"] for kind in ("operations", "tables", "assertions") for a in graph.get(kind) or ()]
