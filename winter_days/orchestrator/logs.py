"""JSON-lines logs in Cloud Logging's structured shape (severity, message, run_id, step).

Cloud Run forwards each stdout/stderr line that is a JSON object as a structured entry:
`severity` and `message` are recognised, `time` sets the entry's timestamp,
`logging.googleapis.com/trace` (with `spanId` and `trace_sampled`) ties the line to the
request's trace, `logging.googleapis.com/sourceLocation` names the code that logged it,
and `httpRequest` makes a request log line; other keys land in jsonPayload, where run_id,
step and event can be filtered on.

The trace comes from the incoming request's `X-Cloud-Trace-Context` or W3C `traceparent`
header (`trace_context_from_headers`); the service puts it in `CURRENT_TRACE` for the
request, and a background run keeps the trace of the request that started it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

# Python level -> Cloud Logging severity.
SEVERITIES = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}
_EXTRA_KEYS = ("run_id", "step", "event", "status", "counts", "http", "httpRequest")
TRACE_KEY = "logging.googleapis.com/trace"
SPAN_KEY = "logging.googleapis.com/spanId"
SAMPLED_KEY = "logging.googleapis.com/trace_sampled"
SOURCE_KEY = "logging.googleapis.com/sourceLocation"
# X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS (span id in decimal).
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=([0-9]+))?$")
# traceparent: VERSION-TRACE_ID-PARENT_ID-FLAGS (W3C Trace Context).
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class TraceContext:
    """The trace a request belongs to: a 32-hex trace id, a 16-hex span id, and whether it is sampled."""

    trace_id: str
    span_id: str | None = None
    sampled: bool | None = None


CURRENT_TRACE: contextvars.ContextVar[TraceContext | None] = contextvars.ContextVar("winter_days_trace", default=None)


def trace_context_from_headers(headers: Mapping[str, str]) -> TraceContext | None:
    """The trace of a request from `X-Cloud-Trace-Context` (Google's front end sets it) or, failing
    that, `traceparent`; None when neither is present and well formed (a malformed header is ignored)."""
    cloud = _CLOUD_TRACE.match((headers.get("X-Cloud-Trace-Context") or "").strip())
    if cloud and int(cloud.group(1), 16):
        span = cloud.group(2)
        span_hex = f"{int(span):016x}" if span and 0 < int(span) < 2**64 else None
        sampled = None if cloud.group(3) is None else bool(int(cloud.group(3)) & 1)
        return TraceContext(cloud.group(1).lower(), span_hex, sampled)
    parent = _TRACEPARENT.match((headers.get("traceparent") or "").strip())
    if parent and parent.group(1) != "ff" and int(parent.group(2), 16) and int(parent.group(3), 16):
        return TraceContext(parent.group(2), parent.group(3), bool(int(parent.group(4), 16) & 1))
    return None


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per record; a traceback goes into the message, as Error Reporting expects.

    With a project id the trace is the full resource name Cloud Logging links to
    (projects/PROJECT/traces/TRACE_ID); without one, the bare trace id."""

    def __init__(self, project_id: str = "") -> None:
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry: dict[str, object] = {
            "severity": SEVERITIES.get(record.levelno, "DEFAULT"),
            "message": message,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "logger": record.name,
            SOURCE_KEY: {"file": record.pathname, "line": str(record.lineno), "function": record.funcName},
        }
        for key in _EXTRA_KEYS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        entry.setdefault("run_id", None)
        entry.setdefault("step", None)
        trace = CURRENT_TRACE.get()
        if trace is not None:
            entry[TRACE_KEY] = (
                f"projects/{self.project_id}/traces/{trace.trace_id}" if self.project_id else trace.trace_id
            )
            if trace.span_id:
                entry[SPAN_KEY] = trace.span_id
            if trace.sampled is not None:
                entry[SAMPLED_KEY] = trace.sampled
        return json.dumps(entry, default=str)


def install_json_logging(
    stream: IO[str] | None = None, path: Path | None = None, level: int = logging.INFO, project_id: str = ""
) -> logging.Handler:
    """Send the platform's logs (logger 'winter_days') as JSON lines to a file, a stream or stderr.

    Replaces an earlier JSON handler, so building the service twice in one process (tests)
    never writes each line twice. `project_id` makes trace ids full Cloud Trace names.
    """
    logger = logging.getLogger("winter_days")
    for old in list(logger.handlers):
        if isinstance(old.formatter, CloudLoggingFormatter):
            logger.removeHandler(old)
            old.close()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(CloudLoggingFormatter(project_id))
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
