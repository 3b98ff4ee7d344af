"""Requests under load, for bench.reliability: concurrent POST /run, and the dashboards during a run.

`winter-days serve` (gunicorn, 2 workers x 4 threads) runs over the installation on a free
port of 127.0.0.1. A burst of POST /run (50, quick: 20; bearer token, wait=false, with the
ML step) is released at once: exactly one may start a run (202), every other must answer
409 naming it. While that run works, four client threads load the dashboard pages and
/healthz, and a second burst (half the size) goes once the run is in its ML step: 409
again. After the run, one more POST /run must start a run that succeeds. Lost: requests without an answer, or
with an answer other than 200, 202 or 409 (a 5xx, a dropped connection). Blocked: runs that
did not succeed. Duplicates: runs started beyond one per trigger.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from bench.common import load_1m, row
from bench.pipeline import PROJECT
from bench.service import Server, load, request_json, wait_until_up, watch_run
from winter_days.config import Settings

DASHBOARD_PAGES = ("/dashboard/sales", "/dashboard/churn", "/dashboard/pipeline", "/healthz")
ANSWERED = {200, 202, 409}
RUN_SECONDS = 600.0


def post_run(port: int, token: str, day: date) -> tuple[int, dict[str, Any]]:
    try:
        return request_json(port, "POST", "/run?wait=false", token, {"as_of": day.isoformat(), "ml": True})
    except OSError as err:
        return 0, {"error": f"{type(err).__name__}: {err}"}


def runs_recorded(port: int) -> int:
    status, body = request_json(port, "GET", "/runs?limit=500")
    if status != 200:
        raise SystemExit(f"GET /runs answered {status}: {body}")
    return len(body["runs"])


def burst(port: int, token: str, day: date, size: int) -> list[tuple[int, dict[str, Any]]]:
    """`size` POST /run released at the same moment."""
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    gate = threading.Barrier(size)

    def send() -> None:
        gate.wait()
        answer = post_run(port, token, day)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=send, name=f"bench-post-{i}") for i in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def during_the_run(
    port: int, token: str, day: date, run_id: str, size: int
) -> tuple[dict[str, Any], list[tuple[int, dict[str, Any]]], dict[str, Any]]:
    """Load the dashboards until the run ends, and send a second burst of POST /run once the
    run is in its ML step (well inside it: a trigger after the run's end may rightly start
    another): the run's record, the second burst's answers, and each page's load result."""
    done, outcome = threading.Event(), {}
    watcher = threading.Thread(target=watch_run, args=(port, run_id, done, outcome, RUN_SECONDS))
    watcher.start()
    pages: dict[str, Any] = {}
    loaders = [
        threading.Thread(target=lambda p=page: pages.__setitem__(p, load(port, p, 100_000, RUN_SECONDS, done)[0]))
        for page in DASHBOARD_PAGES
    ]
    for thread in loaders:
        thread.start()
    second: list[tuple[int, dict[str, Any]]] = []
    while not done.wait(0.5):
        status, body = request_json(port, "GET", f"/runs/{run_id}")
        if status == 200 and any(s["name"] == "ml" and s["status"] == "running" for s in body.get("steps", [])):
            second = burst(port, token, day, size)
            break
    for thread in [watcher, *loaders]:
        thread.join()
    return outcome, second, pages


def load_scenario(
    settings: Settings, day: date, write_day: Callable[[Settings, date], None], quick: bool
) -> tuple[list[dict], dict[str, Any]]:
    size = 20 if quick else 50
    token = secrets.token_urlsafe(24)
    home = settings.home
    environ = {
        **os.environ,
        "WINTER_DAYS_HOME": str(home),
        "WINTER_DAYS_CUSTOMERS": str(settings.customers),
        "WINTER_DAYS_CHURN_HORIZON_DAYS": str(settings.churn_horizon_days),
        "WINTER_DAYS_DATAFORM_DIR": str(PROJECT),
        "WINTER_DAYS_AUTH_TOKEN": token,
    }
    server = Server("reliability", environ, home.parent / "serve.log")
    port = server.port
    try:
        wait_until_up(port, server.process)
        write_day(settings, day)
        before = runs_recorded(port)
        answers = burst(port, token, day, size)
        statuses = Counter(status for status, _ in answers)
        started = {body["run_id"] for status, body in answers if status == 202}
        if len(started) != 1:
            raise SystemExit(f"the burst of {size} POST /run started {len(started)} runs: {statuses}")
        (run_id,) = started
        named = sum(1 for status, body in answers if status == 409 and body.get("active_run_id") == run_id)
        outcome, second, pages = during_the_run(port, token, day, run_id, size // 2)
        named += sum(1 for status, body in second if status == 409 and body.get("active_run_id") == run_id)
        runs = [outcome]
        # One more run after it: nothing the first left behind may stop it.
        write_day(settings, day + timedelta(days=1))
        last_status, body = post_run(port, token, day + timedelta(days=1))
        if last_status == 202:
            done, after = threading.Event(), {}
            watch_run(port, body["run_id"], done, after, RUN_SECONDS)
            runs.append(after)
        else:
            runs.append({"status": f"HTTP {last_status}", "error": body.get("error")})
        recorded = runs_recorded(port) - before
    finally:
        server.stop()
    posted = size + len(second) + 1
    answered = statuses + Counter(status for status, _ in second) + Counter([last_status])
    lost_posts = sum(n for status, n in answered.items() if status not in ANSWERED)
    refusals = size - 1 + len(second)
    page_requests = sum(len(r.latencies) + len(r.errors) for r in pages.values())
    page_errors = sum(len(r.errors) for r in pages.values())
    blocked = [r for r in runs if r.get("status") != "succeeded"]
    duplicates = recorded - 2
    for r in blocked:
        print(f"load: run not succeeded: {r.get('status')}: {r.get('error')}", file=sys.stderr)
    for page, result in pages.items():
        for error in sorted(set(result.errors))[:5]:
            print(f"load: {page}: {error}", file=sys.stderr)
    if blocked or page_errors or lost_posts:
        print(server.log_path.read_text(errors="replace")[-3000:], file=sys.stderr)
    scenario = (
        f"{size} concurrent POST /run, {len(DASHBOARD_PAGES)} pages x 4 client threads during the run (with ML) "
        f"and {size // 2} concurrent POST /run in its ML step, then one more run; gunicorn 2x4 on 127.0.0.1"
    )
    rows = [
        row(scenario, "post_run_requests", posted, "requests"),
        row(scenario, "refused_409_naming_the_active_run", named, f"of {refusals}", str(refusals), named == refusals),
        row(scenario, "dashboard_requests_during_run", page_requests, "requests"),
        row(
            scenario,
            "requests_lost",
            lost_posts + page_errors,
            f"of {posted + page_requests:,}",
            "0",
            lost_posts + page_errors == 0,
        ),
        row(scenario, "runs_blocked", len(blocked), f"of {len(runs)}", "0", not blocked),
        row(scenario, "duplicate_runs", duplicates, "runs", "0", duplicates == 0, load_1m()),
    ]
    summary = {
        "count": f"{posted} POST /run ({size} at once at the start of a run, {len(second)} at once in its ML step, "
        f"1 after it) and {page_requests:,} dashboard requests during the run",
        "held": f"1 run started by the first burst, {named} of the {refusals} other POST /run answered 409 naming it; "
        f"{page_requests - page_errors:,} of {page_requests:,} dashboard answers 200",
        "lost": f"{lost_posts + page_errors} requests",
        "blocked": f"{len(blocked)} of {len(runs)} runs",
        "duplicates": f"{duplicates} runs",
    }
    return rows, {
        "summary": summary,
        "first_burst": dict(statuses),
        "second_burst": dict(Counter(s for s, _ in second)),
    }
