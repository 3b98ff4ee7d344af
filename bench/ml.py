"""Churn pipeline: speed at 100,000 customers, and model quality against the true churn probabilities.

A warehouse is filled straight from the generators' model (winter_days.ml.simulated; not
timed), then the whole in-process pipeline runs three times on it (the median run's
figures are reported): features for every as-of date, training of the model and its
baseline, evaluation, registry, gate, and scoring of every active customer into
fact_predictions_churn.

(a) Speed: wall time of the median run. Goal: under 60 s for 100,000 customers on 2 cores.
(b) Quality: on the evaluation rows (held-out customers, the later as-of date), the model's
    ROC AUC over the ROC AUC of the generator's exact churn probabilities
    (generators/ground_truth.py) for the same customers and labels. Goal: >= 0.95.

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

from winter_days.config import load_settings
from winter_days.warehouse.duckdb.files import wait_for_after_write
from winter_days.generators.customers import build_customer_pool
from winter_days.generators.ground_truth import churn_probabilities
from winter_days.ml import run_churn_pipeline
from winter_days.ml.simulated import write_simulated_warehouse
from winter_days.ml.steps import run_key
from winter_days.platform import build_platform
from winter_days.pseudonyms import Pseudonymiser
from bench.common import BENCH_KEY, RESULTS, results_path

FIRST_DAY = date(2026, 1, 1)
LAST_DAY = date(2026, 6, 30)
SPEED_GOAL_SECONDS = 60.0
AUC_RATIO_GOAL = 0.95
ML_REPEATS = 3
# Per customer and day: about one order every 20 days, and the generators' default click
# density (1,000 events a day for the default 2,000 customers).
SALES_PER_CUSTOMER_DAY = 0.05
CLICKS_PER_CUSTOMER_DAY = 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 customers instead of 100,000")
    args = parser.parse_args(argv)
    customers = 10_000 if args.quick else 100_000
    sales_per_day = int(customers * SALES_PER_CUSTOMER_DAY)
    pool = build_customer_pool(42, customers, FIRST_DAY, Pseudonymiser(BENCH_KEY))
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as tmp:
        settings = load_settings(overrides={"home": tmp, "customers": customers}, environ={}, cwd=Path(tmp))
        started = time.perf_counter()
        counts = write_simulated_warehouse(settings.warehouse_path, pool, FIRST_DAY, LAST_DAY, sales_per_day,
                                           int(customers * CLICKS_PER_CUSTOMER_DAY))
        print(f"simulated warehouse: {counts['sales']:,} sales, {counts['clicks']:,} click events "
              f"in {time.perf_counter() - started:.1f}s", flush=True)

        runs = []
        for _ in range(ML_REPEATS):
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            result = run_churn_pipeline(build_platform(settings), progress=lambda m: print(m, flush=True))
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
        print(json.dumps({k: result[k] for k in ("version", "metrics", "rows", "steps")}, indent=1), flush=True)

        lake = build_platform(settings).lake
        evaluation = pq.read_table(io.BytesIO(lake.get(run_key(result["run_id"], "eval.parquet"))))
    eval_date = date.fromisoformat(result["eval_date"])
    labels = np.asarray(evaluation.column("churned").to_pylist(), dtype=np.float64)
    truth = churn_probabilities(pool, eval_date, settings.churn_horizon_days, count=sales_per_day)
    index = {cid: i for i, cid in enumerate(pool.customer_id)}
    true_scores = truth[[index[c] for c in evaluation.column("customer_id").to_pylist()]]
    true_auc = float(roc_auc_score(labels, true_scores))
    model_auc = result["metrics"]["candidate"]["roc_auc"]
    ratio = model_auc / true_auc

    scenario = (f"{customers:,} customers, {counts['sales']:,} sales, {FIRST_DAY}..{LAST_DAY}, "
                f"{result['rows']['train']:,} training rows, {result['predictions_written']:,} scored")
    rows = [
        {"scenario": scenario, "metric": "pipeline_seconds", "value": round(seconds, 1), "unit": "s",
         "goal": f"< {SPEED_GOAL_SECONDS:.0f} (100,000 customers)",
         "ok": seconds < SPEED_GOAL_SECONDS if customers >= 100_000 else None},
        {"scenario": scenario, "metric": "load_average_1m_during_run", "value": round(load, 2), "unit": "",
         "goal": f"<= {len(os.sched_getaffinity(0))} for a fair speed reading", "ok": None},
        {"scenario": f"held-out customers at {eval_date} ({len(labels):,} rows)", "metric": "model_roc_auc",
         "value": round(model_auc, 4), "unit": "", "goal": None, "ok": None},
        {"scenario": f"held-out customers at {eval_date} ({len(labels):,} rows)", "metric": "true_probability_roc_auc",
         "value": round(true_auc, 4), "unit": "", "goal": None, "ok": None},
        {"scenario": f"held-out customers at {eval_date}", "metric": "auc_ratio_model_over_truth",
         "value": round(ratio, 4), "unit": "", "goal": f">= {AUC_RATIO_GOAL}", "ok": ratio >= AUC_RATIO_GOAL},
        {"scenario": f"held-out customers at {eval_date}", "metric": "baseline_roc_auc",
         "value": round(result["metrics"]["baseline"]["roc_auc"], 4), "unit": "", "goal": None, "ok": None},
        {"scenario": f"held-out customers at {eval_date}, {ML_REPEATS} runs", "metric": "model_roc_auc_spread",
         "value": round(max(run_aucs) - min(run_aucs), 4), "unit": "", "goal": None, "ok": None},
    ]
    for step in result["steps"]:
        rows.append({"scenario": scenario, "metric": f"step_{step['step']}_seconds", "value": step["seconds"],
                     "unit": "s", "goal": None, "ok": None})
    for row in rows:
        row["load_1m"] = round(load, 2)
        row["repeats"] = ML_REPEATS
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_path("ml", args.quick).write_text(json.dumps({"benchmark": "ml", "quick": args.quick, "rows": rows}, indent=2))
    for row in rows[:6]:
        print(f"{row['metric']}: {row['value']} {row['unit']} (goal {row['goal']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
