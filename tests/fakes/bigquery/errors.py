"""BigQuery's error shapes: one exception that becomes an HTTP error body or a job's errorResult.

BigQuery answers a failed request with `{"error": {"code", "message", "errors": [{"reason",
"message", "domain", "location"?}], "status"}}` and a failed job with `status.errorResult`
and `status.errors` holding the same error protos. The client picks its exception class
from the HTTP status (requests) or from the reason (jobs), and decides on retries from the
reason (rateLimitExceeded, backendError, internalError are retried), so both must be
right.
"""

from __future__ import annotations

import re
from typing import Any

RPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}

# The HTTP status BigQuery answers with for each error reason (cloud.google.com/bigquery/docs/error-messages).
REASON_STATUS = {
    "invalid": 400,
    "invalidQuery": 400,
    "bytesBilledLimitExceeded": 400,
    "resourceInUse": 400,
    "resourcesExceeded": 400,
    "stopped": 400,
    "accessDenied": 403,
    "quotaExceeded": 403,
    "rateLimitExceeded": 403,
    "notFound": 404,
    "duplicate": 409,
    "conditionNotMet": 412,
    "backendError": 500,
    "internalError": 500,
    "notImplemented": 501,
    "badGateway": 502,
}

# The reason a bare HTTP status carries when a test injects it without naming one.
STATUS_REASON = {
    400: "invalid",
    403: "rateLimitExceeded",
    404: "notFound",
    409: "duplicate",
    429: "rateLimitExceeded",
    500: "backendError",
    502: "badGateway",
    503: "backendError",
}


class BigQueryError(Exception):
    """An error as BigQuery reports it: a reason, a message, and where it applies."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        location: str | None = None,
        status: int | None = None,
        details: list[BigQueryError] | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.location = location
        self.status = status or REASON_STATUS.get(reason, 400)
        self.details = details or []  # further errors a failed job lists beside its errorResult

    def proto(self) -> dict[str, Any]:
        """The ErrorProto of a job's errorResult / errors or an HTTP error's `errors` entry."""
        out: dict[str, Any] = {"reason": self.reason, "message": self.message}
        if self.location:
            out["location"] = self.location
        return out

    def http_body(self) -> dict[str, Any]:
        proto = {**self.proto(), "domain": "global"}
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [proto],
                "status": RPC_STATUS.get(self.status, "UNKNOWN"),
            }
        }


def fake_fault(err: BaseException) -> BigQueryError:
    """A fault of the fake itself: HTTP 500 with a reason the client does not retry, so a
    test fails at once with the cause instead of retrying for minutes."""
    return BigQueryError("fakeInternalError", f"The BigQuery fake failed: {err!r}", status=500)


def invalid(message: str, location: str | None = None) -> BigQueryError:
    return BigQueryError("invalid", message, location=location)


def invalid_query(message: str) -> BigQueryError:
    return BigQueryError("invalidQuery", message, location="query")


def not_found(message: str) -> BigQueryError:
    return BigQueryError("notFound", f"Not found: {message}")


def duplicate(message: str) -> BigQueryError:
    return BigQueryError("duplicate", f"Already Exists: {message}")


def from_duckdb(err: Exception) -> BigQueryError:
    """A DuckDB error as the BigQuery error a user would have met for the same mistake."""
    import duckdb

    text = str(err).strip()
    unknown = re.search(r'Referenced column "([^"]+)" not found', text)
    if isinstance(err, duckdb.BinderException) and unknown:
        return invalid_query(f"Unrecognized name: {unknown.group(1)} ({text.splitlines()[0]})")
    qualified = re.search(r'Table "([^"]+)" does not have a column named "([^"]+)"', text)
    if isinstance(err, duckdb.BinderException) and qualified:
        # BigQuery's words for an unknown column behind a table alias (`s.no_such_column`).
        return invalid_query(
            f"Name {qualified.group(2)} not found inside {qualified.group(1)} ({text.splitlines()[0]})"
        )
    if isinstance(err, duckdb.ConstraintException) and "NOT NULL" in text:
        column = text.rsplit(".", 1)[-1].strip()
        return invalid(f"Required field {column} cannot be null")
    if isinstance(err, duckdb.CatalogException) and "does not exist" in text:
        return BigQueryError("notFound", f"Not found: {text}", location="query")
    if isinstance(err, duckdb.TransactionException):
        return BigQueryError(
            "invalidQuery", f"Transaction is aborted due to concurrent update: {text}", location="query"
        )
    if isinstance(err, duckdb.OutOfMemoryException):
        return BigQueryError("resourcesExceeded", f"Resources exceeded during query execution: {text}")
    return invalid_query(text)
