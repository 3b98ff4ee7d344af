"""Dashboards: sales and activity, churn, and pipeline pages, served by the orchestrator.

`make_dashboard_blueprint(settings, run_history=...)` builds the Flask blueprint; the
service registers it. Pages read only the published warehouse, read-only, per request.
"""

from __future__ import annotations

from winter_days.dashboard.blueprint import make_dashboard_blueprint

__all__ = ["make_dashboard_blueprint"]
