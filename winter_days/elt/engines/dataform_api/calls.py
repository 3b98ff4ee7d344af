"""One Dataform client call, sorted by what a failure means for resending it.

The client library is called with its own retries off: `attempt` runs a call once and
sorts a failure into a refusal worth retrying (429, the request was not served), a lost or
failed answer worth retrying (5xx, a timeout, a reset connection: the server may have acted
on it), or a final error (any other 4xx). `retried` retries the first two with bounded
exponential backoff, honouring Retry-After, which is right for get/query/list/cancel; a
create decides itself what to do (see `invocations.py`). Errors carry the API's
google.rpc.Status message, never a request header, so a bearer token cannot reach a log
line through them.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")
# A Retry-After beyond this is not waited for in full: the attempt budget stays bounded.
MAX_RETRY_AFTER_SECONDS = 300.0


class DataformApiError(Exception):
    """A Dataform API call that failed; `status` is the HTTP status (None without a response)."""

    def __init__(self, message: str, status: int | None = None, rpc_status: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.rpc_status = rpc_status


class TransientFailure(Exception):
    """A failure worth retrying. `maybe_served`: the server may have acted on the request."""

    def __init__(
        self,
        label: str,
        maybe_served: bool,
        retry_after: float | None = None,
        status: int | None = None,
        rpc_status: str = "",
    ) -> None:
        super().__init__(label)
        self.label = label
        self.maybe_served = maybe_served
        self.retry_after = retry_after
        self.status = status
        self.rpc_status = rpc_status


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: initial, doubled per attempt, capped."""

    max_attempts: int = 6
    initial_seconds: float = 1.0
    max_seconds: float = 32.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        backoff = min(self.max_seconds, self.initial_seconds * 2 ** (attempt - 1))
        if retry_after is None:
            return backoff
        return min(max(retry_after, 0.0), MAX_RETRY_AFTER_SECONDS)


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = (now or (lambda: datetime.now(UTC)))()
    return max(0.0, (when - current).total_seconds())


def _rpc_error(err: Any) -> tuple[str, str]:
    """(status name, message) of an HTTP error's google.rpc.Status body, without the URL the library adds."""
    response = getattr(err, "response", None)
    fallback_status = err.grpc_status_code.name if getattr(err, "grpc_status_code", None) is not None else ""
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            text = " ".join(str(getattr(response, "text", "")).split())[:200]
            return fallback_status, text or str(getattr(response, "reason", "") or "")
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("message"):
            return str(error.get("status") or fallback_status), str(error["message"])
    return fallback_status, str(getattr(err, "message", "") or err)


def attempt(what: str, call: Callable[[], T]) -> T:
    """Run `call` once; raise TransientFailure (retry may help) or DataformApiError (it will not)."""
    import requests
    from google.api_core import exceptions as api_exceptions

    try:
        return call()
    except (requests.ConnectionError, requests.Timeout) as err:
        raise TransientFailure(f"no answer ({type(err).__name__})", maybe_served=True) from None
    except api_exceptions.GoogleAPICallError as err:
        status = int(err.code) if isinstance(err.code, int) else None
        rpc_status, message = _rpc_error(err)
        label = " ".join(part for part in (f"HTTP {status}" if status else "", rpc_status) if part)
        label = f"{label or type(err).__name__}: {message or 'no message'}"
        if status == 429 or (status is not None and 500 <= status <= 599):
            response = getattr(err, "response", None)
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
            raise TransientFailure(label, status != 429, retry_after, status, rpc_status) from None
        raise DataformApiError(f"Dataform API {what}: {label}", status=status, rpc_status=rpc_status) from None


def give_up(what: str, failure: TransientFailure, attempts: int) -> DataformApiError:
    """The error after the last attempt of a retried call."""
    if failure.status is None:
        return DataformApiError(f"Dataform API {what}: {failure.label} after {attempts} attempt(s)")
    return DataformApiError(
        f"Dataform API {what}: {failure.label} (gave up after {attempts} attempts)",
        status=failure.status,
        rpc_status=failure.rpc_status,
    )


def retried(what: str, call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """A call that is safe to resend (a read, or a cancel): retried on 429, 5xx and lost answers."""
    for number in range(1, policy.max_attempts + 1):
        try:
            return attempt(what, call)
        except TransientFailure as failure:
            if number >= policy.max_attempts:
                raise give_up(what, failure, number) from None
            sleep(policy.delay(number, failure.retry_after))
    raise AssertionError("unreachable: max_attempts < 1")  # pragma: no cover


def paged(
    what: str, fetch: Callable[[str], Any], field: str, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
) -> Iterator[Any]:
    """Every item of a paged list or query method; `fetch(page_token)` asks for one page.

    Each page is its own retried call, so a 429 on page three does not restart the listing.
    """
    token = ""
    seen: set[str] = set()
    while True:
        page = retried(what, partial(fetch, token), policy, sleep)
        yield from getattr(page, field)
        token = page.next_page_token
        if not token:
            return
        if token in seen:
            raise DataformApiError(f"Dataform API {what}: page token repeated; the listing does not end")
        seen.add(token)
