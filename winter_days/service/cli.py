"""`winter-days serve`: the service (orchestrator API and dashboards) under gunicorn."""

from __future__ import annotations

import logging
import os

import click

from winter_days.config import ConfigError
from winter_days.platform import Platform

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command()
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1; 0.0.0.0 when PORT is set].")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="[default: 8080, or $PORT when set]")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per worker.")
@click.pass_obj
def serve(platform: Platform, host: str | None, port: int | None, workers: int, threads: int) -> None:
    """Serve POST /run, GET /runs, /healthz, /metrics and the dashboards with gunicorn.

    A container platform that sets PORT (Cloud Run) gets the service on 0.0.0.0:$PORT, and
    then auth cannot be turned off."""
    from winter_days.orchestrator.logs import install_json_logging
    from winter_days.service.server import ServiceServer

    container_port = os.environ.get("PORT", "").strip()
    if container_port and port is None:
        if not container_port.isdigit() or not 1 <= int(container_port) <= 65535:
            raise click.UsageError(f"PORT={container_port!r} is not a port number (1..65535)")
        port, host = int(container_port), host or "0.0.0.0"
    host, port = host or "127.0.0.1", port or 8080
    try:
        # Fail before forking workers when the service could not start or run.
        platform.check(serving=True)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    if platform.settings.auth.disabled and (container_port or host not in LOOPBACK):
        raise click.UsageError(
            f"refusing to listen on {host}:{port} with authentication disabled (setting auth.disabled); "
            "auth is mandatory off loopback and when PORT is set"
        )
    install_json_logging()
    logging.getLogger("winter_days.orchestrator").info(
        "service on http://%s:%s (%s profile)", host, port, platform.profile
    )
    ServiceServer(platform.settings, bind=f"{host}:{port}", workers=workers, threads=threads).run()
