"""`GET /metrics` in the Prometheus text format (0.0.4), computed from the run history.

Reading the history rather than in-process counters makes every gunicorn worker, and the
command line's runs, report the same numbers, and the numbers survive restarts.
"""

from __future__ import annotations

import json
from collections import defaultdict

from winter_days.runs import RUN_OUTCOMES, RUNNING, SUCCEEDED, RunStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Step counts that hold exported and quarantined rows.
EXPORTED_KEY = "rows"
EXPORT_STEP = "export_sales"
QUARANTINE_PREFIX = "rows_quarantined"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")


def render_metrics(history: RunStore) -> str:
    """The exposition text for the run history as it stands."""
    lines: list[str] = []
    outcomes = history.outcome_counts()
    _family(lines, "winter_days_runs_total", "counter", "Finished runs by outcome.")
    for outcome in RUN_OUTCOMES:
        lines.append(f'winter_days_runs_total{{outcome="{outcome}"}} {outcomes.get(outcome, 0)}')
    _family(lines, "winter_days_run_active", "gauge", "1 while a run is active.")
    lines.append(f"winter_days_run_active {outcomes.get(RUNNING, 0)}")

    duration_sum: dict[tuple[str, str], float] = defaultdict(float)
    duration_count: dict[tuple[str, str], int] = defaultdict(int)
    exported = 0
    quarantined: dict[str, int] = {}
    for step in history.finished_steps():
        key = (step["name"], step["status"])
        duration_sum[key] += step["duration_seconds"]
        duration_count[key] += 1
        counts = json.loads(step["counts"])
        if step["name"] == EXPORT_STEP and isinstance(counts.get(EXPORTED_KEY), int):
            exported += counts[EXPORTED_KEY]
        # Quarantine tables are rebuilt from all of bronze, so the latest count is the level.
        for name, value in counts.items():
            if step["status"] == SUCCEEDED and name.startswith(QUARANTINE_PREFIX) and isinstance(value, int):
                quarantined[name[len(QUARANTINE_PREFIX) :].lstrip("_") or "all"] = value

    _family(lines, "winter_days_step_duration_seconds", "summary", "Time spent in each step, by step and outcome.")
    for name, status in sorted(duration_sum):
        labels = f'step="{_label(name)}",status="{_label(status)}"'
        lines.append(f"winter_days_step_duration_seconds_sum{{{labels}}} {duration_sum[(name, status)]:.6f}")
        lines.append(f"winter_days_step_duration_seconds_count{{{labels}}} {duration_count[(name, status)]}")
    _family(lines, "winter_days_rows_exported_total", "counter", "Sales documents exported to bronze.")
    lines.append(f"winter_days_rows_exported_total {exported}")
    _family(
        lines, "winter_days_rows_quarantined", "gauge", "Bronze rows in quarantine, by flow, after the latest ELT run."
    )
    for flow in sorted(quarantined):
        lines.append(f'winter_days_rows_quarantined{{flow="{_label(flow)}"}} {quarantined[flow]}')
    return "\n".join(lines) + "\n"
