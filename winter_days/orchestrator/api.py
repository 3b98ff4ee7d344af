"""The orchestrator's HTTP API as a Flask blueprint: POST /run, GET /runs, GET /runs/<id>,
GET /healthz, GET /metrics.

`make_orchestrator_blueprint(launcher, verifier)` builds it; the service (`winter_days.service`)
registers it beside the dashboards. Every error is a JSON body with a message; a stack trace
goes to the log, never into a response.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from winter_days.auth import AuthError, CallerVerifier
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.metrics import CONTENT_TYPE, render_metrics
from winter_days.orchestrator.pipeline import RunParameters
from winter_days.runs import RUNNING, SUCCEEDED

log = logging.getLogger("winter_days.orchestrator")

RUN_PARAMETERS = {
    "as_of": "a date YYYY-MM-DD",
    "full_refresh": "true or false",
    "ml": "true or false",
    "full_export": "true or false",
}
QUERY_PARAMETERS = {"wait": "true or false"}
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
MAX_BODY_BYTES = 64 * 1024
EXTENSION = "winter_days_orchestrator"


class BadRequest(Exception):
    """A request the service cannot act on; answered 400 with this message."""


def make_orchestrator_blueprint(launcher: RunLauncher, verifier: CallerVerifier) -> Blueprint:
    """The orchestrator's routes over one launcher (and so one run store) and one verifier."""
    blueprint = Blueprint("orchestrator", __name__)

    @blueprint.record_once
    def remember(state: Any) -> None:
        state.app.extensions[EXTENSION] = {"launcher": launcher, "verifier": verifier}

    blueprint.add_url_rule("/run", view_func=trigger_run, methods=["POST"])
    blueprint.add_url_rule("/runs", view_func=list_runs, methods=["GET"])
    blueprint.add_url_rule("/runs/<run_id>", view_func=show_run, methods=["GET"])
    blueprint.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    blueprint.add_url_rule("/metrics", view_func=metrics, methods=["GET"])
    return blueprint


def install_error_handlers(app: Flask) -> None:
    """JSON errors for every route of the app; unexpected ones are logged with their trace."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _launcher() -> RunLauncher:
    launcher: RunLauncher = current_app.extensions[EXTENSION]["launcher"]
    return launcher


def _error(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify({"error": message, **extra}), status


def _http_error(err: HTTPException) -> tuple[Response, int]:
    return _error(err.code or 500, err.description or err.name)


def _unexpected_error(err: Exception) -> tuple[Response, int]:
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=err)
    return _error(500, f"internal error ({type(err).__name__}); see the service log")


# -- POST /run ----------------------------------------------------------------------------


def _flag(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
        return raw.lower() in ("true", "1")
    raise BadRequest(f"{name}: expected true or false, got {raw!r}")


def _parse_query(wait_by_default: bool) -> bool:
    unknown = sorted(set(request.args) - set(QUERY_PARAMETERS))
    if unknown:
        raise BadRequest(f"unknown query parameter(s) {', '.join(unknown)}; known: wait")
    return _flag("wait", request.args.get("wait", wait_by_default))


def _parse_body() -> RunParameters:
    raw = request.get_data(cache=False)
    if not raw.strip():
        return RunParameters()
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadRequest(f"body is not valid JSON: {err}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(RUN_PARAMETERS))
    if unknown:
        known = ", ".join(f"{k} ({v})" for k, v in RUN_PARAMETERS.items())
        raise BadRequest(f"unknown parameter(s) {', '.join(unknown)}; known: {known}")
    as_of = body.get("as_of")
    if as_of is not None:
        try:
            as_of = date.fromisoformat(as_of) if isinstance(as_of, str) and len(as_of) == 10 else None
        except ValueError:
            as_of = None
        if as_of is None:
            raise BadRequest(f"as_of: expected a date YYYY-MM-DD, got {body['as_of']!r}")
    return RunParameters(
        as_of=as_of,
        full_refresh=_flag("full_refresh", body.get("full_refresh", False)),
        ml=_flag("ml", body.get("ml", True)),
        full_export=_flag("full_export", body.get("full_export", False)),
    )


def _trigger() -> tuple[dict[str, Any], str | None]:
    """Who triggered the run, and the key that makes a retry of the same trigger recognisable."""
    job = request.headers.get("X-CloudScheduler-JobName")
    schedule_time = request.headers.get("X-CloudScheduler-ScheduleTime")
    key = request.headers.get("Idempotency-Key")
    trigger: dict[str, Any] = {"source": "http"}
    if key is not None:
        if not _IDEMPOTENCY_KEY.match(key):
            raise BadRequest("Idempotency-Key: 1 to 200 printable characters without spaces")
        trigger["idempotency_key"] = key
        return trigger, f"key:{key}"
    if job and schedule_time:
        trigger.update(scheduler_job=job, schedule_time=schedule_time)
        return trigger, f"scheduler:{job}@{schedule_time}"
    return trigger, None


def _run_response(run: dict[str, Any], status: int | None = None) -> tuple[Response, int]:
    body = {
        **run,
        "location": f"/runs/{run['run_id']}",
        "status_url": url_for("orchestrator.show_run", run_id=run["run_id"], _external=True),
    }
    if status is None:
        # A failed run, or one cut off by a crash, did not do the work: the caller should know.
        status = 200 if run["status"] == SUCCEEDED else 500
    response = jsonify(body)
    response.headers["Location"] = body["location"]
    return response, status


def trigger_run() -> tuple[Response, int]:
    """Run the pipeline (or answer for the first run of a retried trigger).

    Waiting for the run's end (200 succeeded, 500 failed) is the platform's default locally;
    on gcp the answer is 202 with the run id and its status URL, and the run goes on in the
    service. `?wait=true|false` overrides the default."""
    try:
        current_app.extensions[EXTENSION]["verifier"].verify(request.headers.get("Authorization"))
    except AuthError as err:
        response, status = _error(err.status, str(err))
        if err.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="winter-days"'
        return response, status
    try:
        wait = _parse_query(_launcher().platform.waits_for_run)
        parameters = _parse_body()
        trigger, trigger_key = _trigger()
    except BadRequest as err:
        return _error(400, str(err))
    result = _launcher().trigger(trigger, parameters, trigger_key=trigger_key, wait=wait)
    if result.outcome == "busy":
        owner = result.decision.owner
        return _error(
            409,
            f"run {result.run_id} is active (started {result.decision.started_at}"
            + (f" by {owner.describe()}" if owner else "")
            + "); one run at a time: poll its location, then trigger again",
            active_run_id=result.run_id,
            location=f"/runs/{result.run_id}",
        )
    if result.run is None:
        return _error(404, f"run {result.run_id} is not in the history")
    if not wait and result.run["status"] == RUNNING:
        return _run_response(result.run, 202)
    return _run_response(result.run)


# -- reading ------------------------------------------------------------------------------


def list_runs() -> tuple[Response, int]:
    unknown = sorted(set(request.args) - {"limit", "before"})
    if unknown:
        return _error(400, f"unknown query parameter(s) {', '.join(unknown)}; known: limit, before")
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        return _error(400, f"limit: expected a whole number, got {request.args['limit']!r}")
    if not 1 <= limit <= 500:
        return _error(400, f"limit: {limit} is outside 1..500")
    history = _launcher().history
    if history.active_run_id() is not None:
        # A run whose process died (a killed `winter-days run`) shows as cut off, not running.
        _launcher().reclaim()
    runs = history.list_runs(limit=limit, before=request.args.get("before"))
    return jsonify({"runs": runs, "active_run_id": history.active_run_id()}), 200


def show_run(run_id: str) -> tuple[Response, int]:
    history = _launcher().history
    run = history.get_run(run_id)
    if run is not None and run["status"] == RUNNING and _launcher().reclaim():
        run = history.get_run(run_id)
    if run is None:
        return _error(404, f"no run {run_id!r} in the history")
    return jsonify(run), 200


def healthz() -> tuple[Response, int]:
    history = _launcher().history
    return jsonify({"status": "ok", "active_run_id": history.active_run_id()}), 200


def metrics() -> Response:
    return Response(render_metrics(_launcher().history), content_type=CONTENT_TYPE)
