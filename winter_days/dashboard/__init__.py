"""Dashboards: sales and activity, churn, and pipeline pages, served by the orchestrator.

`make_dashboard_blueprint(platform)` builds the Flask blueprint; the service registers it.
Pages read only the published warehouse's gold tables (and the pipeline page its small
accounting and quarantine tables), read-only; a page's results are kept until the next
publish, so a repeated view reads no table.
"""

from __future__ import annotations

from winter_days.dashboard.blueprint import make_dashboard_blueprint

__all__ = ["make_dashboard_blueprint"]
