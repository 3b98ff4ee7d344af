"""The service: the orchestrator's API and the dashboards in one Flask app, under gunicorn.

`create_app(platform)` builds the app: nothing runs at import time, and everything it serves
comes from the platform it is given (built from the settings when none is).
"""

from __future__ import annotations

from winter_days.service.app import create_app

__all__ = ["create_app"]
