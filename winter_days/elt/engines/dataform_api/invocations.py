"""Starting a workflow invocation at most once, although its create call may be lost.

`workflowInvocations.create` has no request id, and a WorkflowInvocation has no labels, so
a resent create after a 5xx, a timeout or a reset connection would run the whole graph a
second time whenever the first request did reach the server. Instead, after such a
failure, the repository's invocations are listed (filtered to the compilation result) and
one of ours is adopted: same compilation result (created by this backend for this run, a
name no one else holds), the same invocation config (targets, tags, flags, service
account), and not an invocation this backend already started. Only when none exists is the
create sent again. A lost create may still surface after that listing: so after a resend,
the invocations are listed once more and any other of ours is cancelled (and when a
listing finds two, the first is adopted and the other cancelled), so the graph runs once.
What remains is a create that surfaces later than both listings; a run's log then names
the invocation it adopted or created, and the warning says a create was lost.

A 429 is a refusal (RESOURCE_EXHAUSTED is answered before the request is served): it is
retried after Retry-After without looking.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from winter_days.elt.engines.dataform_api.calls import (
    DataformApiError,
    RetryPolicy,
    TransientFailure,
    attempt,
    give_up,
    paged,
    retried,
)
from winter_days.elt.engines.dataform_api.wire import parse_invocation_config, parse_timing

log = logging.getLogger(__name__)
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass
class InvocationStarter:
    """Creates workflow invocations in one repository through a DataformClient."""

    client: Any
    parent: str
    policy: RetryPolicy = RetryPolicy()
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 60.0
    page_size: int | None = None
    # Invocations this backend started or adopted: never adopted again.
    known: set[str] = field(default_factory=set)

    def start(self, invocation: Any) -> Any:
        """Create `invocation` (a dataform_v1.WorkflowInvocation) once; the created or adopted resource."""
        what = f"workflowInvocations.create {self.parent}/workflowInvocations"
        lost = False
        for number in range(1, self.policy.max_attempts + 1):
            try:
                created = attempt(
                    what,
                    lambda: self.client.create_workflow_invocation(
                        parent=self.parent, workflow_invocation=invocation, timeout=self.timeout
                    ),
                )
            except TransientFailure as failure:
                last = number == self.policy.max_attempts
                if not failure.maybe_served:
                    if last:
                        raise give_up(what, failure, number) from None
                    self.sleep(self.policy.delay(number, failure.retry_after))
                    continue
                # Give the server time to record the invocation it may have created.
                self.sleep(self.policy.delay(number, failure.retry_after))
                adopted = self._adopt(invocation, failure)
                if adopted is not None:
                    return adopted
                if last:
                    raise DataformApiError(
                        f"Dataform API {what}: {failure.label} after {number} attempt(s); no invocation of "
                        f"{invocation.compilation_result} was created",
                        status=failure.status,
                        rpc_status=failure.rpc_status,
                    ) from None
                log.warning(
                    "%s: %s; no invocation of %s exists, creating it again",
                    what,
                    failure.label,
                    invocation.compilation_result,
                )
                lost = True
                continue
            self.known.add(created.name)
            if lost:
                self._cancel_strays(invocation, created.name)
            return created
        raise AssertionError("unreachable: max_attempts < 1")  # pragma: no cover

    def _adopt(self, invocation: Any, failure: TransientFailure) -> Any | None:
        """The invocation a lost create made, if any; the extra ones are cancelled."""
        try:
            ours = [
                found
                for found in self._invocations_of(invocation.compilation_result)
                if self._matches(found, invocation)
            ]
        except DataformApiError as err:
            raise DataformApiError(
                f"Dataform API workflowInvocations.create {self.parent}: {failure.label}, and whether it started "
                f"the graph is unknown: listing the invocations of {invocation.compilation_result} failed ({err}). "
                "Look at the repository's workflow invocations before starting the run again.",
                status=failure.status,
                rpc_status=failure.rpc_status,
            ) from None
        if not ours:
            return None
        ours.sort(key=lambda found: (parse_timing(found.invocation_timing).start_time or _EPOCH, found.name))
        adopted = ours[0]
        log.warning(
            "workflowInvocations.create: %s; adopted %s, which the lost request created", failure.label, adopted.name
        )
        self.known.add(adopted.name)
        self._cancel(ours[1:], invocation)
        return adopted

    def _cancel_strays(self, invocation: Any, kept: str) -> None:
        """After a resend: cancel an invocation an earlier, lost create made after all."""
        try:
            strays = [
                found
                for found in self._invocations_of(invocation.compilation_result)
                if self._matches(found, invocation)
            ]
        except DataformApiError as err:
            log.warning(
                "could not look for invocations of %s from a lost create (%s); %s runs",
                invocation.compilation_result,
                err,
                kept,
            )
            return
        self._cancel(strays, invocation)

    def _cancel(self, duplicates: list[Any], invocation: Any) -> None:
        for duplicate in duplicates:
            log.warning(
                "cancelling %s: a second invocation of %s from a lost create",
                duplicate.name,
                invocation.compilation_result,
            )
            self.known.add(duplicate.name)
            retried(
                f"workflowInvocations.cancel {duplicate.name}",
                partial(self.client.cancel_workflow_invocation, request={"name": duplicate.name}, timeout=self.timeout),
                self.policy,
                self.sleep,
            )

    def _matches(self, found: Any, sent: Any) -> bool:
        return (
            found.name not in self.known
            and found.compilation_result == sent.compilation_result
            and parse_invocation_config(found.invocation_config) == parse_invocation_config(sent.invocation_config)
            and found.invocation_config.service_account == sent.invocation_config.service_account
        )

    def _invocations_of(self, compilation_result: str) -> list[Any]:
        """The repository's invocations of `compilation_result` (server-filtered when the filter is accepted)."""
        try:
            return self._list(f'compilation_result = "{compilation_result}"')
        except DataformApiError as err:
            if err.status != 400:
                raise
            # The filter grammar is not documented in full: list everything and filter here.
            return self._list("")

    def _list(self, filter_text: str) -> list[Any]:
        from winter_days.elt.engines.dataform_api.client import dataform_types

        request_type = dataform_types().ListWorkflowInvocationsRequest

        def fetch(token: str) -> Any:
            request = request_type(
                parent=self.parent, filter=filter_text, page_size=self.page_size or 0, page_token=token
            )
            return self.client.list_workflow_invocations(request=request, timeout=self.timeout)

        return list(
            paged(f"workflowInvocations.list {self.parent}", fetch, "workflow_invocations", self.policy, self.sleep)
        )
