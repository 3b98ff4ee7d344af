"""Fixtures of tests/unit/ml: defined in churn_rows.py, which the tests also import helpers from
(a module named conftest would clash with the other test folders' conftest modules)."""

from churn_rows import *  # noqa: F401,F403 - the fixtures
