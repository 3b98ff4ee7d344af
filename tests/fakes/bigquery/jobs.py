"""Jobs: query, load and copy jobs with BigQuery's states, statistics and results paging.

A job is RUNNING for `running_polls` polls (jobs.get / jobs.getQueryResults each count as
one; 0 by default, so a job is DONE when jobs.insert answers) and then runs. A failed
job is DONE with `status.errorResult` (and `status.errors`); jobs.getQueryResults and
jobs.query answer such a job with the HTTP error its reason maps to, as BigQuery does. A
script's statements become child jobs (statistics.parentJobId). Results of a SELECT are
kept with the job and paged by maxResults / pageToken / startIndex.
"""

from __future__ import annotations

import hashlib
import threading
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from .errors import BigQueryError, duplicate, fake_fault, invalid, not_found
from .estimate import Estimate
from .ids import check_job_id, check_labels
from .loads import run_load
from .partitions import split_decorator
from .queries import QueryRunner, StatementOutcome
from .schema import Field, schema_api
from .statements import parse_script
from .store import Store, new_etag, now_ms
from .values import encode_rows
from .writes import Write, copy_tables, write_rows

DEFAULT_MESSAGES = {
    "backendError": "Backend error. Job aborted.",
    "internalError": "An internal error occurred and the request could not be completed.",
    "rateLimitExceeded": "Exceeded rate limits: too many concurrent queries for this project_and_region.",
    "quotaExceeded": "Quota exceeded: Your project exceeded quota for free query bytes scanned.",
}


@dataclass
class JobFailure:
    """End the next `times` matching jobs with `reason` instead of running them."""

    reason: str
    times: int = 1
    message: str = ""
    query_contains: str = ""
    job_type: str | None = None

    def matches(self, job: Job) -> bool:
        query = str(job.config.get("query") or "")
        return self.times > 0 and self.job_type in (None, job.job_type) and self.query_contains in query


@dataclass
class Job:
    resource: dict[str, Any]
    job_type: str
    pending_polls: int = 0
    upload: bytes | None = None
    fields: list[Field] | None = None
    data: pa.Table | None = None
    error: BigQueryError | None = None
    affected: int | None = None
    dml: dict[str, str] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def job_id(self) -> str:
        return self.resource["jobReference"]["jobId"]

    @property
    def config(self) -> dict[str, Any]:
        return self.resource["configuration"].get(self.job_type.lower(), {})

    @property
    def done(self) -> bool:
        return self.resource["status"]["state"] == "DONE"


class Jobs:
    def __init__(self, store: Store, lake_root: Path | None) -> None:
        self.store = store
        self.lake_root = lake_root
        self.runner = QueryRunner(store, lake_root)
        self.jobs: dict[str, Job] = {}
        self.failures: list[JobFailure] = []
        self.running_polls = 0
        self.page_rows = 100_000
        # Called before a job that reads gs:// files runs (brings lake_root up to date).
        self.before_run: Callable[[], None] | None = None
        self.anonymous: dict[tuple[str, str], Job] = {}
        self._requests: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- creation -----------------------------------------------------------------------

    def insert(self, body: dict[str, Any], upload: bytes | None = None) -> Job | dict[str, Any]:
        """A new job (or a dry run's answer, which BigQuery does not keep)."""
        reference = dict(body.get("jobReference") or {})
        if reference.get("projectId") not in (None, self.store.project):
            raise not_found(
                f"Project {reference['projectId']} (the BigQuery fake serves project {self.store.project} only)"
            )
        configuration = dict(body.get("configuration") or {})
        kinds = [k for k in ("query", "load", "copy", "extract") if k in configuration]
        if len(kinds) != 1:
            raise invalid("Job configuration must name exactly one of query, load, copy, extract")
        if kinds[0] == "extract":
            raise invalid("Extract jobs are not supported by the BigQuery fake")
        check_labels(configuration.get("labels"))
        location = reference.get("location") or self.store.location
        if configuration.get("dryRun"):
            if kinds[0] != "query":
                raise invalid("Only query jobs can be dry runs")
            return self._dry_run(configuration, location)
        job_id = check_job_id(reference.get("jobId") or f"job_{uuid.uuid4().hex}")
        stamp = str(now_ms())
        resource = {
            "kind": "bigquery#job",
            "etag": new_etag(),
            "id": f"{self.store.project}:{location}.{job_id}",
            "selfLink": f"/bigquery/v2/projects/{self.store.project}/jobs/{job_id}?location={location}",
            "jobReference": {"projectId": self.store.project, "jobId": job_id, "location": location},
            "configuration": {**configuration, "jobType": kinds[0].upper()},
            "statistics": {"creationTime": stamp},
            "status": {"state": "RUNNING"},
        }
        job = Job(resource, kinds[0].upper(), self.running_polls, upload)
        with self._lock:
            if job_id in self.jobs:
                raise duplicate(f"Job {self.store.project}:{location}.{job_id}")
            self.jobs[job_id] = job
        if job.pending_polls <= 0:
            self._finish(job)
        return job

    def _dry_run(self, configuration: dict[str, Any], location: str) -> dict[str, Any]:
        kind, estimate, fields = self.runner.dry_run(configuration["query"])
        query_stats: dict[str, Any] = {
            **_bytes(estimate),
            "totalBytesBilled": "0",
            "statementType": kind,
            "cacheHit": False,
        }
        if fields is not None:
            query_stats["schema"] = schema_api(fields)
        return {
            "kind": "bigquery#job",
            "jobReference": {"projectId": self.store.project, "location": location},
            "configuration": {**configuration, "jobType": "QUERY"},
            "statistics": {
                "creationTime": str(now_ms()),
                "totalBytesProcessed": str(estimate.bytes_processed),
                "query": query_stats,
            },
            "status": {"state": "DONE"},
        }

    # -- lifecycle ----------------------------------------------------------------------

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise not_found(f"Job {self.store.project}:{self.store.location}.{job_id}")
        if not job.done:
            job.pending_polls -= 1
            if job.pending_polls <= 0:
                self._finish(job)
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with job.lock:
            if not job.done:
                self._end(job, BigQueryError("stopped", "Job execution was cancelled: User requested cancellation"))
        return job

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if not job.done:
            raise invalid(f"Job {job_id} is still running; cancel it first")
        with self._lock:
            self.jobs.pop(job_id, None)

    def _finish(self, job: Job) -> None:
        with job.lock:
            if job.done:
                return
            job.resource["statistics"]["startTime"] = str(now_ms())
            error = None
            try:
                failure = self._take_failure(job)
                if failure is not None:
                    raise BigQueryError(
                        failure.reason, failure.message or DEFAULT_MESSAGES.get(failure.reason, failure.reason)
                    )
                if self.before_run is not None and self._reads_files(job):
                    self.before_run()
                {"QUERY": self._run_query, "LOAD": self._run_load, "COPY": self._run_copy}[job.job_type](job)
            except BigQueryError as err:
                error = err
            except Exception as err:  # a fault of the fake itself
                traceback.print_exc()
                error = fake_fault(err)
            job.upload = None
            self._end(job, error)

    def _end(self, job: Job, error: BigQueryError | None) -> None:
        job.resource["statistics"].setdefault("startTime", str(now_ms()))
        job.resource["statistics"]["endTime"] = str(now_ms())
        status: dict[str, Any] = {"state": "DONE"}
        if error is not None:
            job.error = error
            status["errorResult"] = error.proto()
            status["errors"] = [error.proto()] + [d.proto() for d in error.details]
        job.resource["status"] = status

    def _reads_files(self, job: Job) -> bool:
        """Whether the job may read gs:// files: a load from gs://, a statement naming a gs://
        URI, or one naming an external table or a view over one (names matched as text:
        a false match only costs a needless refresh)."""
        if job.job_type == "LOAD":
            return any(str(uri).startswith("gs://") for uri in job.config.get("sourceUris") or ())
        if job.job_type != "QUERY":
            return False
        text = str(job.config.get("query") or "")
        if "gs://" in text:
            return True
        tables = dict(self.store.tables)
        names = {name for (_, name), meta in tables.items() if meta.kind == "EXTERNAL"}
        grown = True
        while grown:
            views = {
                name
                for (_, name), meta in tables.items()
                if meta.kind == "VIEW"
                and name not in names
                and any(n in str((meta.resource.get("view") or {}).get("query") or "") for n in names)
            }
            names |= views
            grown = bool(views)
        return any(name in text for name in names)

    def _take_failure(self, job: Job) -> JobFailure | None:
        with self._lock:
            for failure in self.failures:
                if failure.matches(job):
                    failure.times -= 1
                    return failure
        return None

    # -- running ------------------------------------------------------------------------

    def _run_query(self, job: Job) -> None:
        config = job.config
        cap = int(config["maximumBytesBilled"]) if config.get("maximumBytesBilled") not in (None, "", "0") else None
        destination = config.get("destinationTable")
        if destination and [s.kind for s in parse_script(str(config.get("query") or ""))] != ["SELECT"]:
            raise invalid("Cannot set destination table in jobs with DML or DDL statements, or in scripts")
        outcome = self.runner.run(config, cap)
        result = outcome.result
        if result is not None:
            job.fields, job.data = result.fields, result.data
        if outcome.kind != "SCRIPT":
            job.affected, job.dml = outcome.statements[0].affected, outcome.statements[0].dml
        if destination and result is not None and result.fields is not None and result.data is not None:
            write_rows(self.store, self._query_target(config, destination), result.fields, result.data)
        elif result is not None and outcome.kind == "SELECT":
            anonymous = {
                "projectId": self.store.project,
                "datasetId": "_" + hashlib.sha1(self.store.project.encode()).hexdigest(),
                "tableId": "anon" + hashlib.sha1(job.job_id.encode()).hexdigest(),
            }
            config["destinationTable"] = anonymous
            self.anonymous[(anonymous["datasetId"], anonymous["tableId"])] = job
        statistics = job.resource["statistics"]
        statistics["totalBytesProcessed"] = str(outcome.estimate.bytes_processed)
        statistics["query"] = self._query_statistics(
            outcome.kind, outcome.estimate, outcome.statements[-1] if outcome.kind != "SCRIPT" else None, job.fields
        )
        if outcome.kind == "SCRIPT":
            statistics["numChildJobs"] = str(len(outcome.statements))
            for index, statement in enumerate(outcome.statements):
                self._child(job, index, statement)

    def _query_target(self, config: dict[str, Any], destination: dict[str, Any]) -> Write:
        if destination.get("projectId") not in (None, self.store.project):
            raise not_found(
                f"Project {destination['projectId']} (the BigQuery fake serves project {self.store.project} only)"
            )
        table, partition = split_decorator(str(destination.get("tableId") or ""))
        resource = {k: config[k] for k in ("timePartitioning", "rangePartitioning", "clustering") if config.get(k)}
        return Write(
            str(destination.get("datasetId") or ""),
            table,
            partition,
            disposition=str(config.get("writeDisposition") or "WRITE_EMPTY"),
            create=str(config.get("createDisposition") or "CREATE_IF_NEEDED"),
            schema_updates=tuple(config.get("schemaUpdateOptions") or ()),
            table_resource=resource,
        )

    def _query_statistics(
        self, kind: str, estimate: Estimate, statement: StatementOutcome | None, fields: list[Field] | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            **_bytes(estimate),
            "totalBytesBilled": str(estimate.bytes_billed),
            "billingTier": 1,
            "cacheHit": False,
            "statementType": kind,
            "totalSlotMs": "0",
        }
        if fields is not None:
            out["schema"] = schema_api(fields)
        if statement is not None:
            if statement.reads:
                out["referencedTables"] = [
                    {"projectId": self.store.project, "datasetId": d, "tableId": t} for d, t in statement.reads
                ]
            if statement.affected is not None:
                out["numDmlAffectedRows"] = str(statement.affected)
            if statement.dml:
                out["dmlStats"] = statement.dml
            if statement.ddl_operation:
                out["ddlOperationPerformed"] = statement.ddl_operation
                if statement.target and statement.target[1]:
                    out["ddlTargetTable"] = {
                        "projectId": self.store.project,
                        "datasetId": statement.target[0],
                        "tableId": statement.target[1],
                    }
                elif statement.target:
                    out["ddlTargetDataset"] = {"projectId": self.store.project, "datasetId": statement.target[0]}
        return out

    def _child(self, parent: Job, index: int, statement: StatementOutcome) -> None:
        job_id = f"script_job_{hashlib.sha1(parent.job_id.encode()).hexdigest()[:24]}_{index}"
        stamp = parent.resource["statistics"]["startTime"]
        resource = {
            "kind": "bigquery#job",
            "etag": new_etag(),
            "id": f"{self.store.project}:{self.store.location}.{job_id}",
            "jobReference": {
                "projectId": self.store.project,
                "jobId": job_id,
                "location": parent.resource["jobReference"]["location"],
            },
            "configuration": {
                "query": {"query": f"statement {index + 1} of the script", "useLegacySql": False},
                "jobType": "QUERY",
            },
            "statistics": {
                "creationTime": stamp,
                "startTime": stamp,
                "endTime": str(now_ms()),
                "parentJobId": parent.job_id,
                "totalBytesProcessed": str(statement.estimate.bytes_processed),
                "query": self._query_statistics(statement.kind, statement.estimate, statement, statement.fields),
                "scriptStatistics": {"evaluationKind": "STATEMENT"},
            },
            "status": {"state": "DONE"},
        }
        child = Job(
            resource,
            "QUERY",
            fields=statement.fields,
            data=statement.data,
            affected=statement.affected,
            dml=statement.dml,
        )
        with self._lock:
            self.jobs[job_id] = child

    def _run_load(self, job: Job) -> None:
        job.resource["statistics"]["load"] = run_load(self.store, job.config, job.upload, self.lake_root)

    def _run_copy(self, job: Job) -> None:
        job.resource["statistics"]["copy"] = copy_tables(self.store, job.config)

    def list_jobs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """jobs.list: newest first; stateFilter and parentJobId (a script's statements) filter."""
        states = {s.upper() for values in query.get("stateFilter", []) for s in values.split(",")}
        parent = (query.get("parentJobId") or [""])[0]
        with self._lock:
            jobs = list(self.jobs.values())
        items = []
        for job in sorted(jobs, key=lambda j: int(j.resource["statistics"]["creationTime"]), reverse=True):
            if (states and job.resource["status"]["state"] not in states) or (
                parent and job.resource["statistics"].get("parentJobId") != parent
            ):
                continue
            item = {
                k: job.resource[k]
                for k in ("id", "kind", "jobReference", "statistics", "configuration", "status")
                if k in job.resource
            }
            item["state"] = job.resource["status"]["state"]
            if "errorResult" in job.resource["status"]:
                item["errorResult"] = job.resource["status"]["errorResult"]
            items.append(item)
        size = int((query.get("maxResults") or ["50"])[0] or 50)
        token = (query.get("pageToken") or [""])[0]
        start = int(token.split("-", 1)[1]) if token.startswith("job-") else 0
        body: dict[str, Any] = {"kind": "bigquery#jobList", "etag": new_etag(), "jobs": items[start : start + size]}
        if start + size < len(items):
            body["nextPageToken"] = f"job-{start + size}"
        return body

    # -- jobs.query and jobs.getQueryResults -------------------------------------------

    def query(self, body: dict[str, Any], ts_format: str) -> dict[str, Any]:
        request_id = body.get("requestId")
        with self._lock:
            known = self.jobs.get(self._requests.get(request_id, "")) if request_id else None
        if known is None:
            keys = (
                "query",
                "useLegacySql",
                "defaultDataset",
                "parameterMode",
                "queryParameters",
                "maximumBytesBilled",
                "useQueryCache",
                "createSession",
                "connectionProperties",
            )
            configuration: dict[str, Any] = {"query": {k: body[k] for k in keys if k in body}}
            configuration["query"].setdefault("useLegacySql", True)
            if body.get("labels"):
                configuration["labels"] = body["labels"]
            if body.get("dryRun"):
                configuration["dryRun"] = True
            created = self.insert({"jobReference": {"location": body.get("location")}, "configuration": configuration})
            if isinstance(created, dict):
                query = created["statistics"]["query"]
                response = {
                    "kind": "bigquery#queryResponse",
                    "jobReference": created["jobReference"],
                    "jobComplete": True,
                    "cacheHit": False,
                    "totalBytesProcessed": query["totalBytesProcessed"],
                }
                if "schema" in query:
                    response["schema"] = query["schema"]
                return response
            known = created
            if request_id:
                with self._lock:
                    self._requests[request_id] = known.job_id
        count = int(body["maxResults"]) if body.get("maxResults") is not None else self.page_rows
        return self.results_page(known, 0, count, ts_format, "bigquery#queryResponse")

    def results_page(
        self, job: Job, start: int, count: int, ts_format: str, kind: str = "bigquery#getQueryResultsResponse"
    ) -> dict[str, Any]:
        reference = job.resource["jobReference"]
        body: dict[str, Any] = {
            "kind": kind,
            "etag": job.resource["etag"],
            "jobReference": reference,
            "jobComplete": job.done,
        }
        if not job.done:
            return body
        if job.error is not None:
            raise job.error
        statistics = job.resource["statistics"]
        query = statistics.get("query") or {}
        body.update(
            cacheHit=False,
            totalBytesProcessed=statistics.get("totalBytesProcessed", "0"),
            totalBytesBilled=query.get("totalBytesBilled", "0"),
            queryId=job.job_id,
            location=reference["location"],
            creationTime=statistics.get("creationTime"),
            startTime=statistics.get("startTime"),
            endTime=statistics.get("endTime"),
        )
        if job.affected is not None:
            body["numDmlAffectedRows"] = str(job.affected)
        if job.dml:
            body["dmlStats"] = job.dml
        if job.fields is not None and job.data is not None:
            total = job.data.num_rows
            page = job.data.slice(start, max(0, count))
            rows = (
                list(zip(*(column.to_pylist() for column in page.columns), strict=False))
                if page.num_columns
                else [()] * page.num_rows
            )
            body.update(
                schema=schema_api(job.fields), totalRows=str(total), rows=encode_rows(rows, job.fields, ts_format)
            )
            if start + page.num_rows < total:
                body["pageToken"] = f"row-{start + page.num_rows}"
        return body


def _bytes(estimate: Estimate) -> dict[str, Any]:
    return {
        "totalBytesProcessed": str(estimate.bytes_processed),
        "estimatedBytesProcessed": str(estimate.bytes_processed),
        "totalBytesProcessedAccuracy": "PRECISE",
    }
