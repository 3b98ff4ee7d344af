"""The service under load: `/healthz` and `/dashboard/sales` while idle and while a run works.

`winter-days serve` (gunicorn, 2 workers x 4 threads) runs in a subprocess on a free port
of 127.0.0.1 over an installation with a few weeks of history. In each round a bounded
client loop (threads over http.client, bounded in requests and in seconds) loads the two
pages once with no run, then again after a new simulated day is written and
`POST /run?wait=false` is sent with the bearer token, until that run ends. Reported per
page and phase: requests per second, p50/p99 latency (medians over the rounds) and errors
(summed). Goal: no errors, no non-200 answer.

    python -m bench.service [--quick]
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
from datetime import date, timedelta
from pathlib import Path

from bench.common import cores, load_1m, row, write_results
from bench.pipeline import FIRST_DAY, PROJECT, bench_settings, build_history
from winter_days.platform import build_platform
from winter_days.simulation import DailyVolumes, DaySimulator

PAGES = ("/healthz", "/dashboard/sales")
CLIENT_THREADS = 4
REQUEST_TIMEOUT = 30.0
CUSTOMERS = 2000


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


def load(port: int, path: str, max_requests: int, max_seconds: float, until: threading.Event | None = None) -> tuple[LoadResult, float]:
    """CLIENT_THREADS threads request `path` until `max_requests` in all, `max_seconds`, or
    `until` is set; the results and the elapsed seconds."""
    result = LoadResult()
    counter = iter(range(max_requests))
    counter_lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        while time.monotonic() < deadline and not (until and until.is_set()):
            with counter_lock:
                if next(counter, None) is None:
                    break
            began = time.perf_counter()
            try:
                conn.request("GET", path)
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


def request_json(port: int, method: str, path: str, token: str | None = None, body: dict | None = None) -> tuple[int, dict]:
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


def stop_server(server: subprocess.Popen) -> None:
    """Stop the `winter-days serve` process started here: SIGTERM, then SIGKILL after 150 s."""
    server.terminate()
    try:
        server.wait(timeout=150)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds, two rounds")
    args = parser.parse_args(argv)
    rounds = 2 if args.quick else 3
    idle_seconds, run_seconds, max_requests = (3.0, 30.0, 2000) if args.quick else (5.0, 90.0, 20000)
    history_days = 14 if args.quick else 28
    volumes = DailyVolumes(sales=200, clicks=4000, startups=100)
    token = secrets.token_urlsafe(24)
    samples: dict[tuple[str, str], list[dict]] = {}
    run_outcomes: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        home = Path(tmp) / "home"
        settings = bench_settings(home, CUSTOMERS)
        build_history(home, settings, volumes, history_days)
        port = free_port()
        environ = {**os.environ, "WINTER_DAYS_HOME": str(home), "WINTER_DAYS_CUSTOMERS": str(CUSTOMERS),
                   "WINTER_DAYS_DATAFORM_DIR": str(PROJECT), "WINTER_DAYS_AUTH_TOKEN": token}
        command = [str(Path(sys.executable).with_name("winter-days")), "serve", "--port", str(port), "--workers", "2", "--threads", "4"]
        log = open(Path(tmp) / "serve.log", "wb")
        server = subprocess.Popen(command, env=environ, cwd=home, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(port, server)
            simulator = DaySimulator(build_platform(settings), volumes)
            for round_index in range(rounds):
                for page in PAGES:
                    result, seconds = load(port, page, max_requests, idle_seconds)
                    samples.setdefault(("idle", page), []).append(summarise(result, seconds))
                day = FIRST_DAY + timedelta(days=history_days + round_index)
                simulator.write_day(day)
                status, body = request_json(port, "POST", "/run?wait=false", token, {"as_of": day.isoformat(), "ml": False})
                if status != 202:
                    raise SystemExit(f"POST /run answered {status}: {body}")
                done, outcome = threading.Event(), {}
                watcher = threading.Thread(target=watch_run, args=(port, body["run_id"], done, outcome, run_seconds * 2))
                watcher.start()
                # Both pages at once during the run: each gets half the client threads' time.
                loaders = {}
                for page in PAGES:
                    thread = threading.Thread(target=lambda p=page: loaders.__setitem__(p, load(port, p, max_requests, run_seconds, done)))
                    thread.start()
                    loaders.setdefault("_threads", []).append(thread)
                for thread in loaders.pop("_threads"):
                    thread.join()
                watcher.join()
                run_outcomes.append(outcome)
                for page in PAGES:
                    samples.setdefault(("during a run", page), []).append(summarise(*loaders[page]))
            getattr(simulator.store, "close", lambda: None)()
        finally:
            stop_server(server)
            log.close()
        log_tail = (Path(tmp) / "serve.log").read_text(errors="replace")[-2000:]
    failed_runs = [o for o in run_outcomes if o.get("status") != "succeeded"]
    if failed_runs:
        print(f"a run during the load did not succeed: {[o.get('error') or o.get('status') for o in failed_runs]}\n{log_tail}", file=sys.stderr)
    rows = []
    for (phase, page), runs in samples.items():
        scenario = f"{page}, {phase}, {CLIENT_THREADS} client threads, gunicorn 2x4 on 127.0.0.1"
        loadavg = max(r["load_1m"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        rows.append(row(scenario, "requests_per_second", round(statistics.median(r["rps"] for r in runs), 1), "req/s", load=loadavg, repeats=len(runs)))
        rows.append(row(scenario, "p50_latency", round(statistics.median(r["p50_ms"] for r in runs), 1), "ms", load=loadavg, repeats=len(runs)))
        rows.append(row(scenario, "p99_latency", round(statistics.median(r["p99_ms"] for r in runs), 1), "ms", load=loadavg, repeats=len(runs)))
        rows.append(row(scenario, "errors", errors, f"of {sum(r['requests'] for r in runs):,}", "0", errors == 0, loadavg, len(runs)))
        if errors:
            print(f"{scenario}: errors {sorted(set(e for r in runs for e in r['error_kinds']))}", file=sys.stderr)
    rows.append(row("runs triggered by POST /run during the load", "runs_succeeded", len(run_outcomes) - len(failed_runs),
                    f"of {len(run_outcomes)}", f"{len(run_outcomes)}", not failed_runs, load_1m()))
    write_results("service", args.quick, rows, cores=cores())
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
