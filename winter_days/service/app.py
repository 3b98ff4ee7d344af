"""`create_app`: the orchestrator's routes and the dashboard pages over one platform."""

from __future__ import annotations

import logging
from typing import IO, Any

from flask import Flask, redirect, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from winter_days.auth import CallerVerifier
from winter_days.orchestrator.api import MAX_BODY_BYTES, install_error_handlers, make_orchestrator_blueprint
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.logs import install_json_logging
from winter_days.platform import Platform
from winter_days.service.request_log import install_request_log

log = logging.getLogger("winter_days.orchestrator")


def create_app(
    platform: Platform | None = None,
    *,
    launcher: RunLauncher | None = None,
    verifier: CallerVerifier | None = None,
    dashboard: bool = True,
    log_stream: IO[str] | None = None,
    config: dict[str, Any] | None = None,
) -> Flask:
    """Build the service. `launcher` and `verifier` default to the platform's own (tests
    pass their own to script a run or a caller)."""
    # Imported before any request or run thread starts: in Python 3.11 two threads that
    # first import a package and one of its modules at the same moment can deadlock, and the
    # first run's ML step and the churn page do (each imports winter_days.ml).
    import winter_days.ml  # noqa: F401

    if platform is None:
        from winter_days.config import load_settings
        from winter_days.platform import build_platform

        platform = build_platform(load_settings())
    app = Flask(__name__)
    app.config.from_mapping(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False)
    app.config.from_mapping(config or {})
    # Cloud Run's front end is one proxy: it sets the caller's address and the https scheme.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    install_json_logging(log_stream, project_id=platform.settings.gcp.project_id)
    install_request_log(app)
    launcher = launcher or RunLauncher(platform)
    verifier = verifier or platform.verifier
    launcher.reclaim()
    if platform.settings.auth.disabled:
        log.warning("authentication is DISABLED (setting auth.disabled): any caller can trigger a run")
    install_error_handlers(app)
    app.register_blueprint(make_orchestrator_blueprint(launcher, verifier))
    app.extensions["winter_days_platform"] = platform
    if dashboard:
        from winter_days.dashboard import make_dashboard_blueprint

        app.register_blueprint(make_dashboard_blueprint(platform))
        app.add_url_rule("/", view_func=lambda: redirect(url_for("dashboard.index")), methods=["GET"])
    return app
