"""FirestoreRunStore against the Firestore emulator: the run store contract the SQLite
history keeps, with cut-off runs found by heartbeat age (Cloud Run keeps no local pids)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from contracts.run_store import RunStoreContract, into_second_step

from winter_days.config import load_settings
from winter_days.platform import build_platform
from winter_days.runs import STALE_HEARTBEAT
from winter_days.runs.firestore import FirestoreRunStore

pytestmark = [pytest.mark.emulator, pytest.mark.xdist_group("firestore_emulator")]


class Clock:
    """The instances' shared clock, which a test can move on."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def open_history(firestore_project, clock):
    from google.cloud import firestore

    clients = []

    def open_one() -> FirestoreRunStore:
        client = firestore.Client(project=firestore_project)
        clients.append(client)
        return FirestoreRunStore(client, clock=clock)

    yield open_one
    for client in clients:
        client.close()


@pytest.fixture
def history(open_history) -> FirestoreRunStore:
    return open_history()


class TestFirestoreRunStore(RunStoreContract):
    """The behaviours of the SQLite history, on Firestore."""

    # The emulator locks documents read in a transaction and, with several contenders on a
    # loaded machine, can time their locks out again and again for minutes (8 starters did
    # once in a full suite run); production Firestore does not. Four still race.
    concurrent_starts = 4

    @pytest.fixture
    def reopen(self, open_history):
        return open_history

    @pytest.fixture
    def forget_step_records(self):
        def forget(history):
            for step in history._steps.stream():
                step.reference.delete()

        return forget

    @pytest.fixture
    def start_orphaned_run(self, clock):
        def start(history, step_names, trigger_key=None):
            run = history.start_run(step_names, {"source": "cli"}, {}, trigger_key=trigger_key).run_id
            into_second_step(history, run)
            # The instance died: its heartbeat ages past the limit.
            clock.offset += STALE_HEARTBEAT + timedelta(seconds=1)
            return run

        return start


def test_a_heartbeat_keeps_a_long_step_from_being_cut_off(history, clock):
    run = history.start_run(["export_sales", "poll"], {"source": "http"}, {}).run_id
    history.step_started(run, 0)
    clock.offset += STALE_HEARTBEAT - timedelta(seconds=30)
    history.heartbeat(run)
    clock.offset += STALE_HEARTBEAT - timedelta(seconds=30)
    assert history.reclaim_cut_off_runs() == []
    assert history.start_run(["export_sales"], {"source": "http"}, {}).outcome == "busy"
    clock.offset += timedelta(seconds=31)
    assert history.reclaim_cut_off_runs() == [run]


def test_histories_under_different_prefixes_do_not_share_a_guard(firestore_project):
    from google.cloud import firestore

    client = firestore.Client(project=firestore_project)
    try:
        staging = FirestoreRunStore(client, prefix="staging")
        production = FirestoreRunStore(client, prefix="production")
        assert staging.start_run(["export_sales"], {"source": "cli"}, {}).outcome == "started"
        assert production.start_run(["export_sales"], {"source": "cli"}, {}).outcome == "started"
    finally:
        client.close()


def test_the_gcp_profile_opens_the_firestore_history(firestore_project, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("WINTER_DAYS_PROFILE", "gcp")
    monkeypatch.setenv("WINTER_DAYS_GCP_PROJECT_ID", firestore_project)
    monkeypatch.setenv("WINTER_DAYS_LAKE_URI", (tmp_path / "lake").as_uri())
    gcp = load_settings()
    store = build_platform(gcp).run_store
    assert isinstance(store, FirestoreRunStore)
    run = store.start_run(["export_sales"], {"source": "cli"}, {}).run_id
    assert build_platform(gcp).run_store.active_run_id() == run
    assert not (gcp.home / "orchestrator.sqlite3").exists()


def test_ids_that_cannot_name_a_run_are_unknown_not_errors(history):
    run = history.start_run(["export_sales"], {"source": "cli"}, {}).run_id
    for bad in ("..", "__name__", "x" * 2000, "a:b", ""):
        assert history.get_run(bad) is None
        assert history.list_runs(before=bad) == []
    assert history.get_run(run)["run_id"] == run
