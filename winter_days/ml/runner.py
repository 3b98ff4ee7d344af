"""Running the churn pipeline: the `ChurnPipelineRunner` port and its local runners.

`InProcessRunner` runs the six steps in this process on the platform's ports (the local
profile's runner). `KfpLocalRunner` runs the compiled KFP spec with KFP's local runner, in
this environment, as Vertex AI would run it from the image. The gcp profile's runner,
`VertexRunner`, lives in `vertex.py`. Every runner returns the same summary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from winter_days.ml.cadence import check_mode
from winter_days.ml.steps import PipelineOptions, StepContext, new_run_id, run_steps_in_process, settings_to_json

if TYPE_CHECKING:
    from winter_days.platform import Platform

from winter_days.ml.port import ChurnPipelineRunner, Progress


def as_of_text(as_of: date | str | None) -> str:
    text = as_of.isoformat() if isinstance(as_of, date) else (as_of or "")
    if text:
        date.fromisoformat(text)  # a malformed date fails here, before any work
    return text


def summarise(summary: dict, runner: str) -> dict:
    """The pipeline's last step output as the run summary: {run_id, runner, as_of, mode,
    trained, training (what happened, e.g. "skipped: not enough history (N of M days)"),
    version, metrics: {candidate, baseline} (None without training), comparison (the AUC
    against the champion with its interval), promoted, reason, champion (the scoring
    version), scoring (what happened), predictions_written, risk_tiers, calibration, rows,
    train_dates, eval_date, non_finite_values, steps}."""
    trained = bool(summary["training"]["train"])
    metrics = summary.get("metrics") or {}
    gate = summary.get("gate") or {}
    predictions = summary["predictions"]
    return {
        "run_id": summary["run_id"],
        "runner": runner,
        "as_of": summary["as_of"],
        "mode": summary.get("mode"),
        "trained": trained,
        "training": f"trained version {summary['version']}" if trained else summary["training"]["reason"],
        "history_days": summary["training"]["history_days"],
        "history_needed": summary["training"]["history_needed"],
        "version": summary.get("version"),
        "metrics": {name: metrics[name] for name in ("candidate", "baseline")} if trained else None,
        "comparison": metrics.get("comparison"),
        "champion_on_eval": metrics.get("champion_on_eval"),
        "promoted": gate.get("promoted") if trained else None,
        "reason": gate.get("reason"),
        "champion": predictions["model_version"],
        "scoring": predictions["reason"],
        "predictions_written": predictions["written"],
        "risk_tiers": predictions["risk_tiers"],
        "calibration": summary.get("calibration"),
        "rows": summary["rows"],
        "train_dates": summary["train_dates"],
        "eval_date": summary["eval_date"],
        "non_finite_values": summary.get("non_finite_values", {}),
        "steps": summary.get("steps", []),
    }


class InProcessRunner:
    """The six steps in this process, on the platform's lake and warehouse."""

    name = "in-process"

    def __init__(self, platform: Platform):
        self.platform = platform

    def run(
        self,
        as_of: date | None = None,
        options: PipelineOptions | None = None,
        progress: Progress | None = None,
        mode: str = "auto",
    ) -> dict[str, Any]:
        text = as_of_text(as_of)
        context = StepContext(self.platform.settings, self.platform.lake, self.platform.warehouse)
        summary = run_steps_in_process(
            context, options or PipelineOptions(), new_run_id(text), text, progress, check_mode(mode)
        )
        return summarise(summary, self.name)


class KfpLocalRunner:
    """The compiled KFP spec on KFP's local runner (needs the [gcp] extra's kfp)."""

    name = "kfp-local"

    def __init__(self, platform: Platform):
        self.platform = platform

    def run(
        self,
        as_of: date | None = None,
        options: PipelineOptions | None = None,
        progress: Progress | None = None,
        mode: str = "auto",
    ) -> dict[str, Any]:
        from winter_days.ml.kfp_pipeline import PIPELINE_FILE, compile_pipeline, run_local

        text = as_of_text(as_of)
        run_id = new_run_id(text)
        work = self.platform.settings.home / "kfp-local" / run_id
        spec = compile_pipeline(work / PIPELINE_FILE)
        if progress:
            progress(f"running {spec} with the KFP local runner")
        arguments = {
            "settings_json": settings_to_json(self.platform.settings),
            "options_json": (options or PipelineOptions()).to_json(),
            "run_id": run_id,
            "as_of": text,
            "mode": check_mode(mode),
        }
        return summarise(json.loads(run_local(spec, work / "outputs", arguments)), self.name)


RUNNERS: dict[str, Callable[[Platform], ChurnPipelineRunner]] = {
    "in-process": InProcessRunner,
    "kfp-local": KfpLocalRunner,
}


def run_churn_pipeline(
    platform: Platform,
    as_of: date | str | None = None,
    runner: str | None = None,
    options: PipelineOptions | None = None,
    progress: Progress | None = None,
    mode: str = "auto",
) -> dict:
    """The churn pipeline for one as-of date (default: the last day with sales; no data
    after it is read), on the platform's runner or a named local one; `mode` as in cadence.py."""
    if runner is not None and runner not in RUNNERS:
        raise ValueError(f"unknown churn pipeline runner {runner!r}; choose one of {', '.join(RUNNERS)}")
    chosen = platform.ml_runner if runner is None else RUNNERS[runner](platform)
    as_of_date = date.fromisoformat(as_of) if isinstance(as_of, str) and as_of else as_of or None
    return chosen.run(as_of_date, options, progress, check_mode(mode))
