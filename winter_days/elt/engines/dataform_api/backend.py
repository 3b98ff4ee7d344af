"""`DataformApiBackend`: the gcp profile's ELT backend, on the official Dataform client.

compile -> compilationResults.create with the settings' CodeCompilationConfig (+
compilationResults.query for the action graph), invoke -> workflowInvocations.create (at
most once, see `invocations.py`), get -> workflowInvocations.get + workflowInvocations.query,
cancel -> workflowInvocations.cancel. The client library is imported only when a backend
is built, so the core runs without the [gcp] extra.

A compilationResults.create whose answer is lost is simply sent again: a second
compilation result costs one compile of the repository, runs nothing in BigQuery, and no
invocation ever points at the orphan.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from winter_days.config import Settings
from winter_days.elt.backend import (
    CompilationErrorEntry,
    CompilationResult,
    InvocationConfig,
    InvocationStatus,
    Target,
    WorkflowInvocation,
)
from winter_days.elt.compilation_config import code_compilation_config
from winter_days.elt.engines.dataform_api.calls import DataformApiError, RetryPolicy, paged, retried
from winter_days.elt.engines.dataform_api.client import dataform_types, make_dataform_client
from winter_days.elt.engines.dataform_api.invocations import InvocationStarter
from winter_days.elt.engines.dataform_api.settings import DataformRepository, load_dataform_settings
from winter_days.elt.engines.dataform_api.wire import (
    action_kinds,
    compilation_graph,
    parse_action,
    parse_compilation_result,
    parse_workflow_invocation,
)

# Compilation errors listed in full in an error message, at most.
LISTED_ERRORS = 20
DEFAULT_TIMEOUT_SECONDS = 60.0


class DataformCompilationError(Exception):
    """A compilation result with compilation errors was given to run."""

    def __init__(self, compilation: CompilationResult) -> None:
        self.errors = compilation.compilation_errors
        super().__init__(
            f"Dataform compilation {compilation.name} has {len(self.errors)} compilation error(s):\n"
            + describe_compilation_errors(self.errors)
        )


def describe_compilation_errors(errors: tuple[CompilationErrorEntry, ...]) -> str:
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


class DataformApiBackend:
    """EltBackend on the Dataform API; `client` is a dataform_v1.DataformClient (tests point one at a fake)."""

    def __init__(
        self,
        settings: Settings,
        dataform: DataformRepository,
        client: Any | None = None,
        *,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        page_size: int | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.settings = settings
        self.dataform = dataform
        self.project = settings.gcp.project_id
        self.parent = dataform.repository_path(self.project)
        self.client = client if client is not None else make_dataform_client(dataform)
        self.retry, self.sleep, self.page_size, self.timeout = retry, sleep, page_size, timeout
        self.starter = InvocationStarter(self.client, self.parent, retry, sleep, timeout, page_size)
        self._kinds: dict[str, dict[Target, str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, client: Any | None = None, **kwargs: Any) -> DataformApiBackend:
        """Validate the settings first (ConfigError naming the missing one), then build."""
        return cls(settings, load_dataform_settings(settings), client, **kwargs)

    def compilation_config(self) -> dict[str, Any]:
        """The CodeCompilationConfig sent with every compile (REST field names)."""
        return code_compilation_config(self.settings, self.dataform, self.settings.bigquery.location)

    # -- EltBackend ----------------------------------------------------------------------

    def compile(self) -> CompilationResult:
        """Create a compilation result; its compilation errors are returned, not raised."""
        types = dataform_types()
        request = types.CompilationResult(
            **self.dataform.compilation_source(self.project),
            code_compilation_config=types.CodeCompilationConfig.from_json(json.dumps(self.compilation_config())),
        )
        raw = retried(
            f"compilationResults.create {self.parent}/compilationResults",
            lambda: self.client.create_compilation_result(
                parent=self.parent, compilation_result=request, timeout=self.timeout
            ),
            self.retry,
            self.sleep,
        )
        compilation = parse_compilation_result(raw)
        if compilation.compilation_errors:
            return compilation
        graph = compilation_graph(self._compilation_actions(compilation.name), compilation.name)
        self._kinds[compilation.name] = action_kinds(graph)
        return CompilationResult(
            name=compilation.name,
            create_time=compilation.create_time,
            dataform_core_version=compilation.dataform_core_version,
            graph=graph,
            code_compilation_config=compilation.code_compilation_config,
        )

    def invoke(self, compilation: CompilationResult, config: InvocationConfig) -> WorkflowInvocation:
        """Start the compiled graph as the Dataform execution service account; never twice (see invocations.py)."""
        if compilation.compilation_errors:
            raise DataformCompilationError(compilation)
        types = dataform_types()
        invocation_config = types.InvocationConfig(
            included_targets=[types.Target(**t.to_api()) for t in config.included_targets],
            included_tags=list(config.included_tags),
            transitive_dependencies_included=config.transitive_dependencies_included,
            transitive_dependents_included=config.transitive_dependents_included,
            fully_refresh_incremental_tables_enabled=config.fully_refresh_incremental_tables_enabled,
            service_account=self.dataform.service_account,
        )
        request = types.WorkflowInvocation(compilation_result=compilation.name, invocation_config=invocation_config)
        raw = self.starter.start(request)
        return parse_workflow_invocation(raw, f"{self.parent}/workflowInvocations")

    def get(self, invocation: WorkflowInvocation | str) -> InvocationStatus:
        """The invocation's state, then its actions (read after, so a finished state has final actions)."""
        name = self._invocation_name(invocation)
        raw = retried(
            f"workflowInvocations.get {name}",
            lambda: self.client.get_workflow_invocation(name=name, timeout=self.timeout),
            self.retry,
            self.sleep,
        )
        current = parse_workflow_invocation(raw, name)
        kinds = self._kinds_for(current.compilation_result)
        types = dataform_types()

        def fetch(token: str) -> Any:
            request = types.QueryWorkflowInvocationActionsRequest(
                name=name, page_size=self.page_size or 0, page_token=token
            )
            return self.client.query_workflow_invocation_actions(request=request, timeout=self.timeout)

        actions = paged(
            f"workflowInvocations.query {name}", fetch, "workflow_invocation_actions", self.retry, self.sleep
        )
        return InvocationStatus(invocation=current, actions=tuple(parse_action(raw, name, kinds) for raw in actions))

    def cancel(self, invocation: WorkflowInvocation | str) -> None:
        """Request cancellation; the invocation moves to CANCELING, then CANCELLED. Safe to resend."""
        name = self._invocation_name(invocation)
        retried(
            f"workflowInvocations.cancel {name}",
            lambda: self.client.cancel_workflow_invocation(request={"name": name}, timeout=self.timeout),
            self.retry,
            self.sleep,
        )

    # -- internals -----------------------------------------------------------------------

    def _compilation_actions(self, name: str) -> Iterator[Any]:
        types = dataform_types()

        def fetch(token: str) -> Any:
            request = types.QueryCompilationResultActionsRequest(
                name=name, page_size=self.page_size or 0, page_token=token
            )
            return self.client.query_compilation_result_actions(request=request, timeout=self.timeout)

        return paged(f"compilationResults.query {name}", fetch, "compilation_result_actions", self.retry, self.sleep)

    def _invocation_name(self, invocation: WorkflowInvocation | str) -> str:
        name = invocation.name if isinstance(invocation, WorkflowInvocation) else str(invocation)
        parent = f"{self.parent}/workflowInvocations/"
        if "/" not in name:
            return parent + name
        if not name.startswith(parent) or "/" in name[len(parent) :]:
            raise ValueError(f"workflow invocation {name!r} is not in the repository {self.parent}")
        return name

    def _kinds_for(self, compilation_name: str) -> dict[Target, str]:
        """Action kinds of a compilation result, read once per result (also after a restart)."""
        if compilation_name and compilation_name not in self._kinds:
            try:
                graph = compilation_graph(self._compilation_actions(compilation_name), compilation_name)
            except DataformApiError:
                # The kinds only label the summary; the invocation's state must still be read.
                return {}
            self._kinds[compilation_name] = action_kinds(graph)
        return self._kinds.get(compilation_name, {})
