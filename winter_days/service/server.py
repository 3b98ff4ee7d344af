"""gunicorn, embedded: `winter-days serve` runs the app factory in each worker.

The gthread worker keeps answering its heartbeat to the arbiter while a request thread
runs a long pipeline, so a `POST /run` that waits for a 30-minute poll is not killed by
gunicorn's worker timeout, and GET /runs stays answerable during a run.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from winter_days.config import Settings


# gunicorn's own lines (boot, worker exits, access) in the same Cloud Logging JSON shape.
GUNICORN_JSON_LOGS = {
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": "gunicorn.access"},
    },
    "handlers": {
        "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
    },
    "formatters": {"json": {"()": "winter_days.orchestrator.logs.CloudLoggingFormatter"}},
}


class ServiceServer(BaseApplication):
    """A gunicorn application that builds the service with `create_app` in each worker
    (each worker builds its own platform from the settings: connections are per process)."""

    def __init__(self, settings: Settings, bind: str, workers: int = 2, threads: int = 4):
        self.settings = settings
        self.options = {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            # A run in flight gets this long to finish on SIGTERM before it is cut off.
            "graceful_timeout": 120,
            "logconfig_dict": GUNICORN_JSON_LOGS,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from winter_days.platform import build_platform
        from winter_days.service.app import create_app

        return create_app(build_platform(self.settings))
