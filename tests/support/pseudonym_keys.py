"""A fixed pseudonymisation key for the tests that need one without an installation."""

from __future__ import annotations

from winter_days.pseudonyms import Pseudonymiser

TEST_KEY = bytes(range(32))
TEST_PSEUDONYMS = Pseudonymiser(TEST_KEY)
