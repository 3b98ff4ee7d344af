"""The HTTP side of the BigQuery fake: routes, uploads, injected faults, recorded requests."""

from __future__ import annotations

import json
import re
import threading
import traceback
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .api import ResourceApi
from .errors import STATUS_REASON, BigQueryError, fake_fault, invalid, not_found
from .gcs import GcsMirror
from .jobs import Job, JobFailure, Jobs
from .loads import parse_multipart
from .store import Store
from .values import timestamp_format

FAULT_MESSAGES = {
    403: "Exceeded rate limits: too many api requests per user per method for this user_method.",
    429: "Exceeded rate limits: too many api requests per user per method for this user_method.",
    500: "An internal error occurred and the request could not be completed.",
    502: "Bad gateway.",
    503: "The service is currently unavailable.",
}
_P = r"/projects/(?P<project>[^/]+)"
_ROUTES = [
    (re.compile(rf"^{_P}/datasets$"), "datasets"),
    (re.compile(rf"^{_P}/datasets/(?P<dataset>[^/]+)$"), "dataset"),
    (re.compile(rf"^{_P}/datasets/(?P<dataset>[^/]+)/tables$"), "tables"),
    (re.compile(rf"^{_P}/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)$"), "table"),
    (re.compile(rf"^{_P}/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)/data$"), "data"),
    (re.compile(rf"^{_P}/datasets/(?P<dataset>[^/]+)/tables/(?P<table>[^/]+)/insertAll$"), "insertAll"),
    (re.compile(rf"^{_P}/jobs$"), "jobs"),
    (re.compile(rf"^{_P}/jobs/(?P<job>[^/]+)$"), "job"),
    (re.compile(rf"^{_P}/jobs/(?P<job>[^/]+)/cancel$"), "cancel"),
    (re.compile(rf"^{_P}/jobs/(?P<job>[^/]+)/delete$"), "delete"),
    (re.compile(rf"^{_P}/queries$"), "queries"),
    (re.compile(rf"^{_P}/queries/(?P<job>[^/]+)$"), "results"),
]


@dataclass
class FakeFailure:
    """Answer the next `times` matching requests with an HTTP error instead of serving them,
    or, with `processed=True`, after serving them (the request took effect, its answer was lost)."""

    status: int
    times: int = 1
    method: str | None = None
    path_contains: str = ""
    reason: str | None = None
    message: str | None = None
    retry_after: str | None = None
    processed: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in (None, method) and self.path_contains in path

    def error(self) -> BigQueryError:
        reason = self.reason or STATUS_REASON.get(self.status, "backendError")
        return BigQueryError(reason, self.message or FAULT_MESSAGES.get(self.status, "Error"), status=self.status)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # the JSON body, or the byte count of an upload
    headers: dict[str, str]


@dataclass
class _Upload:
    metadata: dict[str, Any]
    data: bytearray


class FakeBigQueryServer:
    """BigQuery v2 on 127.0.0.1 for one project; see the package docstring for what it serves."""

    def __init__(
        self,
        project: str = "winter-proj",
        location: str = "EU",
        database: Path | None = None,
        lake_root: Path | None = None,
        gcs: tuple[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.project, self.location = project, location
        self.store = Store(project, location, database)
        self.jobs = Jobs(self.store, Path(lake_root) if lake_root else None)
        if gcs is not None:
            if lake_root is None:
                raise ValueError("gcs=(endpoint, buckets) copies the buckets into lake_root: give lake_root too")
            self.jobs.before_run = GcsMirror(gcs[0], Path(lake_root), tuple(gcs[1]))
        self.api = ResourceApi(self.store, self.jobs, Path(lake_root) if lake_root else None)
        self.failures: list[FakeFailure] = []
        self.requests: list[RecordedRequest] = []
        self._uploads: dict[str, _Upload] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, **kwargs: Any) -> FakeFailure:
        """Fail the next `times` requests (matching method / path_contains) with `status`."""
        failure = FakeFailure(status, times, **kwargs)
        with self._lock:
            self.failures.append(failure)
        return failure

    def fail_job(self, reason: str = "backendError", times: int = 1, **kwargs: Any) -> JobFailure:
        """End the next `times` jobs (matching query_contains / job_type) failed with `reason`."""
        failure = JobFailure(reason, times, **kwargs)
        self.jobs.failures.append(failure)
        return failure

    @property
    def running_polls(self) -> int:
        """How many polls a new job stays RUNNING for before it runs (0: done on insert)."""
        return self.jobs.running_polls

    @running_polls.setter
    def running_polls(self, value: int) -> None:
        self.jobs.running_polls = value

    @property
    def page_rows(self) -> int:
        """Rows per page when a request names no maxResults."""
        return self.jobs.page_rows

    @page_rows.setter
    def page_rows(self, value: int) -> None:
        self.jobs.page_rows = value

    def requests_to(self, method: str, contains: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and contains in r.path]

    # -- looking inside -------------------------------------------------------------------

    def sql(self, sql: str, params: Any = None) -> list[tuple]:
        """Run DuckDB SQL on the stored tables (dataset = schema), bypassing the API."""
        with self.store.cursor() as cur:
            return cur.execute(sql, params).fetchall()

    def table_rows(self, dataset: str, table: str) -> list[dict[str, Any]]:
        """Every stored row of a table, as dicts (DuckDB's Python values)."""
        with self.store.cursor() as cur:
            return cur.sql(f"SELECT * FROM {self.store.sql_name(dataset, table)}").to_arrow_table().to_pylist()

    def job(self, job_id: str) -> dict[str, Any]:
        """The job resource as jobs.get would return it (without counting as a poll)."""
        return self.jobs.jobs[job_id].resource

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeBigQueryServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-bigquery", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.store.close()

    @property
    def endpoint(self) -> str:
        """What to pass as client_options={"api_endpoint": ...}."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def client(self, **kwargs: Any) -> Any:
        """A google.cloud.bigquery.Client pointed at the fake with anonymous credentials."""
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        kwargs.setdefault("location", self.location)
        return bigquery.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=self.endpoint),
            **kwargs,
        )

    # -- requests -------------------------------------------------------------------------

    def handle(
        self, method: str, raw_path: str, query: dict[str, list[str]], raw: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        """(status, body, extra headers) for one request; a body of None sends nothing."""
        upload = raw_path.startswith("/upload/")
        path = raw_path.removeprefix("/upload").removeprefix("/bigquery/v2")
        body: Any = None
        if raw and not upload:
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(invalid("Invalid JSON payload received."))
        with self._lock:
            self.requests.append(RecordedRequest(method, raw_path, query, body if not upload else len(raw), headers))
            failure = next((f for f in self.failures if f.matches(method, raw_path)), None)
            if failure is not None:
                failure.times -= 1
        if failure is not None and not failure.processed:
            return self._failed(failure)
        try:
            if upload:
                status, payload, extra = self._upload(method, path, query, raw, headers)
            else:
                status, payload, extra = self._route(method, path, query, body or {}, headers)
        except BigQueryError as err:
            return self._failed(failure) if failure is not None else _error(err)
        except Exception as err:  # a fault of the fake itself: answer, never drop the connection
            traceback.print_exc()
            return _error(fake_fault(err))
        if failure is not None:
            return self._failed(failure)
        if isinstance(payload, dict) and _first(query, "fields"):
            payload = _partial(payload, _first(query, "fields"))
        return status, payload, extra

    @staticmethod
    def _failed(failure: FakeFailure) -> tuple[int, Any, dict[str, str]]:
        status, payload, _ = _error(failure.error())
        return status, payload, {"Retry-After": failure.retry_after} if failure.retry_after else {}

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        for pattern, name in _ROUTES:  # noqa: B007 - the matching route's name is read after the loop
            match = pattern.match(path)
            if match is not None:
                break
        else:
            raise BigQueryError("notFound", f"Not found: the BigQuery fake has no method {method} {path}", status=404)
        parts = {k: unquote(v) for k, v in match.groupdict().items()}
        if parts["project"] != self.project:
            raise not_found(f"Project {parts['project']} (the BigQuery fake serves project {self.project} only)")
        dataset, table, job_id = parts.get("dataset", ""), parts.get("table", ""), parts.get("job", "")
        api, jobs = self.api, self.jobs
        answers: dict[tuple[str, str], Any] = {
            ("datasets", "GET"): lambda: api.list_datasets(query),
            ("datasets", "POST"): lambda: api.insert_dataset(body),
            ("dataset", "GET"): lambda: api.dataset(dataset),
            ("dataset", "PATCH"): lambda: api.update_dataset(dataset, body, headers, replace=False),
            ("dataset", "PUT"): lambda: api.update_dataset(dataset, body, headers, replace=True),
            ("dataset", "DELETE"): lambda: self.store.delete_dataset(
                dataset, contents=_first(query, "deleteContents") == "true"
            ),
            ("tables", "GET"): lambda: api.list_tables(dataset, query),
            ("tables", "POST"): lambda: api.insert_table(dataset, body),
            ("table", "GET"): lambda: api.table(dataset, table),
            ("table", "PATCH"): lambda: api.update_table(dataset, table, body, headers, replace=False),
            ("table", "PUT"): lambda: api.update_table(dataset, table, body, headers, replace=True),
            ("table", "DELETE"): lambda: self.store.drop_table(dataset, table),
            ("data", "GET"): lambda: api.list_rows(dataset, table, query, timestamp_format(query)),
            ("insertAll", "POST"): lambda: api.insert_all(dataset, table, body),
            ("jobs", "GET"): lambda: jobs.list_jobs(query),
            ("jobs", "POST"): lambda: _resource(jobs.insert(body)),
            ("job", "GET"): lambda: jobs.get(job_id).resource,
            ("cancel", "POST"): lambda: {"kind": "bigquery#jobCancelResponse", "job": jobs.cancel(job_id).resource},
            ("delete", "DELETE"): lambda: jobs.delete(job_id),
            ("queries", "POST"): lambda: jobs.query(body, timestamp_format(query, body)),
            ("results", "GET"): lambda: self._results(job_id, query),
        }
        answer = answers.get((name, method))
        if answer is None:
            raise BigQueryError("notFound", f"Not found: the BigQuery fake has no method {method} {path}", status=404)
        payload = answer()
        return (204, None, {}) if payload is None else (200, payload, {})

    def _results(self, job_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        token = _first(query, "pageToken")
        if token and not token.startswith("row-"):
            raise invalid(f"Invalid page token '{token}'")
        start = int(token.split("-", 1)[1]) if token else int(_first(query, "startIndex") or 0)
        count = int(_first(query, "maxResults")) if _first(query, "maxResults") else self.jobs.page_rows
        return self.jobs.results_page(job, start, count, timestamp_format(query))

    def _upload(
        self, method: str, path: str, query: dict[str, list[str]], raw: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        match = re.match(rf"^{_P}/jobs$", path)
        if match is None or unquote(match["project"]) != self.project:
            raise not_found(f"the BigQuery fake has no upload path {path} for project {self.project}")
        kind = _first(query, "uploadType")
        if method == "POST" and kind == "multipart":
            metadata, data = parse_multipart(headers.get("content-type", ""), raw)
            return 200, _resource(self.jobs.insert(metadata, data)), {}
        if method == "POST" and kind == "resumable":
            upload_id = uuid.uuid4().hex
            with self._lock:
                self._uploads[upload_id] = _Upload(json.loads(raw or b"{}"), bytearray())
            location = f"{self.endpoint}/upload/bigquery/v2/projects/{self.project}/jobs?uploadType=resumable&upload_id={upload_id}"
            return 200, None, {"Location": location}
        if method == "PUT" and kind == "resumable":
            return self._resumable_chunk(_first(query, "upload_id"), raw, headers.get("content-range", ""))
        raise invalid(f"Unsupported upload: {method} uploadType={kind}")

    def _resumable_chunk(self, upload_id: str, raw: bytes, content_range: str) -> tuple[int, Any, dict[str, str]]:
        session = self._uploads.get(upload_id)
        if session is None:
            raise not_found(f"Upload session {upload_id}")
        match = re.match(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)$", content_range.strip())
        if match is None:
            raise invalid(f"Invalid Content-Range header: {content_range!r}")
        first, total = match.group(1), match.group(3)
        if first is not None:
            if int(first) != len(session.data):
                raise invalid(f"Upload {upload_id}: chunk starts at byte {first}, expected {len(session.data)}")
            session.data.extend(raw)
        if total != "*" and int(total) == len(session.data):
            with self._lock:
                self._uploads.pop(upload_id, None)
            return 200, _resource(self.jobs.insert(session.metadata, bytes(session.data))), {}
        extra = {"Range": f"bytes=0-{len(session.data) - 1}"} if session.data else {}
        return 308, None, extra


def _resource(created: Job | dict[str, Any]) -> dict[str, Any]:
    return created.resource if isinstance(created, Job) else created


def _first(query: dict[str, list[str]], key: str) -> str:
    return (query.get(key) or [""])[0]


def _partial(payload: dict[str, Any], fields: str) -> dict[str, Any]:
    """A partial response: the top-level fields a `fields=` selector names."""
    depth, names, current = 0, [], ""
    for char in fields:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.append(current)
            current = ""
            continue
        if depth == 0 and char not in "()":
            current += char
    names.append(current)
    wanted = {n.split("/")[0].strip() for n in names if n.strip()}
    return {k: v for k, v in payload.items() if k in wanted}


def _error(err: BigQueryError) -> tuple[int, Any, dict[str, str]]:
    return err.status, err.http_body(), {}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeBigQueryServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave in one segment: no delayed-ACK stall
    wbufsize = -1

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, payload, extra = self.fake.handle(method, split.path, parse_qs(split.query), raw, headers)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays readable
        pass
