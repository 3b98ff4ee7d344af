"""One log line per request, in Cloud Logging's `httpRequest` shape, tied to the request's trace.

Before each request the trace headers are read into `CURRENT_TRACE`, so every line logged
while serving it (and by a run it starts in the background) carries the trace. After the
request, one line records method, URL, status, latency, sizes, user agent, referer and the
caller's address: ERROR for a 5xx (a failed `POST /run` answers 500), WARNING for a 4xx,
INFO otherwise (DEBUG for health checks). No request header other than those two is ever
logged: an Authorization header never reaches a log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, cast

from flask import Flask, Response, g, request

from winter_days.orchestrator.logs import CURRENT_TRACE, trace_context_from_headers

log = logging.getLogger("winter_days.service.requests")
QUIET_PATHS = ("/healthz",)


def install_request_log(app: Flask) -> None:
    """Trace every request and log its outcome."""
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_release)


def _start() -> None:
    g.request_started = time.perf_counter()
    headers = cast("Mapping[str, str]", request.headers)  # its get() ignores case, as HTTP does
    g.trace_token = CURRENT_TRACE.set(trace_context_from_headers(headers))


def _finish(response: Response) -> Response:
    started = g.get("request_started")
    latency = time.perf_counter() - started if started is not None else 0.0
    status = response.status_code
    http_request: dict[str, Any] = {
        "requestMethod": request.method,
        "requestUrl": request.url,
        "status": status,
        "latency": f"{latency:.6f}s",
        "protocol": request.environ.get("SERVER_PROTOCOL", ""),
        "remoteIp": request.remote_addr or "",
        "userAgent": request.user_agent.string,
    }
    if request.content_length is not None:
        http_request["requestSize"] = str(request.content_length)
    size = response.calculate_content_length()
    if size is not None:
        http_request["responseSize"] = str(size)
    if request.referrer:
        http_request["referer"] = request.referrer
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    if level == logging.INFO and request.path in QUIET_PATHS:
        level = logging.DEBUG
    log.log(
        level, "%s %s %d in %.3f s", request.method, request.path, status, latency, extra={"httpRequest": http_request}
    )
    return response


def _release(_error: BaseException | None) -> None:
    token = g.pop("trace_token", None)
    if token is None:
        return
    try:
        CURRENT_TRACE.reset(token)
    except ValueError:  # set in another context: this request's trace must still not leak
        CURRENT_TRACE.set(None)
