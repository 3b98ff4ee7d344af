"""Churn pipeline: speed at 100,000 customers, model quality against the true churn
probabilities, calibration, and the promotions of a 120-day demo.

A warehouse is filled straight from the generators' model (winter_days.ml.simulated; not
timed), each day's rows known from that day on, as daily loads would make them.

(a) Speed: the whole in-process pipeline in train mode (features for every as-of date,
    training, calibration, evaluation, registry, gate, scoring of every active customer),
    three times; the median run's figures. Goal: under 60 s for 100,000 customers on 2 cores.
(b) Quality: on the evaluation rows (held-out customers, the later as-of date), the model's
    ROC AUC over the ROC AUC of the generator's exact churn probabilities
    (generators/ground_truth.py) for the same customers and labels (goal >= 0.95), and the
    expected calibration error (ECE) of its calibrated probabilities, and before calibration.
(c) A 120-day demo (demo scale: 2,000 customers, 200 sales and 4,000 click events a day):
    the daily run in auto mode for every day, as the demo runs it (scoring daily, training
    weekly once the history allows). Counted: promotions over a champion, and those with a
    lower AUC than the champion on the gate's own rows (goal 0); the same pairs on fresh
    rows (the held-out customers at the last date whose labels are complete, which no
    model fitted on); the ECE of the daily predictions against what then happened; and the
    daily runs that succeeded (goal: all 120, from day one, before any model exists).

    python -m bench.ml [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from bench.common import BENCH_KEY, RESULTS, results_path
from winter_days.config import load_settings
from winter_days.generators.customers import build_customer_pool
from winter_days.generators.ground_truth import churn_probabilities
from winter_days.ml import run_churn_pipeline
from winter_days.ml.calibrate import apply_calibrator
from winter_days.ml.evaluate import expected_calibration_error
from winter_days.ml.features import build_feature_table
from winter_days.ml.registry import Registry
from winter_days.ml.simulated import write_simulated_warehouse
from winter_days.ml.steps import run_key
from winter_days.ml.train import TrainingConfig, is_holdout, to_dataset
from winter_days.platform import build_platform
from winter_days.pseudonyms import Pseudonymiser
from winter_days.warehouse.duckdb.files import wait_for_after_write

FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 6, 30)
SPEED_GOAL_SECONDS = 60.0
AUC_RATIO_GOAL = 0.95
ML_REPEATS = 3
# Per customer and day: about one order every 20 days, and the generators' default click
# density (1,000 events a day for the default 2,000 customers).
SALES_PER_CUSTOMER_DAY = 0.05
CLICKS_PER_CUSTOMER_DAY = 0.5
# The demo's own scale (winter_days.demo.run.DEMO_VOLUMES, 2,000 customers).
DEMO_DAYS, DEMO_CUSTOMERS, DEMO_SALES, DEMO_CLICKS = 120, 2_000, 200, 4_000


def settings_in(tmp: str, customers: int):
    return load_settings(overrides={"home": tmp, "customers": customers}, environ={}, cwd=Path(tmp))


def speed_and_quality(customers: int) -> list[dict]:
    sales_per_day = int(customers * SALES_PER_CUSTOMER_DAY)
    pool = build_customer_pool(42, customers, FIRST_DAY, Pseudonymiser(BENCH_KEY))
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as tmp:
        settings = settings_in(tmp, customers)
        started = time.perf_counter()
        counts = write_simulated_warehouse(
            settings.warehouse_path, pool, FIRST_DAY, LAST_DAY, sales_per_day, int(customers * CLICKS_PER_CUSTOMER_DAY)
        )
        print(
            f"simulated warehouse: {counts['sales']:,} sales, {counts['clicks']:,} click events "
            f"in {time.perf_counter() - started:.1f}s",
            flush=True,
        )

        runs = []
        for _ in range(ML_REPEATS):
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            result = run_churn_pipeline(build_platform(settings), progress=lambda m: print(m, flush=True), mode="train")
            # The machine is shared: a load far above its core count stretches the training
            # step many times over (OpenMP threads wait for cores), so the load goes with the time.
            runs.append((time.perf_counter() - started, max(load_before, os.getloadavg()[0]), result))
            # Writing the predictions leaves the ELT's standby copy of the warehouse to be
            # made in the background: done before the next run, and before the folder goes.
            wait_for_after_write()
        # Every run trains on the same warehouse with the same seed; the figures are the
        # median run's (by time), and the AUC spread over the runs is reported beside them.
        runs.sort(key=lambda run: run[0])
        seconds, load, result = runs[len(runs) // 2]
        run_aucs = [run[2]["metrics"]["candidate"]["roc_auc"] for run in runs]
        print(
            json.dumps({k: result[k] for k in ("version", "metrics", "calibration", "rows", "steps")}, indent=1),
            flush=True,
        )

        lake = build_platform(settings).lake
        evaluation = pq.read_table(io.BytesIO(lake.get(run_key(result["run_id"], "eval.parquet"))))
        uncalibrated = Registry(lake).get_version(result["version"]).manifest["metrics"]["uncalibrated"]
    eval_date = date.fromisoformat(result["eval_date"])
    labels = np.asarray(evaluation.column("churned").to_pylist(), dtype=np.float64)
    truth = churn_probabilities(pool, eval_date, settings.churn_horizon_days, count=sales_per_day)
    index = {cid: i for i, cid in enumerate(pool.customer_id)}
    true_scores = truth[[index[c] for c in evaluation.column("customer_id").to_pylist()]]
    true_auc = float(roc_auc_score(labels, true_scores))
    candidate = result["metrics"]["candidate"]
    ratio = candidate["roc_auc"] / true_auc

    scenario = (
        f"{customers:,} customers, {counts['sales']:,} sales, {FIRST_DAY}..{LAST_DAY}, "
        f"{result['rows']['train']:,} training rows, {result['predictions_written']:,} scored"
    )
    held_out = f"held-out customers at {eval_date} ({len(labels):,} rows)"
    rows = [
        {
            "scenario": scenario,
            "metric": "pipeline_seconds",
            "value": round(seconds, 1),
            "unit": "s",
            "goal": f"< {SPEED_GOAL_SECONDS:.0f} (100,000 customers)",
            "ok": seconds < SPEED_GOAL_SECONDS if customers >= 100_000 else None,
        },
        {
            "scenario": scenario,
            "metric": "load_average_1m_during_run",
            "value": round(load, 2),
            "unit": "",
            "goal": f"<= {len(os.sched_getaffinity(0))} for a fair speed reading",
            "ok": None,
        },
        {
            "scenario": held_out,
            "metric": "model_roc_auc",
            "value": round(candidate["roc_auc"], 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": held_out,
            "metric": "true_probability_roc_auc",
            "value": round(true_auc, 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": held_out,
            "metric": "auc_ratio_model_over_truth",
            "value": round(ratio, 4),
            "unit": "",
            "goal": f">= {AUC_RATIO_GOAL}",
            "ok": ratio >= AUC_RATIO_GOAL,
        },
        {
            "scenario": f"{held_out}, {result['calibration']['method']} calibration",
            "metric": "ece_calibrated",
            "value": round(candidate["ece"], 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": held_out,
            "metric": "ece_before_calibration",
            "value": round(uncalibrated["ece"], 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": held_out,
            "metric": "baseline_roc_auc",
            "value": round(result["metrics"]["baseline"]["roc_auc"], 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": f"{held_out}, {ML_REPEATS} runs",
            "metric": "model_roc_auc_spread",
            "value": round(max(run_aucs) - min(run_aucs), 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
    ]
    for step in result["steps"]:
        rows.append(
            {
                "scenario": scenario,
                "metric": f"step_{step['step']}_seconds",
                "value": step["seconds"],
                "unit": "s",
                "goal": None,
                "ok": None,
            }
        )
    for row in rows:
        row["load_1m"] = round(load, 2)
        row["repeats"] = ML_REPEATS
    return rows


def demo_promotions() -> list[dict]:
    """The daily runs of a 120-day demo, ML only: what the gate promoted, and was it better."""
    pool = build_customer_pool(42, DEMO_CUSTOMERS, FIRST_DAY, Pseudonymiser(BENCH_KEY))
    last = FIRST_DAY + timedelta(days=DEMO_DAYS - 1)
    with tempfile.TemporaryDirectory(prefix="bench-ml-demo-") as tmp:
        settings = settings_in(tmp, DEMO_CUSTOMERS)
        write_simulated_warehouse(settings.warehouse_path, pool, FIRST_DAY, last, DEMO_SALES, DEMO_CLICKS)
        platform = build_platform(settings)
        started, trained, failed, first = time.perf_counter(), 0, [], {}
        for offset in range(DEMO_DAYS):
            day = FIRST_DAY + timedelta(days=offset)
            try:
                result = run_churn_pipeline(platform, day, mode="auto")
            except Exception as err:  # a failed daily run is what (c) counts, not a reason to stop
                failed.append(f"{day}: {err}")
                print(f"{day}: FAILED: {err}", flush=True)
                continue
            trained += result["trained"]
            if result["predictions_written"]:
                first.setdefault("scored", day)
            if result["trained"]:
                first.setdefault("trained", day)
                print(
                    f"{result['as_of']}: {result['version']} "
                    f"{'promoted' if result['promoted'] else 'challenger'}: {result['reason']}",
                    flush=True,
                )
        wait_for_after_write()
        seconds = time.perf_counter() - started
        registry = Registry(platform.lake)
        promotions = [
            h
            for h in registry.aliases()["history"]
            if h.get("alias") == "champion" and h.get("champion_version") and h.get("comparison")
        ]
        worse_on_gate = sum(1 for h in promotions if h["comparison"]["difference"] < 0)
        horizon = settings.churn_horizon_days
        fresh_date = last - timedelta(days=horizon)
        with platform.warehouse.reader() as reader:
            fresh = build_feature_table(reader, [fresh_date], horizon, label_until=last)
            outcomes = build_feature_table(
                reader,
                [
                    FIRST_DAY + timedelta(days=d)
                    for d in range(DEMO_DAYS)
                    if FIRST_DAY + timedelta(days=d) <= fresh_date
                ],
                horizon,
                label_until=last,
            )
            predicted = reader.query(
                "SELECT as_of_date, customer_id, churn_probability, risk_tier FROM "
                "winter_days_warehouse.fact_predictions_churn WHERE as_of_date <= @until",
                {"until": fresh_date},
            )
        split = TrainingConfig()  # the pipeline's own hold-out: customers no model was fitted on
        fresh = fresh.filter(
            is_holdout(
                np.asarray(fresh.column("customer_id").to_pylist(), dtype=object), split.holdout_share, split.seed
            )
        )
        data = to_dataset(fresh)

        def fresh_auc(version: str) -> float:
            features = registry.get_version(version).manifest["features"]
            raw = registry.load(version).predict_proba(to_dataset(fresh, features).X)[:, 1]
            return float(roc_auc_score(data.y, apply_calibrator(registry.load_calibrator(version), raw)))

        worse_fresh = sum(1 for h in promotions if fresh_auc(h["version"]) < fresh_auc(h["champion_version"]))
    happened = {(r["as_of_date"], r["customer_id"]): r["churned"] for r in outcomes.to_pylist()}
    pairs = [
        (p["churn_probability"], happened[(p["as_of_date"], p["customer_id"])])
        for p in predicted.to_pylist()
        if (p["as_of_date"], p["customer_id"]) in happened
    ]
    forward_ece = expected_calibration_error(
        np.array([y for _, y in pairs], dtype=np.float64), np.array([p for p, _ in pairs])
    )
    scenario = (
        f"120-day demo, ML only: {DEMO_CUSTOMERS:,} customers, {DEMO_SALES} sales and {DEMO_CLICKS:,} clicks "
        f"a day, daily runs in auto mode ({trained} trainings)"
    )
    succeeded = DEMO_DAYS - len(failed)
    return [
        {
            "scenario": f"{scenario}; first training {first.get('trained')}, first scores {first.get('scored')}"
            + (f"; first failure {failed[0]}" if failed else ""),
            "metric": "daily_runs_succeeded",
            "value": succeeded,
            "unit": f"of {DEMO_DAYS}",
            "goal": f"{DEMO_DAYS} (from day one)",
            "ok": succeeded == DEMO_DAYS,
        },
        {
            "scenario": scenario,
            "metric": "promotions_over_a_champion",
            "value": len(promotions),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": scenario,
            "metric": "worse_promotions",
            "value": worse_on_gate,
            "unit": "",
            "goal": "0 (lower AUC than the champion on the gate's rows)",
            "ok": worse_on_gate == 0,
        },
        {
            "scenario": f"{scenario}; held-out customers at {fresh_date} ({len(data):,} rows, no model fitted on them)",
            "metric": "worse_promotions_on_fresh_rows",
            "value": worse_fresh,
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": f"{scenario}; {len(pairs):,} daily predictions up to {fresh_date} against what happened",
            "metric": "ece_of_daily_predictions",
            "value": round(forward_ece, 4),
            "unit": "",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": scenario,
            "metric": "demo_ml_seconds",
            "value": round(seconds, 1),
            "unit": "s",
            "goal": None,
            "ok": None,
        },
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers instead of 100,000 for (a) and (b)")
    args = parser.parse_args(argv)
    rows = speed_and_quality(10_000 if args.quick else 100_000) + demo_promotions()
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_path("ml", args.quick).write_text(
        json.dumps({"benchmark": "ml", "quick": args.quick, "rows": rows}, indent=2)
    )
    for row in rows:
        if row["metric"] in (
            "pipeline_seconds",
            "auc_ratio_model_over_truth",
            "ece_calibrated",
            "ece_before_calibration",
            "worse_promotions",
            "worse_promotions_on_fresh_rows",
            "promotions_over_a_champion",
            "daily_runs_succeeded",
            "ece_of_daily_predictions",
        ):
            print(f"{row['metric']}: {row['value']} {row['unit']} (goal {row['goal']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
