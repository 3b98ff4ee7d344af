"""Lineage never fails a run; old ML run artefacts are pruned by the platform's rule after a successful ML step."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from support.orchestrator_requests import AUTH
from support.ports import free_port

from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.retention import pruning_ml_artefacts
from winter_days.platform import build_platform
from winter_days.stores.retention import FolderRetention

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def ml_run_id(days_ago: float, tag: str = "abc123", now: datetime = NOW) -> str:
    return f"{now - timedelta(days=days_ago):%Y%m%dT%H%M%SZ}-latest-{tag}"


def test_an_unreachable_lineage_server_is_logged_and_the_run_succeeds(settings, make_app):
    unreachable = replace(settings, lineage=replace(settings.lineage, url=f"http://127.0.0.1:{free_port()}"))
    steps = RunPipeline((RunStep("export_sales", lambda c: {"rows": 1}), RunStep("compile", lambda c: {"actions": 0})))
    app = make_app(steps, platform=build_platform(unreachable))

    response = app.test_client().post("/run", headers=AUTH)

    assert response.status_code == 200 and response.get_json()["status"] == "succeeded"
    warnings = [
        e for e in map(json.loads, app.log_stream.getvalue().splitlines()) if e["logger"] == "winter_days.lineage"
    ]
    assert (
        len([w for w in warnings if "are not sent" in w["message"]]) == 1
    )  # one try, then the run's events are dropped
    assert "OpenLineage endpoint http://127.0.0.1:" in warnings[0]["message"]
    assert any("were dropped" in w["message"] for w in warnings)
    # Nothing went to the local folder instead.
    assert not (settings.home / "lineage").exists()


def test_folder_retention_keeps_the_newest_runs_and_the_young_ones(tmp_path):
    lake_runs, kfp = tmp_path / "lake" / "mlops" / "runs", tmp_path / "kfp-local"
    runs = {
        name: ml_run_id(days, name) for name, days in (("a", 90), ("b", 60), ("c", 45), ("d", 31), ("e", 29), ("f", 1))
    }
    for run_id in runs.values():
        (lake_runs / run_id).mkdir(parents=True)
        (lake_runs / run_id / "features.parquet").write_bytes(b"x")
    (kfp / runs["a"] / "outputs").mkdir(parents=True)
    (lake_runs / "notes").mkdir()  # not a run: never touched

    pruned = FolderRetention((lake_runs, kfp), keep_runs=3, keep_days=30).prune(now=NOW)

    # The newest three (f, e, d) stay whatever their age; of the rest, those 30 days old or more go.
    assert pruned == [runs["c"], runs["b"], runs["a"]]
    assert sorted(p.name for p in lake_runs.iterdir()) == sorted([runs["d"], runs["e"], runs["f"], "notes"])
    assert not (kfp / runs["a"]).exists()
    assert FolderRetention((lake_runs, kfp), keep_runs=1, keep_days=30).prune(now=NOW) == [runs["d"]]


def test_the_ml_step_prunes_after_success_by_the_settings(settings):
    kept = replace(settings, retention=replace(settings.retention, ml_runs_kept=1, ml_run_days=7))
    platform = build_platform(kept)
    runs = settings.lake_root / "mlops" / "runs"
    now = datetime.now(UTC)
    old, newest = ml_run_id(10, "old", now), ml_run_id(8, "new", now)
    for run_id in (old, newest):
        (runs / run_id).mkdir(parents=True)
    (settings.home / "kfp-local" / ml_run_id(9, "kfp", now)).mkdir(parents=True)

    from winter_days.orchestrator.pipeline import RunContext, RunParameters

    context = RunContext("r", platform, RunParameters(), platform.run_store)
    skipped = pruning_ml_artefacts(lambda c: {"skipped": "not requested"})(context)
    assert skipped == {"skipped": "not requested"} and (runs / old).exists()

    counts = pruning_ml_artefacts(lambda c: {"ml_run_id": "x", "predictions_written": 3})(context)

    assert counts == {"ml_run_id": "x", "predictions_written": 3, "ml_runs_pruned": 2}
    assert [p.name for p in runs.iterdir()] == [newest]
    assert not list((settings.home / "kfp-local").iterdir())


def test_a_failure_to_prune_never_fails_the_ml_step(settings, make_app, tmp_path):
    platform = build_platform(replace(settings, retention=replace(settings.retention, ml_runs_kept=1, ml_run_days=1)))
    runs = settings.lake_root / "mlops" / "runs"
    runs.mkdir(parents=True)
    (runs / ml_run_id(1, "newest", datetime.now(UTC))).mkdir()
    # A link where a run folder should be: the pruning refuses to delete through it.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (runs / ml_run_id(400, "linked")).symlink_to(elsewhere, target_is_directory=True)
    app = make_app(RunPipeline((RunStep("ml", pruning_ml_artefacts(lambda c: {"ml_run_id": "x"})),)), platform=platform)

    response = app.test_client().post("/run", headers=AUTH)

    assert response.status_code == 200
    assert response.get_json()["steps"][0]["counts"] == {"ml_run_id": "x"}
    assert elsewhere.is_dir()
    logged = [json.loads(line) for line in app.log_stream.getvalue().splitlines()]
    assert any(e["severity"] == "WARNING" and "old ML run artefacts not pruned" in e["message"] for e in logged)


def test_on_gcp_the_bucket_rule_prunes_and_says_so(tmp_path):
    from winter_days.config import load_settings

    gcp = load_settings(
        environ={
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
            "WINTER_DAYS_GCP_BUCKET": "winter-lake",
            "WINTER_DAYS_RETENTION_ML_RUN_DAYS": "45",
        },
        cwd=tmp_path,
    )
    platform = build_platform(gcp)
    retention = platform.builder.ml_artefact_retention(gcp, lake=None)  # the gcp rule needs no lake client
    assert retention.prune() == []
    assert "gs://winter-lake/mlops/runs/ objects 45 days after they were written" in retention.describe()
