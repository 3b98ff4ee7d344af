"""The run store contract (RunStore): inherit `RunStoreContract` in a `Test...` class that
provides these fixtures:

- `history`: a run store;
- `reopen`: a callable giving a new handle on the same state (another process or instance);
- `start_orphaned_run`: a callable (history, step_names, trigger_key=None) -> run_id that
  starts a run, takes it into its second step (`into_second_step`) and leaves it as a crash
  would, in the way the store detects it (a dead local process, a stale heartbeat);
- `forget_step_records`: a callable (history) that deletes every stored step record, as a
  check that the metrics never read them.
"""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.metrics import render_metrics
from winter_days.runs import RunStore

WATERMARK = "export_sales/winter_sales"
CLI = {"source": "cli"}


def into_second_step(history, run_id: str) -> None:
    """The first step succeeded and the second is under way."""
    history.step_started(run_id, 0)
    history.step_finished(run_id, 0, "succeeded", 0.1, {"rows": 1})
    history.step_started(run_id, 1)


def _finished(history, steps=("export_sales",), failed: str | None = None) -> str:
    run = history.start_run(list(steps), CLI, {}).run_id
    history.finish_run(run, failed, f"step {failed} failed: boom" if failed else None)
    return run


class RunStoreContract:
    concurrent_starts = 24

    def test_it_is_a_run_store(self, history):
        assert isinstance(history, RunStore)

    def test_a_run_is_recorded_with_its_trigger_parameters_and_steps(self, history, reopen):
        decision = history.start_run(["export_sales", "compile"], {"source": "http", "caller": "a"}, {"ml": False})
        assert decision.outcome == "started" and decision.owner is not None and decision.started_at
        run = decision.run_id
        history.step_started(run, 0)
        history.step_finished(run, 0, "succeeded", 0.25, {"rows": 7, "key": "bronze/sales/x.parquet"})
        history.step_started(run, 1)
        history.step_finished(run, 1, "succeeded", 0.5, {"actions": 3})
        history.finish_run(run)

        shown = reopen().get_run(run)
        assert shown["status"] == "succeeded" and shown["failed_step"] is None and shown["error"] is None
        assert shown["trigger"] == {"source": "http", "caller": "a"} and shown["parameters"] == {"ml": False}
        assert shown["duration_seconds"] is not None and shown["duration_seconds"] >= 0
        assert [(s["name"], s["status"], s["counts"]) for s in shown["steps"]] == [
            ("export_sales", "succeeded", {"rows": 7, "key": "bronze/sales/x.parquet"}),
            ("compile", "succeeded", {"actions": 3}),
        ]
        assert shown["steps"][0]["duration_seconds"] == 0.25 and shown["steps"][0]["started_at"]
        assert history.get_run("no-such-run") is None

    def test_watermark_advances_only_with_a_successful_step(self, history, reopen):
        run = history.start_run(["export_sales"], CLI, {}).run_id
        history.step_started(run, 0)
        history.step_finished(run, 0, "failed", 0.1, {}, "boom", watermarks={WATERMARK: 40})
        assert history.watermark(WATERMARK) is None
        history.finish_run(run, "export_sales", "boom")

        run = history.start_run(["export_sales"], CLI, {}).run_id
        history.step_started(run, 0)
        history.step_finished(run, 0, "succeeded", 0.1, {"rows": 40}, watermarks={WATERMARK: 40})
        history.finish_run(run)
        assert reopen().watermark(WATERMARK) == 40
        assert history.watermark("export_sales/other") is None

    def test_a_finished_run_frees_the_guard_and_pending_steps_are_skipped(self, history):
        run = history.start_run(["export_sales", "compile"], CLI, {}).run_id
        assert history.active_run_id() == run
        history.step_started(run, 0)
        history.step_finished(run, 0, "failed", 0.2, {}, "store unreadable")
        history.finish_run(run, "export_sales", "step export_sales failed: store unreadable")
        assert history.active_run_id() is None
        shown = history.get_run(run)
        assert shown["status"] == "failed" and shown["failed_step"] == "export_sales"
        assert [s["status"] for s in shown["steps"]] == ["failed", "skipped"]
        assert history.start_run(["export_sales"], CLI, {}).outcome == "started"

    def test_a_second_start_while_a_run_is_active_is_busy_with_its_id(self, history, reopen):
        first = history.start_run(["export_sales"], CLI, {})
        other = reopen().start_run(["export_sales"], {"source": "http"}, {})
        assert other.outcome == "busy" and other.run_id == first.run_id
        assert other.owner is not None and other.started_at == first.started_at
        assert len(history.list_runs()) == 1

    def test_concurrent_starts_start_exactly_one_run(self, history, reopen):
        handles = [reopen() for _ in range(self.concurrent_starts)]
        barrier = threading.Barrier(len(handles))
        results: list = [None] * len(handles)

        def contend(index: int) -> None:
            barrier.wait()
            results[index] = handles[index].start_run(["export_sales"], {"source": "http"}, {})

        threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(handles))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started = [r for r in results if r.outcome == "started"]
        assert len(started) == 1
        assert {r.run_id for r in results if r.outcome == "busy"} == {started[0].run_id}
        assert [run["run_id"] for run in history.list_runs()] == [started[0].run_id]

    def test_a_retried_trigger_gets_the_first_run(self, history):
        first = history.start_run(["export_sales"], CLI, {}, trigger_key="job@2026-03-01T02:00:00Z")
        again = history.start_run(["export_sales"], CLI, {}, trigger_key="job@2026-03-01T02:00:00Z")
        assert (again.outcome, again.run_id) == ("duplicate", first.run_id)
        history.finish_run(first.run_id, "export_sales", "boom")
        # A failed first run is the answer to a retry, unless a redo is asked for.
        assert (
            history.start_run(["export_sales"], CLI, {}, trigger_key="job@2026-03-01T02:00:00Z").outcome == "duplicate"
        )
        redo = history.start_run(["export_sales"], CLI, {}, trigger_key="job@2026-03-01T02:00:00Z", retry_failed=True)
        assert redo.outcome == "started" and redo.run_id != first.run_id
        history.finish_run(redo.run_id)
        later = history.start_run(["export_sales"], CLI, {}, trigger_key="job@2026-03-01T02:00:00Z", retry_failed=True)
        assert (later.outcome, later.run_id) == ("duplicate", redo.run_id)

    def test_a_run_whose_owner_is_gone_is_cut_off_and_frees_the_guard(self, history, reopen, start_orphaned_run):
        run = start_orphaned_run(history, ["export_sales", "compile", "invoke"])
        other = reopen()
        assert other.reclaim_cut_off_runs() == [run]
        assert other.reclaim_cut_off_runs() == []
        shown = history.get_run(run)
        assert shown["status"] == "cut_off" and shown["failed_step"] == "compile"
        assert "cut off" in shown["error"]
        assert [s["status"] for s in shown["steps"]] == ["succeeded", "cut_off", "skipped"]
        assert history.active_run_id() is None
        # The owner's late finish neither revives the run nor holds the guard.
        history.finish_run(run)
        assert history.get_run(run)["status"] == "cut_off"
        assert history.start_run(["export_sales"], CLI, {}).outcome == "started"

    def test_a_start_reclaims_a_run_whose_owner_is_gone(self, history, start_orphaned_run):
        run = start_orphaned_run(history, ["export_sales", "compile", "invoke"])
        decision = history.start_run(["export_sales"], CLI, {})
        assert decision.outcome == "started" and decision.run_id != run
        assert decision.reclaimed == (run,)  # named, so that its end is reported
        assert history.get_run(run)["status"] == "cut_off"
        history.finish_run(decision.run_id)
        assert history.start_run(["export_sales"], CLI, {}).reclaimed == ()

    def test_a_retry_of_a_cut_off_trigger_does_the_work(self, history, start_orphaned_run):
        run = start_orphaned_run(history, ["export_sales", "compile", "invoke"], trigger_key="job@day-1")
        assert history.start_run(["export_sales"], CLI, {}, trigger_key="job@day-1").run_id == run  # not yet known dead
        history.reclaim_cut_off_runs()
        retry = history.start_run(["export_sales"], CLI, {}, trigger_key="job@day-1")
        assert retry.outcome == "started" and retry.run_id != run

    def test_a_live_run_is_not_reclaimed(self, history, reopen):
        run = history.start_run(["export_sales"], CLI, {}).run_id
        history.heartbeat(run)
        assert reopen().reclaim_cut_off_runs() == []
        assert history.get_run(run)["status"] == "running"

    def test_runs_page_newest_first(self, history):
        ids = [_finished(history) for _ in range(5)]
        page = history.list_runs(limit=2)
        assert [r["run_id"] for r in page] == ids[::-1][:2]
        rest = history.list_runs(limit=10, before=page[-1]["run_id"])
        assert [r["run_id"] for r in rest] == ids[::-1][2:]

    def test_metrics_read_outcomes_and_finished_steps(self, history, reopen, forget_step_records):
        run = history.start_run(["export_sales", "poll"], CLI, {}).run_id
        history.step_started(run, 0)
        history.step_finished(run, 0, "succeeded", 1.5, {"rows": 12, "key": "bronze/sales/a.parquet"})
        history.step_started(run, 1)
        history.step_finished(run, 1, "succeeded", 0.5, {"rows_quarantined_sales": 4, "flag": True})
        history.finish_run(run)
        finished_at = history.get_run(run)["finished_at"]
        second = history.start_run(["export_sales", "poll"], CLI, {}).run_id
        history.step_started(second, 0)
        history.step_finished(second, 0, "succeeded", 400.0, {"rows": 3})
        history.step_started(second, 1)
        history.step_finished(second, 1, "failed", 2.0, {}, "invocation ended FAILED")
        history.finish_run(second, "poll", "step poll failed: invocation ended FAILED")
        history.start_run(["export_sales"], CLI, {})
        # The metrics come from aggregates kept as steps finish, not from the step records.
        forget_step_records(history)

        assert history.outcome_counts() == {"succeeded": 1, "failed": 1, "running": 1}
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(render_metrics(reopen()))
            for sample in family.samples
        }
        assert samples[("winter_days_runs_total", (("outcome", "succeeded"),))] == 1
        assert samples[("winter_days_runs_total", (("outcome", "failed"),))] == 1
        assert samples[("winter_days_run_active", ())] == 1
        assert samples[("winter_days_rows_exported_total", ())] == 15
        assert samples[("winter_days_rows_quarantined", (("flow", "sales"),))] == 4
        assert samples[("winter_days_last_successful_run_timestamp_seconds", ())] == pytest.approx(
            datetime.fromisoformat(finished_at).timestamp(), abs=0.001
        )
        export = (("status", "succeeded"), ("step", "export_sales"))
        assert samples[("winter_days_step_duration_seconds_sum", export)] == 401.5
        assert samples[("winter_days_step_duration_seconds_count", export)] == 2
        # Cumulative buckets: 1.5 s falls under le=5, 400 s under le=600.
        assert samples[("winter_days_step_duration_seconds_bucket", (("le", "1.0"), *export))] == 0
        assert samples[("winter_days_step_duration_seconds_bucket", (("le", "5.0"), *export))] == 1
        assert samples[("winter_days_step_duration_seconds_bucket", (("le", "300.0"), *export))] == 1
        assert samples[("winter_days_step_duration_seconds_bucket", (("le", "600.0"), *export))] == 2
        assert samples[("winter_days_step_duration_seconds_bucket", (("le", "+Inf"), *export))] == 2
        failed_poll = (("status", "failed"), ("step", "poll"))
        assert samples[("winter_days_step_duration_seconds_count", failed_poll)] == 1

    def test_a_history_without_a_success_has_no_last_success_sample(self, history):
        _finished(history, failed="export_sales")
        names = {
            sample.name
            for family in text_string_to_metric_families(render_metrics(history))
            for sample in family.samples
        }
        assert "winter_days_last_successful_run_timestamp_seconds" not in names
        assert history.run_metrics().last_succeeded_at is None

    def test_a_run_cut_off_by_its_own_process_keeps_the_reason_and_ignores_late_writes(self, history, reopen):
        run = history.start_run(["export_sales", "compile", "invoke"], CLI, {}).run_id
        into_second_step(history, run)

        assert reopen().cut_off_run(run, "cut off: the service received SIGTERM") is True
        assert history.cut_off_run(run, "again") is False
        shown = history.get_run(run)
        assert shown["status"] == "cut_off" and shown["failed_step"] == "compile"
        assert shown["error"] == "cut off: the service received SIGTERM"
        assert [s["status"] for s in shown["steps"]] == ["succeeded", "cut_off", "skipped"]
        assert history.active_run_id() is None
        # The run's thread finishing its step later changes nothing, and advances no watermark.
        history.step_finished(run, 1, "succeeded", 3.0, {"actions": 2}, watermarks={WATERMARK: 77})
        history.finish_run(run)
        after = history.get_run(run)
        assert after["status"] == "cut_off" and after["steps"][1]["status"] == "cut_off"
        assert history.watermark(WATERMARK) is None
        assert not [s for s in history.run_metrics().steps if s.name == "compile"]
        assert history.start_run(["export_sales"], CLI, {}).outcome == "started"

    def test_the_launcher_runs_a_pipeline_over_the_store(self, history, settings):
        from winter_days.orchestrator.pipeline import RunParameters, RunPipeline, RunStep, StepFailed
        from winter_days.platform import build_platform

        def export(context):
            context.watermarks[WATERMARK] = 9
            return {"rows": 9}

        def poll(context):
            raise StepFailed("invocation ended FAILED")

        pipeline = RunPipeline((RunStep("export_sales", export), RunStep("poll", poll), RunStep("ml", export)))
        launcher = RunLauncher(build_platform(settings), pipeline, history=history)
        result = launcher.trigger({"source": "http"}, RunParameters(ml=False), trigger_key="k-1")
        assert result.run["status"] == "failed" and result.run["failed_step"] == "poll"
        assert [s["status"] for s in result.run["steps"]] == ["succeeded", "failed", "skipped"]
        assert history.watermark(WATERMARK) == 9
        again = launcher.trigger({"source": "http"}, RunParameters(ml=False), trigger_key="k-1")
        assert again.outcome == "duplicate" and again.run == history.get_run(result.run_id)
