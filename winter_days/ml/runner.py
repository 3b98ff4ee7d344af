"""The library entry of the churn pipeline: `run_churn_pipeline`, in-process or on KFP's local runner."""

from __future__ import annotations

import json
from datetime import date
from typing import Callable

from winter_days.config import Settings
from winter_days.ml.steps import PipelineOptions, new_run_id, run_steps_in_process, settings_to_json

RUNNERS = ("in-process", "kfp-local")


def _result(summary: dict, runner: str) -> dict:
    gate = summary["gate"]
    metrics = summary["metrics"]
    return {
        "run_id": summary["run_id"],
        "runner": runner,
        "as_of": summary["as_of"],
        "version": summary["version"],
        "metrics": {name: metrics[name] for name in ("candidate", "baseline")},
        "champion_on_eval": metrics.get("champion_on_eval"),
        "promoted": gate["promoted"],
        "reason": gate["reason"],
        "champion": summary["predictions"]["model_version"],
        "predictions_written": summary["predictions"]["written"],
        "risk_tiers": summary["predictions"]["risk_tiers"],
        "rows": summary["rows"],
        "train_dates": summary["train_dates"],
        "eval_date": summary["eval_date"],
        "non_finite_values": summary["non_finite_values"],
        "steps": summary.get("steps", []),
    }


def run_churn_pipeline(
    settings: Settings,
    as_of: date | str | None = None,
    runner: str = "in-process",
    options: PipelineOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Features -> train -> evaluate -> register -> gate -> predict for one as-of date.

    `as_of` (default: the last day with sales) is the scoring date; no data after it is read.
    Returns {run_id, runner, as_of, version, metrics: {candidate, baseline}, champion_on_eval,
    promoted, reason, champion, predictions_written, risk_tiers, rows, train_dates, eval_date,
    non_finite_values, steps}. Raises FeatureError / TrainingDataError / EvaluationError /
    RegistryError / PredictionError with a message saying what is wrong.
    """
    if runner not in RUNNERS:
        raise ValueError(f"unknown churn pipeline runner {runner!r}; choose one of {', '.join(RUNNERS)}")
    options = options or PipelineOptions()
    as_of_text = as_of.isoformat() if isinstance(as_of, date) else (as_of or "")
    if as_of_text:
        date.fromisoformat(as_of_text)  # a malformed date fails here, before any work
    run_id = new_run_id(as_of_text)
    if runner == "in-process":
        return _result(run_steps_in_process(settings, options, run_id, as_of_text, progress), runner)
    from winter_days.ml.kfp_pipeline import PIPELINE_FILE, compile_pipeline, run_local

    work = settings.home / "kfp-local" / run_id
    spec = compile_pipeline(work / PIPELINE_FILE)
    if progress:
        progress(f"running {spec} with the KFP local runner")
    arguments = {"settings_json": settings_to_json(settings), "options_json": options.to_json(),
                 "run_id": run_id, "as_of": as_of_text}
    return _result(json.loads(run_local(spec, work / "outputs", arguments)), runner)
