"""The service under load: `/healthz` and `/dashboard/sales` while idle and while a run works.

`winter-days serve` (gunicorn, 2 workers x 4 threads) runs in a subprocess on a free port
of 127.0.0.1 over an installation with 120 days of demo-sized history (200 sales and 4,000
click events a day; --quick: 14 days). After a warm-up (a few requests per page: a
worker's first page compiles templates and translates queries), in each round a bounded
client loop (threads over http.client, bounded in requests and in seconds) loads each page
once with no run, then
/healthz and /dashboard/sales again after a new simulated day is written and
`POST /run?wait=false` is sent with the bearer token, until that run ends. The pages:
`/dashboard/sales` as users reload it (the same filters: the page's results are kept per
published state), and `/dashboard/sales?start=...` with a new date on every request, so
nothing kept can serve it (the cost of a first view after a publish). Reported per page and
phase: requests per second, p50/p99 latency (medians over the rounds) and errors (summed).
Goals: no errors, no non-200 answer; /dashboard/sales p50 <= 100 ms while idle.

`--baseline REF` serves the same installation a second time from the code of git revision
REF (exported with `git archive`, imported ahead of this tree), the two servers taking
turns inside each round: before and after a change, measured side by side.

    python -m bench.service [--quick] [--baseline REF]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from bench.common import cores, load_1m, row, write_results
from bench.pipeline import FIRST_DAY, PROJECT, bench_settings, build_history
from winter_days.platform import build_platform
from winter_days.simulation import DailyVolumes, DaySimulator

ROOT = Path(__file__).resolve().parent.parent
SALES = "/dashboard/sales"
# A new start date per request (all before the first day: every one shows the whole history).
SALES_UNCACHED = "/dashboard/sales?start=<a new date each request>"
IDLE_PAGES = ("/healthz", SALES, SALES_UNCACHED)
RUN_PAGES = ("/healthz", SALES)
SALES_P50_GOAL_MS = 100.0
CLIENT_THREADS = 4
REQUEST_TIMEOUT = 30.0
CUSTOMERS = 2000
HISTORY_DAYS, QUICK_HISTORY_DAYS = 120, 14
DEMO_VOLUMES = DailyVolumes(sales=200, clicks=4000, startups=100)


def request_path(page: str) -> Callable[[int], str]:
    """The path of the n-th request to a page."""
    if page == SALES_UNCACHED:
        return lambda n: f"{SALES}?start={(FIRST_DAY - timedelta(days=n + 1)).isoformat()}"
    return lambda n: page


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoadResult:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def add(self, seconds: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latencies.append(seconds)
            else:
                self.errors.append(error)


def load(
    port: int, page: str, max_requests: int, max_seconds: float, until: threading.Event | None = None
) -> tuple[LoadResult, float]:
    """CLIENT_THREADS threads request `page` until `max_requests` in all, `max_seconds`, or
    `until` is set; the results and the elapsed seconds."""
    path_of = request_path(page)
    result = LoadResult()
    counter = iter(range(max_requests))
    counter_lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        while time.monotonic() < deadline and not (until and until.is_set()):
            with counter_lock:
                number = next(counter, None)
            if number is None:
                break
            began = time.perf_counter()
            try:
                conn.request("GET", path_of(number))
                response = conn.getresponse()
                response.read()
                error = None if response.status == 200 else f"HTTP {response.status}"
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as err:
                error = f"{type(err).__name__}: {err}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
            result.add(time.perf_counter() - began, error)
        conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, name=f"bench-client-{i}") for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result, time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def request_json(
    port: int, method: str, path: str, token: str | None = None, body: dict | None = None
) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"winter-days serve exited with {server.returncode} before answering")
        try:
            if request_json(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"winter-days serve did not answer /healthz within {seconds:.0f} s")


def watch_run(port: int, run_id: str, done: threading.Event, outcome: dict, max_seconds: float) -> None:
    """Set `done` when the run is no longer running (or after max_seconds)."""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        status, body = request_json(port, "GET", f"/runs/{run_id}")
        if status == 200 and body.get("status") not in (None, "running"):
            outcome.update(body)
            break
        time.sleep(0.2)
    done.set()


class Server:
    """`winter-days serve` over the installation, from this tree or from an exported revision."""

    def __init__(self, label: str, environ: dict[str, str], log_path: Path, source: Path | None = None):
        self.label = label
        self.port = free_port()
        if source is not None:
            environ = {**environ, "PYTHONPATH": str(source)}
        command = [
            str(Path(sys.executable).with_name("winter-days")),
            "serve",
            "--port",
            str(self.port),
            "--workers",
            "2",
            "--threads",
            "4",
        ]
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            command, env=environ, cwd=environ["WINTER_DAYS_HOME"], stdout=self._log, stderr=subprocess.STDOUT
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=150)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def export_revision(revision: str, target: Path) -> Path:
    """The files of git revision `revision` of this repository, under `target`."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {revision}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def load_during_run(
    server: Server, simulator: DaySimulator, day: date, token: str, max_requests: int, run_seconds: float
) -> tuple[dict, dict]:
    """Write `day`, start a run on `server`, and load RUN_PAGES at once until it ends: each
    page's (result, seconds), and the run's final record."""
    simulator.write_day(day)
    status, body = request_json(server.port, "POST", "/run?wait=false", token, {"as_of": day.isoformat(), "ml": False})
    if status != 202:
        raise SystemExit(f"POST /run to {server.label} answered {status}: {body}")
    done, outcome = threading.Event(), {}
    watcher = threading.Thread(target=watch_run, args=(server.port, body["run_id"], done, outcome, run_seconds * 2))
    watcher.start()
    # Both pages at once during the run: each gets half the client threads' time.
    loaded: dict = {}
    threads = [
        threading.Thread(
            target=lambda p=page: loaded.__setitem__(p, load(server.port, p, max_requests, run_seconds, done))
        )
        for page in RUN_PAGES
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    watcher.join()
    return loaded, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_HISTORY_DAYS} days of history, shorter rounds, two rounds"
    )
    parser.add_argument("--baseline", metavar="REF", help="also serve the code of git revision REF, side by side")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 3
    idle_seconds, run_seconds, max_requests = (3.0, 30.0, 2000) if args.quick else (5.0, 90.0, 20000)
    history_days = QUICK_HISTORY_DAYS if args.quick else HISTORY_DAYS
    token = secrets.token_urlsafe(24)
    samples: dict[tuple[str, str, str], list[dict]] = {}
    run_outcomes: list[dict] = []
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        home = Path(tmp) / "home"
        settings = bench_settings(home, CUSTOMERS)
        build_history(home, settings, DEMO_VOLUMES, history_days)
        environ = {
            **os.environ,
            "WINTER_DAYS_HOME": str(home),
            "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
            "WINTER_DAYS_DATAFORM_DIR": str(PROJECT),
            "WINTER_DAYS_AUTH_TOKEN": token,
        }
        try:
            if args.baseline:
                source = export_revision(args.baseline, Path(tmp) / "baseline")
                servers.append(Server(f"baseline {args.baseline}", environ, Path(tmp) / "serve-baseline.log", source))
            servers.append(Server("this tree" if args.baseline else "", environ, Path(tmp) / "serve.log"))
            for server in servers:
                wait_until_up(server.port, server.process)
                # A worker's first page compiles templates and translates the queries: not what is measured.
                for page in IDLE_PAGES:
                    load(server.port, page, 4 * CLIENT_THREADS, 120.0)
            simulator = DaySimulator(build_platform(settings), DEMO_VOLUMES)
            day = FIRST_DAY + timedelta(days=history_days)
            for _ in range(rounds):
                # The servers take turns, so that both meet the same state of this shared host.
                for server in servers:
                    for page in IDLE_PAGES:
                        result, seconds = load(server.port, page, max_requests, idle_seconds)
                        samples.setdefault((server.label, "idle", page), []).append(summarise(result, seconds))
                for server in servers:
                    loaded, outcome = load_during_run(server, simulator, day, token, max_requests, run_seconds)
                    day += timedelta(days=1)
                    run_outcomes.append(outcome)
                    for page in RUN_PAGES:
                        samples.setdefault((server.label, "during a run", page), []).append(summarise(*loaded[page]))
            simulator.close()
        finally:
            for server in servers:
                server.stop()
        log_tail = "".join(server.log_path.read_text(errors="replace")[-2000:] for server in servers)
    failed_runs = [o for o in run_outcomes if o.get("status") != "succeeded"]
    if failed_runs:
        print(
            f"a run during the load did not succeed: {[o.get('error') or o.get('status') for o in failed_runs]}\n{log_tail}",
            file=sys.stderr,
        )
    rows = []
    for (label, phase, page), runs in samples.items():
        served = f" ({label})" if label else ""
        scenario = f"{page}{served}, {phase}, {history_days} days of history, {CLIENT_THREADS} client threads, gunicorn 2x4 on 127.0.0.1"
        loadavg = max(r["load_1m"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        p50 = round(statistics.median(r["p50_ms"] for r in runs), 1)
        goal = (
            (f"<= {SALES_P50_GOAL_MS:.0f}", p50 <= SALES_P50_GOAL_MS)
            if (page, phase) == (SALES, "idle") and not label.startswith("baseline")
            else (None, None)
        )
        rows.append(
            row(
                scenario,
                "requests_per_second",
                round(statistics.median(r["rps"] for r in runs), 1),
                "req/s",
                load=loadavg,
                repeats=len(runs),
            )
        )
        rows.append(row(scenario, "p50_latency", p50, "ms", *goal, load=loadavg, repeats=len(runs)))
        rows.append(
            row(
                scenario,
                "p99_latency",
                round(statistics.median(r["p99_ms"] for r in runs), 1),
                "ms",
                load=loadavg,
                repeats=len(runs),
            )
        )
        rows.append(
            row(
                scenario,
                "errors",
                errors,
                f"of {sum(r['requests'] for r in runs):,}",
                "0",
                errors == 0,
                loadavg,
                len(runs),
            )
        )
        if errors:
            print(f"{scenario}: errors {sorted(set(e for r in runs for e in r['error_kinds']))}", file=sys.stderr)
    rows.append(
        row(
            "runs triggered by POST /run during the load",
            "runs_succeeded",
            len(run_outcomes) - len(failed_runs),
            f"of {len(run_outcomes)}",
            f"{len(run_outcomes)}",
            not failed_runs,
            load_1m(),
        )
    )
    write_results("service", args.quick, rows, cores=cores(), baseline=args.baseline)
    return 0 if all(r["ok"] is not False for r in rows) else 1


def summarise(result: LoadResult, seconds: float) -> dict:
    done = len(result.latencies) + len(result.errors)
    return {
        "requests": done,
        "rps": done / seconds if seconds else 0.0,
        "p50_ms": percentile(result.latencies, 0.50) * 1000,
        "p99_ms": percentile(result.latencies, 0.99) * 1000,
        "errors": len(result.errors),
        "error_kinds": sorted(set(result.errors))[:5],
        "load_1m": load_1m(),
    }


if __name__ == "__main__":
    sys.exit(main())
