"""JSON-lines logs in Cloud Logging's structured shape (severity, message, run_id, step).

Cloud Run forwards each stdout/stderr line that is a JSON object as a structured entry:
`severity` and `message` are recognised, `time` sets the entry's timestamp, other keys
land in jsonPayload, where run_id and step can be filtered on.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
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
_EXTRA_KEYS = ("run_id", "step", "counts", "http")


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per record; a traceback goes into the message, as Error Reporting expects."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry: dict[str, object] = {
            "severity": SEVERITIES.get(record.levelno, "DEFAULT"),
            "message": message,
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "logger": record.name,
        }
        for key in _EXTRA_KEYS:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        entry.setdefault("run_id", None)
        entry.setdefault("step", None)
        return json.dumps(entry, default=str)


def install_json_logging(
    stream: IO[str] | None = None, path: Path | None = None, level: int = logging.INFO
) -> logging.Handler:
    """Send the platform's logs (logger 'winter_days') as JSON lines to a file, a stream or stderr.

    Replaces an earlier JSON handler, so building the service twice in one process (tests)
    never writes each line twice.
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
    handler.setFormatter(CloudLoggingFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
