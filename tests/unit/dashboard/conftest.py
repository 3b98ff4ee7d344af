"""Fixtures of tests/unit/dashboard: defined in dashboard_rows.py, which the tests also import helpers from
(a module named conftest would clash with the other test folders' conftest modules)."""

from dashboard_rows import *  # noqa: F401,F403 - the fixtures
