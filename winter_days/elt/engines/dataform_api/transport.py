"""JSON over HTTP to the Dataform REST API: retries with backoff, and errors that name the resource.

429 and 5xx are retried with exponential backoff (bounded attempts, honouring Retry-After);
any other 4xx fails at once. Errors carry the API's google.rpc.Status message, never a
request header, so a bearer token cannot reach a log line through them.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import requests

DEFAULT_TIMEOUT_SECONDS = 60.0
# A Retry-After beyond this is not waited for in full: the attempt budget stays bounded.
MAX_RETRY_AFTER_SECONDS = 300.0


class DataformApiError(Exception):
    """A Dataform API call that failed; `status` is the HTTP status (None without a response)."""

    def __init__(self, message: str, status: int | None = None, rpc_status: str = "") -> None:
        super().__init__(message)
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


def is_retryable(status: int) -> bool:
    return status == 429 or 500 <= status <= 599


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
        when = when.replace(tzinfo=timezone.utc)
    current = (now or (lambda: datetime.now(timezone.utc)))()
    return max(0.0, (when - current).total_seconds())


def _rpc_error(response: requests.Response) -> tuple[str, str]:
    """(status name, message) from a google.rpc.Status body, or the start of a non-JSON body."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return "", text or response.reason or ""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return str(error.get("status") or ""), str(error.get("message") or "")
    return "", str(body)[:200]


class DataformTransport:
    """Sends one API call, retrying transient failures; returns the decoded JSON body."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.sleep = sleep
        self.timeout = timeout

    def call(
        self,
        method: str,
        resource: str,
        *,
        verb: str = "",
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """`method` on `{base}/{resource}{verb}`; `verb` is a custom method such as ':cancel'.

        A request that may have reached the server is resent after a connection error only
        when `idempotent`: creating an invocation twice would run the graph twice.
        """
        url = f"{self.base_url}/{resource}{verb}"
        what = f"{method} {resource}{verb}"
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(method, url, json=body, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as err:
                if not idempotent or attempt >= self.policy.max_attempts:
                    raise DataformApiError(
                        f"Dataform API {what}: no answer after {attempt} attempt(s): {type(err).__name__}"
                    ) from None
                self.sleep(self.policy.delay(attempt, None))
                continue
            if response.status_code < 400:
                return self._decode(response, what)
            rpc_status, message = _rpc_error(response)
            if is_retryable(response.status_code) and attempt < self.policy.max_attempts:
                self.sleep(self.policy.delay(attempt, parse_retry_after(response.headers.get("Retry-After"))))
                continue
            gave_up = f" (gave up after {attempt} attempts)" if is_retryable(response.status_code) else ""
            label = f"HTTP {response.status_code}" + (f" {rpc_status}" if rpc_status else "")
            raise DataformApiError(
                f"Dataform API {what}: {label}: {message or 'no message'}{gave_up}",
                status=response.status_code,
                rpc_status=rpc_status,
            )

    @staticmethod
    def _decode(response: requests.Response, what: str) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            body = response.json()
        except ValueError:
            raise DataformApiError(f"Dataform API {what}: the answer is not JSON", status=response.status_code) from None
        if not isinstance(body, dict):
            raise DataformApiError(f"Dataform API {what}: expected a JSON object, got {type(body).__name__}")
        return body
