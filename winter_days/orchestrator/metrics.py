"""`GET /metrics` in the Prometheus text format (0.0.4), from the run store's aggregates.

Reading the store rather than in-process counters makes every gunicorn worker, and the
command line's runs, report the same numbers, and the numbers survive restarts. The store
keeps the aggregates as steps finish (`RunStore.run_metrics`), so a scrape reads a few
records, never the run history.
"""

from __future__ import annotations

from datetime import datetime

from winter_days.runs import RUN_OUTCOMES, RUNNING, STEP_DURATION_BUCKETS, SUCCEEDED, RunStore

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
    """The exposition text for the run store's aggregates as they stand."""
    lines: list[str] = []
    metrics = history.run_metrics()
    outcomes = metrics.outcomes
    _family(lines, "winter_days_runs_total", "counter", "Finished runs by outcome.")
    for outcome in RUN_OUTCOMES:
        lines.append(f'winter_days_runs_total{{outcome="{outcome}"}} {outcomes.get(outcome, 0)}')
    _family(lines, "winter_days_run_active", "gauge", "1 while a run is active.")
    lines.append(f"winter_days_run_active {outcomes.get(RUNNING, 0)}")
    _family(
        lines,
        "winter_days_last_successful_run_timestamp_seconds",
        "gauge",
        "When the latest successful run finished (Unix time); absent before the first.",
    )
    if metrics.last_succeeded_at:
        lines.append(
            f"winter_days_last_successful_run_timestamp_seconds {datetime.fromisoformat(metrics.last_succeeded_at).timestamp():.3f}"
        )

    _family(lines, "winter_days_step_duration_seconds", "histogram", "Time spent in each step, by step and outcome.")
    exported = 0
    quarantined: dict[str, int] = {}
    for stats in metrics.steps:
        labels = f'step="{_label(stats.name)}",status="{_label(stats.status)}"'
        cumulative = 0
        for bound, in_bucket in zip(STEP_DURATION_BUCKETS, stats.bucket_counts, strict=False):
            cumulative += in_bucket
            lines.append(f'winter_days_step_duration_seconds_bucket{{{labels},le="{float(bound)!r}"}} {cumulative}')
        lines.append(f'winter_days_step_duration_seconds_bucket{{{labels},le="+Inf"}} {stats.count}')
        lines.append(f"winter_days_step_duration_seconds_sum{{{labels}}} {stats.duration_sum:.6f}")
        lines.append(f"winter_days_step_duration_seconds_count{{{labels}}} {stats.count}")
        if stats.name == EXPORT_STEP:
            exported += stats.totals.get(EXPORTED_KEY, 0)
        # Quarantine tables are rebuilt from all of bronze, so the latest count is the level.
        if stats.status == SUCCEEDED:
            for name, value in stats.latest.items():
                if name.startswith(QUARANTINE_PREFIX):
                    quarantined[name[len(QUARANTINE_PREFIX) :].lstrip("_") or "all"] = value

    _family(lines, "winter_days_rows_exported_total", "counter", "Sales documents exported to bronze.")
    lines.append(f"winter_days_rows_exported_total {exported}")
    _family(
        lines, "winter_days_rows_quarantined", "gauge", "Bronze rows in quarantine, by flow, after the latest ELT run."
    )
    for flow in sorted(quarantined):
        lines.append(f'winter_days_rows_quarantined{{flow="{_label(flow)}"}} {quarantined[flow]}')
    return "\n".join(lines) + "\n"
