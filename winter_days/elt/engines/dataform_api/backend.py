"""`DataformApiBackend`: the gcp profile's ELT backend, Dataform REST v1 over an authorised session.

compile -> compilationResults.create (+ compilationResults.query for the action graph),
invoke -> workflowInvocations.create, get -> workflowInvocations.get + workflowInvocations.query
(paged), cancel -> workflowInvocations.cancel. google-auth is imported only when no session
is given, so the core runs without the [gcp] extra.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Mapping

from winter_days.config import Settings
from winter_days.elt.backend import (
    CompilationError,
    CompilationResult,
    InvocationConfig,
    InvocationStatus,
    Target,
    WorkflowInvocation,
)
from winter_days.elt.engines.dataform_api.settings import DataformSettings, load_dataform_settings
from winter_days.elt.engines.dataform_api.transport import DataformApiError, DataformTransport, RetryPolicy
from winter_days.elt.engines.dataform_api.wire import (
    action_kinds,
    compilation_graph,
    parse_action,
    parse_compilation_result,
    parse_workflow_invocation,
)

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# Compilation errors listed in full in an error message, at most.
LISTED_ERRORS = 20


class DataformCompilationError(Exception):
    """A compilation result with compilation errors was given to run."""

    def __init__(self, compilation: CompilationResult) -> None:
        self.errors = compilation.compilation_errors
        super().__init__(
            f"Dataform compilation {compilation.name} has {len(self.errors)} compilation error(s):\n"
            + describe_compilation_errors(self.errors)
        )


def describe_compilation_errors(errors: tuple[CompilationError, ...]) -> str:
    """One line per error: path (and action), then the message."""
    lines = []
    for error in errors[:LISTED_ERRORS]:
        where = error.path or "(project)"
        if error.action_target is not None:
            where += f" [{error.action_target}]"
        lines.append(f"  {where}: {error.message}")
    if len(errors) > LISTED_ERRORS:
        lines.append(f"  ... and {len(errors) - LISTED_ERRORS} more")
    return "\n".join(lines)


def authorised_session() -> Any:
    """An AuthorizedSession with Application Default Credentials (cloud-platform scope)."""
    try:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession
    except ImportError:
        raise RuntimeError("the Dataform API backend needs google-auth: pip install 'winter-days[gcp]'") from None
    credentials, _ = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    return AuthorizedSession(credentials)


class DataformApiBackend:
    """EltBackend on the Dataform API; `session` is any requests.Session (tests point it at a fake)."""

    def __init__(
        self,
        config: DataformSettings,
        session: Any | None = None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        page_size: int | None = None,
    ) -> None:
        self.config = config
        self.transport = DataformTransport(session or authorised_session(), config.api_url, retry, sleep)
        self.page_size = page_size
        self._kinds: dict[str, dict[Target, str]] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] | None = None, session: Any | None = None, **kwargs: Any
    ) -> DataformApiBackend:
        """Validate the settings first (ConfigError naming the missing one), then build."""
        return cls(load_dataform_settings(settings, environ), session, **kwargs)

    # -- EltBackend ----------------------------------------------------------------------

    def compile(self) -> CompilationResult:
        """Create a compilation result; its compilation errors are returned, not raised."""
        parent = self.config.repository_name
        raw = self.transport.call("POST", f"{parent}/compilationResults", body=self.config.compilation_source())
        compilation = parse_compilation_result(raw)
        if compilation.compilation_errors:
            return compilation
        graph = compilation_graph(self._pages(compilation.name, ":query", "compilationResultActions"), compilation.name)
        self._kinds[compilation.name] = action_kinds(graph)
        return CompilationResult(
            name=compilation.name,
            create_time=compilation.create_time,
            dataform_core_version=compilation.dataform_core_version,
            graph=graph,
            code_compilation_config=compilation.code_compilation_config,
        )

    def invoke(self, compilation: CompilationResult, config: InvocationConfig) -> WorkflowInvocation:
        """Create a workflow invocation run as the Dataform execution service account."""
        if compilation.compilation_errors:
            raise DataformCompilationError(compilation)
        body = {
            "compilationResult": compilation.name,
            "invocationConfig": {**config.to_api(), "serviceAccount": self.config.service_account},
        }
        resource = f"{self.config.repository_name}/workflowInvocations"
        # Not idempotent: resending after a lost answer could start the graph twice.
        raw = self.transport.call("POST", resource, body=body, idempotent=False)
        return parse_workflow_invocation(raw, resource)

    def get(self, invocation: WorkflowInvocation | str) -> InvocationStatus:
        """The invocation's state, then its actions (read after, so a finished state has final actions)."""
        name = self._invocation_name(invocation)
        current = parse_workflow_invocation(self.transport.call("GET", name), name)
        kinds = self._kinds_for(current.compilation_result)
        actions = tuple(parse_action(raw, name, kinds) for raw in self._pages(name, ":query", "workflowInvocationActions"))
        return InvocationStatus(invocation=current, actions=actions)

    def cancel(self, invocation: WorkflowInvocation | str) -> None:
        """Request cancellation; the invocation moves to CANCELING, then CANCELLED."""
        self.transport.call("POST", self._invocation_name(invocation), verb=":cancel", body={})

    # -- internals -----------------------------------------------------------------------

    def _invocation_name(self, invocation: WorkflowInvocation | str) -> str:
        name = invocation.name if isinstance(invocation, WorkflowInvocation) else str(invocation)
        parent = f"{self.config.repository_name}/workflowInvocations/"
        if "/" not in name:
            return parent + name
        if not name.startswith(parent) or "/" in name[len(parent) :]:
            raise ValueError(f"workflow invocation {name!r} is not in the repository {self.config.repository_name}")
        return name

    def _kinds_for(self, compilation_name: str) -> dict[Target, str]:
        """Action kinds of a compilation result, read once per result (also after a restart)."""
        if compilation_name and compilation_name not in self._kinds:
            try:
                raws = list(self._pages(compilation_name, ":query", "compilationResultActions"))
            except DataformApiError:
                # The kinds only label the summary; the invocation's state must still be read.
                return {}
            self._kinds[compilation_name] = action_kinds(compilation_graph(raws, compilation_name))
        return self._kinds.get(compilation_name, {})

    def _pages(self, resource: str, verb: str, field: str) -> Iterator[Mapping[str, Any]]:
        """Every item of a paged list method, following nextPageToken."""
        token = ""
        seen: set[str] = set()
        while True:
            params: dict[str, Any] = {}
            if self.page_size:
                params["pageSize"] = self.page_size
            if token:
                params["pageToken"] = token
            page = self.transport.call("GET", resource, verb=verb, params=params or None)
            yield from page.get(field) or ()
            token = str(page.get("nextPageToken") or "")
            if not token:
                return
            if token in seen:
                raise DataformApiError(f"Dataform API GET {resource}{verb}: page token repeated; the listing does not end")
            seen.add(token)
