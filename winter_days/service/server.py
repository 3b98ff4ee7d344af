"""gunicorn, embedded: `winter-days serve` runs the app factory in each worker.

The gthread worker keeps answering its heartbeat to the arbiter while a request thread
runs a long pipeline, so a `POST /run` that waits for a 30-minute poll is not killed by
gunicorn's worker timeout, and GET /runs stays answerable during a run.

When a worker is told to stop (SIGTERM: Cloud Run replacing or scaling in an instance,
which then kills it 10 s later; SIGINT/SIGQUIT: Ctrl-C), the runs it executes are first
recorded as cut off with the reason, so none is left "running" in the history.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication

from winter_days.config import Settings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
# How long a stopping worker waits for its background runs after recording them cut off;
# with the store's writes it stays well inside Cloud Run's 10 s between SIGTERM and SIGKILL.
SHUTDOWN_GRACE_SECONDS = 2.0


def _chained(handler: Callable[[int, Any, Any], None], previous: Any, signum: int, frame: Any) -> None:
    handler(signum, frame, previous)


def cut_off_runs_on_stop(worker: Any) -> None:
    """gunicorn's post_worker_init hook: put the run cut-off before the worker's own stop handlers."""
    from winter_days.orchestrator.api import EXTENSION

    launcher = worker.wsgi.extensions[EXTENSION]["launcher"]

    def stopping(signum: int, frame: Any, previous: Any) -> None:
        reason = (
            f"the service received {signal.Signals(signum).name} (worker {os.getpid()} stopping) while the run "
            "was active; the next trigger starts afresh"
        )
        # In a thread: the handler interrupts the worker's loop, which may hold a lock the
        # recording needs (a log handler's); the wait is bounded either way.
        recorder = threading.Thread(
            target=launcher.shutdown, args=(reason, SHUTDOWN_GRACE_SECONDS), name="cut-off-runs"
        )
        recorder.start()
        recorder.join(SHUTDOWN_GRACE_SECONDS + 5.0)
        if callable(previous):
            previous(signum, frame)

    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)
        signal.signal(signum, partial(_chained, stopping, previous))


# gunicorn's own lines (boot, worker exits, access) in the same Cloud Logging JSON shape.
GUNICORN_JSON_LOGS = {
    "root": {"level": "WARNING", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": "gunicorn.error"},
        # The service writes its own request lines (with httpRequest and the trace): gunicorn's
        # access lines would only repeat them.
        "gunicorn.access": {
            "level": "WARNING",
            "handlers": ["json"],
            "propagate": False,
            "qualname": "gunicorn.access",
        },
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
            "post_worker_init": cut_off_runs_on_stop,
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from winter_days.platform import build_platform
        from winter_days.service.app import create_app

        return create_app(build_platform(self.settings))
