"""A fake Dataform REST v1 server on 127.0.0.1, speaking what google-cloud-dataform's REST transport sends.

Resource paths, camelCase JSON fields, `$alt=json;enum-encoding=int` (enums answered as
integers; as names without it), paging (pageSize / pageToken / nextPageToken), list
filters and ordering, unknown request fields refused, and google.rpc.Status errors follow
the v1 reference. A compilation applies its codeCompilationConfig to the targets (default
database, schema suffix, assertion schema). Outcomes are scripted: each action's final
state and failureReason, compilation errors, how many polls an invocation stays RUNNING,
cancellation, and injected faults: an HTTP error (429 / 503 ... with an optional
Retry-After), a dropped connection or an answer that never comes, each either instead of
serving the request or after serving it (the invocation exists, its answer is lost), and
invocations that a listing shows only some time after their creation. Every request is
recorded so tests can assert what was sent.

Given a repository folder and a BigQuery server (`repository_dir=`, `bigquery=`, the BigQuery
fake of tests/fakes/bigquery), it does what the service does instead of following a
script: a compilation compiles the repository's code (our SQLX compiler gives the graph
the API would; codeCompilationConfig's vars, default database and schema suffix are
applied, and compile errors become compilationErrors naming file and line), and an
invocation runs the selected actions' SQL on that BigQuery, in dependency order, as
Dataform's runner builds it (dataform_runner.py), reporting each action's state,
failureReason and sqlScript as it goes.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
RELATION_TYPES = {"table": "TABLE", "view": "VIEW", "incremental": "INCREMENTAL_TABLE"}
SOURCE_FIELDS = ("gitCommitish", "workspace", "releaseConfig")
# Enum numbers of the v1 protos, for `enum-encoding=int`.
ENUMS = {
    "invocation": {"STATE_UNSPECIFIED": 0, "RUNNING": 1, "SUCCEEDED": 2, "CANCELLED": 3, "FAILED": 4, "CANCELING": 5},
    "action": {"PENDING": 0, "RUNNING": 1, "SKIPPED": 2, "DISABLED": 3, "SUCCEEDED": 4, "CANCELLED": 5, "FAILED": 6},
    "relation": {"RELATION_TYPE_UNSPECIFIED": 0, "TABLE": 1, "VIEW": 2, "INCREMENTAL_TABLE": 3, "MATERIALIZED_VIEW": 4},
}
ALT_JSON_INT = "json;enum-encoding=int"
# Request fields the API knows (a field outside these is refused, as the real API does).
COMPILATION_FIELDS = {*SOURCE_FIELDS, "codeCompilationConfig"}
CODE_COMPILATION_FIELDS = {
    "defaultDatabase",
    "defaultSchema",
    "defaultLocation",
    "assertionSchema",
    "vars",
    "databaseSuffix",
    "schemaSuffix",
    "tablePrefix",
    "builtinAssertionNamePrefix",
    "defaultNotebookRuntimeOptions",
    "pipelineConfig",
}
INVOCATION_FIELDS = {"compilationResult", "workflowConfig", "invocationConfig"}
INVOCATION_CONFIG_FIELDS = {
    "includedTargets",
    "includedTags",
    "transitiveDependenciesIncluded",
    "transitiveDependentsIncluded",
    "fullyRefreshIncrementalTablesEnabled",
    "serviceAccount",
    "endUserAuthConfig",
    "queryPriority",
}
# The list filter the fake understands (AIP-160, one equality on compilation_result).
_FILTER = re.compile(r'^\s*compilation_result\s*=\s*"(?P<value>[^"]*)"\s*$')
_ROUTE = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/repositories/(?P<repository>[^/]+)/"
    r"(?P<collection>compilationResults|workflowInvocations)(?:/(?P<id>[^/:]+))?(?P<verb>:[a-z]+)?$"
)


@dataclass
class FakeAction:
    """One action of the compiled graph and how it ends when invoked."""

    name: str
    schema: str = "winter_days_staging"
    kind: str = "table"  # table, view, incremental, operations, assertion, declaration
    tags: tuple[str, ...] = ()
    outcome: str = "SUCCEEDED"
    failure_reason: str = ""

    def target(self, project: str) -> dict[str, str]:
        return {"database": project, "schema": self.schema, "name": self.name}


@dataclass
class FakeFailure:
    """The next `times` matching requests fail.

    `status` is an HTTP status (a google.rpc.Status body follows), "drop" (the connection
    closes without an answer) or "hang" (no answer until the client gives up). With
    `after`, the request is served first and only its answer is lost.
    """

    status: int | str
    times: int = 1
    method: str | None = None
    path_contains: str = ""
    retry_after: str | None = None
    message: str = "The service is currently unavailable."
    after: bool = False

    def matches(self, method: str, path: str, after: bool) -> bool:
        return self.times > 0 and self.after == after and (self.method in (None, method)) and self.path_contains in path


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass
class _Invocation:
    resource: dict[str, Any]
    actions: list[FakeAction]
    compilation: dict[str, Any]
    polls: int = 0
    action_states: dict[str, str] = field(default_factory=dict)
    end_time: str = ""
    # Listings that do not show it yet (a create that surfaces late).
    hidden_from_lists: int = 0
    # The run on BigQuery, when the fake executes its repository's code.
    run: Any = None


def timestamp() -> str:
    """Now as Google APIs write it: nanosecond precision, Z."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}123Z"


DEFAULT_ACTIONS = (
    FakeAction("ext_sales_gcs", "winter_days_staging", "declaration"),
    FakeAction("stg_sales", "winter_days_staging", "incremental", ("staging", "sales")),
    FakeAction("stg_sales_quarantine", "winter_days_staging", "table", ("staging", "sales")),
    FakeAction("fct_sales", "winter_days_warehouse", "table", ("warehouse", "sales")),
    FakeAction("dim_customer", "winter_days_warehouse", "view", ("warehouse",)),
    FakeAction("fct_sales_rows_positive", "winter_days_warehouse", "assertion", ("warehouse", "sales")),
    FakeAction("refresh_marker", "winter_days_warehouse", "operations", ("ops",)),
)


def run_to_end(backend: Any, invocation: Any, limit: int = 20) -> Any:
    """Poll an ELT backend until the invocation ends (each poll of the fake is one step)."""
    for _ in range(limit):
        status = backend.get(invocation)
        if status.state.finished:
            return status
    raise AssertionError(f"{invocation.name} still {status.state} after {limit} polls")


class FakeDataformServer:
    """The fake API for one repository; `url` is the base URL (…/v1) once started."""

    def __init__(
        self,
        project: str = "winter-proj",
        location: str = "europe-west1",
        repository: str = "winter-days",
        repository_dir: Path | None = None,
        bigquery: Any = None,
    ) -> None:
        self.project, self.location, self.repository = project, location, repository
        if (repository_dir is None) != (bigquery is None):
            raise ValueError(
                "give both repository_dir (the code to compile) and bigquery (where to run it), or neither"
            )
        self.repository_dir = Path(repository_dir) if repository_dir is not None else None
        self.bigquery = bigquery
        # Compiled graphs of the compilations, when the fake compiles its repository.
        self.graphs: dict[str, dict[str, Any]] = {}
        self.actions: list[FakeAction] = list(DEFAULT_ACTIONS)
        self.compilation_errors: list[dict[str, Any]] = []
        self.running_polls = 0
        self.page_size = 2
        self.failures: list[FakeFailure] = []
        # When set, a request without "Authorization: Bearer <token>" is answered 401.
        self.token = ""
        # How many listings a new invocation is missing from.
        self.list_lag = 0
        # Whether list filters are understood (else any filter is an INVALID_ARGUMENT).
        self.list_filters = True
        self.requests: list[RecordedRequest] = []
        self.compilations: dict[str, dict[str, Any]] = {}
        self.invocations: dict[str, _Invocation] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._released = threading.Event()

    # -- scripting -------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, **kwargs: Any) -> FakeFailure:
        failure = FakeFailure(status, times, **kwargs)
        self.failures.append(failure)
        return failure

    def requests_to(self, method: str, suffix: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/repositories/{self.repository}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeDataformServer:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-dataform", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def endpoint(self) -> str:
        """What `client_options={"api_endpoint": ...}` takes."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.endpoint}/v1"

    # -- the API ---------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]):
        """(status or "drop"/"hang", JSON body, extra headers) for one request."""
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, body, headers))
            failed = self._fault(method, path, after=False)
            if failed is not None:
                return failed
            alt = query.get("$alt", [""])[0]
            if alt not in ("", "json", ALT_JSON_INT):
                return (*_error(400, f"Invalid value for $alt: '{alt}'."), {})
            if self.token and headers.get("authorization") != f"Bearer {self.token}":
                return (*_error(401, "Request is missing required authentication credential."), {})
            route = _ROUTE.match(path)
            if route is None:
                return (*_error(404, f"Method not found: {path}"), {})
            if (route["project"], route["location"], route["repository"]) != (
                self.project,
                self.location,
                self.repository,
            ):
                asked = f"projects/{route['project']}/locations/{route['location']}/repositories/{route['repository']}"
                return (*_error(404, f"Repository '{asked}' not found."), {})
            status, payload = self._route(method, route, query, body)
            failed = self._fault(method, path, after=True)
            if failed is not None:
                return failed
            return status, (_int_enums(payload) if alt == ALT_JSON_INT and status < 400 else payload), {}

    def _fault(self, method: str, path: str, after: bool):
        for failure in self.failures:
            if failure.matches(method, path, after):
                failure.times -= 1
                if isinstance(failure.status, str):
                    return failure.status, None, {}
                extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return (*_error(failure.status, failure.message), extra)
        return None

    def _route(self, method: str, route: re.Match, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        collection, ident, verb = route["collection"], route["id"], route["verb"] or ""
        key = (method, collection, ident is not None, verb)
        if key == ("POST", "compilationResults", False, ""):
            return self._create_compilation(body or {})
        if key == ("POST", "workflowInvocations", False, ""):
            return self._create_invocation(body or {})
        if key == ("GET", "workflowInvocations", False, ""):
            return self._list_invocations(query)
        store = self.compilations if collection == "compilationResults" else self.invocations
        name = f"{self.parent}/{collection}/{ident}"
        if ident is None or name not in store:
            return _error(404, f"Resource '{name}' not found." if ident else f"Method not found: {method} {collection}")
        if key == ("GET", "compilationResults", True, ":query"):
            compilation = self.compilations[name]
            if name in self.graphs:
                actions = [
                    graph_action(entry, section)
                    for section in ("tables", "operations", "assertions", "declarations")
                    for entry in self.graphs[name].get(section) or ()
                ]
            else:
                actions = [self._compilation_action(a, compilation) for a in self.actions]
            return self._page(query, actions, "compilationResultActions")
        if key == ("GET", "compilationResults", True, ""):
            return 200, self.compilations[name]
        if key == ("GET", "workflowInvocations", True, ""):
            return 200, self._poll(self.invocations[name])
        if key == ("GET", "workflowInvocations", True, ":query"):
            invocation = self.invocations[name]
            if invocation.run is not None:
                return self._page(
                    query,
                    [self._run_action(invocation, a) for a in invocation.run.actions],
                    "workflowInvocationActions",
                )
            return self._page(
                query, [self._invocation_action(invocation, a) for a in invocation.actions], "workflowInvocationActions"
            )
        if key == ("POST", "workflowInvocations", True, ":cancel"):
            invocation = self.invocations[name]
            if invocation.resource["state"] == "RUNNING":
                invocation.resource["state"] = "CANCELING"
                if invocation.run is not None:
                    invocation.run.cancel()
            return 200, {}
        return _error(404, f"Method not found: {method} {collection}{verb}")

    def _create_compilation(self, body: dict[str, Any]) -> tuple[int, Any]:
        unknown = _unknown(body, COMPILATION_FIELDS, "compilation_result") or _unknown(
            body.get("codeCompilationConfig") or {},
            CODE_COMPILATION_FIELDS,
            "compilation_result.code_compilation_config",
        )
        if unknown:
            return unknown
        given = [f for f in SOURCE_FIELDS if body.get(f)]
        if len(given) != 1:
            return _error(400, f"Exactly one of {', '.join(SOURCE_FIELDS)} must be set.")
        source = body[given[0]]
        if given[0] != "gitCommitish" and not source.startswith(self.parent + "/"):
            return _error(400, f"Invalid {given[0]} '{source}'.")
        name = f"{self.parent}/compilationResults/{uuid.uuid4()}"
        resource = {
            "name": name,
            given[0]: source,
            "dataformCoreVersion": "3.0.0",
            "createTime": timestamp(),
            "codeCompilationConfig": body.get("codeCompilationConfig") or {},
        }
        if given[0] == "gitCommitish":
            resource["resolvedGitCommitSha"] = "0123456789abcdef0123456789abcdef01234567"
        if self.compilation_errors:
            resource["compilationErrors"] = list(self.compilation_errors)
        if self.repository_dir is not None:
            graph, errors = self._compile(resource["codeCompilationConfig"])
            if errors:
                resource["compilationErrors"] = errors
            else:
                self.graphs[name] = graph
        self.compilations[name] = resource
        return 200, resource

    def _compile(self, config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The repository's graph under `config`, or its compilation errors."""
        from fakes.dataform_runner import apply_code_compilation_config
        from winter_days.elt.sqlx import CompilationError, compile_project

        assert self.repository_dir is not None
        try:
            graph = compile_project(self.repository_dir, dict(config.get("vars") or {}))
        except CompilationError as err:
            return {}, [{"message": i.message, "path": i.file, "stack": f"{i.file}:{i.line}"} for i in err.issues]
        return apply_code_compilation_config(graph, config), []

    def _create_invocation(self, body: dict[str, Any]) -> tuple[int, Any]:
        unknown = _unknown(body, INVOCATION_FIELDS, "workflow_invocation") or _unknown(
            body.get("invocationConfig") or {}, INVOCATION_CONFIG_FIELDS, "workflow_invocation.invocation_config"
        )
        if unknown:
            return unknown
        compilation = self.compilations.get(body.get("compilationResult", ""))
        if compilation is None:
            return _error(404, f"Compilation result '{body.get('compilationResult')}' not found.")
        if compilation.get("compilationErrors"):
            return _error(400, "Cannot create a workflow invocation from a compilation result with errors.")
        config = body.get("invocationConfig") or {}
        targets = {t.get("name") for t in config.get("includedTargets") or ()}
        tags = set(config.get("includedTags") or ())
        runnable = [a for a in self.actions if a.kind != "declaration"]
        if targets or tags:
            runnable = [a for a in runnable if a.name in targets or tags & set(a.tags)]
        run = None
        if compilation["name"] in self.graphs:
            run = self._start_run(
                self.graphs[compilation["name"]], compilation.get("codeCompilationConfig") or {}, config
            )
            runnable = []
        name = f"{self.parent}/workflowInvocations/{uuid.uuid4().hex[:12]}"
        resource = {
            "name": name,
            "compilationResult": compilation["name"],
            "invocationConfig": config,
            "state": "RUNNING",
            "invocationTiming": {"startTime": timestamp()},
            "resolvedCompilationResult": compilation["name"],
        }
        self.invocations[name] = _Invocation(resource, runnable, compilation, hidden_from_lists=self.list_lag, run=run)
        return 200, resource

    def _start_run(self, graph: dict[str, Any], compiled: dict[str, Any], config: dict[str, Any]) -> Any:
        """Run the actions the invocationConfig selects on BigQuery, in a thread of their own."""
        from fakes.dataform_runner import GraphRun

        run = GraphRun(
            graph,
            self.bigquery.client,
            compiled.get("defaultDatabase") or self.project,
            location=compiled.get("defaultLocation") or None,
            full_refresh=bool(config.get("fullyRefreshIncrementalTablesEnabled")),
            selected=selected_actions(graph, config),
        )
        return run.start()

    def _list_invocations(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        filter_text = query.get("filter", [""])[0]
        wanted = None
        if filter_text:
            match = _FILTER.match(filter_text) if self.list_filters else None
            if match is None:
                return _error(400, f"Invalid filter '{filter_text}'.")
            wanted = match["value"]
        order = query.get("orderBy", [""])[0]
        if order not in ("", "name", "name desc"):
            return _error(400, f"Invalid order_by '{order}'.")
        shown = []
        for invocation in self.invocations.values():
            if invocation.hidden_from_lists > 0:
                invocation.hidden_from_lists -= 1
                continue
            if wanted is None or invocation.resource["compilationResult"] == wanted:
                shown.append(invocation.resource)
        if order:
            shown.sort(key=lambda r: r["name"], reverse=order.endswith("desc"))
        return self._page(query, shown, "workflowInvocations")

    def _poll(self, invocation: _Invocation) -> dict[str, Any]:
        """Each GET is one poll: RUNNING for `running_polls` polls, then the scripted outcome."""
        invocation.polls += 1
        state = invocation.resource["state"]
        run = invocation.run
        if run is not None:
            if run.done.is_set() and invocation.polls > self.running_polls:
                self._finish(invocation, run.state)
            return invocation.resource
        if state == "CANCELING":
            invocation.action_states = {a.name: "CANCELLED" for a in invocation.actions}
            self._finish(invocation, "CANCELLED")
        elif state == "RUNNING" and invocation.polls > self.running_polls:
            invocation.action_states = {a.name: a.outcome for a in invocation.actions}
            failed = any(a.outcome == "FAILED" for a in invocation.actions)
            self._finish(invocation, "FAILED" if failed else "SUCCEEDED")
        return invocation.resource

    @staticmethod
    def _finish(invocation: _Invocation, state: str) -> None:
        invocation.resource["state"] = state
        invocation.end_time = timestamp()
        invocation.resource["invocationTiming"]["endTime"] = invocation.end_time

    def compiled_target(self, action: FakeAction, compilation: dict[str, Any]) -> dict[str, str]:
        """The action's target under the compilation's codeCompilationConfig."""
        config = compilation.get("codeCompilationConfig") or {}
        schema = config.get("assertionSchema") or action.schema if action.kind == "assertion" else action.schema
        if config.get("schemaSuffix"):
            schema = f"{schema}_{config['schemaSuffix']}"
        return {"database": config.get("defaultDatabase") or self.project, "schema": schema, "name": action.name}

    def _compilation_action(self, action: FakeAction, compilation: dict[str, Any]) -> dict[str, Any]:
        target = self.compiled_target(action, compilation)
        out: dict[str, Any] = {
            "target": target,
            "canonicalTarget": target,
            "filePath": f"definitions/{action.name}.sqlx",
        }
        if action.kind in RELATION_TYPES:
            out["relation"] = {"relationType": RELATION_TYPES[action.kind], "tags": list(action.tags)}
        elif action.kind == "operations":
            out["operations"] = {"queries": ["SELECT 1"], "tags": list(action.tags)}
        else:
            out[action.kind] = {"tags": list(action.tags)}
        return out

    def _invocation_action(self, invocation: _Invocation, action: FakeAction) -> dict[str, Any]:
        if invocation.action_states:
            state = invocation.action_states[action.name]
        else:
            state = "RUNNING" if action is invocation.actions[0] else "PENDING"
        target = self.compiled_target(action, invocation.compilation)
        out: dict[str, Any] = {
            "target": target,
            "canonicalTarget": target,
            "state": state,
            "invocationTiming": {"startTime": invocation.resource["invocationTiming"]["startTime"]}
            if state != "PENDING"
            else {},
            "bigqueryAction": {
                "sqlScript": f"CREATE OR REPLACE TABLE `{target['schema']}.{target['name']}` AS SELECT 1"
            },
        }
        if state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            out["invocationTiming"]["endTime"] = invocation.end_time
        if state == "FAILED":
            out["failureReason"] = action.failure_reason or "Query error"
        return out

    def _run_action(self, invocation: _Invocation, action: Any) -> dict[str, Any]:
        """A WorkflowInvocationAction of an executed invocation."""
        with invocation.run.lock:
            state, reason, start, end = action.state, action.failure_reason, action.start, action.end
        timing = {}
        if start is not None:
            timing["startTime"] = start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        if end is not None:
            timing["endTime"] = end.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out: dict[str, Any] = {
            "target": _present(action.item.target),
            "canonicalTarget": _present(action.item.action.get("canonicalTarget") or action.item.target),
            "state": state,
            "invocationTiming": timing,
        }
        if action.sql_script:
            out["bigqueryAction"] = {"sqlScript": action.sql_script}
        if reason:
            out["failureReason"] = reason
        return out

    def _page(self, query: dict[str, list[str]], items: list[dict[str, Any]], field_name: str) -> tuple[int, Any]:
        size = int(query.get("pageSize", [self.page_size])[0]) or self.page_size
        token = query.get("pageToken", [""])[0]
        if token and not re.fullmatch(r"offset-\d+", token):
            return _error(400, f"Invalid page token '{token}'.")
        start = int(token.split("-")[1]) if token else 0
        body: dict[str, Any] = {field_name: items[start : start + size]}
        if start + size < len(items):
            body["nextPageToken"] = f"offset-{start + size}"
        return 200, body


def _present(target: dict[str, Any]) -> dict[str, str]:
    """A Target message: its set fields only."""
    return {k: str(target[k]) for k in ("database", "schema", "name") if target.get(k)}


def graph_action(entry: dict[str, Any], section: str) -> dict[str, Any]:
    """A CompilationResultAction for one entry of a compiled graph (REST field names)."""
    out: dict[str, Any] = {
        "target": _present(entry["target"]),
        "canonicalTarget": _present(entry.get("canonicalTarget") or entry["target"]),
        "filePath": entry.get("fileName", ""),
    }
    common = {
        "dependencyTargets": [_present(t) for t in entry.get("dependencyTargets") or ()],
        "disabled": bool(entry.get("disabled")),
        "tags": list(entry.get("tags") or ()),
    }
    if section == "tables":
        relation: dict[str, Any] = {
            **common,
            "relationType": RELATION_TYPES.get(str(entry.get("type") or "table"), "TABLE"),
            "selectQuery": entry.get("query", ""),
            "preOperations": list(entry.get("preOps") or ()),
            "postOperations": list(entry.get("postOps") or ()),
        }
        bq = entry.get("bigquery") or {}
        if bq.get("partitionBy"):
            relation["partitionExpression"] = bq["partitionBy"]
        if bq.get("clusterBy"):
            relation["clusterExpressions"] = list(bq["clusterBy"])
        if entry.get("type") == "incremental":
            relation["incrementalTableConfig"] = {
                "incrementalSelectQuery": entry.get("incrementalQuery", ""),
                "uniqueKeyParts": list(entry.get("uniqueKey") or ()),
                "incrementalPreOperations": list(entry.get("incrementalPreOps") or ()),
                "incrementalPostOperations": list(entry.get("incrementalPostOps") or ()),
            }
        out["relation"] = relation
    elif section == "operations":
        out["operations"] = {
            **common,
            "queries": list(entry.get("queries") or ()),
            "hasOutput": bool(entry.get("hasOutput")),
        }
    elif section == "assertions":
        out["assertion"] = {**common, "selectQuery": entry.get("query", "")}
        if entry.get("parentAction"):
            out["assertion"]["parentAction"] = _present(entry["parentAction"])
    else:
        out["declaration"] = {}
    return out


def selected_actions(graph: dict[str, Any], config: dict[str, Any]) -> set[tuple[str, str]] | None:
    """The actions an invocationConfig selects (None: all): included targets and tags, with
    their transitive dependencies and dependents when asked."""
    from fakes.dataform_runner import runnable_actions

    targets = {(t.get("schema") or "", t.get("name")) for t in config.get("includedTargets") or ()}
    tags = set(config.get("includedTags") or ())
    if not targets and not tags:
        return None
    actions = runnable_actions(graph)
    chosen = {
        a.key
        for a in actions
        if a.key in targets or (("", a.key[1]) in targets) or tags & set(a.action.get("tags") or ())
    }
    grown = True
    while grown:
        before = len(chosen)
        for action in actions:
            if config.get("transitiveDependenciesIncluded") and action.key in chosen:
                chosen |= {d for d in action.dependencies if any(a.key == d for a in actions)}
            if config.get("transitiveDependentsIncluded") and chosen & set(action.dependencies):
                chosen.add(action.key)
        grown = len(chosen) > before
    return chosen


def _unknown(body: dict[str, Any], known: set[str], message_name: str) -> tuple[int, Any] | None:
    """The API's answer to a request field it does not know, or None."""
    for name in body:
        if name not in known:
            return _error(
                400, f"Invalid JSON payload received. Unknown name \"{name}\" at '{message_name}': Cannot find field."
            )
    return None


def _int_enums(payload: Any) -> Any:
    """State and relation type enums as their numbers (`$alt=json;enum-encoding=int`)."""
    if isinstance(payload, list):
        return [_int_enums(item) for item in payload]
    if not isinstance(payload, dict):
        return payload
    out = {key: _int_enums(value) for key, value in payload.items()}
    if isinstance(out.get("relationType"), str):
        out["relationType"] = ENUMS["relation"][out["relationType"]]
    if isinstance(out.get("state"), str):
        kind = "action" if "target" in out else "invocation"
        out["state"] = ENUMS[kind].get(out["state"], out["state"])
    return out


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    """A google.rpc.Status error body."""
    return status, {"error": {"code": status, "message": message, "status": RPC_STATUS.get(status, "UNKNOWN")}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeDataformServer
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: no Nagle / delayed-ACK stall per request.
    disable_nagle_algorithm = True
    wbufsize = -1

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            status, payload, extra = *_error(400, "Invalid JSON payload received."), {}
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = self.fake.handle(method, split.path, parse_qs(split.query), body, headers)
        if status == "hang":
            self.fake._released.wait(timeout=60)
        if status in ("drop", "hang"):
            self.close_connection = True
            return
        data = json.dumps(payload).encode()
        self.send_response(status)
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

    def log_message(self, format: str, *args: Any) -> None:  # the test output stays readable
        pass
