"""The churn pipeline's steps, each a function of strings so KFP components can call them.

Steps hand over through the lake, under `mlops/runs/<run_id>/`, and each returns a small
JSON summary that the next step takes as input (this is what orders them in the KFP DAG):

    build_features -> train_models -> evaluate_models -> register_model -> gate_model -> predict_churn

build_features decides whether the run trains (cadence.py); when it does not, the four
training steps pass its summary on untouched and predict_churn scores with the champion.
Every trained version is registered, then the gate moves the aliases, so a model that is
not promoted is still kept (as challenger) with its metrics and the reason.
"""

from __future__ import annotations

import io
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from winter_days.config import Settings, load_settings
from winter_days.ml.cadence import check_mode, plan_training
from winter_days.ml.calibrate import apply_calibrator, choose_calibration
from winter_days.ml.compare import compare_auc
from winter_days.ml.evaluate import calibration_table, classification_metrics, curve_pngs, expected_calibration_error
from winter_days.ml.features import (
    FEATURE_COLUMNS,
    FeatureError,
    NoSalesError,
    build_feature_table,
    data_span,
    minimum_history_days,
    training_as_of_dates,
)
from winter_days.ml.lineage import data_fingerprint, feature_signature, source_commit
from winter_days.ml.options import PipelineOptions
from winter_days.ml.predict import PredictionError, predictions_table, write_predictions
from winter_days.ml.registry import Registry, dump_model, load_model, make_version_id
from winter_days.ml.train import (
    TrainingConfig,
    check_training_data,
    fingerprint,
    fit_baseline,
    fit_candidate,
    split_by_time,
    to_dataset,
)
from winter_days.stores import Lake
from winter_days.warehouse import Warehouse, WarehouseUnavailable

STEP_ORDER = ("build_features", "train_models", "evaluate_models", "register_model", "gate_model", "predict_churn")


@dataclass(frozen=True)
class StepContext:
    """What a step works with: the settings, the lake (run artefacts, the registry) and the warehouse."""

    settings: Settings
    lake: Lake
    warehouse: Warehouse


def settings_to_json(settings: Settings) -> str:
    """The settings a pipeline component needs to build the same ports (no secrets)."""
    return json.dumps(settings.to_mapping(), sort_keys=True)


def settings_from_json(text: str) -> Settings:
    values = json.loads(text)
    # Every setting is given explicitly, so neither the environment nor a settings file of
    # the component's working directory can change what the caller asked for.
    return load_settings(overrides=values, environ={}, cwd=Path(values["home"]))


def component(step: str, settings_json: str, *args: str) -> str:
    """Run one step in a pipeline component: the component builds its platform's ports
    from the settings it was given (a bucket and BigQuery on Vertex AI)."""
    from winter_days.ml.step_failures import FAILURE_FILE, record_step_failure, step_run_id
    from winter_days.platform import build_platform

    platform = build_platform(settings_from_json(settings_json))
    try:
        context = StepContext(platform.settings, platform.lake, platform.warehouse)
        try:
            return STEPS[step](context, *args)
        except Exception as err:
            run_id = step_run_id(step, args)
            if run_id:  # the runner reports it: on Vertex AI the exception is otherwise only in the log
                record_step_failure(platform.lake, run_key(run_id, FAILURE_FILE), step, err)
            raise
    finally:
        platform.close()


def new_run_id(as_of: str) -> str:
    """A unique, time-ordered run id."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{as_of or 'latest'}-{secrets.token_hex(3)}"


def run_key(run_id: str, name: str) -> str:
    return f"mlops/runs/{run_id}/{name}"


def _put_json(lake: Lake, key: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    lake.put(key, text.encode())
    return text


def _put_table(lake: Lake, key: str, table: pa.Table) -> None:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    lake.put(key, buffer.getvalue())


def _get_table(lake: Lake, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(lake.get(key)))


def _upstream(context: StepContext, summary_json: str) -> tuple[dict, PipelineOptions]:
    summary = json.loads(summary_json)
    options = PipelineOptions.from_json(context.lake.get(run_key(summary["run_id"], "options.json")).decode())
    return summary, options


def _trains(summary: dict) -> bool:
    return bool(summary["training"]["train"])


def _passed_on(summary: dict) -> str:
    """A training step's output when the run does not train: the summary as it came."""
    return json.dumps(summary, sort_keys=True, default=str)


def build_features(context: StepContext, options_json: str, run_id: str, as_of: str = "", mode: str = "auto") -> str:
    """Decide whether the run trains, then build point-in-time features for the training,
    calibration, evaluation and scoring dates (only the scoring date when it does not train)."""
    options = PipelineOptions.from_json(options_json)
    check_mode(mode)
    run_id = run_id or new_run_id(as_of)
    lake = context.lake
    lake.put(run_key(run_id, "options.json"), options.to_json().encode())
    horizon = context.settings.churn_horizon_days
    cfg = options.training
    try:
        with context.warehouse.reader() as reader:
            try:
                score_date = date.fromisoformat(as_of) if as_of else data_span(reader, options.sources).last_day
                span = data_span(reader, options.sources, known_by=score_date)
            except NoSalesError as err:
                if mode == "train":
                    raise
                return _nothing_to_do(context, run_id, as_of, mode, str(err), cfg.min_history_days)
            registry = Registry(lake)
            plan = plan_training(
                mode,
                span.first_day,
                score_date,
                horizon,
                cfg.min_history_days,
                registry.latest_trained_as_of(score_date),
                context.settings.churn_train_every_days,
            )
            train_dates: list[date] = []
            eval_date = None
            if plan.train:
                train_dates, eval_date = training_as_of_dates(
                    span, score_date, horizon, cfg.train_dates, cfg.step_days, cfg.min_history_days
                )
            # A run that neither trains nor finds a champion for its date scores nothing (a
            # fresh install's first weeks; predict_churn says why): it builds no features.
            scores = plan.train or registry.champion_at(score_date) is not None
            dates = [*train_dates, *([eval_date] if eval_date else []), *([score_date] if scores else [])]
            table = (
                build_feature_table(reader, dates, horizon, options.sources, label_until=score_date) if dates else None
            )
    except WarehouseUnavailable as err:
        raise FeatureError(f"churn features: {err}") from None
    parts: dict[str, pa.Table] = {}
    if table is not None:
        parts["score"] = table.filter(pc.equal(table.column("as_of_date"), pa.scalar(score_date, pa.date32())))
    if table is not None and eval_date is not None:
        split = split_by_time(table, train_dates, eval_date, cfg.holdout_share, cfg.seed)
        parts.update(train=split.train, calibration=split.calibration, eval=split.evaluation)
    for name, part in parts.items():
        _put_table(lake, run_key(run_id, f"{name}.parquet"), part)
    summary = {
        "run_id": run_id,
        "as_of": score_date.isoformat(),
        "mode": mode,
        "training": plan.as_dict(),
        "data_first_day": span.first_day.isoformat(),
        "data_last_day": span.last_day.isoformat(),
        "train_dates": [d.isoformat() for d in train_dates],
        "eval_date": eval_date.isoformat() if eval_date else None,
        "rows": {name: part.num_rows for name, part in parts.items()},
        "horizon_days": horizon,
        "data_fingerprint": None if table is None else data_fingerprint(table, FEATURE_COLUMNS),
        "feature_signature": None if table is None else feature_signature(table.schema, FEATURE_COLUMNS),
    }
    return _put_json(lake, run_key(run_id, "features.json"), summary)


def _nothing_to_do(context: StepContext, run_id: str, as_of: str, mode: str, why: str, min_history_days: int) -> str:
    """The features summary of a run before any sale is known (by its as-of date): it
    neither trains nor scores, and says so; `no_sales` keeps the warehouse's own words."""
    reason = f"skipped: no sales known by {as_of} yet" if as_of else "skipped: no sales in the warehouse yet"
    summary: dict[str, Any] = {
        "run_id": run_id,
        "as_of": as_of or None,
        "mode": mode,
        "training": {
            "train": False,
            "reason": reason,
            "history_days": 0,
            "history_needed": minimum_history_days(context.settings.churn_horizon_days, min_history_days),
        },
        "no_sales": why,
        "data_first_day": None,
        "data_last_day": None,
        "train_dates": [],
        "eval_date": None,
        "rows": {"score": 0},
        "horizon_days": context.settings.churn_horizon_days,
    }
    return _put_json(context.lake, run_key(run_id, "features.json"), summary)


def _evaluation_config(options: PipelineOptions) -> TrainingConfig:
    return TrainingConfig(
        min_rows=max(20, options.training.min_class_rows * 2), min_class_rows=options.training.min_class_rows
    )


def train_models(context: StepContext, features_summary: str) -> str:
    """Fit the candidate and the baseline on the training rows, then choose and fit the
    candidate's calibration on the calibration rows."""
    lake = context.lake
    summary, options = _upstream(context, features_summary)
    if not _trains(summary):
        return _passed_on(summary)
    run_id = summary["run_id"]
    data = to_dataset(_get_table(lake, run_key(run_id, "train.parquet")))
    check_training_data(data, options.training, "training")
    candidate = fit_candidate(data, options.training)
    baseline = fit_baseline(data, options.training)
    held = to_dataset(_get_table(lake, run_key(run_id, "calibration.parquet")))
    check_training_data(held, _evaluation_config(options), "calibration (the later as-of date, other customers)")
    calibration = choose_calibration(
        candidate.predict_proba(held.X)[:, 1], held.y, held.customer_id, options.training.seed
    )
    lake.put(run_key(run_id, "candidate.skops"), dump_model(candidate))
    lake.put(run_key(run_id, "calibrator.skops"), dump_model(calibration.calibrator))
    lake.put(run_key(run_id, "baseline.skops"), dump_model(baseline))
    result = {
        **summary,
        "training_fingerprint": fingerprint(data),
        "training_rows": len(data),
        "training_positive_rate": float(data.y.mean()),
        "non_finite_values": data.non_finite,
        "model_params": options.training.model_params(),
        "candidate_iterations": int(candidate.n_iter_),
        "calibration": calibration.summary(),
    }
    return _put_json(lake, run_key(run_id, "training.json"), result)


def evaluate_models(context: StepContext, training_summary: str) -> str:
    """Score the calibrated candidate, the baseline and the champion for the as-of date on
    the held-out rows, and compare the candidate's AUC with the champion's on those rows."""
    lake = context.lake
    summary, options = _upstream(context, training_summary)
    if not _trains(summary):
        return _passed_on(summary)
    run_id = summary["run_id"]
    table = _get_table(lake, run_key(run_id, "eval.parquet"))
    data = to_dataset(table)
    check_training_data(data, _evaluation_config(options), "evaluation (held-out customers, later as-of date)")
    candidate = load_model(lake.get(run_key(run_id, "candidate.skops")), run_key(run_id, "candidate.skops"))
    raw = candidate.predict_proba(data.X)[:, 1]
    calibrator = load_model(lake.get(run_key(run_id, "calibrator.skops")), run_key(run_id, "calibrator.skops"))
    baseline = load_model(lake.get(run_key(run_id, "baseline.skops")), run_key(run_id, "baseline.skops"))
    scores = {"candidate": apply_calibrator(calibrator, raw), "baseline": baseline.predict_proba(data.X)[:, 1]}
    metrics: dict[str, Any] = {name: classification_metrics(data.y, s) for name, s in scores.items()}
    metrics["candidate"]["model"] = f"HistGradientBoostingClassifier, {summary['calibration']['method']} calibration"
    metrics["baseline"]["model"] = "LogisticRegression (median-imputed, scaled)"
    metrics["uncalibrated"] = {
        "brier": float(np.mean((raw - data.y) ** 2)),
        "ece": expected_calibration_error(data.y, raw),
        "calibration": calibration_table(data.y, raw),
    }
    metrics["eval_date"] = summary["eval_date"]
    metrics["comparison"] = _against_champion(context, table, data.y, scores["candidate"], summary["as_of"])
    comparison = metrics["comparison"]
    metrics["champion_on_eval"] = (
        None
        if comparison is None
        else {"version": comparison["reference_version"], "roc_auc": comparison["reference_auc"]}
    )
    for name, png in curve_pngs(data.y, scores).items():
        lake.put(run_key(run_id, f"{name}.png"), png)
    _put_json(lake, run_key(run_id, "metrics.json"), metrics)
    # Downstream steps get the headline numbers; the calibration tables stay in metrics.json.
    headline = {
        k: ({m: v for m, v in val.items() if m != "calibration"} if k in scores else val)
        for k, val in metrics.items()
        if k != "uncalibrated"
    }
    return json.dumps({**summary, "metrics": headline}, sort_keys=True, default=str)


def _against_champion(
    context: StepContext, table: pa.Table, labels: np.ndarray, candidate: np.ndarray, as_of: str
) -> dict | None:
    """DeLong's comparison with the champion for the as-of date, on the same rows (None when
    there is none, or it needs features that are no longer computed)."""
    registry = Registry(context.lake)
    reference = registry.champion_at(date.fromisoformat(as_of))
    if reference is None:
        return None
    features = registry.get_version(reference).manifest["features"]
    if not set(features) <= set(table.column_names):
        return None
    raw = registry.load(reference).predict_proba(to_dataset(table, features).X)[:, 1]
    scores = apply_calibrator(registry.load_calibrator(reference), raw)
    return compare_auc(labels, candidate, scores, reference, context.settings.churn_promotion_confidence).as_dict()


def register_model(context: StepContext, evaluation_summary: str) -> str:
    """Save the evaluated candidate as a registry version with its lineage (idempotent for
    the same data)."""
    import sklearn
    import skops

    from winter_days import __version__ as package_version

    lake = context.lake
    summary, _ = _upstream(context, evaluation_summary)
    if not _trains(summary):
        return _passed_on(summary)
    run_id = summary["run_id"]
    # Same data, parameters and library versions give the same model, hence the same version.
    version = make_version_id(
        summary["as_of"],
        summary["training_fingerprint"],
        {**summary["model_params"], "sklearn": sklearn.__version__},
        package_version,
    )
    manifest = {
        key: summary[key]
        for key in (
            "as_of",
            "train_dates",
            "eval_date",
            "horizon_days",
            "training_fingerprint",
            "training_rows",
            "training_positive_rate",
            "non_finite_values",
            "model_params",
            "run_id",
            "calibration",
            "feature_signature",
            "data_fingerprint",
        )
    }
    manifest.update(
        training_window={
            "train_as_of_dates": summary["train_dates"],
            "calibration_as_of_date": summary["eval_date"],
            "evaluation_as_of_date": summary["eval_date"],
            "labels_known_at": summary["as_of"],
            "data_first_day": summary["data_first_day"],
        },
        source=source_commit(),
        package_version=package_version,
        sklearn_version=sklearn.__version__,
        skops_version=skops.__version__,
        created_at=datetime.now(UTC).isoformat(),
    )
    Registry(lake).save_version(
        version,
        model=lake.get(run_key(run_id, "candidate.skops")),
        calibrator=lake.get(run_key(run_id, "calibrator.skops")),
        baseline=lake.get(run_key(run_id, "baseline.skops")),
        metrics=json.loads(lake.get(run_key(run_id, "metrics.json"))),
        features=list(FEATURE_COLUMNS),
        curves={name: lake.get(run_key(run_id, f"{name}.png")) for name in ("roc", "pr")},
        manifest=manifest,
    )
    return _put_json(lake, run_key(run_id, "registered.json"), {**summary, "version": version})


def gate_model(context: StepContext, registration_summary: str) -> str:
    """Promote the new version to champion or keep it as challenger, saying why."""
    lake = context.lake
    summary, options = _upstream(context, registration_summary)
    if not _trains(summary):
        return _passed_on(summary)
    decision = Registry(lake).apply_gate(
        summary["version"], options.auc_tolerance, options.auc_floor, summary["metrics"].get("comparison")
    )
    return _put_json(lake, run_key(summary["run_id"], "gate.json"), {**summary, "gate": decision})


def predict_churn(context: StepContext, gate_summary: str) -> str:
    """Score every active customer at the as-of date with the champion for that date, into
    the warehouse; skipped while no model learnt from data up to that date, an error when
    models were trained but none is champion."""
    lake = context.lake
    summary, _ = _upstream(context, gate_summary)
    if "no_sales" in summary:
        return _scoring_skipped(lake, summary, summary["training"]["reason"])
    registry = Registry(lake)
    as_of = date.fromisoformat(summary["as_of"])
    champion = registry.champion_at(as_of)
    if champion is None:
        current = registry.alias("champion")
        if current is None and registry.latest_trained_as_of(as_of) is not None:
            why = summary["gate"]["reason"] if "gate" in summary else "every version trained so far is a challenger"
            raise PredictionError(f"no champion model: {why}; no predictions written")
        reason = (
            f"skipped: no model trained on data up to {as_of} yet"
            if current is None
            else f"skipped: no champion learnt from data up to {as_of} (champion {current} learnt from later labels)"
        )
        return _scoring_skipped(lake, summary, reason)
    features = registry.get_version(champion).manifest["features"]
    table = _get_table(lake, run_key(summary["run_id"], "score.parquet"))
    if table.num_rows == 0:
        raise PredictionError(f"no active customers at {summary['as_of']}: nothing to score")
    missing = [f for f in features if f not in table.column_names]
    if missing:
        raise PredictionError(
            f"champion {champion} needs feature(s) {', '.join(missing)} that are no longer computed; "
            f"gate version {summary.get('version') or 'a newer one'} to champion, or retrain"
        )
    data = to_dataset(table, features)
    calibrator = registry.load_calibrator(champion)
    probabilities = apply_calibrator(calibrator, registry.load(champion).predict_proba(data.X)[:, 1])
    rows = predictions_table(table.column("customer_id").to_pylist(), probabilities, champion, as_of)
    written = write_predictions(context.warehouse, rows, as_of)
    tiers = {
        tier: int(n)
        for tier, n in zip(
            *np.unique(rows.column("risk_tier").to_numpy(zero_copy_only=False), return_counts=True), strict=False
        )
    }
    scored = {
        "status": "scored",
        "reason": f"scored {written} customers with champion {champion}",
        "written": written,
        "model_version": champion,
        "risk_tiers": tiers,
        "calibrated": calibrator is not None,
    }
    return _put_json(lake, run_key(summary["run_id"], "result.json"), {**summary, "predictions": scored})


def _scoring_skipped(lake: Lake, summary: dict, reason: str) -> str:
    skipped = {"status": "skipped", "reason": reason, "written": 0, "model_version": None, "risk_tiers": {}}
    return _put_json(lake, run_key(summary["run_id"], "result.json"), {**summary, "predictions": skipped})


STEPS: dict[str, Callable[..., str]] = {
    "build_features": build_features,
    "train_models": train_models,
    "evaluate_models": evaluate_models,
    "register_model": register_model,
    "gate_model": gate_model,
    "predict_churn": predict_churn,
}


def run_steps_in_process(
    context: StepContext, options: PipelineOptions, run_id: str, as_of: str, progress=None, mode: str = "auto"
) -> dict:
    """Run the six steps in this process, in STEP_ORDER, timing each."""
    timings = []
    output = ""
    for index, name in enumerate(STEP_ORDER, start=1):
        if progress:
            progress(f"[{index}/{len(STEP_ORDER)}] {name}")
        started = time.perf_counter()
        if name == "build_features":
            output = build_features(context, options.to_json(), run_id, as_of, mode)
        else:
            output = STEPS[name](context, output)
        timings.append({"step": name, "seconds": round(time.perf_counter() - started, 3)})
    return {**json.loads(output), "steps": timings}
