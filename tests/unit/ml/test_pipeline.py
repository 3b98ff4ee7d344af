from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import duckdb
import pytest
from click.testing import CliRunner
from support.churn_rows import SIM_LAST_DAY, sale, write_warehouse

from winter_days.cli import main
from winter_days.ml import FeatureError, PipelineOptions, PredictionError, TrainingDataError, run_churn_pipeline
from winter_days.ml.features import FEATURE_COLUMNS
from winter_days.ml.registry import Registry
from winter_days.ml.steps import run_key
from winter_days.ml.train import TrainingConfig
from winter_days.platform import build_platform

# Fewer boosting rounds keep each run short; the default model runs in the CLI test.
FAST = PipelineOptions(training=TrainingConfig(max_iter=60))


def predictions(settings):
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "SELECT as_of_date, customer_id, churn_probability, risk_tier, model_version "
            "FROM winter_days_warehouse.fact_predictions_churn ORDER BY as_of_date, customer_id"
        ).fetchall()


def active_customers(settings, as_of: date) -> int:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "SELECT count(DISTINCT customer_id) FROM winter_days_warehouse.fct_sales_status_history "
            "WHERE status = 'completed' AND sale_timestamp < CAST(? AS DATE) + INTERVAL 1 DAY",
            [as_of],
        ).fetchone()[0]


def test_pipeline_trains_registers_and_scores_every_active_customer(simulated_settings):
    result = run_churn_pipeline(build_platform(simulated_settings), options=FAST, mode="train")
    assert result["as_of"] == SIM_LAST_DAY.isoformat() and result["trained"]
    assert result["promoted"] and result["champion"] == result["version"]
    assert result["metrics"]["candidate"]["roc_auc"] > 0.75  # the simulated churn is learnable
    assert set(result["metrics"]["baseline"]) >= {"roc_auc", "pr_auc", "brier", "top_decile_lift", "ece"}
    assert result["calibration"]["method"] in ("platt", "isotonic") and result["rows"]["calibration"] > 0
    assert [s["step"] for s in result["steps"]] == [
        "build_features",
        "train_models",
        "evaluate_models",
        "register_model",
        "gate_model",
        "predict_churn",
    ]
    rows = predictions(simulated_settings)
    assert len(rows) == result["predictions_written"] == active_customers(simulated_settings, SIM_LAST_DAY)
    assert {r[0] for r in rows} == {SIM_LAST_DAY} and {r[4] for r in rows} == {result["version"]}
    manifest = Registry(build_platform(simulated_settings).lake).get_version(result["version"]).manifest
    assert manifest["training_rows"] == result["rows"]["train"]
    assert len(manifest["training_fingerprint"]) == 64 and len(manifest["data_fingerprint"]) == 64
    assert manifest["metrics"]["candidate"]["calibration"] and manifest["metrics"]["uncalibrated"]["calibration"]
    # Lineage: the inputs by name and type, the training window, the code.
    assert [(f["name"], f["type"]) for f in manifest["feature_signature"]["inputs"]] == [
        (name, "double") for name in FEATURE_COLUMNS
    ]
    assert manifest["training_window"]["train_as_of_dates"] == result["train_dates"]
    assert manifest["training_window"]["labels_known_at"] == SIM_LAST_DAY.isoformat()
    assert manifest["package_version"] and set(manifest["source"]) == {"commit", "dirty"}
    assert "calibrator.skops" in manifest["files"]


def test_rerun_gives_the_same_version_and_replaces_predictions(simulated_settings):
    first = run_churn_pipeline(build_platform(simulated_settings), options=FAST, mode="train")
    before = predictions(simulated_settings)
    second = run_churn_pipeline(build_platform(simulated_settings), options=FAST, mode="train")
    assert second["version"] == first["version"] and second["promoted"]
    assert "already champion" in second["reason"]
    after = predictions(simulated_settings)
    assert len(after) == len(before)
    assert [r[:4] for r in after] == [r[:4] for r in before]
    assert Registry(build_platform(simulated_settings).lake).versions() == [first["version"]]


def test_data_after_as_of_does_not_change_the_model(simulated_settings):
    as_of = date(2026, 5, 15)
    first = run_churn_pipeline(build_platform(simulated_settings), as_of=as_of, options=FAST, mode="train")
    with duckdb.connect(str(simulated_settings.warehouse_path)) as con:
        con.execute(
            "DELETE FROM winter_days_warehouse.fct_sales_status_history WHERE sale_timestamp >= TIMESTAMPTZ '2026-05-16 00:00:00+00'"
        )
        con.execute(
            "DELETE FROM winter_days_staging.stg_click WHERE event_timestamp >= TIMESTAMPTZ '2026-05-16 00:00:00+00'"
        )
    again = run_churn_pipeline(build_platform(simulated_settings), as_of=as_of, options=FAST, mode="train")
    assert again["version"] == first["version"]
    assert again["metrics"] == first["metrics"]  # bit-identical: the features are exact aggregates


def test_a_young_installation_succeeds_and_says_how_much_history_it_has(settings):
    days = [sale(f"C{i}", f"2026-01-{1 + i % 10:02d}T10:00:00") for i in range(40)]
    write_warehouse(settings.warehouse_path, days)
    result = run_churn_pipeline(build_platform(settings), options=FAST)
    assert not result["trained"] and result["training"] == "skipped: not enough history (9 of 74 days)"
    assert result["scoring"] == "skipped: no model trained on data up to 2026-01-10 yet"
    assert result["predictions_written"] == 0 and result["version"] is None
    assert [s["step"] for s in result["steps"]][-1] == "predict_churn"
    # Nothing could score: no feature was built for it (the daily runs of a fresh install's first weeks).
    assert result["rows"] == {}
    assert not build_platform(settings).lake.exists(run_key(result["run_id"], "score.parquet"))
    with pytest.raises(FeatureError, match="spans 9 days.*needs at least 74 days"):
        run_churn_pipeline(build_platform(settings), options=FAST, mode="train")


def test_the_champion_scores_every_day_and_training_follows_its_cadence(simulated_settings):
    platform = build_platform(simulated_settings)
    trained = run_churn_pipeline(platform, as_of=date(2026, 5, 15), options=FAST)  # auto: nothing trained yet
    assert trained["trained"] and trained["training"] == f"trained version {trained['version']}"
    daily = run_churn_pipeline(platform, as_of=date(2026, 5, 20), options=FAST)
    assert (
        not daily["trained"] and "skipped: not due (last trained as of 2026-05-15; every 7 days)" == daily["training"]
    )
    assert daily["champion"] == trained["version"] and daily["predictions_written"] > 0
    scored = run_churn_pipeline(platform, as_of=date(2026, 5, 30), options=FAST, mode="score")
    assert not scored["trained"] and scored["champion"] == trained["version"]
    assert Registry(platform.lake).versions() == [trained["version"]]
    assert {(r[0], r[4]) for r in predictions(simulated_settings)} == {
        (date(2026, 5, d), trained["version"]) for d in (15, 20, 30)
    }
    # A date before the champion's labels ends is never scored with it.
    early = run_churn_pipeline(platform, as_of=date(2026, 5, 10), options=FAST, mode="score")
    assert early["predictions_written"] == 0 and early["rows"] == {}
    assert daily["rows"]["score"] == daily["predictions_written"]
    assert early["scoring"] == (
        f"skipped: no champion learnt from data up to 2026-05-10 (champion "
        f"{trained['version']} learnt from later labels)"
    )
    due = run_churn_pipeline(platform, as_of=date(2026, 5, 22), options=FAST)
    assert due["trained"] and due["comparison"]["reference_version"] == trained["version"]
    assert due["comparison"]["method"] == "DeLong" and due["comparison"]["confidence"] == 0.95


def test_worse_model_stays_challenger_and_the_champion_keeps_scoring(simulated_settings):
    champion = run_churn_pipeline(
        build_platform(simulated_settings), as_of=date(2026, 5, 15), options=FAST, mode="train"
    )
    strict = replace(FAST, auc_floor=0.99)
    challenger = run_churn_pipeline(build_platform(simulated_settings), options=strict, mode="train")
    assert not challenger["promoted"] and "not above the floor 0.9900" in challenger["reason"]
    registry = Registry(build_platform(simulated_settings).lake)
    assert registry.alias("champion") == champion["version"]
    assert registry.alias("challenger") == challenger["version"]
    assert challenger["champion"] == champion["version"]
    assert {r[4] for r in predictions(simulated_settings) if r[0] == SIM_LAST_DAY} == {champion["version"]}


def test_without_any_champion_nothing_is_scored(simulated_settings):
    strict = replace(FAST, auc_floor=0.99)
    with pytest.raises(PredictionError, match="no champion model: AUC .* not above the floor"):
        run_churn_pipeline(build_platform(simulated_settings), options=strict, mode="train")


def test_a_missing_warehouse_is_a_clear_error_and_no_sales_yet_is_no_work(settings):
    with pytest.raises(FeatureError, match="no warehouse has been published yet"):
        run_churn_pipeline(build_platform(settings), options=FAST)
    write_warehouse(settings.warehouse_path, [])
    daily = run_churn_pipeline(build_platform(settings), options=FAST)
    assert (daily["training"], daily["scoring"]) == ("skipped: no sales in the warehouse yet",) * 2
    backfill = run_churn_pipeline(build_platform(settings), as_of="2026-01-05", options=FAST, mode="score")
    assert backfill["scoring"] == "skipped: no sales known by 2026-01-05 yet" and backfill["predictions_written"] == 0
    with pytest.raises(FeatureError, match="fct_sales_status_history has no sales"):
        run_churn_pipeline(build_platform(settings), options=FAST, mode="train")


def test_an_unreadable_warehouse_names_the_file_and_the_rebuild_command(settings):
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.write_bytes(b"")
    expected = f"churn features: the warehouse {settings.warehouse_path} cannot be read: it is empty"
    with pytest.raises(FeatureError, match=expected):
        run_churn_pipeline(build_platform(settings), options=FAST)
    result = CliRunner().invoke(main, ["ml", "run"])
    assert result.exit_code == 1 and "`winter-days elt rebuild`" in result.output and "Traceback" not in result.output


def test_a_world_where_everyone_churns_is_refused(settings):
    once = [sale(f"C{i:03d}", f"2026-01-{1 + i % 28:02d}T10:00:00") for i in range(300)]
    write_warehouse(settings.warehouse_path, once + [sale("LATE", "2026-06-30T10:00:00")])
    with pytest.raises(TrainingDataError, match="single class: all .* customers churned"):
        run_churn_pipeline(build_platform(settings), options=FAST)


def test_too_few_customers_is_refused(settings):
    few = [sale(f"C{i}", f"2026-0{m}-10T10:00:00") for i in range(8) for m in range(1, 7)]
    write_warehouse(settings.warehouse_path, few)
    with pytest.raises(TrainingDataError, match="at least 50 are needed"):
        run_churn_pipeline(build_platform(settings), options=FAST)


def test_cli_run_train_and_score(simulated_settings):
    result = CliRunner().invoke(main, ["ml", "run", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["trained"] and payload["promoted"] and payload["predictions_written"] > 0
    daily = CliRunner().invoke(main, ["ml", "run"])
    assert daily.exit_code == 0, daily.output
    assert "training skipped: not due (last trained as of 2026-05-31; every 7 days)" in daily.stdout
    assert f"scored {payload['predictions_written']} customers with champion {payload['version']}" in daily.stdout
    assert "tiers on calibrated probabilities" in daily.stdout
    scored = json.loads(CliRunner().invoke(main, ["ml", "score", "--as-of", "2026-05-31", "--json"]).stdout)
    assert not scored["trained"] and scored["champion"] == payload["version"]
    again = CliRunner().invoke(main, ["ml", "train"])
    assert again.exit_code == 0, again.output
    assert f"promoted to champion: version {payload['version']} is already champion" in again.stdout


def test_cli_run_reports_errors_without_a_traceback(settings):
    result = CliRunner().invoke(main, ["ml", "run"])
    assert result.exit_code == 1
    assert (
        "Error: churn features: no warehouse has been published yet" in result.output
        and "Traceback" not in result.output
    )


def test_cli_lists_models_and_a_promotion_by_hand_rescores_the_current_date(simulated_settings):
    first = run_churn_pipeline(build_platform(simulated_settings), as_of=date(2026, 5, 15), options=FAST, mode="train")
    second = run_churn_pipeline(build_platform(simulated_settings), options=replace(FAST, auc_floor=0.99), mode="train")
    assert {r[4] for r in predictions(simulated_settings) if r[0] == SIM_LAST_DAY} == {first["version"]}
    listing = CliRunner().invoke(main, ["ml", "models"])
    assert f"{first['version']}" in listing.stdout and "[champion]" in listing.stdout
    assert "[challenger]" in listing.stdout
    promoted = CliRunner().invoke(main, ["ml", "promote", second["version"], "--reason", "newer data"])
    assert promoted.exit_code == 0, promoted.output
    assert Registry(build_platform(simulated_settings).lake).alias("champion") == second["version"]
    # The current as-of date's predictions are the promoted version's at once; older dates stay.
    rows = predictions(simulated_settings)
    assert {r[4] for r in rows if r[0] == SIM_LAST_DAY} == {second["version"]}
    assert {r[4] for r in rows if r[0] == date(2026, 5, 15)} == {first["version"]}
    assert f"scored {second['predictions_written']} customers with champion {second['version']}" in promoted.stdout
    unknown = CliRunner().invoke(main, ["ml", "promote", "nope", "--reason", "x"])
    assert unknown.exit_code == 1 and "nope is not in the registry" in unknown.output
